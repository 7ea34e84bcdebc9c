"""The Milvus engine: an index's collections changed batch by batch, live as each batch is written.

:class:`MilvusStorage` opens an index at a Milvus location or creates a new engine there;
:class:`MilvusEngine` applies :class:`~semsearch.records.WriteBatch` changes (rows are written when
:meth:`MilvusEngine.apply` returns: Milvus has no transaction over several collections) and commits
the manifest as a collection property. A new index is marked incomplete until its first commit, so a
build that stops half-way is never mistaken for a whole one. :func:`reweight` rewrites every row's
BM25 half when the corpus's average length has drifted (``semsearch info`` says when).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import SearchParams, WriteBatch
from semsearch.storage.base import Durability, IndexSpec, Opened, Parts
from semsearch.storage.locations import Location, MilvusLocation, parse_location
from semsearch.storage.manifest import Manifest
from semsearch.storage.manifest_schema import FILES_FORMAT
from semsearch.storage.milvus.collections import FORMAT_NAME, INCOMPLETE, check_replaceable
from semsearch.storage.milvus.parts import MilvusDocuments, MilvusLexical, MilvusVectors
from semsearch.storage.milvus.schema import connect, milvus_index_type
from semsearch.storage.milvus.split_bm25 import CorpusStats, needs_reweighting
from semsearch.storage.milvus.store import MilvusStore

BUILD_BATCH_CHUNKS = 4096  # chunks a build embeds and writes at a time: one batch of vectors in memory


class MilvusEngine:
    """An index in Milvus: every batch is written to the server when :meth:`apply` returns."""

    durability: Durability = "on-apply"
    batch_chunks: int | None = BUILD_BATCH_CHUNKS

    def __init__(
        self,
        location: MilvusLocation,
        store: MilvusStore | None,
        *,
        spec: IndexSpec | None = None,
        params: SearchParams | None = None,
    ) -> None:
        self._location = location
        self._store = store
        self._spec = spec  # a new index: its collections are created by the first batch
        self._building = store is None  # a new index seals and may re-weight once, at its first commit
        self._params = params or SearchParams()
        self._parts: Parts | None = None

    @property
    def location(self) -> MilvusLocation:
        """Where the index lives."""
        return self._location

    @property
    def parts(self) -> Parts:
        """The three parts, reading the index's collections."""
        if self._parts is None:
            if self._store is None:
                raise InputError("this index holds no documents yet; add some before searching it")
            reads = self._store.reads
            self._parts = Parts(
                MilvusVectors(reads, self._params),
                MilvusLexical(reads),
                MilvusDocuments(reads, self._store.bands),
            )
        return self._parts

    def apply(self, batch: WriteBatch) -> list[int]:
        """Delete the removed documents' rows, then write the new ones (rows, terms, signatures, duplicates)."""
        if self._store is None:
            if not batch.documents:
                return []
            self._store = self._create()
        store = self._store
        terms = [store.state.analyzer.tokens(text) for text in batch.texts]
        signatures = {f.doc_id: (f.minhash, f.numbers) for f in batch.fingerprints}
        vectors = batch.vectors if batch.vectors is not None else np.zeros((0, 1), dtype=np.float32)
        try:
            removed = store.apply(
                list(batch.removed),
                list(batch.documents),
                vectors,
                terms,
                signatures,
                [d.record() for d in batch.duplicates],
            )
        finally:
            if self._parts is not None:
                self._parts.chunks.changed()  # type: ignore[attr-defined]
        if not self._building:
            store.seal_if_many()
        return removed

    def accepts(self, location: Location) -> bool:
        """Only where the index lives: another place gets a copy."""
        return isinstance(location, MilvusLocation) and str(location) == str(self._location)

    def commit(
        self, manifest: Manifest, location: Location | None = None, *, expect_generation: int | None = None
    ) -> Manifest:
        """Store the manifest with the collections (a new index: re-weighted if it drifted, sealed, complete)."""
        if location is not None and str(location) != str(self._location):
            raise InputError(f"this engine keeps {self._location}; it cannot commit to {location}")
        if self._store is None:
            raise InputError("this index holds no documents yet; add some before saving it")
        if self._building:
            if needs_reweighting(self._store.state.stats):
                self._store.reweight()
            self._store.seal(everything=True)
        # Milvus keeps no files: neither a directory's file list nor a segmented layout applies here.
        written = manifest.replace(generation=None, files={}, format_version=FILES_FORMAT, layout={})
        self._store.write_manifest(written.to_dict())
        if self._building:  # the new generation is whole: now it becomes the index, in one step
            self._store.publish()
            self._building = False
        return written

    def describe(self) -> dict[str, Any]:
        """Milvus and its layout; the size of a milvus-lite database (a server's is not known here)."""
        where = self._location
        size = (
            sum(f.stat().st_size for f in Path(where.uri).rglob("*") if f.is_file()) if where.lite else None
        )
        collections = len(self._store.collections) if self._store is not None else 0
        version = self._store.format_version if self._store is not None else 0
        return {
            "storage": f"Milvus ({FORMAT_NAME}/{version}, {collections} collections)",
            "bytes_on_disk": size,
        }

    def optimize(self, manifest: Manifest) -> Opened:
        """Re-weight BM25 if the corpus drifted and seal every collection's rows; publish the manifest."""
        if self._store is None:
            raise InputError("this index holds no documents yet; add some before optimising it")
        built_with = self._store.reads.state.manifest["index_type"]
        if manifest.index_type != built_with:
            raise InputError(
                f"an index in Milvus keeps the index type it was built with ({built_with}); "
                f"to use {manifest.index_type}, build it again with --index-type {manifest.index_type}"
            )
        if needs_reweighting(self._store.state.stats):
            self._store.reweight()
        self._store.seal(everything=True)
        return Opened(self.commit(manifest), self)

    def verify(self) -> list[str]:
        """Counts kept with the collections against the rows there; one line per disagreement."""
        if self._store is None:
            return []
        reads = self._store.reads
        problems = []
        stored = sum(1 for _ in reads.scan("chunks", []))
        if stored != len(reads):
            problems.append(f"{self._location}: {stored} chunk rows, the statistics say {len(reads)}")
        try:
            for _ in reads.summaries():
                pass
        except IndexCorruptError as exc:
            problems.append(str(exc))
        documents = sum(1 for _ in reads.scan("docs", []))
        if documents != reads.state.totals.get("documents", documents):
            problems.append(
                f"{self._location}: {documents} documents, the totals say {reads.state.totals['documents']}"
            )
        return problems

    def close(self) -> None:
        """Close the connection."""
        if self._store is not None:
            self._store.close()

    def _create(self) -> MilvusStore:
        spec = self._spec
        if spec is None:
            raise InputError("an engine opened from Milvus has its collections already")
        lexical = {**spec.analyzer.spec(), "scorer": "split-bm25/lucene", "k1": spec.k1, "b": spec.b}
        placeholder = {
            "index_type": spec.index_type,
            "dimension": spec.dimension,
            "lexical": lexical,
            "chunking": {"titles": spec.titles},
            "dedup": dataclasses.asdict(spec.dedup) if spec.dedup is not None else None,
            INCOMPLETE: True,
        }
        return MilvusStore.create(
            self._location, placeholder, spec.analyzer, stats=CorpusStats(k1=spec.k1, b=spec.b)
        )


