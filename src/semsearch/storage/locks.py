"""The locks of an index: readers and writers in one process, and one writer per index across processes.

- :class:`ReadWriteLock`: many searches at once, or one change alone. Python's standard library has
  none; searches must not serialise on each other (FAISS and SQLite release the GIL), but must never
  see an index half-way through a change.
- :func:`write_lock`: the writer lock beside a saved index (an ``flock``), so two processes never
  save over each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

from semsearch.errors import IndexLockedError, IndexWriteError


class ReadWriteLock:
    """Shared (reading) and exclusive (writing) holds; a waiting writer blocks new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the lock shared for the duration of the block."""
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock alone for the duration of the block."""
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _Held:
    """The process's hold on one writer lock file: who owns it, how deeply, and the flock'd handle."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.owner: Hashable | None = None
        self.depth = 0
        self.handle: Any = None


_HELD: dict[str, _Held] = {}  # lock file → this process's hold on it
_HELD_GUARD = threading.Lock()


def lock_file(path: Path) -> Path:
    """The writer lock file of the index at ``path``: ``.<name>.lock`` beside it, by its real path.

    Every spelling of one index (a symlink to it, ``IDX/bm25.1.bm25s/..``) resolves to the same real
    path, so it gets the same lock, and the lock file is never created inside the index's own files.
    """
    real = Path(path).resolve()
    return real.parent / f".{real.name}.lock"


def _thread() -> Hashable:
    return ("thread", threading.get_ident())


def acquire(path: Path, owner: Hashable, timeout: float = 10.0) -> None:
    """Take the index's writer lock for ``owner`` (re-entrant for the same owner) or raise IndexLockedError.

    ``owner`` is a thread (what :func:`write_lock` uses) or an object that holds the lock across calls
    from any thread (an engine between a change and its commit); such an owner may also nest inside a
    hold its current thread already has (the command line holds the lock around load, change, save).
    The lock is an ``flock`` on the lock file, so it also excludes other processes.
    """
    lock_path = lock_file(path)
    key = str(lock_path)
    with _HELD_GUARD:
        held = _HELD.setdefault(key, _Held())
    deadline = time.monotonic() + timeout
    with held.changed:
        while held.owner is not None and held.owner not in (owner, _thread()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise IndexLockedError(
                    f"another writer in this process is changing {path}; save (or drop) its changes first"
                )
            held.changed.wait(left)
        if held.depth == 0:
            held.handle = _flock(path, lock_path, deadline)
            held.owner = owner
        held.depth += 1


def release(path: Path) -> None:
    """Give back one hold on the index's writer lock (from any thread); the last one unlocks the file."""
    with _HELD_GUARD:
        held = _HELD.get(str(lock_file(path)))
    if held is None:
        return
    with held.changed:
        if held.depth == 0:
            return
        held.depth -= 1
        if held.depth == 0:
            handle, held.handle, held.owner = held.handle, None, None
            if handle is not None:
                handle.close()
            held.changed.notify_all()


def _flock(path: Path, lock_path: Path, deadline: float) -> Any:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a lock "file" that is a symlink (shipped beside an index) is never followed.
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        handle = os.fdopen(fd, "r+")
    except OSError as exc:
        raise IndexWriteError(
            f"cannot create the writer lock {lock_path} ({exc.strerror or exc}); semsearch keeps it "
            f"beside the index: make {lock_path.parent} writable, or copy the index somewhere writable"
        ) from None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                raise IndexLockedError(
                    f"another process is writing {path} (lock {lock_path}); try again when it has finished"
                ) from None
            time.sleep(0.05)


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the index's writer lock (``.<name>.lock`` beside it) for this block, or raise IndexLockedError.

    Re-entrant within one thread (a load-change-save sequence can hold it while ``save`` takes it
    again); excludes other threads, other owners (:func:`acquire`) and other processes.
    """
    acquire(path, _thread(), timeout)
    try:
        yield
    finally:
        release(path)
