"""Index directories: :class:`DirectoryStorage` opens and creates them; :class:`LocalEngine` is format 1.

A new index is segmented (format 2, :mod:`semsearch.storage.local.segmented`): a change costs what it
changes and a load maps files. An index saved in format 1 (FAISS, bm25s and SQLite files, each
rewritten whole by a save) opens with :class:`LocalEngine`, which keeps reading and changing it as
before (:mod:`semsearch.storage.local.files` checks every file before use); ``Index.optimize()`` (or
``semsearch optimize``) upgrades it to format 2.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import WriteBatch
from semsearch.storage.base import Durability, IndexSpec, Opened, Parts
from semsearch.storage.local.directory import FileWriter, save_index_dir
from semsearch.storage.local.documents import ChunkStore
from semsearch.storage.local.files import index_file, read_manifest
from semsearch.storage.local.lexical import LexicalIndex
from semsearch.storage.local.segmented import SegmentedEngine
from semsearch.storage.local.tantivy_bm25 import K1, B
from semsearch.storage.local.vectors import VectorIndex, vector_ids
from semsearch.storage.locations import DirectoryLocation, Location, same_location
from semsearch.storage.manifest import Manifest
from semsearch.storage.manifest_schema import FILES_FORMAT, SEGMENTS_FORMAT
from semsearch.text.analyzer import Analyzer


class LocalEngine:
    """An index directory's parts in this process: a change is applied in memory and written by :meth:`commit`."""

    durability: Durability = "on-commit"
    batch_chunks: int | None = None  # FAISS types that train (IVF) train on the whole corpus at once

    def __init__(
        self,
        store: ChunkStore,
        vectors: VectorIndex | None,
        lexical: LexicalIndex | None,
        *,
        location: DirectoryLocation | None = None,
        spec: IndexSpec | None = None,
        threads: int | None = None,
    ) -> None:
        self._threads = threads  # FAISS's OpenMP threads for a batch of queries
        if vectors is not None:
            vectors.threads = threads
        self._store = store
        self._vectors = vectors
        self._lexical = lexical
        self._location = location
        self._spec = spec  # what the first batch of a new engine builds its vectors and BM25 with

    @property
    def location(self) -> DirectoryLocation | None:
        """The directory the engine was opened from or last committed to (None: never committed)."""
        return self._location

    @property
    def parts(self) -> Parts:
        """The three parts (a new engine has them once its first batch is applied)."""
        if self._vectors is None or self._lexical is None:
            raise InputError("this index holds no documents yet; add some before searching it")
        return Parts(self._vectors, self._lexical, self._store)

    def apply(self, batch: WriteBatch) -> list[int]:
        """Store the batch's documents and remove its removals in the chunk store, FAISS and BM25."""
        removed = self._store.apply(batch)
        ids = np.asarray(batch.chunk_ids, dtype=np.int64)
        if self._vectors is None or self._lexical is None:  # the first batch of a new index
            if self._spec is None:
                raise InputError("an engine opened from disk has its parts already")
            if len(np.unique(ids)) != len(
                ids
            ):  # 64-bit hash collision: astronomically unlikely, never silent
                raise IndexCorruptError("two chunks received the same 64-bit id; rename one of the documents")
            self._vectors = VectorIndex.build(batch.vectors, ids, self._spec.index_type)  # type: ignore[arg-type]
            self._vectors.threads = self._threads
            self._lexical = LexicalIndex.build(
                self._spec.analyzer, ids.tolist(), batch.texts, k1=self._spec.k1, b=self._spec.b
            )
            return removed
        self._vectors.delete(removed)
        if len(ids):
            self._vectors.add(batch.vectors, ids)  # type: ignore[arg-type]
        self._lexical = self._lexical.changed(removed, ids.tolist(), list(batch.texts))
        return removed

    def accepts(self, location: Location) -> bool:
        """A directory: where the engine lives, or any one if it was never committed."""
        return isinstance(location, DirectoryLocation) and (
            self._location is None or same_location(self._location, location)
        )

    def commit(
        self, manifest: Manifest, location: Location | None = None, *, expect_generation: int | None = None
    ) -> Manifest:
        """Write every part as a new generation and swap the manifest atomically (see ``save_index_dir``)."""
        target = location or self._location
        if not isinstance(target, DirectoryLocation):
            raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
        vectors, lexical = self._vectors, self._lexical
        if vectors is None or lexical is None:
            raise InputError("this index holds no documents yet; add some before saving it")
        writers = {
            "vectors": FileWriter("faiss", vectors.save),
            "chunks": FileWriter("sqlite", self._store.save_to),
            "lexical": FileWriter("json", lexical.write),
            "bm25": FileWriter("bm25s", lexical.write_bm25),
        }
        written = save_index_dir(target.path, manifest, writers, expect_generation=expect_generation)
        self._location = target
        return written

    def describe(self) -> dict[str, Any]:
        """A directory (its size on disk is the manifest's files)."""
        return {"storage": "directory", "layout": f"format {FILES_FORMAT}, files per generation"}

    def optimize(self, manifest: Manifest) -> Opened:
        """Upgrade to the segmented format in place: the index is copied into new files, then the manifest swapped."""
        from semsearch.storage.copy import copy_into, spec_of

        target = self._location
        if target is None:
            raise InputError("this index was never saved; save it before optimising it")
        engine = SegmentedEngine.create(spec_of(self.parts, manifest, k1=K1, b=B), target, self._threads)
        copy_into(self.parts, manifest, engine)
        copied = engine.parts
        upgraded = manifest.replace(
            generation=None,
            files={},
            lexical=copied.lexical.spec(),
            faiss_class=copied.vectors.describe(),
            counts=copied.chunks.counts().with_skipped(manifest.counts.skipped_sources),
        )
        written = engine.commit(upgraded, target)
        self.close()
        return Opened(written, engine)

    def verify(self) -> list[str]:
        """Every file against the manifest's size and SHA-256, and the chunk store in full."""
        target = self._location
        if target is None:
            return []
        problems = []
        manifest = read_manifest(target.path)
        for role in manifest.files:
            try:
                index_file(target.path, manifest, role, verify=True)
            except IndexCorruptError as exc:
                problems.append(str(exc))
        return problems

    def close(self) -> None:
        """Close the chunk store."""
        self._store.close()


