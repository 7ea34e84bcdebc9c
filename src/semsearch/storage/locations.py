"""Where an index lives, parsed once: a :class:`DirectoryLocation` or a :class:`MilvusLocation`.

A Milvus location is ``milvus://HOST:PORT#COLLECTION``, ``milvus+https://HOST:PORT#COLLECTION`` or
``milvus-lite:PATH.db#COLLECTION``; anything else is a directory. :func:`parse_location` is the one
place a location written as text is told apart, and :func:`storage_for` the one place a location's
kind chooses its :class:`~semsearch.storage.base.Storage`. Standard library only, so the CLI can
parse a location without importing numpy or pymilvus. Credentials come from ``$SEMSEARCH_MILVUS_TOKEN``
(``user:password`` or an API key) or the URI's user info (``milvus://user:password@host:19530#news``);
they are never part of ``str()``.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import unquote, urlsplit

from semsearch.errors import InputError

if TYPE_CHECKING:
    from semsearch.storage.base import Storage

SCHEMES = ("milvus://", "milvus+https://", "milvus-lite:")
TOKEN_ENV = "SEMSEARCH_MILVUS_TOKEN"
EXTRA_HINT = "pip install 'semsearch[milvus]'"
_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_EXAMPLES = "milvus://HOST:PORT#COLLECTION or milvus-lite:PATH.db#COLLECTION"

Executor = Literal["local", "ray"]  # where a build embeds: this process, or a Ray cluster
EXECUTORS: tuple[str, ...] = get_args(Executor)


@dataclass(frozen=True)
class DirectoryLocation:
    """An index kept in a directory on this machine."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class MilvusLocation:
    """An index kept in Milvus: the client's URI, the collection, and a token (never shown)."""

    uri: str
    collection: str
    lite: bool
    token: str = field(default="", repr=False)

    def __str__(self) -> str:
        if self.lite:
            return f"milvus-lite:{self.uri}#{self.collection}"
        scheme = "milvus+https" if self.uri.startswith("https://") else "milvus"
        return f"{scheme}://{self.uri.split('://', 1)[1]}#{self.collection}"


Location = DirectoryLocation | MilvusLocation
LocationLike = str | os.PathLike[str] | DirectoryLocation | MilvusLocation  # a location as users give it


def is_milvus_location(value: object) -> bool:
    """Whether ``value``, written as text, names a Milvus index rather than a directory."""
    return isinstance(value, str) and value.startswith(SCHEMES)


def parse_location(value: LocationLike) -> Location:
    """A location from a path or a Milvus location written as text (a parsed one is returned as is).

    A malformed Milvus location is an InputError showing the accepted forms.
    """
    if isinstance(value, (DirectoryLocation, MilvusLocation)):
        return value
    if not is_milvus_location(value):
        return DirectoryLocation(Path(value))
    return _parse_milvus(str(value))


def _parse_milvus(value: str) -> MilvusLocation:
    shown = redacted(value)  # what an error may show: never the password
    where, hash_, collection = value.partition("#")
    if not hash_ or not _COLLECTION.match(collection):
        raise InputError(
            f"{shown!r} names no valid collection after '#': use letters, digits and underscores, "
            f"starting with a letter, e.g. {_EXAMPLES}"
        )
    if "__" in collection:
        raise InputError(
            f"collection name {collection!r} may not contain '__' (semsearch uses it for its own)"
        )
    if where.startswith("milvus-lite:"):
        path = where.removeprefix("milvus-lite:")
        if not path.endswith(".db"):
            raise InputError(
                f"{shown!r}: a milvus-lite database is a file ending in .db, e.g. milvus-lite:indexes/news.db#seeds"
            )
        return MilvusLocation(uri=str(Path(path).expanduser()), collection=collection, lite=True)
    secure = where.startswith("milvus+https://")
    try:
        parts = urlsplit(where.replace("milvus+https://", "milvus://", 1))
        hostname, port = parts.hostname, parts.port or 19530
    except ValueError as exc:  # a bracketed IPv6 address left open, a port that is not a number
        raise InputError(
            f"{shown!r} is not a valid address ({_reason(exc)}); e.g. milvus://127.0.0.1:19530#news "
            "or milvus://[::1]:19530#news"
        ) from None
    if not hostname or parts.path not in ("", "/") or parts.query:
        raise InputError(f"{shown!r} has no HOST[:PORT] after milvus://; e.g. milvus://127.0.0.1:19530#news")
    token = os.environ.get(TOKEN_ENV, "")
    if parts.username and not token:
        token = unquote(parts.username) + (f":{unquote(parts.password)}" if parts.password else "")
    host = f"[{hostname}]" if ":" in hostname else hostname
    uri = f"{'https' if secure else 'http'}://{host}:{port}"
    return MilvusLocation(uri=uri, collection=collection, lite=False, token=token)


_USERINFO = re.compile(r"^(milvus(?:\+https)?://).*@")  # up to the last '@': a password may hold '#' or '@'


def redacted(value: str) -> str:
    """A Milvus location as text with any user and password replaced by ``***`` (for error messages)."""
    return _USERINFO.sub(r"\1***@", value)


def _reason(exc: ValueError) -> str:
    """Why urlsplit refused an address, without echoing it (its messages may quote the whole address)."""
    text = str(exc)
    if "IPv6" in text:
        return "a bracketed IPv6 address is malformed"
    if "port" in text.lower():
        return "the port is not a number from 0 to 65535"
    return "it cannot be parsed as host and port"


def storage_for(location: Location | None) -> Storage:
    """The Storage that opens and creates indexes at ``location`` (None: a directory index built in memory)."""
    if isinstance(location, MilvusLocation):
        from semsearch.storage.milvus.engine import MilvusStorage

        return MilvusStorage()
    from semsearch.storage.local.engine import DirectoryStorage

    return DirectoryStorage()


def same_location(a: Location | None, b: Location | None) -> bool:
    """Whether two locations name the same index."""
    if a is None or b is None:
        return False
    if isinstance(a, DirectoryLocation) and isinstance(b, DirectoryLocation):
        return a.path.resolve() == b.path.resolve()
    return isinstance(a, MilvusLocation) and isinstance(b, MilvusLocation) and str(a) == str(b)


def writer_lock(location: Location) -> contextlib.AbstractContextManager[None]:
    """The cross-process writer lock of a directory index; none for Milvus (one writer per index: see README).

    A Milvus location is never turned into a lock file path (it would land in the working directory).
    """
    if isinstance(location, MilvusLocation):
        return contextlib.nullcontext()
    from semsearch.storage.locks import write_lock

    return write_lock(location.path)


def build_target(engine: LocationLike | None, executor: str, ray_address: str | None) -> Location | None:
    """The location a build writes into (None: in memory, to save later), checking ``executor`` and ``ray_address``."""
    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if ray_address is not None and executor != "ray":
        raise InputError("ray_address is for executor='ray'; pass both, or neither")
    return None if engine is None else parse_location(engine)
