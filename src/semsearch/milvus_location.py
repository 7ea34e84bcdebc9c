"""Where a Milvus-backed index lives: ``milvus://HOST:PORT#COLLECTION`` or ``milvus-lite:PATH.db#COLLECTION``.

Standard library only, so the CLI can tell a Milvus location from a directory without importing
pymilvus. Credentials come from ``$SEMSEARCH_MILVUS_TOKEN`` (``user:password`` or an API key) or the
URI's user info (``milvus://user:password@host:19530#news``); they are never part of ``str()``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import InputError

SCHEMES = ("milvus://", "milvus+https://", "milvus-lite:")
TOKEN_ENV = "SEMSEARCH_MILVUS_TOKEN"
EXTRA_HINT = "pip install 'semsearch[milvus]'"
_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_EXAMPLES = "milvus://HOST:PORT#COLLECTION or milvus-lite:PATH.db#COLLECTION"


def is_milvus_location(value: object) -> bool:
    """Whether ``value`` names a Milvus index rather than a directory."""
    return isinstance(value, str) and value.startswith(SCHEMES)


@dataclass(frozen=True)
class MilvusLocation:
    """A parsed Milvus location: the client's URI, the collection, and a token (never shown)."""

    uri: str
    collection: str
    lite: bool
    token: str = field(default="", repr=False)

    def __str__(self) -> str:
        if self.lite:
            return f"milvus-lite:{self.uri}#{self.collection}"
        scheme = "milvus+https" if self.uri.startswith("https://") else "milvus"
        return f"{scheme}://{self.uri.split('://', 1)[1]}#{self.collection}"

    @property
    def docs_collection(self) -> str:
        """The collection of documents (content hashes, raw and cleaned text) beside the chunks."""
        return f"{self.collection}__docs"

    @property
    def terms_collection(self) -> str:
        """The collection of lexical terms: id and document frequency of every term."""
        return f"{self.collection}__terms"

    @property
    def dups_collection(self) -> str:
        """The collection of near-duplicates: documents not indexed because they repeat a stored one."""
        return f"{self.collection}__dups"

    @property
    def bands_collection(self) -> str:
        """The collection of near-duplicate LSH band keys: key → the documents whose MinHash has it."""
        return f"{self.collection}__bands"

    @property
    def required_collections(self) -> tuple[str, str, str, str]:
        """The collections every index has: chunks, documents, terms, duplicates (format 1 had only these)."""
        return (self.collection, self.docs_collection, self.terms_collection, self.dups_collection)

    @property
    def collections(self) -> tuple[str, ...]:
        """Every collection of the index: chunks, documents, terms, duplicates, band keys."""
        return (*self.required_collections, self.bands_collection)


def parse_location(value: str) -> MilvusLocation:
    """Parse a Milvus location; a malformed one is an InputError showing the accepted forms."""
    if not is_milvus_location(value):
        raise InputError(f"{value!r} is not a Milvus location; use {_EXAMPLES}")
    where, hash_, collection = value.partition("#")
    if not hash_ or not _COLLECTION.match(collection):
        raise InputError(
            f"{value!r} names no valid collection after '#': use letters, digits and underscores, "
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
                f"{value!r}: a milvus-lite database is a file ending in .db, e.g. milvus-lite:indexes/news.db#seeds"
            )
        return MilvusLocation(uri=str(Path(path).expanduser()), collection=collection, lite=True)
    secure = where.startswith("milvus+https://")
    parts = urlsplit(where.replace("milvus+https://", "milvus://", 1))
    if not parts.hostname or parts.path not in ("", "/"):
        raise InputError(f"{value!r} has no HOST[:PORT] after milvus://; e.g. milvus://127.0.0.1:19530#news")
    try:
        port = parts.port or 19530
    except ValueError:
        raise InputError(f"{value!r} has an invalid port") from None
    token = os.environ.get(TOKEN_ENV, "")
    if parts.username and not token:
        token = unquote(parts.username) + (f":{unquote(parts.password)}" if parts.password else "")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    uri = f"{'https' if secure else 'http'}://{host}:{port}"
    return MilvusLocation(uri=uri, collection=collection, lite=False, token=token)
