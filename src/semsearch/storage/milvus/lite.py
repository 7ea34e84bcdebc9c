"""A milvus-lite database as a place: a folder one process opens at a time, said so in one line.

milvus-lite keeps a database in a folder (``news.db/``) and holds an exclusive lock on its ``LOCK``
file while a process has it open; a second process, a reader during a writer as well as a second
writer, cannot open it. When it cannot, it logs a long traceback and pymilvus says only "Open local
milvus failed": :func:`cannot_open` says why instead (in use, by which process when this user can see
it; not a database at all), and :func:`check_database` refuses a file that is not a database folder
before milvus-lite is asked to open it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from semsearch.errors import BackendError, IndexLockedError, InputError
from semsearch.storage.locations import MilvusLocation

LOCK_FILE = "LOCK"  # milvus-lite's lock inside the database folder


def check_database(location: MilvusLocation) -> None:
    """InputError if the database path exists but is not a folder (another program's file named .db)."""
    path = Path(location.uri)
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{location}: {path} is a file, not a milvus-lite database (milvus-lite keeps one in a folder); "
            "it may be another program's: choose another path"
        )


def cannot_open(location: MilvusLocation, cause: BaseException) -> BackendError | IndexLockedError:
    """The error to raise when milvus-lite could not open the database at ``location``."""
    path = Path(location.uri)
    if _locked(path / LOCK_FILE):
        holder = lock_holder(path / LOCK_FILE)
        who = f" ({holder})" if holder else ""
        return IndexLockedError(
            f"{location}: the milvus-lite database {path} is in use by another process{who}; milvus-lite "
            "opens a database in one process at a time: wait for it to finish, or serve the database "
            "(`milvus-lite server`) and use milvus://HOST:PORT#NAME"
        )
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:300]
    return BackendError(f"{location}: milvus-lite cannot open {path} ({first})")


def _locked(lock: Path) -> bool:
    """Whether another open file holds an exclusive lock on ``lock``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not Unix
        return False
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_holder(lock: Path) -> str | None:
    """Which process has ``lock`` open, as ``semsearch query (pid 123)``, when /proc shows it to this user."""
    target = str(lock.resolve())
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        return f"{describe_process(entry)} (pid {entry.name})"
    return None


def describe_process(entry: Path) -> str:
    """A process's command in a few words: ``semsearch query``, or the program's name."""
    try:
        args = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return "a process"
    names = [Path(a).name for a in args]
    for number, name in enumerate(names):
        if name == "semsearch" or (name == "-m" and names[number + 1 : number + 2] == ["semsearch"]):
            rest = args[number + (2 if name == "-m" else 1) :]
            command = next((a for a in rest if not a.startswith("-")), "")
            return f"semsearch {command}".strip()
    return names[0] if names else "a process"