class DirectoryStorage:
    """Opens index directories and creates new directory engines."""

    def open(self, location: Location, *, verify: bool = True, threads: int | None = None) -> Opened:
        """Read the manifest and open the files it lists, checking sizes, checksums (if ``verify``) and counts."""
        if not isinstance(location, DirectoryLocation):
            raise InputError(f"{location} is not a directory")
        path = location.path
        for attempt in range(5):
            manifest = read_manifest(path)
            try:
                if manifest.format_version >= SEGMENTS_FORMAT:
                    return Opened(manifest, SegmentedEngine.open(location, manifest, threads))
                return Opened(manifest, _open(location, manifest, verify, threads))
            except IndexCorruptError:
                # A writer may have replaced this generation between our reading the manifest and
                # opening its files: if the manifest moved on, read the new one.
                if attempt == 4 or read_manifest(path).generation == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    def create(
        self, location: Location | None, spec: IndexSpec, *, threads: int | None = None
    ) -> SegmentedEngine:
        """A new segmented index, built in a folder of its own that its first commit moves into place."""
        if location is not None and not isinstance(location, DirectoryLocation):
            raise InputError(f"{location} is not a directory")
        return SegmentedEngine.create(spec, location, threads)

    def peek(self, location: Location) -> Manifest | None:
        """The manifest file, checked (IndexNotFoundError or IndexCorruptError if it is not one)."""
        if not isinstance(location, DirectoryLocation):
            raise InputError(f"{location} is not a directory")
        return read_manifest(location.path)


def _open(location: DirectoryLocation, manifest: Manifest, verify: bool, threads: int | None) -> LocalEngine:
    path = location.path
    vectors_file = index_file(path, manifest, "vectors", verify=verify)
    vectors = VectorIndex.load(vectors_file, manifest.index_type, dataclasses.replace(manifest.search_params))
    store = ChunkStore.open(index_file(path, manifest, "chunks", verify=verify))
    counts = store.counts()
    if vectors.dimension != manifest.dimension:
        raise IndexCorruptError(
            f"{vectors_file} holds {vectors.dimension}-d vectors where the manifest lists "
            f"{manifest.dimension}-d; rebuild the index"
        )
    if not (len(vectors) == counts.chunks == manifest.counts.chunks):
        raise IndexCorruptError(
            f"{path}: the FAISS file holds {len(vectors)} vectors, the chunk store {counts.chunks} chunks "
            f"and the manifest says {manifest.counts.chunks}; rebuild the index"
        )
    stored = store.chunk_ids()
    if not np.array_equal(np.sort(vector_ids(vectors.faiss)), stored):
        raise IndexCorruptError(
            f"{vectors_file} holds vectors under ids that are not the chunk store's chunk ids; rebuild the index"
        )
    if "lexical" not in manifest.files:  # saved before indexes had a lexical side: tokenise the chunks now
        chunks = list(store.iter_chunks())
        lexical = LexicalIndex.build(Analyzer(), [c.chunk_id for c in chunks], [c.text for c in chunks])
        return LocalEngine(store, vectors, lexical, location=location, threads=threads)
    lexical_file = index_file(path, manifest, "lexical", verify=verify)
    bm25 = index_file(path, manifest, "bm25", verify=verify) if "bm25" in manifest.files else None
    lexical = LexicalIndex.read(lexical_file, dict(manifest.lexical), bm25, manifest.files["lexical"].sha256)
    if len(lexical) != counts.chunks or not np.array_equal(np.sort(lexical.chunk_ids), stored):
        raise IndexCorruptError(
            f"{bm25 or lexical_file} covers {len(lexical)} chunks that are not the index's "
            f"{counts.chunks} chunks; rebuild the index"
        )
    return LocalEngine(store, vectors, lexical, location=location, threads=threads)
