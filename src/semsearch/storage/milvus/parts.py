"""The read side of an index in Milvus behind :mod:`semsearch.storage.base`'s Protocols.

In Milvus a chunk's text, dense vector and BM25 weights are one row, so the three parts read the same
collections through one :class:`~semsearch.storage.milvus.reads.MilvusReads`; every change goes
through :meth:`semsearch.storage.milvus.engine.MilvusEngine.apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from semsearch.filters import Filter
from semsearch.records import (
    Chunk,
    ChunkRow,
    Counts,
    DocumentSummary,
    DuplicateRecord,
    Fingerprint,
    Scored,
    SearchParams,
    StoredDocument,
    ValueCounts,
    VectorHits,
)
from semsearch.storage.milvus.bands import MilvusBands
from semsearch.storage.milvus.reads import MilvusReads
from semsearch.storage.milvus.split_bm25 import needs_reweighting
from semsearch.storage.selection import FilterTable
from semsearch.text.analyzer import Analyzer


class MilvusVectors:
    """The dense side: the ``dense`` field of the chunk rows, searched by inner product."""

    def __init__(self, reads: MilvusReads, params: SearchParams) -> None:
        self._reads = reads
        self.index_type: str = reads.state.manifest["index_type"]
        self.params = params

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        return int(self._reads.state.manifest["dimension"])

    def __len__(self) -> int:
        return len(self._reads)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """The ``k`` nearest chunks of each query, best first (``allowed``: only among these chunk ids)."""
        ranked = self._reads.search_dense(
            queries, k, ef_search=self.params.ef_search, nprobe=self.params.nprobe, filter=among(allowed)
        )
        width = max(1, max((len(r) for r in ranked), default=0))
        scores = np.full((len(ranked), width), -np.inf, dtype=np.float32)
        ids = np.full((len(ranked), width), -1, dtype=np.int64)
        for row, hits in enumerate(ranked):
            for col, (cid, score) in enumerate(hits):
                ids[row, col], scores[row, col] = cid, score
        return VectorHits(scores, ids)

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks by id."""
        return self._reads.vectors(ids)

    def describe(self) -> str:
        """The Milvus index type behind the factory string, e.g. ``Milvus(HNSW)``."""
        return f"Milvus({self._reads.state.kind.milvus})"


class MilvusLexical:
    """The lexical side: the ``sparse`` field (BM25 document halves) searched with query-time IDF."""

    def __init__(self, reads: MilvusReads) -> None:
        self._reads = reads
        self.analyzer: Analyzer = reads.state.analyzer

    def __len__(self) -> int:
        return len(self._reads)

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats."""
        return list(dict.fromkeys(self.analyzer.tokens(query)))

    def search(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """The ``depth`` best chunks sharing a term with ``query`` (among ``allowed``), scored as bm25s scores them."""
        return [
            Scored(cid, score)
            for cid, score in self._reads.search_lexical(query, depth, filter=among(allowed))
        ]

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` occurs (the counts kept in the terms collection)."""
        rows = self._reads.term_rows(set(terms)) if terms else {}
        return [rows[t].df if t in rows else 0 for t in terms]

    def spec(self) -> dict[str, Any]:
        """The manifest's record of the lexical side: the analyzer and split BM25's parameters.

        The corpus statistics (and whether the rows need re-weighting) live with the collection.
        """
        stats = self._reads.state.stats
        return {**self.analyzer.spec(), "scorer": "split-bm25/lucene", "k1": stats.k1, "b": stats.b}

    @property
    def needs_reweighting(self) -> bool:
        """Whether the corpus's average length has drifted from the one rows were weighted with."""
        return needs_reweighting(self._reads.state.stats)


class MilvusDocuments:
    """Documents and chunks: the chunk rows' fields and the documents collection."""

    def __init__(self, reads: MilvusReads, bands: MilvusBands) -> None:
        self._reads = reads
        self._bands = bands
        self._filters: FilterTable | None = None  # read on the first filtered search, dropped by a change

    def changed(self) -> None:
        """Forget what was read for filters (the engine applied a change)."""
        self._filters = None

    def _table(self) -> FilterTable:
        table = self._filters
        if table is None:
            table = self._filters = FilterTable(self)
        return table

    def select(self, condition: Filter) -> np.ndarray:
        """The sorted chunk ids of the documents ``condition`` matches (evaluated here, as locally)."""
        return self._table().allowed(condition)

    def origins(self) -> dict[str, str]:
        """Document id → the file it came from."""
        return self._table().origins()

    def metadata_keys(self) -> set[str]:
        """Every metadata key some document has."""
        return self._table().keys()

    def count_values(self, key: str, condition: Filter | None = None) -> ValueCounts:
        """How many documents (those ``condition`` matches) hold each value of ``key``."""
        return self._table().count(key, condition)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows by id."""
        return self._reads.fetch(chunk_ids)

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk."""
        return {cid: row.doc_id for cid, row in self._reads.fetch(chunk_ids).items()}

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        return self._reads.iter_chunks()

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every chunk with its document's title, source and metadata (what an export writes)."""
        return self._reads.iter_chunk_rows()

    def document(self, doc_id: str) -> StoredDocument | None:
        """One stored document, or None."""
        return self._reads.document(doc_id)

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return self._reads.doc_ids()

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Document id → content hash (of ``doc_ids`` only, when given)."""
        return self._reads.content_hashes(None if doc_ids is None else list(doc_ids))

    def counts(self) -> Counts:
        """Documents, chunks, tokens and near-duplicates stored."""
        return Counts(**self._reads.counts())

    def summaries(self) -> list[DocumentSummary]:
        """Every document's id, title, source, metadata and chunk count, by id."""
        return self._reads.summaries()

    def chunk_ids_by_doc(self, doc_ids: Iterable[str] | None = None) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order (of ``doc_ids`` only, when given)."""
        if doc_ids is None:
            return self._reads.chunk_ids_by_doc()
        return self._table().chunk_ids_of(doc_ids)

    def signatures(self) -> Iterator[Fingerprint]:
        """Every kept document's near-duplicate signature."""
        return self._reads.signatures()

    def similar_signatures(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """The kept documents sharing a band key with ``keys`` (None for an index written before bands)."""
        return self._bands.similar(keys)

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        return self._reads.duplicates_of(list(doc_ids))

    def duplicate_ids(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` recorded as near-duplicates (folded into a kept document)."""
        return {r["doc_id"] for r in self._reads.get("dups", list(dict.fromkeys(doc_ids)), [])}


def among(allowed: np.ndarray | None) -> str:
    """A Milvus filter expression keeping only the ``allowed`` chunk ids ("" for no filter).

    A ``where`` filter is evaluated by semsearch itself over the documents' records
    (:class:`~semsearch.storage.selection.FilterTable`), exactly as for a local index; Milvus only restricts
    its search to the chunk ids that filter allows, before its top-k cut.
    """
    return "" if allowed is None else f"chunk_id in {[int(i) for i in allowed]}"
