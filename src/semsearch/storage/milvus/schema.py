"""Milvus's side of an index: the client, the collections' schemas, and FAISS index types mapped to Milvus's.

pymilvus is imported only here and only when a Milvus location is used; a missing package is an
error naming the extra to install.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semsearch.errors import BackendError, InputError
from semsearch.records import MAX_ID_BYTES
from semsearch.storage.locations import EXTRA_HINT, MilvusLocation

if TYPE_CHECKING:
    from semsearch.storage.milvus.collections import Collections

log = logging.getLogger(__name__)

MAX_TEXT_BYTES = 65535  # Milvus's VARCHAR limit
HNSW_EF_CONSTRUCTION = 200
PLACEHOLDER_DIM = 2  # Milvus wants a vector field in every collection; docs and terms carry a dummy one
CHUNK_INT_FIELDS = (
    "ordinal",
    "paragraph",
    "piece",
    "pieces",
    "span_start",
    "span_end",
    "n_tokens",
    "n_terms",
)


def pymilvus() -> Any:
    """The pymilvus module, or an InputError naming the extra to install."""
    try:
        import pymilvus as module
    except ImportError:
        raise InputError(
            f"Milvus locations need pymilvus (and milvus-lite for milvus-lite:): {EXTRA_HINT}"
        ) from None
    return module


# ---------------------------------------------------------------------- index types


@dataclass(frozen=True)
class MilvusIndexType:
    """A FAISS factory string as Milvus builds it: index type, build params, the search knob."""

    faiss: str
    milvus: str
    params: dict[str, int]
    search_knob: str | None  # "ef" (HNSW), "nprobe" (IVF) or None


_FACTORY = re.compile(r"^(?:(?P<flat>Flat)|HNSW(?P<m>\d+)(?:,Flat)?|IVF(?P<nlist>\d+),(?P<code>Flat|SQ8))$")


def milvus_index_type(index_type: str) -> MilvusIndexType:
    """Map a FAISS factory string to the Milvus index that searches the same way.

    Only types Milvus really builds are accepted: milvus-lite accepts IVF_PQ, DISKANN and SCANN but
    fails to build them in the background and searches by brute force, which would be a silent change.
    """
    spec = str(index_type).strip()
    match = _FACTORY.match(spec)
    if match is None:
        raise InputError(
            f"index_type {index_type!r} has no Milvus equivalent semsearch trusts; use Flat, HNSW<M> "
            "(e.g. HNSW32), IVF<nlist>,Flat or IVF<nlist>,SQ8 (PQ, DISKANN and SCANN are refused: "
            "milvus-lite only pretends to build them)"
        )
    if match["flat"]:
        return MilvusIndexType(spec, "FLAT", {}, None)
    if match["m"]:
        params = {"M": int(match["m"]), "efConstruction": HNSW_EF_CONSTRUCTION}
        return MilvusIndexType(spec, "HNSW", params, "ef")
    kind = "IVF_FLAT" if match["code"] == "Flat" else "IVF_SQ8"
    return MilvusIndexType(spec, kind, {"nlist": int(match["nlist"])}, "nprobe")


# ---------------------------------------------------------------------- connecting

# gRPC keep-alive as every server accepts it: a gRPC server's default policy counts a ping sent without
# a call in flight, or sooner than 5 minutes after the last, as abuse, and after two it closes the
# connection (GOAWAY "too_many_pings"). milvus-lite, embedded or as a server, keeps that policy, while
# pymilvus pings every 10 s even when idle; so the client pings only during calls, and at most every 6
# minutes (a call that long is still watched; an idle connection is simply reopened by gRPC).
KEEPALIVE = {"grpc.keepalive_time_ms": 360_000, "grpc.keepalive_permit_without_calls": 0}


def connect(location: MilvusLocation) -> Any:
    """A MilvusClient for ``location``; an unreachable server, or a database in use, is one clear error."""
    client_class = pymilvus().MilvusClient
    if location.lite:
        from semsearch.storage.milvus import lite

        lite.check_database(location)
        Path(location.uri).parent.mkdir(parents=True, exist_ok=True)
        # Embedded milvus-lite serves gRPC in this process and logs every call it does not implement
        # (AllocTimestamp, which pymilvus asks for and then does without) as an error with a traceback,
        # and a database it cannot open with the whole traceback: semsearch says why in one line.
        for name in ("grpc._server", "milvus_lite"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
        kwargs: dict[str, Any] = {"uri": location.uri}
    else:
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its own traceback of what we report
        kwargs = {"uri": location.uri, "timeout": 10}
        if location.token:
            kwargs["token"] = location.token
    try:
        return client_class(**kwargs, grpc_options=dict(KEEPALIVE))
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several types for one cause
        if location.lite:
            from semsearch.storage.milvus import lite

            raise lite.cannot_open(location, exc) from None
        raise BackendError(
            f"cannot connect to Milvus at {location} ({first_line(exc)}); is the server running and "
            "the address right? Credentials go in $SEMSEARCH_MILVUS_TOKEN"
        ) from None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, cut to 300 characters, for one-line errors."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def is_missing(exc: BaseException) -> bool:
    """Whether a Milvus error says a collection or alias does not exist."""
    text = str(exc).lower()
    return "not exist" in text or "not found" in text or "can't find" in text


# ---------------------------------------------------------------------- collections

PART_PROPERTY = "semsearch.part"  # which part of an index a collection is (Milvus format 3)
PRIMARY_KEYS = {"chunks": "chunk_id", "docs": "doc_id", "terms": "term", "dups": "doc_id", "bands": "key"}
TERM_BYTES = 1024  # the terms collection's key: longer terms are stored under a digest (MilvusReads.term_key)
# The fields of each collection but the chunks' (how a collection written before the part marks is known).
PART_FIELDS = {
    "docs": {
        "doc_id",
        "title",
        "title_source",
        "source",
        "encoding",
        "content_hash",
        "raw_text",
        "clean_text",
        "minhash",
        "metadata",
        "dropped",
        "chunk_ids",
        "numbers",
        "tokens",
        "_placeholder",
    },
    "terms": {"term", "term_id", "df", "_placeholder"},
    "dups": {"doc_id", "of_doc_id", "source", "title", "similarity", "metadata", "_placeholder"},
    "bands": {"key", "doc_ids", "_placeholder"},
}
SOURCE_BYTES = 4096
SHORT_BYTES = 64  # title_source, encoding, content hash


def create_collections(
    location: MilvusLocation,
    client: Any,
    names: Collections,
    dim: int,
    kind: MilvusIndexType,
    properties: dict[str, str],
) -> None:
    """Create the chunk, document, term, duplicate and band collections ``names`` (a new generation's).

    Each is marked as its part of a semsearch index (``semsearch.part``), so it is known as semsearch's
    before anything of it is replaced. Document ids take up to :data:`~semsearch.records.MAX_ID_BYTES`.
    """
    types = pymilvus().DataType
    chunks = client.create_schema(auto_id=False, enable_dynamic_field=False)
    chunks.add_field("chunk_id", types.INT64, is_primary=True)
    chunks.add_field("doc_id", types.VARCHAR, max_length=MAX_ID_BYTES)
    for name in CHUNK_INT_FIELDS:
        chunks.add_field(name, types.INT64)
    chunks.add_field("text", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    chunks.add_field("title", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    chunks.add_field("source", types.VARCHAR, max_length=SOURCE_BYTES)
    chunks.add_field("metadata", types.JSON)
    chunks.add_field("dense", types.FLOAT_VECTOR, dim=dim)
    chunks.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index(field_name="dense", index_type=kind.milvus, metric_type="IP", params=kind.params)
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    call(
        location,
        client.create_collection,
        names.chunks,
        schema=chunks,
        index_params=params,
        consistency_level="Strong",
        properties={**properties, PART_PROPERTY: "chunks"},
    )

    docs = client.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("doc_id", types.VARCHAR, max_length=MAX_ID_BYTES, is_primary=True)
    for name, size in (
        ("title", MAX_TEXT_BYTES),
        ("title_source", SHORT_BYTES),
        ("source", SOURCE_BYTES),
        ("encoding", SHORT_BYTES),
        ("content_hash", SHORT_BYTES),
        ("raw_text", MAX_TEXT_BYTES),
        ("clean_text", MAX_TEXT_BYTES),
        ("minhash", MAX_TEXT_BYTES),  # base64 of the near-duplicate MinHash ("" when dedup is off)
    ):
        docs.add_field(name, types.VARCHAR, max_length=size)
    for name in ("metadata", "dropped", "chunk_ids", "numbers"):
        docs.add_field(name, types.JSON)
    docs.add_field("tokens", types.INT64)
    _create_plain(location, client, types, names.docs, docs, "docs")

    terms = client.create_schema(auto_id=False, enable_dynamic_field=False)
    terms.add_field("term", types.VARCHAR, max_length=TERM_BYTES, is_primary=True)
    terms.add_field("term_id", types.INT64)
    terms.add_field("df", types.INT64)
    _create_plain(location, client, types, names.terms, terms, "terms")

    dups = client.create_schema(auto_id=False, enable_dynamic_field=False)
    dups.add_field("doc_id", types.VARCHAR, max_length=MAX_ID_BYTES, is_primary=True)
    dups.add_field("of_doc_id", types.VARCHAR, max_length=MAX_ID_BYTES)
    dups.add_field("source", types.VARCHAR, max_length=SOURCE_BYTES)
    dups.add_field("title", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    dups.add_field("similarity", types.DOUBLE)
    dups.add_field("metadata", types.JSON)
    _create_plain(location, client, types, names.dups, dups, "dups")

    bands = client.create_schema(auto_id=False, enable_dynamic_field=False)
    bands.add_field("key", types.VARCHAR, max_length=64, is_primary=True)  # "BAND.HASH", milvus_bands
    bands.add_field("doc_ids", types.JSON)
    _create_plain(location, client, types, names.bands, bands, "bands")


def _create_plain(
    location: MilvusLocation, client: Any, types: Any, name: str, schema: Any, part: str
) -> None:
    """Create a collection searched by no vector (documents, terms, duplicates): a placeholder one is required."""
    add_placeholder(schema, types)
    call(
        location,
        client.create_collection,
        name,
        schema=schema,
        index_params=placeholder_index(client),
        consistency_level="Strong",
        properties={PART_PROPERTY: part},
    )


def add_placeholder(schema: Any, types: Any) -> None:
    """Add the dummy vector field Milvus requires of every collection."""
    schema.add_field("_placeholder", types.FLOAT_VECTOR, dim=PLACEHOLDER_DIM)


def placeholder_index(client: Any) -> Any:
    """Index parameters for the dummy vector field (Milvus loads only indexed collections)."""
    params = client.prepare_index_params()
    params.add_index(field_name="_placeholder", index_type="FLAT", metric_type="L2")
    return params


def call(location: MilvusLocation, method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a client method; Milvus's own errors become a BackendError naming the location."""
    exceptions = pymilvus().exceptions
    try:
        return method(*args, **kwargs)
    except exceptions.MilvusException as exc:
        raise BackendError(f"Milvus at {location} refused {method.__name__}: {first_line(exc)}") from None
