"""Which Milvus collections hold an index, and how a rebuild replaces them whole.

An index at ``…#NAME`` is five collections: chunks, documents, terms, duplicates and band keys. Since
Milvus format 3 they are one *generation*, ``NAME__gTAG`` (the chunks) and ``NAME__gTAG__docs``,
``__terms``, ``__dups``, ``__bands``, and ``NAME`` is an alias of the chunk collection. A build writes
a new generation beside the one in use and, once it is complete, points the alias at it (one call,
atomic) and drops the old one: a build that stops, even killed with -9, leaves the old index as it
was, and an unfinished generation is never read. Indexes written before (Milvus formats 1 and 2) are
the collections ``NAME``, ``NAME__docs``… themselves; a rebuild replaces them by a generation, dropping
``NAME`` and creating the alias at once. If it stops between the two, the next open finds ``NAME``
missing and points it at the newest complete generation.

Only semsearch's own collections are ever dropped: a chunk collection carrying semsearch's format
mark, and collections marked as one of its parts (or, written before the marks, holding exactly the
fields of one). Anything else under an index's name is refused, never replaced.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args

from semsearch.errors import InputError
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus.schema import PART_FIELDS, PART_PROPERTY, call, is_missing

log = logging.getLogger(__name__)

FORMAT_NAME = "semsearch-milvus"
# 3: collections per generation behind an alias, ids up to records.MAX_ID_BYTES; 2: + NAME__bands
# (milvus_bands); format 1 is read, its changes read every signature
FORMAT_VERSION = 3
FORMAT_PROPERTY = "semsearch.format"  # "semsearch-milvus/3": the layout of the collections
MANIFEST_PROPERTY = "semsearch.storage.manifest"
INCOMPLETE = "incomplete"  # set in the manifest a build starts with, gone from the one it ends with

Part = Literal["chunks", "docs", "terms", "dups", "bands"]
PARTS: tuple[Part, ...] = get_args(Part)
_TAG = re.compile(r"^[0-9a-f]{15}$")


@dataclass(frozen=True)
class Collections:
    """The collections of one index: ``chunks``, and the others named after it (``chunks__docs``…).

    ``generation``: the tag of a format-3 generation; None for the layout before generations.
    """

    chunks: str
    generation: str | None = None

    @property
    def docs(self) -> str:
        """One row per document: content hash, raw and cleaned text, its chunk ids."""
        return f"{self.chunks}__docs"

    @property
    def terms(self) -> str:
        """One row per lexical term: its sparse id and document frequency."""
        return f"{self.chunks}__terms"

    @property
    def dups(self) -> str:
        """Documents not indexed as they repeat a kept one."""
        return f"{self.chunks}__dups"

    @property
    def bands(self) -> str:
        """Near-duplicate LSH band keys → the documents having them (format 2 and later)."""
        return f"{self.chunks}__bands"

    @property
    def required(self) -> tuple[str, str, str, str]:
        """The collections every index has (Milvus format 1 had only these)."""
        return (self.chunks, self.docs, self.terms, self.dups)

    def named(self) -> dict[Part, str]:
        """Each part's collection."""
        return dict(zip(PARTS, (self.chunks, self.docs, self.terms, self.dups, self.bands)))


def legacy(location: MilvusLocation) -> Collections:
    """The collections of an index written before generations (``NAME``, ``NAME__docs`` and so on)."""
    return Collections(location.collection)


def new_generation(location: MilvusLocation) -> Collections:
    """The collections of a new generation of the index at ``location`` (tags sort by time)."""
    tag = f"{time.time_ns() // 1_000_000:011x}{secrets.token_hex(2)}"
    return Collections(f"{location.collection}__g{tag}", tag)


def generation_of(location: MilvusLocation, name: str) -> Collections | None:
    """The generation whose chunk collection is ``name``, or None if ``name`` is not one of the index's."""
    prefix = f"{location.collection}__g"
    tag = name[len(prefix) :] if name.startswith(prefix) else ""
    return Collections(name, tag) if _TAG.match(tag) else None


def alias_target(location: MilvusLocation, client: Any) -> str | None:
    """The collection the index's name is an alias of, or None when it is not an alias."""
    try:
        found = client.describe_alias(location.collection)
    except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException for "no such alias"
        if is_missing(exc):
            return None
        raise
    return str(found.get("collection_name") or "") or None


def current(location: MilvusLocation, client: Any) -> Collections | None:
    """The collections the index's name stands for now, or None if it names nothing."""
    target = alias_target(location, client)
    if target is not None:
        found = generation_of(location, target)
        if found is None:
            raise InputError(
                f"{location}: the name is an alias of collection {target}, which is not a semsearch "
                "index's; semsearch leaves it alone: choose another name"
            )
        return found
    if call(location, client.has_collection, location.collection):
        return legacy(location)
    return None


