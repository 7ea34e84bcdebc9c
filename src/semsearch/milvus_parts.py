"""The Milvus backend behind :mod:`semsearch.backend`'s Protocols: vectors, lexical side, chunks, storage.

The three parts share one :class:`~semsearch.milvus_backend.MilvusStore`, because in Milvus a chunk's
text, dense vector and BM25 weights are one row: a change hands the parts its documents
(``chunks.add``), then their vectors (``vectors.add``), and the row is written when both are there.
Removing documents (``chunks.remove``) deletes their rows everywhere at once. Unlike a directory
index, a change is live in Milvus as soon as it is applied; ``save`` writes the manifest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .backend import Loaded, Parts
from .dedup import Fingerprint
from .errors import IndexCorruptError, InputError
from .lexical import Analyzer
from .manifest import Counts, Manifest
from .milvus_backend import FORMAT_NAME, FORMAT_VERSION, INCOMPLETE, MilvusStore
from .milvus_location import MilvusLocation, parse_location
from .milvus_rows import indexed_texts_of
from .records import Chunk, ChunkRow, Document, PreparedDocument, Scored, StoredDocument
from .split_bm25 import CorpusStats, needs_reweighting
from .titles import check_title_mode
from .vector_index import SearchParams, VectorHits


class Pending:
    """Documents handed to ``chunks.add`` whose vectors have not arrived yet, with their MinHash signatures."""

    def __init__(self) -> None:
        self.prepared: list[PreparedDocument] = []
        self.signatures: dict[str, tuple[bytes, Sequence[str]]] = {}

    @property
    def chunk_ids(self) -> list[int]:
        """The chunk ids of the documents waiting for their vectors."""
        return [c.chunk_id for entry in self.prepared for c in entry.chunks]

    def clear(self) -> None:
        """Forget what was written."""
        self.prepared.clear()
        self.signatures.clear()


class MilvusVectors:
    """The dense side: the ``dense`` field of the chunk rows, searched by inner product."""

    def __init__(self, store: MilvusStore, pending: Pending, params: SearchParams) -> None:
        self.store = store
        self.index_type: str = store.manifest["index_type"]
        self.params = params
        self._pending = pending

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        return int(self.store.manifest["dimension"])

    def __len__(self) -> int:
        return len(self.store)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Write the pending documents' rows with these vectors (in the order their chunks were added)."""
        expected = self._pending.chunk_ids
        if [int(i) for i in ids] != expected:
            raise InputError(
                "Milvus writes a chunk's vector with its text: add the documents (chunks.add) first, then "
                "their vectors in the same order"
            )
        self.store.write(self._pending.prepared, vectors, signatures=self._pending.signatures)
        self._pending.clear()
        self.store.seal_if_many()

    def delete(self, ids: Sequence[int]) -> None:
        """Nothing to do: removing a document (``chunks.remove``) deleted its rows, vectors included."""

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """The ``k`` nearest chunks of each query, best first (``allowed``: only among these chunk ids)."""
        expression = _among(allowed)
        ranked = self.store.search_dense(
            queries, k, ef_search=self.params.ef_search, nprobe=self.params.nprobe, filter=expression
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
        return self.store.vectors(ids)

    def describe(self) -> str:
        """The Milvus index type behind the factory string, e.g. ``Milvus(HNSW)``."""
        return f"Milvus({self.store.kind.milvus})"


class MilvusLexical:
    """The lexical side: the ``sparse`` field (BM25 document halves) searched with query-time IDF."""

    def __init__(self, store: MilvusStore) -> None:
        self.store = store
        self.analyzer: Analyzer = store.analyzer

    def __len__(self) -> int:
        return len(self.store)

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats."""
        return list(dict.fromkeys(self.analyzer.tokens(query)))

    def search(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """The ``depth`` best chunks sharing a term with ``query`` (among ``allowed``), scored as bm25s scores them."""
        found = self.store.search_lexical(query, depth, filter=_among(allowed))
        return [Scored(cid, score) for cid, score in found]

    def changed(
        self, removed: Iterable[int], added_ids: Sequence[int], added_texts: Sequence[str]
    ) -> MilvusLexical:
        """Nothing to do: rows carry their BM25 weights and the term frequencies were updated on write."""
        return self

    def spec(self) -> dict[str, Any]:
        """The manifest's record of the lexical side: the analyzer and split BM25's parameters.

        The corpus statistics (and whether the rows need re-weighting) live with the collection.
        """
        stats = self.store.stats
        return {**self.analyzer.spec(), "scorer": "split-bm25/lucene", "k1": stats.k1, "b": stats.b}

    @property
    def needs_reweighting(self) -> bool:
        """Whether the corpus's average length has drifted from the one rows were weighted with."""
        return needs_reweighting(self.store.stats)


class MilvusChunks:
    """Documents and chunks: the chunk rows' fields and the documents collection."""

    def __init__(self, store: MilvusStore, pending: Pending) -> None:
        self.store = store
        self._pending = pending

    def add(self, prepared: PreparedDocument) -> None:
        """Hold a document until its vectors arrive (``vectors.add`` writes both)."""
        self._pending.prepared.append(prepared)

    def remove(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents and their chunk rows (dense and lexical sides with them)."""
        return self.store.remove(list(doc_ids))

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows by id."""
        return {cid: ChunkRow(**row) for cid, row in self.store.fetch(chunk_ids).items()}

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk."""
        return {cid: row["doc_id"] for cid, row in self.store.fetch(chunk_ids).items()}

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        return self.store.iter_chunks()

    def document(self, doc_id: str) -> StoredDocument | None:
        """One stored document, or None."""
        record = self.store.document(doc_id)
        return None if record is None else StoredDocument(**record)

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return self.store.doc_ids()

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Document id → content hash (of ``doc_ids`` only, when given)."""
        return self.store.content_hashes(None if doc_ids is None else list(doc_ids))

    def counts(self) -> Counts:
        """Documents, chunks, tokens and near-duplicates stored."""
        return Counts(**self.store.counts())

    def filter_records(self) -> list[dict[str, Any]]:
        """Each document's metadata plus doc_id, source and title: what a ``where`` filter reads."""
        return self.store.filter_records()

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        return self.store.chunk_ids_by_doc()

    def document_summaries(self) -> list[dict[str, Any]]:
        """Each document's id, title, source, metadata and chunk count, by id."""
        return self.store.document_summaries()

    def iter_chunk_rows(self) -> Iterator[dict[str, Any]]:
        """Every chunk with its document's title, source and metadata (what an export writes)."""
        return self.store.iter_chunk_rows()

    def add_signature(self, doc_id: str, minhash: bytes, numbers: Sequence[str]) -> None:
        """Keep a pending document's MinHash and numbers; written with its row."""
        self._pending.signatures[doc_id] = (minhash, list(numbers))

    def signatures(self) -> Iterator[tuple[str, bytes, list[str]]]:
        """Every kept document's (id, MinHash bytes, numbers)."""
        return self.store.signatures()

    def similar_signatures(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """The kept documents sharing a band key with ``keys`` (None for an index written before bands)."""
        return self.store.bands.similar(keys)

    def add_duplicate(self, doc: Document, of_doc_id: str, similarity: float) -> None:
        """Record ``doc`` as a duplicate of the stored ``of_doc_id`` (not indexed itself)."""
        self.store.add_duplicate(doc, of_doc_id, similarity)

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Kept document id → the duplicates recorded for it."""
        return self.store.duplicates_of(list(doc_ids))


def milvus_parts(store: MilvusStore, params: SearchParams) -> Parts:
    """The three parts of the index in ``store``."""
    pending = Pending()
    return Parts(MilvusVectors(store, pending, params), MilvusLexical(store), MilvusChunks(store, pending))


class MilvusStorage:
    """Where a Milvus-backed index's manifest lives: the chunk collection's properties."""

    def load(self, location: Path | str, *, verify: bool = True) -> Loaded:
        """Open the index at a Milvus location; its manifest checked as a directory's is (damage: IndexCorruptError)."""
        store = MilvusStore.open(as_location(location))
        try:
            manifest = Manifest.from_dict(store.manifest, str(store.location), files=False)
        except Exception:
            store.close()
            raise
        return Loaded(manifest, milvus_parts(store, manifest.search_params))

    def describe(self, location: Path | str) -> dict[str, Any]:
        """Milvus and its layout; the size of a milvus-lite database (a server's is not known here)."""
        where = as_location(location)
        size = (
            sum(f.stat().st_size for f in Path(where.uri).rglob("*") if f.is_file()) if where.lite else None
        )
        return {
            "storage": f"Milvus ({FORMAT_NAME}/{FORMAT_VERSION}, {len(where.collections)} collections)",
            "bytes_on_disk": size,
        }

    def save(
        self, location: Path | str, manifest: Manifest, parts: Parts, *, expect_generation: int | None = None
    ) -> Manifest:
        """Store the manifest; parts of another backend (a local index saved to Milvus) are copied in first."""
        target = as_location(location)
        vectors = parts.vectors
        if isinstance(vectors, MilvusVectors) and str(vectors.store.location) == str(target):
            vectors.store.write_manifest(manifest.to_dict())
            return manifest
        return copy_into(target, manifest, parts)


def copy_into(target: MilvusLocation, manifest: Manifest, parts: Parts, batch: int = 2048) -> Manifest:
    """Write an index held in other parts (a local directory index, a Milvus one elsewhere) into Milvus at ``target``.

    Rows are weighted with the whole corpus's average length, so the copy scores as the original does.
    """
    titles = check_title_mode(manifest.chunking.titles)
    analyzer = parts.lexical.analyzer
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in parts.chunks.iter_chunks():
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    stored = {doc_id: parts.chunks.document(doc_id) for doc_id in by_doc}
    prepared: list[PreparedDocument] = []
    for doc_id, chunks in by_doc.items():
        record = stored[doc_id]
        if record is None:
            raise IndexCorruptError(
                f"chunks of document {doc_id!r} but no document record; rebuild the index"
            )
        prepared.append(_prepared_from(record, chunks))
    terms = {
        c.chunk_id: analyzer.tokens(text)
        for entry in prepared
        for c, text in zip(
            entry.chunks, indexed_texts_of([(entry.title, entry.title_source, entry.chunks)], titles)
        )
    }
    stats = CorpusStats(
        k1=float(manifest.lexical.get("k1", 1.2)), b=float(manifest.lexical.get("b", 0.75))
    ).changed([len(t) for t in terms.values()], [])
    data = manifest.replace(generation=None, files={}).to_dict()
    store = MilvusStore.create(
        target, {**data, INCOMPLETE: True}, analyzer, stats=dataclasses.replace(stats, chunks=0, terms=0)
    )
    try:
        signatures = {doc_id: (minhash, numbers) for doc_id, minhash, numbers in parts.chunks.signatures()}
        step = max(1, batch // 8)
        for first in range(0, len(prepared), step):
            part = prepared[first : first + step]
            ids = [c.chunk_id for entry in part for c in entry.chunks]
            store.write(part, parts.vectors.reconstruct(ids), [terms[i] for i in ids], signatures)
        for of_doc_id, found in parts.chunks.duplicates_of(list(by_doc)).items():
            for entry in found:
                metadata = {"date": entry["date"]} if "date" in entry else {}
                duplicate = Document(
                    doc_id=entry["doc_id"],
                    text=" ",
                    title=entry["title"],
                    source=entry["source"],
                    metadata=metadata,
                )
                store.add_duplicate(duplicate, of_doc_id, entry["similarity"])
        store.seal(everything=True)
        store.write_manifest(data)
    finally:
        store.close()
    return manifest.replace(generation=None, files={})


def _prepared_from(stored: StoredDocument, chunks: list[Chunk]) -> PreparedDocument:
    from .clean import CleanText

    document = Document(
        doc_id=stored.doc_id,
        text=stored.raw_text,
        title=stored.title if stored.title_source == "source" else "",
        source=stored.source,
        encoding=stored.encoding,
        metadata=dict(stored.metadata),
    )
    clean = CleanText(text=stored.clean_text, paragraphs=(), title="", dropped=tuple(stored.dropped))
    return PreparedDocument(document, clean, stored.title, stored.title_source, tuple(chunks))


def _among(allowed: np.ndarray | None) -> str:
    """A Milvus filter expression keeping only the ``allowed`` chunk ids ("" for no filter).

    A ``where`` filter is evaluated by semsearch itself over the documents' records
    (:class:`~semsearch.search.FilterTable`), exactly as for a local index; Milvus only restricts its
    search to the chunk ids that filter allows, before its top-k cut.
    """
    return "" if allowed is None else f"chunk_id in {[int(i) for i in allowed]}"


def as_location(value: Path | str | MilvusLocation) -> MilvusLocation:
    """A parsed Milvus location from one written as text (or already parsed)."""
    return value if isinstance(value, MilvusLocation) else parse_location(str(value))
