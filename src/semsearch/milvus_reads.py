"""Searching and reading an index kept in Milvus: the read half of :class:`~semsearch.milvus_backend.MilvusStore`.

Dense and lexical (sparse BM25) searches, chunk rows, stored vectors, documents, listings, duplicates
and counts, read from the three collections described in :mod:`semsearch.milvus_backend`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError
from .lexical import Analyzer
from .milvus_location import MilvusLocation
from .milvus_schema import CHUNK_INT_FIELDS, MilvusIndexType, call
from .records import Chunk
from .split_bm25 import CorpusStats, query_weights

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


class MilvusReads:
    """Searches and reads of one index in Milvus (:class:`~semsearch.milvus_backend.MilvusStore` adds the writes)."""

    location: MilvusLocation
    manifest: dict[str, Any]
    stats: CorpusStats
    analyzer: Analyzer
    kind: MilvusIndexType
    _client: Any
    _totals: dict[str, int]

    def __len__(self) -> int:
        return self.stats.chunks

    def search_dense(
        self, vectors: np.ndarray, depth: int, *, ef_search: int = 64, nprobe: int = 16, filter: str = ""
    ) -> list[list[tuple[int, float]]]:
        """The ``depth`` nearest chunks (id, cosine) of each query vector, best first."""
        if not len(self) or not len(vectors):
            return [[] for _ in range(len(vectors))]
        limit = max(1, min(depth, MAX_LIMIT, len(self)))
        params: dict[str, int] = {}
        if self.kind.search_knob == "ef":
            params["ef"] = max(ef_search, limit)
        elif self.kind.search_knob == "nprobe":
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
        terms = list(dict.fromkeys(self.analyzer.tokens(query)))
        if not terms or not len(self):
            return []
        rows = self._term_rows(set(terms))
        weights = query_weights(terms, {t: r.df for t, r in rows.items()}, self.stats.chunks)
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

    def fetch(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows by id, with the keys the local chunk store gives (``start``/``end`` for the span, the document's metadata)."""
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        out: dict[int, dict[str, Any]] = {}
        for row in self._get(self.location.collection, unique, [*CHUNK_FIELDS, "metadata"]):
            record = {k: row[k] for k in CHUNK_FIELDS}
            record["start"], record["end"] = record.pop("span_start"), record.pop("span_end")
            record["metadata"] = dict(row["metadata"] or {})
            out[int(record["chunk_id"])] = record
        return out

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
        rows = list(self._iterate(self.location.collection, list(CHUNK_FIELDS)))
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
            for r in self._iterate(self.location.docs_collection, ["doc_id", "content_hash"])
        }

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return sorted(self.content_hashes())

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """One document's stored record, as the local chunk store gives it, or None."""
        from .clean import Dropped

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
        return record

    def filter_records(self) -> list[dict[str, Any]]:
        """Each document's fields a ``where`` filter reads: metadata plus doc_id, source and title (as locally)."""
        return [
            {"title": r["title"], "source": r["source"], **(r["metadata"] or {}), "doc_id": r["doc_id"]}
            for r in self._iterate(self.location.docs_collection, ["doc_id", "title", "source", "metadata"])
        ]

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        return {
            r["doc_id"]: [int(c) for c in r["chunk_ids"]]
            for r in self._iterate(self.location.docs_collection, ["doc_id", "chunk_ids"])
        }

    def document_summaries(self) -> list[dict[str, Any]]:
        """Each document's id, title, source, metadata and chunk count, by id."""
        fields = ["doc_id", "title", "source", "metadata", "chunk_ids"]
        rows = sorted(self._iterate(self.location.docs_collection, fields), key=lambda r: r["doc_id"])
        return [
            {
                "doc_id": r["doc_id"],
                "title": r["title"],
                "source": r["source"],
                "metadata": dict(r["metadata"] or {}),
                "chunks": len(r["chunk_ids"]),
            }
            for r in rows
        ]

    def iter_chunk_rows(self) -> Iterator[dict[str, Any]]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        rows = list(self._iterate(self.location.collection, [*CHUNK_FIELDS, "metadata"]))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            record = {k: r[k] for k in (*CHUNK_FIELDS, "metadata")}
            record["start"], record["end"] = record.pop("span_start"), record.pop("span_end")
            record["metadata"] = dict(record["metadata"] or {})
            yield record

    def signatures(self) -> Iterator[tuple[str, bytes, list[str]]]:
        """Every kept document's (id, MinHash bytes, numbers); none for documents written without one."""
        for r in self._iterate(self.location.docs_collection, ["doc_id", "minhash", "numbers"]):
            if r["minhash"]:
                yield r["doc_id"], base64.b64decode(r["minhash"]), list(r["numbers"] or [])

    def duplicates_of(self, doc_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Kept document id → the duplicates recorded for it (doc_id, source, title, similarity, date)."""
        wanted = list(dict.fromkeys(doc_ids))
        found: list[dict[str, Any]] = []
        for first in range(0, len(wanted), LOOKUP_BATCH):
            part = wanted[first : first + LOOKUP_BATCH]
            found += self._query(
                self.location.dups_collection,
                f"of_doc_id in {filter_list(part)}",
                ["doc_id", "of_doc_id", "source", "title", "similarity", "metadata"],
            )
        out: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(found, key=lambda r: (r["of_doc_id"], r["doc_id"])):
            entry = {
                "doc_id": r["doc_id"],
                "source": r["source"],
                "title": r["title"],
                "similarity": r["similarity"],
            }
            date = (r["metadata"] or {}).get("date")
            if date is not None:
                entry["date"] = date
            out.setdefault(r["of_doc_id"], []).append(entry)
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
        return {**self._totals, "chunks": self.stats.chunks, "duplicates": duplicates}

    def _get(self, collection: str, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
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

    def _term_rows(self, terms: set[str]) -> dict[str, TermRow]:
        found: dict[str, TermRow] = {}
        for row in self._get(self.location.terms_collection, sorted(terms), ["term", "term_id", "df"]):
            found[row["term"]] = TermRow(int(row["term_id"]), int(row["df"]))
        return found

    def _query(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
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

    def _iterate(self, collection: str, fields: list[str]) -> Iterator[dict[str, Any]]:
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
