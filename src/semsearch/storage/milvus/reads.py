"""Searching and reading an index kept in Milvus: what :class:`~semsearch.storage.milvus.store.MilvusStore` reads.

Dense and lexical (sparse BM25) searches, chunk rows, stored vectors, documents, listings, duplicates
and counts, read from the three collections described in :mod:`semsearch.storage.milvus.store`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semsearch.errors import BackendError, IndexCorruptError, InputError
from semsearch.records import (
    Chunk,
    ChunkRow,
    DocumentSummary,
    Dropped,
    DuplicateRecord,
    Fingerprint,
    StoredDocument,
)
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus.collections import Collections, Part
from semsearch.storage.milvus.expressions import after, both, one_of
from semsearch.storage.milvus.schema import CHUNK_INT_FIELDS, PRIMARY_KEYS, TERM_BYTES, MilvusIndexType, call
from semsearch.storage.milvus.split_bm25 import CorpusStats, query_weights
from semsearch.text.analyzer import Analyzer

MAX_LIMIT = 16384  # Milvus's largest top-k
LOOKUP_BATCH = 1000
SCAN_BATCH = 1000  # rows a scan reads per query
# A chunk's row as read back: the schema's integer fields (less n_terms, read only where needed).
CHUNK_FIELDS = (
    "chunk_id",
    "doc_id",
    *(name for name in CHUNK_INT_FIELDS if name != "n_terms"),
    "text",
    "title",
    "source",
)


@dataclass(frozen=True)
class TermRow:
    """A lexical term as stored: its sparse dimension and in how many chunks it occurs."""

    term_id: int
    df: int


@dataclass
class StoreState:
    """What the store and its reads share of one open index: manifest, BM25 statistics, analyzer, totals."""

    manifest: dict[str, Any]
    stats: CorpusStats
    analyzer: Analyzer
    kind: MilvusIndexType
    totals: dict[str, int]


class MilvusReads:
    """Searches and reads of one index in Milvus (the :class:`~semsearch.storage.milvus.store.MilvusStore` writes).

    Rows are found by key with :meth:`get` and read in pages with :meth:`scan`, both through filter
    expressions built by :mod:`~semsearch.storage.milvus.expressions` (pymilvus's ``get`` and
    ``query_iterator`` quote string keys without escaping them).
    """

    def __init__(self, location: MilvusLocation, client: Any, state: StoreState, names: Collections) -> None:
        self.location = location
        self.state = state
        self.names = names
        self._client = client

    def __len__(self) -> int:
        return self.state.stats.chunks

    def search_dense(
        self, vectors: np.ndarray, depth: int, *, ef_search: int = 64, nprobe: int = 16, filter: str = ""
    ) -> list[list[tuple[int, float]]]:
        """The ``depth`` nearest chunks (id, cosine) of each query vector, best first."""
        if not len(self) or not len(vectors):
            return [[] for _ in range(len(vectors))]
        limit = max(1, min(depth, MAX_LIMIT, len(self)))
        params: dict[str, int] = {}
        if self.state.kind.search_knob == "ef":
            params["ef"] = max(ef_search, limit)
        elif self.state.kind.search_knob == "nprobe":
            params["nprobe"] = nprobe
        result = call(
            self.location,
            self._client.search,
            self.names.chunks,
            data=np.asarray(vectors, dtype=np.float32).tolist(),
            anns_field="dense",
            limit=limit,
            filter=filter,
            search_params={"metric_type": "IP", "params": params},
            output_fields=["chunk_id"],
        )
        return [ranked(hits) for hits in result]

    def search_lexical(self, query: str, depth: int, *, filter: str = "") -> list[tuple[int, float]]:
        """The ``depth`` best (chunk id, BM25) pairs sharing a term with ``query``, as bm25s scores them."""
        terms = list(dict.fromkeys(self.state.analyzer.tokens(query)))
        if not terms or not len(self):
            return []
        rows = self.term_rows(set(terms))
        weights = query_weights(terms, {t: r.df for t, r in rows.items()}, self.state.stats.chunks)
        if not weights:
            return []
        vector = {rows[t].term_id: w for t, w in weights.items()}
        result = call(
            self.location,
            self._client.search,
            self.names.chunks,
            data=[vector],
            anns_field="sparse",
            limit=max(1, min(depth, MAX_LIMIT, len(self))),
            filter=filter,
            search_params={"metric_type": "IP"},
            output_fields=["chunk_id"],
        )
        return [(cid, score) for cid, score in ranked(result[0]) if score > 0]

    def fetch(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows by id, as the local chunk store gives them (unknown ids left out)."""
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        rows = self.get("chunks", unique, [*CHUNK_FIELDS, "metadata"])
        return {int(r["chunk_id"]): chunk_record(r, self.location) for r in rows}

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The stored dense vectors of chunks by id, in the order asked; an unknown id is an InputError."""
        ids = [int(i) for i in chunk_ids]
        found = {int(r["chunk_id"]): r["dense"] for r in self.get("chunks", ids, ["dense"])}
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no chunk {missing[0]} in {self.location}")
        return np.asarray([found[i] for i in ids], dtype=np.float32).reshape(len(ids), -1)

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        rows = list(self.scan("chunks", list(CHUNK_FIELDS)))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            yield Chunk(
                chunk_id=int(r["chunk_id"]),
                doc_id=r["doc_id"],
                ordinal=r["ordinal"],
                text=r["text"],
                start=r["span_start"],
                end=r["span_end"],
                paragraph=r["paragraph"],
                piece=r["piece"],
                pieces=r["pieces"],
                n_tokens=r["n_tokens"],
                title=r["title"],
            )

    def content_hashes(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Document id → content hash (of ``doc_ids`` only, when given: O(those), not O(index))."""
        if doc_ids is not None:
            rows = self.get("docs", list(dict.fromkeys(doc_ids)), ["content_hash"])
            return {r["doc_id"]: r["content_hash"] for r in rows}
        return {r["doc_id"]: r["content_hash"] for r in self.scan("docs", ["content_hash"])}

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return sorted(self.content_hashes())

    def document(self, doc_id: str) -> StoredDocument | None:
        """One document's stored record, as the local chunk store gives it, or None."""
        fields = ["title", "title_source", "source", "encoding", "content_hash", "raw_text", "clean_text"]
        rows = self.get("docs", [doc_id], [*fields, "metadata", "dropped"])
        if not rows:
            return None
        row = rows[0]
        try:
            dropped = [Dropped(int(d[0]), str(d[1]), str(d[2])) for d in row["dropped"]]
        except (TypeError, ValueError, IndexError, KeyError):
            raise IndexCorruptError(
                f"{self.location}: document {doc_id!r} has damaged drops; rebuild the index"
            ) from None
        return StoredDocument(
            doc_id=row["doc_id"],
            **{
                ("origin" if name == "source" else name): row[name] for name in fields
            },  # the column keeps its name
            metadata=metadata_of(row.get("metadata"), self.location),
            dropped=dropped,
        )

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        return {r["doc_id"]: [int(c) for c in r["chunk_ids"]] for r in self.scan("docs", ["chunk_ids"])}

    def summaries(self) -> list[DocumentSummary]:
        """Every document's id, title, source, metadata and chunk count, by id."""
        rows = self.scan("docs", ["title", "source", "metadata", "chunk_ids"])
        return [
            DocumentSummary(
                r["doc_id"],
                r["title"],
                r["source"],
                metadata_of(r["metadata"], self.location),
                len(r["chunk_ids"]),
            )
            for r in sorted(rows, key=lambda r: r["doc_id"])
        ]

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        rows = list(self.scan("chunks", [*CHUNK_FIELDS, "metadata"]))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            yield chunk_record(r, self.location)

    def signatures(self) -> Iterator[Fingerprint]:
        """Every kept document's near-duplicate signature; none for documents written without one."""
        for r in self.scan("docs", ["minhash", "numbers"]):
            if r["minhash"]:
                yield Fingerprint(r["doc_id"], base64.b64decode(r["minhash"]), list(r["numbers"] or []))

    def duplicates_of(self, doc_ids: Sequence[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        wanted = list(dict.fromkeys(doc_ids))
        found: list[dict[str, Any]] = []
        for first in range(0, len(wanted), LOOKUP_BATCH):
            part = wanted[first : first + LOOKUP_BATCH]
            fields = ["of_doc_id", "source", "title", "similarity", "metadata"]
            found += self.scan("dups", fields, where=one_of("of_doc_id", part))
        out: dict[str, list[DuplicateRecord]] = {}
        for r in sorted(found, key=lambda r: (r["of_doc_id"], r["doc_id"])):
            record = DuplicateRecord(
                r["doc_id"],
                r["of_doc_id"],
                r["source"],
                r["title"],
                float(r["similarity"]),
                metadata_of(r["metadata"], self.location),
            )
            out.setdefault(record.of_doc_id, []).append(record)
        return out

    def counts(self) -> dict[str, int]:
        """Documents, chunks, tokens and near-duplicates stored (totals kept on write: no scan)."""
        found = call(
            self.location,
            self._client.query,
            self.names.dups,
            filter="",
            output_fields=["count(*)"],
        )
        duplicates = int(found[0]["count(*)"]) if found else 0
        return {**self.state.totals, "chunks": self.state.stats.chunks, "duplicates": duplicates}

    def get(self, part: Part, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Rows of one of the index's collections by primary key, in batches (its key always included)."""
        key = PRIMARY_KEYS[part]
        name = self.names.named()[part]
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), LOOKUP_BATCH):
            some = list(ids[first : first + LOOKUP_BATCH])
            rows += call(
                self.location,
                self._client.query,
                name,
                filter=one_of(key, some),
                output_fields=list(dict.fromkeys([key, *fields])),
                limit=len(some),
            )
        return rows

    def term_rows(self, terms: set[str]) -> dict[str, TermRow]:
        """The stored rows of ``terms`` (unknown terms left out)."""
        keys = {term_key(t): t for t in terms}
        found: dict[str, TermRow] = {}
        for row in self.get("terms", sorted(keys), ["term_id", "df"]):
            found[keys[row["term"]]] = TermRow(int(row["term_id"]), int(row["df"]))
        return found

    def scan(self, part: Part, fields: list[str], *, where: str = "") -> Iterator[dict[str, Any]]:
        """Every row of one of the index's collections (matching ``where``), page by page in key order."""
        key = PRIMARY_KEYS[part]
        name = self.names.named()[part]
        last: Any = None
        while True:
            condition = both(where, after(key, last) if last is not None else "")
            rows = call(
                self.location,
                self._client.query,
                name,
                filter=condition,
                output_fields=list(dict.fromkeys([key, *fields])),
                limit=SCAN_BATCH,
                iterator="True",  # pages in key order, as pymilvus's query iterator asks for them
                reduce_stop_for_best="True",
            )
            yield from (dict(row) for row in rows)
            if len(rows) < SCAN_BATCH:
                return
            newest = max(row[key] for row in rows)
            if last is not None and newest <= last:
                raise BackendError(f"Milvus at {self.location} returned a page out of key order; try again")
            last = newest


def ranked(hits: Any) -> list[tuple[int, float]]:
    """A search result's (chunk id, score) pairs, best first (ties by id)."""
    pairs = [(int(h["chunk_id"] if "chunk_id" in h else h["id"]), float(h["distance"])) for h in hits]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return pairs


def sparse_keys(vector: Any) -> list[int]:
    """The dimensions (term ids) of a sparse vector as Milvus returns it (a dict or a scipy row)."""
    if isinstance(vector, dict):
        return [int(k) for k in vector]
    return [int(k) for k in getattr(vector, "indices", [])]


def term_key(term: str) -> str:
    """A term's key in the terms collection: the term, or a digest of one longer than the key holds."""
    data = term.encode("utf-8")
    return term if len(data) <= TERM_BYTES else "\x01sha256:" + hashlib.sha256(data).hexdigest()


def metadata_of(value: Any, location: MilvusLocation) -> dict[str, Any]:
    """A row's metadata (a JSON object); anything else is damage, said as such (never read as no metadata)."""
    if not isinstance(value, dict):
        raise IndexCorruptError(
            f"{location}: a document's metadata is {type(value).__name__}, not a JSON object; rebuild the index"
        )
    return value


def chunk_record(row: Mapping[str, Any], location: MilvusLocation) -> ChunkRow:
    """A chunk row as Milvus returns it (``span_start``/``span_end``, JSON metadata) as a :class:`ChunkRow`."""
    return ChunkRow(
        chunk_id=int(row["chunk_id"]),
        doc_id=row["doc_id"],
        ordinal=int(row["ordinal"]),
        paragraph=int(row["paragraph"]),
        piece=int(row["piece"]),
        pieces=int(row["pieces"]),
        start=int(row["span_start"]),
        end=int(row["span_end"]),
        n_tokens=int(row["n_tokens"]),
        text=row["text"],
        title=row["title"],
        origin=row["source"],
        metadata=metadata_of(row.get("metadata"), location),
    )
