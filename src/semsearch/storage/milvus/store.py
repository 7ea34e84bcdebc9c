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

import base64
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.errors import BackendError, IndexCorruptError, IndexFormatError, IndexNotFoundError, InputError
from semsearch.records import DuplicateRecord, PreparedDocument
from semsearch.storage.locations import MilvusLocation
from semsearch.storage.milvus import collections as layout
from semsearch.storage.milvus.bands import MilvusBands
from semsearch.storage.milvus.collections import (
    FORMAT_NAME,
    FORMAT_PROPERTY,
    FORMAT_VERSION,
    INCOMPLETE,
    MANIFEST_PROPERTY,
    Collections,
    Part,
)
from semsearch.storage.milvus.expressions import one_of
from semsearch.storage.milvus.reads import (
    CHUNK_FIELDS,
    LOOKUP_BATCH,
    MilvusReads,
    StoreState,
    sparse_keys,
    term_key,
)
from semsearch.storage.milvus.rows import (
    check_rows,
    chunk_row,
    document_row,
    dumps,
    jsonable,
    loads,
    term_row,
)
from semsearch.storage.milvus.schema import (
    PART_FIELDS,
    PLACEHOLDER_DIM,
    PRIMARY_KEYS,
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

STATS_PROPERTY = "semsearch.bm25"
WRITE_BATCH = 500
SEAL_ROWS = 1000  # rows a change leaves unsealed before it flushes (see MilvusStore.seal)
CHUNK_ROW_FIELDS = [*CHUNK_FIELDS, "n_terms", "metadata", "dense", "sparse"]  # a chunk row in full
LEGACY_ID_BYTES = 1024  # what Milvus formats 1 and 2 kept of a document id

# ---------------------------------------------------------------------- the store


@dataclass
class _Undo:
    """What a change touches, and those rows as they were: a failed change puts them back.

    ``touched``: the keys of each collection the change writes or deletes; ``before``: their rows
    before it (keys absent from ``before`` did not exist). Milvus has no transaction over several
    collections, so a change that fails half-way is undone by deleting every touched key and writing
    the old rows again.
    """

    touched: dict[Part, set[Any]] = field(default_factory=dict)
    before: dict[Part, list[dict[str, Any]]] = field(default_factory=dict)
    state: tuple[CorpusStats, dict[str, int], int] | None = None

    def touch(self, part: Part, keys: Any) -> None:
        self.touched.setdefault(part, set()).update(keys)


class MilvusStore:
    """One index in Milvus: write and remove documents batch by batch, search both sides, fetch rows.

    Open an existing index with :meth:`open`, start a new one with :meth:`create` (a new generation,
    read by nobody until :meth:`publish`). Not safe for two writers at once (semsearch's directory lock
    does not reach a server); readers are safe.
    """

    def __init__(
        self,
        location: MilvusLocation,
        client: Any,
        names: Collections,
        manifest: dict[str, Any],
        stats: CorpusStats,
        next_term: int,
        analyzer: Analyzer,
        totals: dict[str, int] | None = None,
        *,
        id_bytes: int | None = None,
    ) -> None:
        from semsearch.records import MAX_ID_BYTES

        self.location = location
        self.names = names
        self.state = StoreState(
            manifest,
            stats,
            analyzer,
            milvus_index_type(manifest["index_type"]),
            totals or {"documents": 0, "tokens": 0},  # kept up to date: counts() is O(1)
        )
        self.reads = MilvusReads(location, client, self.state, names)
        self._client = client
        self._next_term = next_term
        self._unsealed = 0  # rows written since the last seal
        self.format_version = FORMAT_VERSION  # of a new index; open() sets the one an index was written in
        self.id_bytes = id_bytes or MAX_ID_BYTES  # the longest id its collections hold
        self.bands = MilvusBands(location, client, names, manifest.get("dedup"), self.reads.get)

    @property
    def collections(self) -> tuple[str, ...]:
        """The collections of the index (one written in Milvus format 1 has no band keys)."""
        named = self.names.named()
        return tuple(name for part, name in named.items() if part != "bands" or self.bands.present)

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
        """Create the collections of a new, empty generation of the index at ``location``.

        Nobody reads it until :meth:`publish` points the location's name at it; the index there, if
        any, stays as it is until then. What the name stands for now must be semsearch's (an index a
        build may replace): any other collection is refused, never dropped. ``stats``: the corpus
        statistics to weigh rows with (a build passes the whole corpus's average length, so its
        batches are weighted alike); default: the first batch's.
        """
        kind = milvus_index_type(manifest["index_type"])
        client = connect(location)
        try:
            layout.check_replaceable(location, client)
            names = layout.new_generation(location)
            stats = stats or CorpusStats(
                k1=float(manifest["lexical"]["k1"]), b=float(manifest["lexical"]["b"])
            )
            properties = {
                FORMAT_PROPERTY: f"{FORMAT_NAME}/{FORMAT_VERSION}",
                MANIFEST_PROPERTY: dumps(manifest),
                STATS_PROPERTY: dumps({**stats.to_dict(), "next_term": 1}),
            }
            create_collections(location, client, names, int(manifest["dimension"]), kind, properties)
        except BaseException:
            client.close()
            raise
        return cls(location, client, names, manifest, stats, 1, analyzer)

    def publish(self) -> None:
        """Make this store's generation the index at its location, then drop the one it replaces."""
        layout.publish(self.location, self._client, self.names)

    @classmethod
    def open(cls, location: MilvusLocation) -> MilvusStore:
        """Open the index at ``location``; IndexNotFoundError if there is none, IndexCorruptError if damaged."""
        if location.lite and not Path(location.uri).exists():
            raise IndexNotFoundError(
                f"{location}: no milvus-lite database at {location.uri}; build one with "
                f"`semsearch build SOURCES -o '{location}'`"
            )
        client = connect(location)
        try:
            return cls._open(location, client)
        except BaseException:
            client.close()
            raise

    @classmethod
    def _open(cls, location: MilvusLocation, client: Any) -> MilvusStore:
        names = layout.current(location, client) or layout.recover(location, client)
        if names is None:
            unfinished = " (a build into it did not finish)" if layout.generations(location, client) else ""
            raise IndexNotFoundError(
                f"{location}: no semsearch index there{unfinished}; build one with "
                f"`semsearch build SOURCES -o '{location}'`"
            )
        for name in names.required:
            if not call(location, client.has_collection, name):
                raise IndexNotFoundError(
                    f"{location}: no semsearch index there (collection {name} is missing); build one with "
                    f"`semsearch build SOURCES -o '{location}'`"
                )
        properties = layout.properties_of(location, client, names.chunks)
        version = layout.format_mark(properties)
        if version is None:
            raise IndexCorruptError(
                f"{location} is not a semsearch index (no semsearch format mark); rebuild it"
            )
        if version > FORMAT_VERSION:
            raise IndexFormatError(
                f"{location} was written in Milvus index format {version} by a newer semsearch; this one "
                f"reads up to {FORMAT_VERSION}. Upgrade semsearch or rebuild the index"
            )
        for name in names.required:
            call(location, client.load_collection, name)
        manifest = loads(properties.get(MANIFEST_PROPERTY), location, "manifest")
        if manifest.get(INCOMPLETE):
            raise IndexCorruptError(f"{location}: its build did not finish; build the index again")
        raw_stats = loads(properties.get(STATS_PROPERTY), location, "BM25 statistics")
        try:
            stats = CorpusStats.from_dict(raw_stats)
            analyzer = Analyzer.from_spec(manifest["lexical"])
            next_term = int(raw_stats["next_term"])
            totals: dict[str, int] = {k: int(raw_stats[k]) for k in ("documents", "tokens") if k in raw_stats}
            store = cls(location, client, names, manifest, stats, next_term, analyzer, totals or None)
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise IndexCorruptError(
                f"{location}: the collection's manifest or BM25 statistics are damaged ({exc}); rebuild the index"
            ) from None
        store.format_version = version
        store.id_bytes = _id_bytes(location, client, names)
        if len(totals) < 2:  # written before the totals were kept
            docs = list(store.reads.scan("docs", ["tokens"]))
            store.state.totals = {"documents": len(docs), "tokens": sum(int(r["tokens"]) for r in docs)}
        return store

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    # -------------------------------------------------------------- changing

    def apply(
        self,
        removed: Sequence[str],
        prepared: Sequence[PreparedDocument],
        vectors: np.ndarray,
        terms: Sequence[Sequence[str]] | None = None,
        signatures: Mapping[str, tuple[bytes, Sequence[str]]] | None = None,
        duplicates: Sequence[DuplicateRecord] = (),
    ) -> list[int]:
        """Remove documents, then write documents and duplicates: all of it, or (on any failure) none.

        Everything Milvus would refuse is checked before anything is written; if the server fails
        half-way, the rows the change touched are put back as they were and the error raised. Returns
        the chunk ids removed.
        """
        signatures = signatures or {}
        ids = list(dict.fromkeys(removed))
        check_rows(prepared, vectors, duplicates, self.id_bytes)
        if terms is None:
            texts = indexed_texts(prepared, self.titles)
            terms = [self.state.analyzer.tokens(t) for t in texts]
        if len(terms) != len(vectors):
            raise InputError(f"{len(vectors)} chunks but {len(terms)} term lists to write")
        old_rows = self._rows_of(ids)
        undo = self._undo_for(ids, old_rows, prepared, terms, signatures, duplicates)
        try:
            chunk_ids = self._remove(ids, old_rows) if ids else []
            self._write(prepared, vectors, terms, signatures)
            if duplicates:
                self._add_duplicates(duplicates)
        except BaseException:
            self._undo(undo)
            raise
        return chunk_ids

    def _rows_of(self, doc_ids: list[str]) -> list[dict[str, Any]]:
        """The full chunk rows of documents (what removing them changes, and what an undo writes back)."""
        rows: list[dict[str, Any]] = []
        for first in range(0, len(doc_ids), LOOKUP_BATCH):
            part = doc_ids[first : first + LOOKUP_BATCH]
            rows += self.reads.scan("chunks", CHUNK_ROW_FIELDS, where=one_of("doc_id", part))
        return rows

    def _undo_for(
        self,
        removed: list[str],
        old_rows: list[dict[str, Any]],
        prepared: Sequence[PreparedDocument],
        terms: Sequence[Sequence[str]],
        signatures: Mapping[str, tuple[bytes, Sequence[str]]],
        duplicates: Sequence[DuplicateRecord],
    ) -> _Undo:
        """Every key the change will touch, with its row as it is now."""
        undo = _Undo(state=(self.state.stats, dict(self.state.totals), self._next_term))
        written = [e.document.doc_id for e in prepared]
        undo.touch("chunks", [int(r["chunk_id"]) for r in old_rows])
        undo.touch("chunks", [int(c.chunk_id) for e in prepared for c in e.chunks])
        undo.touch("docs", [*removed, *written])
        dup_ids = [d.doc_id for d in duplicates]
        for first in range(0, len(removed), LOOKUP_BATCH):
            some = removed[first : first + LOOKUP_BATCH]
            where = f"{one_of('doc_id', some)} or {one_of('of_doc_id', some)}"
            dup_ids += [r["doc_id"] for r in self.reads.scan("dups", [], where=where)]
        undo.touch("dups", dup_ids)
        term_ids = sorted({k for r in old_rows for k in sparse_keys(r["sparse"])})
        keys = {term_key(t) for chunk in terms for t in chunk}
        for first in range(0, len(term_ids), LOOKUP_BATCH):
            some_ids = term_ids[first : first + LOOKUP_BATCH]
            keys |= {r["term"] for r in self.reads.scan("terms", [], where=one_of("term_id", some_ids))}
        undo.touch("terms", keys)
        if self.bands.active:
            old = self.reads.get("docs", removed, ["minhash"])
            minhashes = {r["doc_id"]: base64.b64decode(r["minhash"]) for r in old if r["minhash"]}
            minhashes.update({d: m for d, (m, _) in signatures.items()})
            undo.touch("bands", self.bands.keys_of(minhashes))
        for part, keys_touched in undo.touched.items():
            fields = CHUNK_ROW_FIELDS if part == "chunks" else sorted(PART_FIELDS[part])
            undo.before[part] = self.reads.get(part, sorted(keys_touched), fields) if keys_touched else []
        return undo

    def _undo(self, undo: _Undo) -> None:
        """Put every row a failed change touched back as it was (see :class:`_Undo`)."""
        assert undo.state is not None
        self.state.stats, self.state.totals, self._next_term = undo.state
        try:
            for part, keys in undo.touched.items():
                name = self.names.named()[part]
                ordered = sorted(keys)
                for first in range(0, len(ordered), LOOKUP_BATCH):
                    some = ordered[first : first + LOOKUP_BATCH]
                    call(self.location, self._client.delete, name, filter=one_of(PRIMARY_KEYS[part], some))
                self._put(self._client.upsert, name, undo.before.get(part, []), WRITE_BATCH)
            self._write_stats()
        except Exception as exc:  # noqa: BLE001 - the server failed again: say the index may be half-changed
            raise BackendError(
                f"{self.location}: a change failed and undoing it failed too ({exc}); the index may hold "
                "part of the change: run `semsearch verify`, and rebuild it if it reports a problem"
            ) from None

    def _write(
        self,
        prepared: Sequence[PreparedDocument],
        vectors: np.ndarray,
        term_lists: Sequence[Sequence[str]],
        signatures: Mapping[str, tuple[bytes, Sequence[str]]],
    ) -> None:
        """Insert prepared documents and their chunks' vectors (and near-duplicate ``signatures`` by doc id).

        A chunk's terms are those of the text it is indexed as (its title in front, as the manifest's
        title mode says; :mod:`semsearch.text.titles`). The rows' BM25 weights use the corpus's frozen
        average length; the terms' document frequencies and the corpus statistics are updated, so later
        queries weigh them in.
        """
        chunks = [(entry, chunk) for entry in prepared for chunk in entry.chunks]
        if len(chunks) != len(vectors) or len(term_lists) != len(chunks):
            raise InputError(f"{len(chunks)} chunks but {len(vectors)} vectors, {len(term_lists)} term lists")
        if not prepared:
            return
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
        self._put(self._client.insert, self.names.chunks, rows, WRITE_BATCH)
        self._unsealed += len(rows)
        doc_rows = [document_row(e, signatures.get(e.document.doc_id)) for e in prepared]
        self._put(self._client.upsert, self.names.docs, doc_rows, WRITE_BATCH)
        written = {e.document.doc_id for e in prepared}
        self.bands.add({doc_id: s for doc_id, s in signatures.items() if doc_id in written})
        term_rows = [
            term_row(term_key(t), ids[t], (known[t].df if t in known else 0) + n) for t, n in df.items()
        ]
        self._upsert_terms(term_rows)
        self._next_term = next_term
        self.state.stats = stats
        self.state.totals = {
            "documents": self.state.totals["documents"] + len(doc_rows),
            "tokens": self.state.totals["tokens"] + sum(int(r["tokens"]) for r in doc_rows),
        }
        self._write_stats()

    def write(
        self,
        prepared: Sequence[PreparedDocument],
        vectors: np.ndarray,
        terms: Sequence[Sequence[str]] | None = None,
        signatures: Mapping[str, tuple[bytes, Sequence[str]]] | None = None,
    ) -> None:
        """Insert prepared documents (:meth:`apply` with nothing removed)."""
        self.apply([], prepared, vectors, terms, signatures)

    def remove(self, doc_ids: Sequence[str]) -> list[int]:
        """Delete documents and their chunks (:meth:`apply` with nothing written); the chunk ids removed."""
        return self.apply(doc_ids, [], np.zeros((0, 1), dtype=np.float32), [])

    def _remove(self, ids: list[str], rows: list[dict[str, Any]]) -> list[int]:
        """Delete documents (their chunk ``rows``, read before) and what was recorded of them."""
        if not rows and not self.reads.get("docs", ids, []):  # only folded duplicates: their records go
            for first in range(0, len(ids), LOOKUP_BATCH):
                part = ids[first : first + LOOKUP_BATCH]
                where = f"{one_of('doc_id', part)} or {one_of('of_doc_id', part)}"
                call(self.location, self._client.delete, self.names.dups, filter=where)
            return []
        df_drop: Counter[int] = Counter()
        for row in rows:
            df_drop.update(int(k) for k in sparse_keys(row["sparse"]))
        term_rows = []
        term_ids = list(df_drop)
        for first in range(0, len(term_ids), LOOKUP_BATCH):
            some = term_ids[first : first + LOOKUP_BATCH]
            for row in self.reads.scan("terms", ["term_id", "df"], where=one_of("term_id", some)):
                term_rows.append(
                    {
                        "term": row["term"],
                        "term_id": int(row["term_id"]),
                        "df": max(0, int(row["df"]) - df_drop[int(row["term_id"])]),
                        "_placeholder": [0.0] * PLACEHOLDER_DIM,
                    }
                )
        chunk_ids = [int(r["chunk_id"]) for r in rows]
        docs = self.reads.get("docs", ids, ["tokens", "minhash"])
        for first in range(0, len(ids), LOOKUP_BATCH):
            part = ids[first : first + LOOKUP_BATCH]
            listed = one_of("doc_id", part)
            call(self.location, self._client.delete, self.names.chunks, filter=listed)
            call(self.location, self._client.delete, self.names.docs, filter=listed)
            call(
                self.location,
                self._client.delete,
                self.names.dups,
                filter=f"{listed} or {one_of('of_doc_id', part)}",
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
        for name in self.collections if everything else (self.names.chunks,):
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
            self.names.chunks,
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
        for row in self.reads.scan("chunks", fields):
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
            for r in self.reads.get("docs", list({r["doc_id"] for r in batch}), ["title_source"])
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
        call(self.location, self._client.upsert, self.names.chunks, batch)
        return len(batch)

    def _add_duplicates(self, records: Sequence[DuplicateRecord]) -> None:
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
        self._put(self._client.upsert, self.names.dups, rows, WRITE_BATCH)

    # -------------------------------------------------------------- helpers

    def _upsert_terms(self, rows: list[dict[str, Any]]) -> None:
        self._put(self._client.upsert, self.names.terms, rows, WRITE_BATCH * 4)

    def _put(self, method: Any, collection: str, rows: list[dict[str, Any]], batch: int) -> None:
        """Insert or upsert ``rows`` into ``collection`` ``batch`` at a time (``method``: the client's)."""
        for first in range(0, len(rows), batch):
            call(self.location, method, collection, rows[first : first + batch])

    def _write_stats(self) -> None:
        call(
            self.location,
            self._client.alter_collection_properties,
            self.names.chunks,
            properties={
                STATS_PROPERTY: dumps(
                    {**self.state.stats.to_dict(), "next_term": self._next_term, **self.state.totals}
                )
            },
        )


def _id_bytes(location: MilvusLocation, client: Any, names: Collections) -> int:
    """The longest document id the index's collections hold (their ``doc_id`` field's size)."""
    for found in call(location, client.describe_collection, names.docs).get("fields") or ():
        if found.get("name") == "doc_id":
            return int((found.get("params") or {}).get("max_length") or LEGACY_ID_BYTES)
    return LEGACY_ID_BYTES
