"""Milvus's side of an index: the client, the collections' schemas, and FAISS index types mapped to Milvus's.

pymilvus is imported only here and only when a Milvus location is used; a missing package is an
error naming the extra to install.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semsearch.errors import BackendError, InputError
from semsearch.storage.locations import EXTRA_HINT, MilvusLocation

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

CONNECT_ATTEMPTS = 3  # to a server; milvus-lite embedded runs in this process and is tried once


def connect(location: MilvusLocation) -> Any:
    """A MilvusClient for ``location``; an unreachable server is a BackendError naming it."""
    client_class = pymilvus().MilvusClient
    if location.lite:
        try:
            import milvus_lite  # noqa: F401
        except ImportError:
            raise InputError(f"milvus-lite: locations need the milvus-lite package: {EXTRA_HINT}") from None
        Path(location.uri).parent.mkdir(parents=True, exist_ok=True)
        # Embedded milvus-lite serves gRPC in this process and logs every call it does not implement
        # (AllocTimestamp, which pymilvus asks for and then does without) as an error with a traceback.
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        kwargs: dict[str, Any] = {"uri": location.uri}
    else:
        kwargs = {"uri": location.uri, "timeout": 10}
        if location.token:
            kwargs["token"] = location.token
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            return client_class(**kwargs)
        except Exception as exc:  # noqa: BLE001 - pymilvus raises several types for one cause
            if location.lite or attempt + 1 == CONNECT_ATTEMPTS:
                raise BackendError(
                    f"cannot connect to Milvus at {location} ({first_line(exc)}); is the server running and "
                    "the address right? Credentials go in $SEMSEARCH_MILVUS_TOKEN"
                ) from None
            # A server that just dropped this process's channel (gRPC GOAWAY, e.g. "too_many_pings"
            # after idle keep-alives) accepts the next connection: wait a moment and try again.
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, cut to 300 characters, for one-line errors."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def create_collections(
    location: MilvusLocation, client: Any, dim: int, kind: MilvusIndexType, properties: dict[str, str]
) -> None:
    """Create the chunk, document, term, duplicate and band collections of a new index (replacing any there)."""
    for name in location.collections:
        if call(location, client.has_collection, name):
            log.warning("replacing the index in collection %s of %s", name, location)
            call(location, client.drop_collection, name)
    types = pymilvus().DataType
    chunks = client.create_schema(auto_id=False, enable_dynamic_field=False)
    chunks.add_field("chunk_id", types.INT64, is_primary=True)
    chunks.add_field("doc_id", types.VARCHAR, max_length=1024)
    for name in CHUNK_INT_FIELDS:
        chunks.add_field(name, types.INT64)
    chunks.add_field("text", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    chunks.add_field("title", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    chunks.add_field("source", types.VARCHAR, max_length=4096)
    chunks.add_field("metadata", types.JSON)
    chunks.add_field("dense", types.FLOAT_VECTOR, dim=dim)
    chunks.add_field("sparse", types.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index(field_name="dense", index_type=kind.milvus, metric_type="IP", params=kind.params)
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    call(
        location,
        client.create_collection,
        location.collection,
        schema=chunks,
        index_params=params,
        consistency_level="Strong",
        properties=properties,
    )

    docs = client.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("doc_id", types.VARCHAR, max_length=1024, is_primary=True)
    for name, size in (
        ("title", MAX_TEXT_BYTES),
        ("title_source", 64),
        ("source", 4096),
        ("encoding", 64),
        ("content_hash", 64),
        ("raw_text", MAX_TEXT_BYTES),
        ("clean_text", MAX_TEXT_BYTES),
        ("minhash", MAX_TEXT_BYTES),  # base64 of the near-duplicate MinHash ("" when dedup is off)
    ):
        docs.add_field(name, types.VARCHAR, max_length=size)
    for name in ("metadata", "dropped", "chunk_ids", "numbers"):
        docs.add_field(name, types.JSON)
    docs.add_field("tokens", types.INT64)
    _create_plain(location, client, types, location.docs_collection, docs)

    terms = client.create_schema(auto_id=False, enable_dynamic_field=False)
    terms.add_field("term", types.VARCHAR, max_length=1024, is_primary=True)
    terms.add_field("term_id", types.INT64)
    terms.add_field("df", types.INT64)
    _create_plain(location, client, types, location.terms_collection, terms)

    dups = client.create_schema(auto_id=False, enable_dynamic_field=False)
    dups.add_field("doc_id", types.VARCHAR, max_length=1024, is_primary=True)
    dups.add_field("of_doc_id", types.VARCHAR, max_length=1024)
    dups.add_field("source", types.VARCHAR, max_length=4096)
    dups.add_field("title", types.VARCHAR, max_length=MAX_TEXT_BYTES)
    dups.add_field("similarity", types.DOUBLE)
    dups.add_field("metadata", types.JSON)
    _create_plain(location, client, types, location.dups_collection, dups)

    bands = client.create_schema(auto_id=False, enable_dynamic_field=False)
    bands.add_field("key", types.VARCHAR, max_length=64, is_primary=True)  # "BAND.HASH", milvus_bands
    bands.add_field("doc_ids", types.JSON)
    _create_plain(location, client, types, location.bands_collection, bands)


def _create_plain(location: MilvusLocation, client: Any, types: Any, name: str, schema: Any) -> None:
    """Create a collection searched by no vector (documents, terms, duplicates): a placeholder one is required."""
    add_placeholder(schema, types)
    call(
        location,
        client.create_collection,
        name,
        schema=schema,
        index_params=placeholder_index(client),
        consistency_level="Strong",
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