class MilvusStorage:
    """Opens indexes kept in Milvus and creates new ones there."""

    def open(self, location: Location, *, verify: bool = True, threads: int | None = None) -> Opened:
        """Open the index at a Milvus location; its manifest checked as a directory's is (damage: IndexCorruptError)."""
        where = _milvus(location)
        store = MilvusStore.open(where)
        try:
            manifest = Manifest.from_dict(store.state.manifest, str(where), files=False)
        except Exception:
            store.close()
            raise
        return Opened(
            manifest, MilvusEngine(where, store, params=dataclasses.replace(manifest.search_params))
        )

    def create(
        self, location: Location | None, spec: IndexSpec, *, threads: int | None = None
    ) -> MilvusEngine:
        """A new engine at ``location``; an index type Milvus cannot build is refused before any embedding."""
        if location is None:
            raise InputError(
                "an index in Milvus needs a location: milvus://HOST:PORT#NAME or milvus-lite:PATH.db#NAME"
            )
        milvus_index_type(spec.index_type)
        where = _milvus(location)
        client = connect(where)  # refuse a place that is not semsearch's before anything is embedded
        try:
            check_replaceable(where, client)
        finally:
            client.close()
        return MilvusEngine(where, None, spec=spec)

    def peek(self, location: Location) -> Manifest | None:
        """None: reading it means connecting to the server, which opening the index does anyway."""
        return None


def reweight(location: str | MilvusLocation) -> int:
    """Re-weight every row's BM25 half of the Milvus index at ``location`` with today's average length.

    O(N): worth it when ``semsearch info`` shows the average length has drifted (``needs_reweighting``).
    Returns the number of rows rewritten.
    """
    store = MilvusStore.open(_milvus(parse_location(location)))
    try:
        return store.reweight()
    finally:
        store.close()


def _milvus(location: Location) -> MilvusLocation:
    if not isinstance(location, MilvusLocation):
        raise InputError(f"{location} is not a Milvus location")
    return location
