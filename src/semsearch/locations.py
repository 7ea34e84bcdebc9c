"""Where an index lives: a directory (the local backend) or a Milvus location, and the Storage for each.

A Milvus location is ``milvus://HOST:PORT#COLLECTION`` or ``milvus-lite:PATH.db#COLLECTION``
(:mod:`semsearch.milvus_location`); anything else is a directory. pymilvus is imported only when a
Milvus location is used.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal, get_args

from .backend import Storage
from .milvus_location import is_milvus_location

Location = Path | str  # a directory, or a Milvus location as written
Executor = Literal["local", "ray"]  # where a build embeds: this process, or a Ray cluster
EXECUTORS: tuple[str, ...] = get_args(Executor)


def location_of(value: str | os.PathLike[str]) -> Location:
    """A Milvus location as given (a string), anything else as a Path."""
    return str(value) if is_milvus_location(str(value)) else Path(value)


def build_target(engine: str | None, executor: str, ray_address: str | None) -> str | None:
    """The Milvus location a build writes into (None: in memory), checking ``executor`` and ``ray_address``."""
    from .errors import InputError

    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if ray_address is not None and executor != "ray":
        raise InputError("ray_address is for executor='ray'; pass both, or neither")
    if engine is None:
        return None
    where = location_of(engine)
    if not isinstance(where, str):
        raise InputError(
            f"engine {engine!r} is not a Milvus location: use milvus://HOST:PORT#NAME or "
            "milvus-lite:PATH.db#NAME (a directory index is built in memory and saved with save())"
        )
    return where


def storage_for(location: Location) -> Storage:
    """The Storage that reads and writes indexes at ``location``."""
    if isinstance(location, str):
        from .milvus_parts import MilvusStorage

        return MilvusStorage()
    from .index_dir import IndexDirectory

    return IndexDirectory()


def same_location(a: Location | None, b: Location) -> bool:
    """Whether two locations name the same index."""
    if a is None or isinstance(a, str) != isinstance(b, str):
        return False
    if isinstance(a, str) and isinstance(b, str):
        from .milvus_location import parse_location

        return str(parse_location(a)) == str(parse_location(b))
    return Path(a).resolve() == Path(b).resolve()


def writer_lock(location: Location) -> contextlib.AbstractContextManager[None]:
    """The cross-process writer lock of a directory index; none for Milvus (one writer per index: see README).

    A Milvus location is never turned into a lock file path (it would land in the working directory).
    """
    if isinstance(location, str):
        return contextlib.nullcontext()
    from .locks import write_lock

    return write_lock(location)