def format_mark(properties: dict[str, Any]) -> int | None:
    """The Milvus format version a chunk collection's properties mark, or None if it has no semsearch mark."""
    name, _, version = str(properties.get(FORMAT_PROPERTY, "")).partition("/")
    return int(version) if name == FORMAT_NAME and version.isdigit() else None


def properties_of(location: MilvusLocation, client: Any, name: str) -> dict[str, Any]:
    """A collection's properties."""
    return dict(call(location, client.describe_collection, name).get("properties") or {})


def is_ours(location: MilvusLocation, client: Any, name: str, part: Part) -> bool:
    """Whether collection ``name`` is semsearch's ``part``: marked so, or (before marks) exactly its fields."""
    described = call(location, client.describe_collection, name)
    properties = dict(described.get("properties") or {})
    if part == "chunks":
        return format_mark(properties) is not None
    if PART_PROPERTY in properties:
        return properties[PART_PROPERTY] == part
    fields = {str(f.get("name")) for f in described.get("fields") or ()}
    return fields == PART_FIELDS[part]


def is_complete(location: MilvusLocation, client: Any, collections: Collections) -> bool:
    """Whether a generation's build finished: its manifest is there and not marked incomplete."""
    if not all(call(location, client.has_collection, name) for name in collections.required):
        return False
    properties = properties_of(location, client, collections.chunks)
    try:
        manifest = json.loads(properties.get(MANIFEST_PROPERTY) or "null")
    except ValueError:
        return False
    return format_mark(properties) is not None and isinstance(manifest, dict) and not manifest.get(INCOMPLETE)


def check_replaceable(location: MilvusLocation, client: Any) -> None:
    """InputError unless whatever the index's name stands for now is a semsearch index a build may replace."""
    found = current(location, client)
    if found is not None and not is_ours(location, client, found.chunks, "chunks"):
        raise InputError(
            f"{location}: collection {found.chunks} is not a semsearch index (it has no semsearch format "
            "mark), so semsearch will not replace it; choose another name after '#', or drop it yourself"
        )


def recover(location: MilvusLocation, client: Any) -> Collections | None:
    """Point the index's name at its newest complete generation, when a rebuild stopped before it did.

    A rebuild of an index written before generations drops ``NAME`` and then creates the alias; this
    finishes what it started. None if the index has no complete generation.
    """
    complete = [
        found
        for found in generations(location, client)
        if is_complete(location, client, found) and is_ours(location, client, found.chunks, "chunks")
    ]
    if not complete:
        return None
    newest = max(complete, key=lambda c: c.generation or "")
    log.warning("%s: a rebuild stopped before it was published; using its complete generation", location)
    call(location, client.create_alias, newest.chunks, location.collection)
    return newest


def generations(location: MilvusLocation, client: Any) -> list[Collections]:
    """Every generation of the index in Milvus (complete or not, in use or not)."""
    found: dict[str, Collections] = {}
    for name in call(location, client.list_collections):
        chunks = str(name)
        for part in PARTS[1:]:  # a part left without its chunk collection (a drop that was killed)
            chunks = chunks.removesuffix(f"__{part}")
        generation = generation_of(location, chunks)
        if generation is not None:
            found[generation.chunks] = generation
    return list(found.values())


def publish(location: MilvusLocation, client: Any, new: Collections) -> None:
    """Make the complete generation ``new`` the index (one alias call), then drop what it replaced."""
    target = alias_target(location, client)
    if target is not None:
        call(location, client.alter_alias, new.chunks, location.collection)
    elif call(location, client.has_collection, location.collection):
        check_replaceable(location, client)  # never drop a collection that is not an index's
        call(location, client.drop_collection, location.collection)
        call(location, client.create_alias, new.chunks, location.collection)
    else:
        call(location, client.create_alias, new.chunks, location.collection)
    drop_stale(location, client, keep=new)


def drop_stale(location: MilvusLocation, client: Any, keep: Collections) -> None:
    """Drop the index's collections other than ``keep``'s: older and unfinished generations, the old layout."""
    stale = [found for found in generations(location, client) if found.chunks != keep.chunks]
    if not call(location, client.has_collection, location.collection) or alias_target(location, client):
        stale.append(legacy(location))  # the old layout's other collections, once NAME is no longer one
    for found in stale:  # the chunk collection last: until it goes, the generation is found by its name
        for part, name in reversed(found.named().items()):
            if part == "chunks" and found.generation is None:
                continue  # NAME itself: now the alias
            if call(location, client.has_collection, name) and alias_target_is_not(location, client, name):
                if is_ours(location, client, name, part):
                    call(location, client.drop_collection, name)


def alias_target_is_not(location: MilvusLocation, client: Any, name: str) -> bool:
    """Whether ``name`` is a collection of its own, not an alias (milvus-lite drops an alias's target)."""
    try:
        client.describe_alias(name)
    except Exception as exc:  # noqa: BLE001 - MilvusException: no such alias
        if is_missing(exc):
            return True
        raise
    return False
