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
from collections.abc import Iterator
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


_HELD: dict[str, list[Any]] = {}  # lock file → [thread lock, depth] for the locks this process holds
_HELD_GUARD = threading.Lock()


def lock_file(path: Path) -> Path:
    """The writer lock file of the index at ``path``: ``.<name>.lock`` beside it, by its real path.

    Every spelling of one index (a symlink to it, ``IDX/bm25.1.bm25s/..``) resolves to the same real
    path, so it gets the same lock, and the lock file is never created inside the index's own files.
    """
    real = Path(path).resolve()
    return real.parent / f".{real.name}.lock"


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the index's writer lock (``.<name>.lock`` beside it) or raise IndexLockedError.

    The lock is an ``flock`` on the lock file, so it excludes other processes; inside one process it
    is re-entrant (a load-change-save sequence can hold it while ``save`` takes it again) and
    excludes other threads.
    """
    lock_path = lock_file(path)
    key = str(lock_path.resolve())
    with _HELD_GUARD:
        entry = _HELD.setdefault(key, [threading.RLock(), 0])
    if not entry[0].acquire(timeout=timeout):
        raise IndexLockedError(f"another thread is writing {path}; try again when it has finished")
    handle = None
    try:
        if entry[1] == 0:
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
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"another process is writing {path} (lock {lock_path}); try again when it has finished"
                        ) from None
                    time.sleep(0.05)
        entry[1] += 1
        try:
            yield
        finally:
            entry[1] -= 1
    finally:
        if handle is not None:
            handle.close()
        entry[0].release()
