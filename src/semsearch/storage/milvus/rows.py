"""How prepared documents become the rows of an index's Milvus collections, and the texts they index.

One row per chunk (its place, text, title, source, metadata, dense vector and BM25 weights), one per
document (raw and cleaned text, what the cleaner dropped, its chunks, its near-duplicate signature),
one per term; the collections' schemas are in :mod:`semsearch.storage.milvus.schema`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import Chunk, DuplicateRecord, PreparedDocument
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus.schema import MAX_TEXT_BYTES, PLACEHOLDER_DIM, SHORT_BYTES, SOURCE_BYTES


def chunk_row(
    entry: PreparedDocument, chunk: Chunk, n_terms: int, vector: np.ndarray, sparse: Mapping[int, float]
) -> dict[str, Any]:
    """A chunk's row: its place and text, its document's title, source and metadata, both vectors."""
    return {
        "chunk_id": int(chunk.chunk_id),
        "doc_id": chunk.doc_id,
        "ordinal": chunk.ordinal,
        "paragraph": chunk.paragraph,
        "piece": chunk.piece,
        "pieces": chunk.pieces,
        "span_start": chunk.start,
        "span_end": chunk.end,
        "n_tokens": chunk.n_tokens,
        "n_terms": n_terms,
        "text": chunk.text,
        "title": entry.title,
        "source": entry.document.origin,  # the column keeps its name: the file
        "metadata": jsonable(entry.document.metadata),
        "dense": np.asarray(vector, dtype=np.float32).tolist(),
        "sparse": dict(sparse),
    }


def document_row(entry: PreparedDocument, signature: tuple[bytes, Sequence[str]] | None) -> dict[str, Any]:
    """A document's row: raw and cleaned text, drops, chunks (sizes checked by :func:`check_rows`)."""
    doc = entry.document
    return {
        "doc_id": doc.doc_id,
        "title": entry.title,
        "title_source": entry.title_source,
        "source": doc.origin,
        "encoding": doc.encoding,
        "content_hash": doc.content_hash,
        "raw_text": doc.text,
        "clean_text": entry.clean.text,
        "metadata": jsonable(doc.metadata),
        "dropped": [[d.line, d.text, d.reason] for d in entry.clean.dropped],
        "chunk_ids": [int(c.chunk_id) for c in entry.chunks],
        "tokens": int(sum(c.n_tokens for c in entry.chunks)),
        **signature_fields(signature),
        "_placeholder": [0.0] * PLACEHOLDER_DIM,
    }


def term_row(term: str, term_id: int, df: int) -> dict[str, Any]:
    """A lexical term's row: its sparse dimension and document frequency."""
    return {"term": term, "term_id": term_id, "df": df, "_placeholder": [0.0] * PLACEHOLDER_DIM}


def signature_fields(signature: tuple[bytes, Sequence[str]] | None) -> dict[str, Any]:
    """A document's near-duplicate MinHash (base64) and numbers as row fields; empty without one."""
    if signature is None:
        return {"minhash": "", "numbers": []}
    minhash, numbers = signature
    return {"minhash": base64.b64encode(minhash).decode("ascii"), "numbers": sorted(numbers)}


def dumps(value: Any) -> str:
    """JSON for a collection property (the manifest, the BM25 statistics)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def loads(value: str | None, location: MilvusLocation, what: str) -> dict[str, Any]:
    """A collection property read back; IndexCorruptError naming ``what`` if it is missing or not a JSON object."""
    try:
        data = json.loads(value) if value is not None else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise IndexCorruptError(
            f"{location}: the collection's {what} is missing or unreadable; rebuild the index"
        )
    return data


def jsonable(metadata: Any) -> dict[str, Any]:
    """Metadata as plain JSON values (dates and other objects as text) for a JSON field."""
    return json.loads(json.dumps(dict(metadata), ensure_ascii=False, default=str))


def check_text_size(doc_id: str, what: str, text: str, limit: int = MAX_TEXT_BYTES) -> None:
    """InputError if ``text`` is larger than a Milvus text field holds."""
    size = len(text.encode("utf-8"))
    if size > limit:
        raise InputError(
            f"document {doc_id!r}: its {what} is {size} bytes, more than Milvus stores in its field "
            f"({limit}); shorten it, split the article into parts, or use a local index"
        )


def check_rows(
    prepared: Sequence[PreparedDocument],
    vectors: np.ndarray,
    duplicates: Sequence[DuplicateRecord],
    id_bytes: int,
) -> None:
    """InputError naming the first value Milvus would refuse, before anything of a change is written.

    Ids longer than ``id_bytes`` (the index's id fields; indexes written before format 3 hold 1024
    bytes), texts and titles longer than a text field, sources and metadata too large.
    """
    chunks = sum(len(e.chunks) for e in prepared)
    if chunks != len(vectors):
        raise InputError(f"{chunks} chunks but {len(vectors)} vectors to write")
    for entry in prepared:
        doc = entry.document
        check_id(doc.doc_id, id_bytes)
        check_text_size(doc.doc_id, "raw text", doc.text)
        check_text_size(doc.doc_id, "cleaned text", entry.clean.text)
        check_text_size(doc.doc_id, "title", entry.title)
        check_text_size(doc.doc_id, "origin", doc.origin, SOURCE_BYTES)
        check_text_size(doc.doc_id, "encoding", doc.encoding, SHORT_BYTES)
        check_text_size(
            doc.doc_id, "metadata (as JSON)", json.dumps(jsonable(doc.metadata), ensure_ascii=False)
        )
        for chunk in entry.chunks:
            check_text_size(doc.doc_id, "chunk text", chunk.text)
    for record in duplicates:
        check_id(record.doc_id, id_bytes)
        check_id(record.of_doc_id, id_bytes)
        check_text_size(record.doc_id, "title", record.title)
        check_text_size(record.doc_id, "origin", record.origin, SOURCE_BYTES)
        check_text_size(
            record.doc_id, "metadata (as JSON)", json.dumps(jsonable(record.metadata), ensure_ascii=False)
        )


def check_id(doc_id: str, id_bytes: int) -> None:
    """InputError if ``doc_id`` is longer than this index's id fields hold (only older indexes hold less)."""
    size = len(doc_id.encode("utf-8"))
    if size > id_bytes:
        raise InputError(
            f"document id {doc_id[:40]!r}… is {size} bytes; this Milvus index, written by an older semsearch, "
            f"holds ids of up to {id_bytes} bytes: give it a shorter id, or rebuild the index to hold longer ones"
        )
