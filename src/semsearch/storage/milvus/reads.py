"""Searching and reading an index kept in Milvus: what :class:`~semsearch.storage.milvus.store.MilvusStore` reads.

Dense and lexical (sparse BM25) searches, chunk rows, stored vectors, documents, listings, duplicates
and counts, read from the three collections described in :mod:`semsearch.storage.milvus.store`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semsearch.errors import InputError
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
from semsearch.storage.milvus.schema import CHUNK_INT_FIELDS, MilvusIndexType, call
from semsearch.storage.milvus.split_bm25 import CorpusStats, query_weights
from semsearch.text.analyzer import Analyzer

MAX_LIMIT = 16384  # Milvus's largest top-k
LOOKUP_BATCH = 1000
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
    """Searches and reads of one index in Milvus (the :class:`~semsearch.storage.milvus.store.MilvusStore` writes)."""

    def __init__(self, location: MilvusLocation, client: Any, state: StoreState) -> None:
        self.location = location
        self.state = state
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
            self.location.collection,
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
            self.location.collection,
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
        rows = self.get(self.location.collection, unique, [*CHUNK_FIELDS, "metadata"])
        return {int(r["chunk_id"]): chunk_record(r) for r in rows}

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The stored dense vectors of chunks by id, in the order asked; an unknown id is an InputError."""
        ids = [int(i) for i in chunk_ids]
        found: dict[int, list[float]] = {}
        for first in range(0, len(ids), LOOKUP_BATCH):
            part = ids[first : first + LOOKUP_BATCH]
            rows = call(
                self.location, self._client.get, self.location.collection, ids=part, output_fields=["dense"]
            )
            found.update({int(r["chunk_id"]): r["dense"] for r in rows})
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no chunk {missing[0]} in {self.location}")
        return np.asarray([found[i] for i in ids], dtype=np.float32).reshape(len(ids), -1)

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        rows = list(self.iterate(self.location.collection, list(CHUNK_FIELDS)))
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
            ids = list(dict.fromkeys(doc_ids))
            found: dict[str, str] = {}
            for first in range(0, len(ids), LOOKUP_BATCH):
                rows = call(
                    self.location,
                    self._client.get,
                    self.location.docs_collection,
                    ids=ids[first : first + LOOKUP_BATCH],
                    output_fields=["content_hash"],
                )
                found.update({r["doc_id"]: r["content_hash"] for r in rows})
            return found
        return {
            r["doc_id"]: r["content_hash"]
            for r in self.iterate(self.location.docs_collection, ["doc_id", "content_hash"])
        }

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return sorted(self.content_hashes())

    def document(self, doc_id: str) -> StoredDocument | None:
        """One document's stored record, as the local chunk store gives it, or None."""
        rows = call(
            self.location,
            self._client.get,
            self.location.docs_collection,
            ids=[doc_id],
            output_fields=[
                "doc_id",
                "title",
                "title_source",
                "source",
                "encoding",
                "content_hash",
                "raw_text",
                "clean_text",
                "metadata",
                "dropped",
            ],
        )
        if not rows:
            return None
        record = {k: v for k, v in dict(rows[0]).items() if k != "_placeholder"}
        record["dropped"] = [Dropped(*d) for d in record["dropped"]]
        record["origin"] = record.pop("source")
        return StoredDocument(**record)

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        return {
            r["doc_id"]: [int(c) for c in r["chunk_ids"]]
            for r in self.iterate(self.location.docs_collection, ["doc_id", "chunk_ids"])
        }

    def summaries(self) -> list[DocumentSummary]:
        """Every document's id, title, source, metadata and chunk count, by id."""
        fields = ["doc_id", "title", "source", "metadata", "chunk_ids"]
        rows = sorted(self.iterate(self.location.docs_collection, fields), key=lambda r: r["doc_id"])
        return [
            DocumentSummary(
                r["doc_id"], r["title"], r["source"], dict(r["metadata"] or {}), len(r["chunk_ids"])
            )
            for r in rows
        ]

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        rows = list(self.iterate(self.location.collection, [*CHUNK_FIELDS, "metadata"]))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            yield chunk_record(r)

    def signatures(self) -> Iterator[Fingerprint]:
        """Every kept document's near-duplicate signature; none for documents written without one."""
        for r in self.iterate(self.location.docs_collection, ["doc_id", "minhash", "numbers"]):
            if r["minhash"]:
                yield Fingerprint(r["doc_id"], base64.b64decode(r["minhash"]), list(r["numbers"] or []))

    def duplicates_of(self, doc_ids: Sequence[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        wanted = list(dict.fromkeys(doc_ids))
        found: list[dict[str, Any]] = []
        for first in range(0, len(wanted), LOOKUP_BATCH):
            part = wanted[first : first + LOOKUP_BATCH]
            found += self.query(
                self.location.dups_collection,
                f"of_doc_id in {filter_list(part)}",
                ["doc_id", "of_doc_id", "source", "title", "similarity", "metadata"],
            )
        out: dict[str, list[DuplicateRecord]] = {}
        for r in sorted(found, key=lambda r: (r["of_doc_id"], r["doc_id"])):
            record = DuplicateRecord(
                r["doc_id"],
                r["of_doc_id"],
                r["source"],
                r["title"],
                float(r["similarity"]),
                dict(r["metadata"] or {}),
            )
            out.setdefault(record.of_doc_id, []).append(record)
        return out

    def counts(self) -> dict[str, int]:
        """Documents, chunks, tokens and near-duplicates stored (totals kept on write: no scan)."""
        found = call(
            self.location,
            self._client.query,
            self.location.dups_collection,
            filter="",
            output_fields=["count(*)"],
        )
        duplicates = int(found[0]["count(*)"]) if found else 0
        return {**self.state.totals, "chunks": self.state.stats.chunks, "duplicates": duplicates}

    def get(self, collection: str, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Rows of ``collection`` by primary key, in batches."""
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), LOOKUP_BATCH):
            rows += call(
                self.location,
                self._client.get,
                collection,
                ids=list(ids[first : first + LOOKUP_BATCH]),
                output_fields=fields,
            )
        return rows

    def term_rows(self, terms: set[str]) -> dict[str, TermRow]:
        """The stored rows of ``terms`` (unknown terms left out)."""
        found: dict[str, TermRow] = {}
        for row in self.get(self.location.terms_collection, sorted(terms), ["term", "term_id", "df"]):
            found[row["term"]] = TermRow(int(row["term_id"]), int(row["df"]))
        return found

    def query(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        """Rows of ``collection`` matching a filter expression."""
        return list(
            call(
                self.location,
                self._client.query,
                collection,
                filter=filter,
                output_fields=fields,
                limit=MAX_LIMIT,
            )
        )

    def iterate(self, collection: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every row of ``collection``, batch by batch."""
        # pymilvus's iterator asks milvus-lite for a timestamp it does not implement, and warns.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        iterator = call(
            self.location,
            self._client.query_iterator,
            collection,
            batch_size=1000,
            filter="",
            output_fields=fields,
        )
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    return
                yield from (dict(row) for row in batch)
        finally:
            iterator.close()


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


def filter_list(values: Sequence[str]) -> str:
    """``values`` as a list in a Milvus filter expression (``doc_id in [...]``)."""
    return json.dumps(list(values), ensure_ascii=False)


def chunk_record(row: Mapping[str, Any]) -> ChunkRow:
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
        metadata=dict(row.get("metadata") or {}),
    )
