"""An index kept in Milvus: opening, creating and writing it (reads: milvus_reads; rows: milvus_rows).

Collections per index (``NAME`` from the location ``…#NAME``):

- ``NAME``: one row per chunk: id, document id, place (ordinal, paragraph, piece, span), text,
  title, source, document metadata (JSON), the dense vector and the document side of BM25 as a
  sparse vector (term id → weight, see :mod:`semsearch.storage.milvus.split_bm25`); the manifest and the corpus
  statistics are the collection's properties.
- ``NAME__docs``: one row per document: content hash (what ``add`` compares), raw and cleaned text,
  what the cleaner dropped, its chunk ids.
- ``NAME__terms``: one row per term of semsearch's own analyzer: its sparse id and document frequency.
- ``NAME__dups``: documents not indexed as they repeat one kept; ``NAME__bands``: see milvus_bands.
  The collections' schemas and the client are :mod:`semsearch.storage.milvus.schema`.

Lexical search is a sparse inner-product search with the query's IDF weights, so it scores exactly
as bm25s does locally, Traditional/Simplified folding included; Milvus's own analyzers are not used.
Changes are incremental: an add inserts its rows and updates the frequencies of its terms; nothing
else is re-weighted. pymilvus is imported only here, only when a Milvus location is used.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError, IndexFormatError, IndexNotFoundError, InputError
from semsearch.records import DuplicateRecord, PreparedDocument
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus.bands import MilvusBands
from semsearch.storage.milvus.reads import (
    CHUNK_FIELDS,
    LOOKUP_BATCH,
    MilvusReads,
    StoreState,
    filter_list,
    sparse_keys,
)
from semsearch.storage.milvus.rows import (
    check_text_size,
    chunk_row,
    document_row,
    dumps,
    jsonable,
    loads,
    term_row,
)
from semsearch.storage.milvus.schema import (
    PLACEHOLDER_DIM,
    call,
    connect,
    create_collections,
    milvus_index_type,
)
from semsearch.storage.milvus.split_bm25 import CorpusStats, document_weights
from semsearch.text.analyzer import Analyzer
from semsearch.text.titles import (
    LEGACY_TITLE_MODE,
    TitleMode,
    check_title_mode,
    indexed_text,
    indexed_texts,
    title_prefix,
)

log = logging.getLogger(__name__)

FORMAT_NAME = "semsearch-milvus"
FORMAT_VERSION = 2  # 2: + NAME__bands (milvus_bands); format 1 is read, its changes read every signature
FORMAT_PROPERTY = "semsearch.format"  # "semsearch-milvus/2": the layout of the collections
MANIFEST_PROPERTY = "semsearch.storage.manifest"
STATS_PROPERTY = "semsearch.bm25"
INCOMPLETE = "incomplete"  # set in the manifest a build starts with, gone from the one it ends with
WRITE_BATCH = 500
SEAL_ROWS = 1000  # rows a change leaves unsealed before it flushes (see MilvusStore.seal)

# ---------------------------------------------------------------------- the store


class MilvusStore:
    """One index in Milvus: write and remove documents batch by batch, search both sides, fetch rows.

    Open an existing index with :meth:`open`, start a new one with :meth:`create`. Not safe for two
    writers at once (semsearch's directory lock does not reach a server); readers are safe.
    """

    def __init__(
        self,
        location: MilvusLocation,
        client: Any,
        manifest: dict[str, Any],
        stats: CorpusStats,
        next_term: int,
        analyzer: Analyzer,
        totals: dict[str, int] | None = None,
    ) -> None:
        self.location = location
        self.state = StoreState(
            manifest,
            stats,
            analyzer,
            milvus_index_type(manifest["index_type"]),
            totals or {"documents": 0, "tokens": 0},  # kept up to date: counts() is O(1)
        )
        self.reads = MilvusReads(location, client, self.state)
        self._client = client
        self._next_term = next_term
        self._unsealed = 0  # rows written since the last seal
        self.format_version = FORMAT_VERSION  # of a new index; open() sets the one an index was written in
        self.bands = MilvusBands(location, client, manifest.get("dedup"), self.reads.get)

    @property
    def collections(self) -> tuple[str, ...]:
        """The collections of the index (one written in Milvus format 1 has no band keys)."""
        return self.location.collections if self.bands.present else self.location.required_collections

    @property
    def titles(self) -> TitleMode:
        """How titles reach the lexical side (the manifest's chunking record; older indexes: none)."""
        chunking = self.state.manifest.get("chunking") or {}
        return check_title_mode(chunking.get("titles", LEGACY_TITLE_MODE))

    # -------------------------------------------------------------- lifecycle

    @classmethod
    def create(
        cls,
        location: MilvusLocation,
        manifest: dict[str, Any],
        analyzer: Analyzer,
        stats: CorpusStats | None = None,
    ) -> MilvusStore:
        """Create the collections of a new, empty index at ``location``, replacing one already there.

        ``stats``: the corpus statistics to weigh rows with (a build passes the whole corpus's
        average length, so its batches are weighted alike); default: the first batch's.
        """
        kind = milvus_index_type(manifest["index_type"])
        client = connect(location)
        stats = stats or CorpusStats(k1=float(manifest["lexical"]["k1"]), b=float(manifest["lexical"]["b"]))
        properties = {
            FORMAT_PROPERTY: f"{FORMAT_NAME}/{FORMAT_VERSION}",
            MANIFEST_PROPERTY: dumps(manifest),
            STATS_PROPERTY: dumps({**stats.to_dict(), "next_term": 1}),
        }
        create_collections(location, client, int(manifest["dimension"]), kind, properties)
        return cls(location, client, manifest, stats, 1, analyzer)

    @classmethod
    def open(cls, location: MilvusLocation) -> MilvusStore:
        """Open the index at ``location``; IndexNotFoundError if there is none, IndexCorruptError if damaged."""
        if location.lite and not Path(location.uri).exists():
            raise IndexNotFoundError(
                f"{location}: no milvus-lite database at {location.uri}; build one with "
                f"`semsearch build SOURCES -o '{location}'`"
            )
        client = connect(location)
        for name in location.required_collections:
            if not call(location, client.has_collection, name):
                raise IndexNotFoundError(
                    f"{location}: no semsearch index there (collection {name} is missing); build one with "
                    f"`semsearch build SOURCES -o '{location}'`"
                )
            call(location, client.load_collection, name)
        properties = call(location, client.describe_collection, location.collection).get("properties", {})
        name, _, version = str(properties.get(FORMAT_PROPERTY, "")).partition("/")
        if name != FORMAT_NAME or not version.isdigit():
            raise IndexCorruptError(
                f"{location} is not a semsearch index (no semsearch format mark); rebuild it"
            )
        if int(version) > FORMAT_VERSION:
            raise IndexFormatError(
                f"{location} was written in Milvus index format {version} by a newer semsearch; this one "
                f"reads up to {FORMAT_VERSION}. Upgrade semsearch or rebuild the index"
            )
        manifest = loads(properties.get(MANIFEST_PROPERTY), location, "manifest")
        if manifest.get(INCOMPLETE):
            raise IndexCorruptError(f"{location}: its build did not finish; build the index again")
        raw_stats = loads(properties.get(STATS_PROPERTY), location, "BM25 statistics")
        stats = CorpusStats.from_dict(raw_stats)
        analyzer = Analyzer.from_spec(manifest["lexical"])
        totals: dict[str, int] = {k: int(raw_stats[k]) for k in ("documents", "tokens") if k in raw_stats}
        store = cls(location, client, manifest, stats, int(raw_stats["next_term"]), analyzer, totals or None)
        store.format_version = int(version)
        if len(totals) < 2:  # written before the totals were kept
            docs = list(store.reads.iterate(location.docs_collection, ["doc_id", "tokens"]))
            store.state.totals = {"documents": len(docs), "tokens": sum(int(r["tokens"]) for r in docs)}
        return store

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    # -------------------------------------------------------------- writing

    def write(
        self,
        prepared: Sequence[PreparedDocument],
        vectors: np.ndarray,
        terms: Sequence[Sequence[str]] | None = None,
        signatures: Mapping[str, tuple[bytes, Sequence[str]]] | None = None,
    ) -> None:
        """Insert prepared documents and their chunks' vectors (and near-duplicate ``signatures`` by doc id).

        A chunk's terms are those of the text it is indexed as (its title in front, as the manifest's
        title mode says; :mod:`semsearch.text.titles`) unless ``terms`` are given. The rows' BM25 weights
        use the corpus's frozen average length; the terms' document frequencies and the corpus
        statistics are updated, so later queries weigh them in.
        """
        signatures = signatures or {}
        chunks = [(entry, chunk) for entry in prepared for chunk in entry.chunks]
        if len(chunks) != len(vectors):
            raise InputError(f"{len(chunks)} chunks but {len(vectors)} vectors to write")
        if not chunks:
            return
        for entry in prepared:  # every text fits before anything is written
            check_text_size(entry.document.doc_id, "raw text", entry.document.text)
            check_text_size(entry.document.doc_id, "cleaned text", entry.clean.text)
        if terms is None:
            texts = indexed_texts(prepared, self.titles)
            terms = [self.state.analyzer.tokens(t) for t in texts]
        term_lists = terms
        if len(term_lists) != len(chunks):
            raise InputError(f"{len(chunks)} chunks but {len(term_lists)} term lists to write")
        stats = self.state.stats.changed([len(t) for t in term_lists], [])
        known = self.reads.term_rows({t for terms in term_lists for t in terms})
        df = Counter(t for terms in term_lists for t in set(terms))
        next_term = self._next_term
        ids: dict[str, int] = {}
        for term in sorted(df):
            if term in known:
                ids[term] = known[term].term_id
            else:
                ids[term] = next_term
                next_term += 1
        rows = [
            chunk_row(entry, chunk, len(chunk_terms), vector, {ids[t]: float(w) for t, w in weights.items()})
            for (entry, chunk), chunk_terms, vector in zip(chunks, term_lists, vectors)
            for weights in [document_weights(chunk_terms, stats)]
        ]
        self._put(self._client.insert, self.location.collection, rows, WRITE_BATCH)
        self._unsealed += len(rows)
        doc_rows = [document_row(e, signatures.get(e.document.doc_id)) for e in prepared]
        self._put(self._client.upsert, self.location.docs_collection, doc_rows, WRITE_BATCH)
        written = {e.document.doc_id for e in prepared}
        self.bands.add({doc_id: s for doc_id, s in signatures.items() if doc_id in written})
        term_rows = [term_row(t, ids[t], (known[t].df if t in known else 0) + n) for t, n in df.items()]
        self._upsert_terms(term_rows)
        self._next_term = next_term
        self.state.stats = stats
        self.state.totals = {
            "documents": self.state.totals["documents"] + len(doc_rows),
            "tokens": self.state.totals["tokens"] + sum(int(r["tokens"]) for r in doc_rows),
        }
        self._write_stats()

    def remove(self, doc_ids: Sequence[str]) -> list[int]:
        """Delete documents and their chunks; returns the chunk ids removed."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return []
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), LOOKUP_BATCH):
            part = ids[first : first + LOOKUP_BATCH]
            rows += self.reads.query(
                self.location.collection, f"doc_id in {filter_list(part)}", ["chunk_id", "n_terms", "sparse"]
            )
        if not rows:
            return []
        df_drop: Counter[int] = Counter()
        for row in rows:
            df_drop.update(int(k) for k in sparse_keys(row["sparse"]))
        term_rows = []
        term_ids = list(df_drop)
        for first in range(0, len(term_ids), LOOKUP_BATCH):
            some = term_ids[first : first + LOOKUP_BATCH]
            for row in self.reads.query(
                self.location.terms_collection, f"term_id in {some}", ["term", "term_id", "df"]
            ):
                term_rows.append(
                    {
                        "term": row["term"],
                        "term_id": int(row["term_id"]),
                        "df": max(0, int(row["df"]) - df_drop[int(row["term_id"])]),
                        "_placeholder": [0.0] * PLACEHOLDER_DIM,
                    }
                )
        chunk_ids = [int(r["chunk_id"]) for r in rows]
        docs = self.reads.get(self.location.docs_collection, ids, ["tokens", "minhash"])
        for first in range(0, len(ids), LOOKUP_BATCH):
            part = ids[first : first + LOOKUP_BATCH]
            call(
                self.location,
                self._client.delete,
                self.location.collection,
                filter=f"doc_id in {filter_list(part)}",
            )
            call(self.location, self._client.delete, self.location.docs_collection, ids=part)
            literal = filter_list(part)
            call(
                self.location,
                self._client.delete,
                self.location.dups_collection,
                filter=f"doc_id in {literal} or of_doc_id in {literal}",
            )
        self._upsert_terms(term_rows)
        self.bands.remove(docs)
        self.state.stats = self.state.stats.changed([], [int(r["n_terms"]) for r in rows])
        self.state.totals = {
            "documents": self.state.totals["documents"] - len(docs),
            "tokens": self.state.totals["tokens"] - sum(int(r["tokens"]) for r in docs),
        }
        self._write_stats()
        return chunk_ids

    def seal(self, *, everything: bool = False) -> None:
        """Flush written rows into sealed segments: milvus-lite searches a growing one by brute force.

        Builds, copies and re-weighting end with it; a change only past :data:`SEAL_ROWS` rows, as a
        flush costs more as the collection grows (benchmarks/README.md, scale_out).
        """
        for name in self.collections if everything else (self.location.collection,):
            call(self.location, self._client.flush, name)
        self._unsealed = 0

    def seal_if_many(self) -> None:
        """Seal once :data:`SEAL_ROWS` rows written by this store wait."""
        if self._unsealed >= SEAL_ROWS:
            self.seal()

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Store ``manifest`` as the index's metadata."""
        self.state.manifest = manifest
        call(
            self.location,
            self._client.alter_collection_properties,
            self.location.collection,
            properties={MANIFEST_PROPERTY: dumps(manifest)},
        )

    def reweight(self) -> int:
        """Re-weight every row's BM25 half with today's average length; returns the rows rewritten.

        O(N): run it when :func:`~semsearch.storage.milvus.split_bm25.needs_reweighting` says the corpus drifted.
        """
        stats = CorpusStats.from_dict(
            {**self.state.stats.to_dict(), "weighted_avgdl": self.state.stats.avgdl}
        )
        fields = [*CHUNK_FIELDS, "n_terms", "metadata", "dense"]
        rewritten = 0
        batch: list[dict[str, Any]] = []
        for row in self.reads.iterate(self.location.collection, fields):
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                rewritten += self._reweight_batch(batch, stats)
                batch = []
        if batch:
            rewritten += self._reweight_batch(batch, stats)
        self.state.stats = stats
        self._write_stats()
        self.seal()
        return rewritten

    def _reweight_batch(self, batch: list[dict[str, Any]], stats: CorpusStats) -> int:
        sources = {
            r["doc_id"]: r["title_source"]
            for r in self.reads.get(
                self.location.docs_collection, list({r["doc_id"] for r in batch}), ["title_source"]
            )
        }
        titles = self.titles
        term_lists = [
            self.state.analyzer.tokens(
                indexed_text(
                    row["text"],
                    row["ordinal"],
                    title_prefix(row["title"], sources.get(row["doc_id"], ""), titles),
                    titles,
                )
            )
            for row in batch
        ]
        ids = self.reads.term_rows({t for terms in term_lists for t in terms})
        for row, terms in zip(batch, term_lists):
            row["sparse"] = {ids[t].term_id: float(w) for t, w in document_weights(terms, stats).items()}
        call(self.location, self._client.upsert, self.location.collection, batch)
        return len(batch)

    # -------------------------------------------------------------- reading

    def add_duplicates(self, records: Sequence[DuplicateRecord]) -> None:
        """Record documents not indexed as they repeat a stored one."""
        rows = [
            {
                "doc_id": r.doc_id,
                "of_doc_id": r.of_doc_id,
                "source": r.origin,
                "title": r.title,
                "similarity": float(r.similarity),
                "metadata": jsonable(r.metadata),
                "_placeholder": [0.0] * PLACEHOLDER_DIM,
            }
            for r in records
        ]
        self._put(self._client.upsert, self.location.dups_collection, rows, WRITE_BATCH)

    # -------------------------------------------------------------- helpers

    def _upsert_terms(self, rows: list[dict[str, Any]]) -> None:
        self._put(self._client.upsert, self.location.terms_collection, rows, WRITE_BATCH * 4)

    def _put(self, method: Any, collection: str, rows: list[dict[str, Any]], batch: int) -> None:
        """Insert or upsert ``rows`` into ``collection`` ``batch`` at a time (``method``: the client's)."""
        for first in range(0, len(rows), batch):
            call(self.location, method, collection, rows[first : first + batch])

    def _write_stats(self) -> None:
        call(
            self.location,
            self._client.alter_collection_properties,
            self.location.collection,
            properties={
                STATS_PROPERTY: dumps(
                    {**self.state.stats.to_dict(), "next_term": self._next_term, **self.state.totals}
                )
            },
        )
