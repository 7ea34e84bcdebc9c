"""The segmented directory engine (index format 2): a change costs what it changes, a load what it opens.

Layout of ``indexes/NAME/`` (the manifest names everything else; ``EPOCH`` is fixed per build)::

    manifest.json                 format 2: generation, model, counts, and the layout: segments with
                                  each file's size and SHA-256, the next row and segment numbers
    documents.EPOCH.sqlite        documents and chunks, versioned by generation (versioned_store)
    lexical.EPOCH/                BM25 by tantivy over semsearch's terms (tantivy_bm25)
    segments.EPOCH/sNNNNNNNN.*    immutable vector segments and their deletion bitmaps (segments)

A change (:meth:`SegmentedEngine.apply`) is written at once as a new generation no manifest names yet:
its rows into SQLite (one transaction), its terms into tantivy (a commit), its vectors as a new small
segment, its removals as marks. Readers, in this process or another, read the generation the manifest
names, so they never see a change half-way; this engine's own searches see its changes at once. A
commit writes the deletion bitmaps that changed and swaps the manifest atomically (write, fsync,
rename): that is the moment the change becomes the index. Only new files are checksummed. A writer
holds the index's lock from its first change to its commit; one that dies leaves a generation no
manifest names, which the next writer rolls back (O(change)) before its own first change.

Small segments are merged as they accumulate (by size tiers, as Lucene's log merge policy does, and
all into one by :meth:`SegmentedEngine.optimize`); a merge writes new files and never changes old ones.
Rows removed by a published generation are purged by the next commit (SQLite rows, BM25 documents).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import threading
import uuid
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from semsearch.errors import IndexChangedError, IndexCorruptError, IndexWriteError, InputError, SemsearchError
from semsearch.filters import Filter, date_range
from semsearch.records import Scored, SearchParams, VectorHits, WriteBatch
from semsearch.storage.base import Durability, IndexSpec, Opened, Parts
from semsearch.storage.local import staging
from semsearch.storage.local.files import MANIFEST, WRITE_FAILURES, raise_write_failure, read_manifest
from semsearch.storage.local.freed_memory import release_freed_memory
from semsearch.storage.local.segments import (
    ARRAY_READ_ERRORS,
    EXACT_ROWS,
    Segment,
    SegmentFiles,
    Shortlist,
    merge_rankings,
    merged_vectors,
    one_thread,
    rerank,
    segment_files,
    write_segment,
)
from semsearch.storage.local.staging import staging_name
from semsearch.storage.local.tantivy_bm25 import K1, B, LexicalFilter, TantivyBM25
from semsearch.storage.local.versioned_store import VersionedStore, day_number
from semsearch.storage.locations import DirectoryLocation, Location, same_location
from semsearch.storage.locks import acquire, release, write_lock
from semsearch.storage.manifest import Manifest
from semsearch.storage.manifest_schema import SEGMENTS_FORMAT
from semsearch.text.analyzer import Analyzer
from semsearch.text.dedup import DedupConfig

log = logging.getLogger(__name__)

BATCH_CHUNKS = 16_384  # chunks a build embeds and writes at a time: one batch of vectors in memory
MERGE_FACTOR = 8  # this many segments of one size tier are merged into one
TIER_BASE = 2_000  # rows of the smallest tier; each tier is 4 times the one below
DELETED_REWRITE = 0.5  # a segment more than half deleted is rewritten without its dead rows
# Merges stop at this size: an approximate index of a segment is built in memory (HNSW32: ~0.5 GB).
MAX_SEGMENT_ROWS = 250_000


def store_name(epoch: str) -> str:
    """The document store's file name for a build's epoch."""
    return f"documents.{epoch}.sqlite"


def lexical_name(epoch: str) -> str:
    """The BM25 folder's name for a build's epoch."""
    return f"lexical.{epoch}"


def segments_name(epoch: str) -> str:
    """The folder of a build's vector segments."""
    return f"segments.{epoch}"


def deletes_name(segment: str, generation: int) -> str:
    """The deletion bitmap of ``segment`` as of ``generation``."""
    return f"{segment}.del.{generation}.npy"


# ---------------------------------------------------------------------- what the parts read


@dataclasses.dataclass(frozen=True)
class RowSelection:
    """Chunks a metadata filter lets through, as a segmented index searches them fastest.

    ``days``: an inclusive range of publication days (date filters, read from fast fields); or
    ``rows``: the sorted rows of the matching documents. ``count`` bounds how many chunks it holds.
    """

    count: int
    days: tuple[int, int] | None = None
    rows: np.ndarray | None = None
    masks: dict[str, np.ndarray] = dataclasses.field(
        default_factory=dict
    )  # segment → allowed rows, when asked

    def __len__(self) -> int:
        return self.count


class SegmentedVectors:
    """The dense side: every segment's live vectors, searched together (VectorSide)."""

    def __init__(self, engine: SegmentedEngine) -> None:
        self._engine = engine
        self.index_type = engine.index_type

    @property
    def params(self) -> SearchParams:
        """HNSW's ``ef_search`` and IVF's ``nprobe`` for the segments that have an approximate index."""
        return self._engine.params

    @params.setter
    def params(self, value: SearchParams) -> None:
        self._engine.params = value

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        return self._engine.dimension

    def __len__(self) -> int:
        return sum(s.live for s in self._engine.segments)

    def search(self, queries: np.ndarray, k: int, allowed: Any = None) -> VectorHits:
        """The ``k`` nearest live chunks of each query (among ``allowed``: a :class:`RowSelection`)."""
        masks = None if allowed is None else self._engine.masks(allowed)
        width = max(1, k)
        scores = np.full((len(queries), width), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), width), -1, dtype=np.int64)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        with one_thread():
            self._search_each(queries, k, masks, scores, ids)
        return VectorHits(scores, ids)

    def _search_each(
        self,
        queries: np.ndarray,
        k: int,
        masks: dict[str, np.ndarray] | None,
        scores: np.ndarray,
        ids: np.ndarray,
    ) -> None:
        for row in range(len(queries)):
            rankings: list[list[Scored]] = []
            shortlists: list[Shortlist] = []
            for segment in self._engine.segments:
                mask = None if masks is None else masks.get(segment.name)
                if masks is not None and mask is None:
                    continue
                answer = segment.search(queries[row], k, mask, self.params)
                if isinstance(answer, Shortlist):
                    shortlists.append(answer)
                else:
                    rankings.append(answer)
            rankings.append(rerank(shortlists, queries[row], k))
            for col, best in enumerate(merge_rankings(rankings, k)):
                ids[row, col], scores[row, col] = best.chunk_id, best.score

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks by id."""
        found: dict[int, np.ndarray] = {}
        for segment in self._engine.segments:
            found.update(segment.vectors_of(ids))
        missing = [i for i in ids if int(i) not in found]
        if missing:
            raise InputError(f"no chunk {missing[0]} in this index")
        return np.vstack([found[int(i)] for i in ids]).astype(np.float32)

    def describe(self) -> str:
        """Segments and what searches the large ones."""
        return f"segments({self.index_type})"


class SegmentedLexical:
    """The lexical side: tantivy's BM25 at the engine's generation (LexicalSide)."""

    def __init__(self, engine: SegmentedEngine) -> None:
        self._engine = engine
        self.analyzer: Analyzer = engine.bm25.analyzer

    def __len__(self) -> int:
        return sum(s.live for s in self._engine.segments)

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats."""
        return self._engine.bm25.query_terms(query)

    def search(self, query: str, depth: int, allowed: Any = None) -> list[Scored]:
        """The ``depth`` best chunks sharing a term with ``query`` (among ``allowed``), best first."""
        where = self._engine.lexical_filter(allowed)
        return [Scored(chunk, score) for _, chunk, score in self._engine.bm25.search(query, depth, where)]

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` occurs (tantivy's count: removed chunks not yet purged too)."""
        return self._engine.bm25.document_frequencies(terms)

    def spec(self) -> dict[str, Any]:
        """The manifest's record of the lexical side."""
        return self._engine.bm25.spec()

    @property
    def needs_reweighting(self) -> bool:
        """Never: tantivy computes BM25's statistics at query time."""
        return False


# ---------------------------------------------------------------------- the engine


class SegmentedEngine:
    """An index directory in format 2 (see the module's docstring)."""

    durability: Durability = "on-commit"
    batch_chunks: int | None = BATCH_CHUNKS

    def __init__(
        self,
        folder: Path,
        manifest: Manifest | None,
        spec: IndexSpec,
        *,
        location: DirectoryLocation | None,
        staged: bool,
        threads: int | None = None,
    ) -> None:
        self.folder = folder
        self.manifest = manifest  # the published manifest (None: a build not committed yet)
        self.spec = spec
        self.index_type = spec.index_type
        self.dimension = spec.dimension
        self.params = manifest.search_params if manifest is not None else SearchParams()
        self._location = location
        self._staged = staged  # a new index being built in its own folder, moved into place by commit
        self._threads = threads
        layout = dict(manifest.layout) if manifest is not None else {}
        self.epoch: str = layout.get("epoch") or uuid.uuid4().hex[:8]
        self.published = (manifest.generation or 0) if manifest is not None else 0
        self.view = self.published
        self.next_row: int = int(layout.get("next_row", 0))
        self.next_segment: int = int(layout.get("next_segment", 1))
        self._entries: dict[str, dict[str, Any]] = {e["name"]: dict(e) for e in layout.get("segments", [])}
        self.segments: list[Segment] = []
        self._changed: set[str] = set()  # segments whose deletion bitmap changed since the manifest
        self._pending: list[tuple[int, str]] = []  # (generation, segment) written by unpublished changes
        self._floor = self.published  # the newest generation ever written here (never reused)
        self._selections: dict[Any, RowSelection] = {}
        self._excluded: np.ndarray | None = None
        self._max_gen: int | None = None
        self._holding: weakref.finalize | None = None  # the writer lock, held from a change to its commit
        self._guard = threading.RLock()
        self.store: VersionedStore
        self.bm25: TantivyBM25
        self._parts: Parts | None = None
        self._held: IO[bytes] | None = None  # a build's hold on its staging folder (see staging.py)

    @property
    def _segments_dir(self) -> Path:
        return self.folder / segments_name(self.epoch)

    # -------------------------------------------------------------- lifecycle

    @classmethod
    def create(
        cls, spec: IndexSpec, location: DirectoryLocation | None, threads: int | None = None
    ) -> SegmentedEngine:
        """A new index built in a private folder, moved into ``location`` (or the one given later) by its first commit."""
        if spec.k1 != K1 or spec.b != B:
            raise InputError(
                f"a segmented index scores BM25 with k1={K1}, b={B} (tantivy's); got k1={spec.k1}, b={spec.b}"
            )
        parent = location.path.resolve().parent if location is not None else None
        if parent is not None:
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexWriteError(
                    f"cannot create {parent} ({exc.strerror or exc}); choose another path"
                ) from None
            folder = parent / staging_name(location.path)  # type: ignore[union-attr]
            folder.mkdir()
            held = staging.hold(folder)
        else:
            folder, held = staging.new_temporary()
        engine = cls(folder, None, spec, location=location, staged=True, threads=threads)
        engine._held = held
        engine.store = VersionedStore.create(folder / store_name(engine.epoch), spec.dedup)
        engine.store.selector = engine.select
        engine.bm25 = TantivyBM25.create(folder / lexical_name(engine.epoch), spec.analyzer)
        (folder / segments_name(engine.epoch)).mkdir()
        weakref.finalize(engine, shutil.rmtree, folder, True)  # a build never committed leaves nothing
        return engine

    @classmethod
    def open(
        cls, location: DirectoryLocation, manifest: Manifest, threads: int | None = None
    ) -> SegmentedEngine:
        """Open the index the manifest describes at its published generation (nothing is read whole)."""
        folder = location.path
        layout = manifest.layout
        lexical = dict(manifest.lexical)
        spec = IndexSpec(
            dimension=manifest.dimension,
            index_type=manifest.index_type,
            analyzer=Analyzer.from_spec(lexical),
            titles=manifest.chunking.titles,  # type: ignore[arg-type]
            dedup=DedupConfig(**manifest.dedup) if manifest.dedup else None,
            k1=float(lexical.get("k1", K1)),
            b=float(lexical.get("b", B)),
        )
        engine = cls(folder, manifest, spec, location=location, staged=False, threads=threads)
        engine.store = VersionedStore.open(
            _member(folder, store_name(layout["epoch"])), engine.published, spec.dedup, writable=False
        )
        engine.store.selector = engine.select
        engine.bm25 = TantivyBM25.open(
            _member(folder, lexical_name(layout["epoch"]), "dir"), spec.analyzer, writable=False
        )
        spec.analyzer.preload()
        engine.segments = [engine._open_segment(entry) for entry in layout["segments"]]
        engine._refresh_filters()
        return engine

    def _open_segment(self, entry: dict[str, Any]) -> Segment:
        folder = self._segments_dir
        files = segment_files(entry["name"], "ann" in entry["files"])
        deleted = None
        if entry.get("deletes") is not None:
            deletes = entry["deletes"]
            path = _member(folder, deletes_name(entry["name"], deletes["generation"]), size=deletes["bytes"])
            try:
                deleted = np.unpackbits(
                    np.load(path, allow_pickle=False), count=entry["rows"], bitorder="little"
                ).astype(bool)
            except ARRAY_READ_ERRORS as exc:
                raise IndexCorruptError(
                    f"{path} is not a readable deletion bitmap ({exc}); run `semsearch verify`"
                ) from None
        for role, name in files.roles().items():  # sizes only: checksums are `semsearch verify`'s (O(index))
            _member(folder, name, size=entry["files"][role]["bytes"])
        segment = Segment(folder, entry["name"], files, deleted)
        if len(segment) != entry["rows"]:
            raise IndexCorruptError(
                f"segment {entry['name']} holds {len(segment)} rows, the manifest says {entry['rows']}"
            )
        return segment

    @property
    def location(self) -> DirectoryLocation | None:
        """Where the index lives (a build not committed yet: where it will)."""
        return self._location

    @property
    def parts(self) -> Parts:
        """The three parts, reading at this engine's generation."""
        if self._parts is None:
            self._parts = Parts(SegmentedVectors(self), SegmentedLexical(self), self.store)
        return self._parts

    def accepts(self, location: Location) -> bool:
        """A directory: where the index lives, or any one for a build not committed yet."""
        return isinstance(location, DirectoryLocation) and (
            (self._staged and (self._location is None or same_location(self._location, location)))
            or same_location(self._location, location)
        )

    def describe(self) -> dict[str, Any]:
        """A segmented directory: its segments and the size of the files the manifest names."""
        return {
            "storage": "directory",
            "layout": f"format {SEGMENTS_FORMAT}, {len(self.segments)} segment{'s' if len(self.segments) != 1 else ''}",
            "bytes_on_disk": self.bytes_on_disk(),
        }

    def bytes_on_disk(self) -> int:
        """The index's files: documents, BM25 and segments."""
        total = 0
        for root, _, files in os.walk(self.folder):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, name)).st_size
        return total

    def close(self) -> None:
        """Discard uncommitted changes (rolled back on disk), release the lock and files."""
        with self._guard:
            if self.view != self.published and not self._staged:
                with contextlib.suppress(SemsearchError, OSError):
                    self._roll_back_pending()
            self.bm25.close()
            self.store.close()
            self._release()

    # -------------------------------------------------------------- changes

    def apply(self, batch: WriteBatch) -> list[int]:
        """Write the batch as a new generation (published by :meth:`commit`); the chunk ids it removed."""
        with self._guard:
            if batch.empty:
                return []
            self._begin()
            generation = max(self.view, self._floor) + 1
            self._floor = generation
            first = self.next_row
            try:
                # New files first (a failure there touched nothing else), then the store, then BM25:
                # BM25 is never ahead of the store, which recovery reads to know what to undo.
                days = self._days(batch)
                added = list(range(first, first + len(batch.chunk_ids)))
                if batch.documents:
                    name = f"s{self.next_segment:08d}"
                    files = write_segment(
                        self._segments_dir,
                        name,
                        batch.vectors,  # type: ignore[arg-type]
                        np.asarray(batch.chunk_ids, dtype=np.int64),
                        np.asarray(added, dtype=np.int64),
                        np.asarray(days, dtype=np.int32),
                        "Flat",
                    )
                    self._entries[name] = self._entry(name, files, len(added))
                    self.segments.append(Segment(self._segments_dir, name, files))
                    self._pending.append((generation, name))
                    self.next_segment += 1
                removed_rows, removed_ids, stored = self.store.apply(batch, generation, first)
                if stored != added:
                    raise IndexCorruptError(
                        f"{self.store.path}: rows were not stored in order; run `semsearch verify`"
                    )
                if batch.documents:
                    self.bm25.add(added, batch.chunk_ids, batch.texts, days, generation)
                    if self._staged:  # a build: committed once, at its end or when first read
                        self.bm25.commit_later()
                    else:
                        self.bm25.commit()
                    self.next_row = first + len(added)
                self._mark_deleted(removed_rows)
            except BaseException as exc:
                self._undo(generation)
                raise_write_failure(
                    exc,
                    f"cannot change the index at {self.folder}",
                    "the index there is unchanged",
                    self.folder,
                )
                raise
            self.view = self.store.view = generation
            self._refresh_filters()
            return removed_ids

    def _days(self, batch: WriteBatch) -> list[int]:
        from semsearch.storage.local.versioned_store import day_of

        return [day_of(dict(entry.document.metadata)) for entry in batch.documents for _ in entry.chunks]

    def _entry(self, name: str, files: SegmentFiles, rows: int) -> dict[str, Any]:
        folder = self._segments_dir
        return {
            "name": name,
            "rows": rows,
            "files": {role: _file_record(folder / file) for role, file in files.roles().items()},
            "deletes": None,
        }

    def _mark_deleted(self, rows: Sequence[int] | np.ndarray) -> None:
        if not len(rows):
            return
        wanted = np.unique(np.asarray(rows, dtype=np.int64))
        for segment in self.segments:
            found = segment.where(wanted)
            if len(found):
                deleted = segment.deleted.copy()  # never changed in place: a search may be reading it
                deleted[found] = True
                segment.deleted = deleted
                self._changed.add(segment.name)

    def _begin(self) -> None:
        """Before the first change: the writer lock, a check that nobody published since, recovery."""
        if self._staged or self._holding is not None:
            return
        acquire(self.folder, ("engine", id(self)))
        try:
            on_disk = read_manifest(self.folder)
            if on_disk.generation != self.published:
                raise IndexChangedError(
                    f"{self.folder} changed on disk since this index was loaded (generation {self.published}, "
                    f"now {on_disk.generation}); load it again and repeat the change"
                )
            if not self.store.writable:
                self.store.close()
                self.store = VersionedStore.open(self.store.path, self.view, self.spec.dedup, writable=True)
                self.store.selector = self.select
            if not self.bm25.writable:
                bm25 = TantivyBM25.open(self.bm25.path, self.spec.analyzer, writable=True)
                self.bm25.close()
                self.bm25 = bm25
            self._recover()
        except BaseException:
            release(self.folder)
            raise
        # An engine dropped before its commit releases the lock (its unpublished change is undone by
        # the next writer's recovery).
        self._holding = weakref.finalize(self, release, self.folder)

    def _recover(self) -> None:
        """Undo what a writer that died left of a generation no manifest names (O(that change))."""
        newest = self.store.newest_generation()  # the store is written first: BM25 is never ahead of it
        self._floor = max(self._floor, newest)  # generations are never reused, even rolled back ones
        if newest > self.published or self.bm25.has_after(self.published):
            log.warning(
                "%s: undoing an unpublished change a stopped writer left (generation %d)", self.folder, newest
            )
            self.bm25.roll_back(self.published)  # BM25 first: if it fails, the store still says "undo me"
            self.store.roll_back(self.published)
        _remove_other_files(self.folder)  # a killed writer's temporary manifest, a killed rebuild's epoch
        self._remove_unnamed_files()
        self.next_row = max(self.next_row, self.store.next_row())

    def _undo(self, generation: int) -> None:
        """A change that failed part-way: back to the generation before it (on disk and in memory)."""
        with contextlib.suppress(SemsearchError, OSError, ValueError):
            self.bm25.roll_back(generation - 1)
            self.store.roll_back(generation - 1)
        self._restore(generation - 1)

    def _roll_back_pending(self) -> None:
        self.bm25.roll_back(self.published)
        self.store.roll_back(self.published)
        self._restore(self.published)

    def _restore(self, generation: int) -> None:
        """Back to ``generation`` in memory: the published segments and bitmaps, plus changes up to it."""
        published = self.manifest.layout["segments"] if self.manifest is not None else []
        pending = {name for gen, name in self._pending if gen <= generation}
        self._pending = [(gen, name) for gen, name in self._pending if gen <= generation]
        self.segments = [self._open_segment(e) for e in published] + [
            s for s in self.segments if s.name in pending
        ]
        self._entries = {
            name: e for name, e in self._entries.items() if name in {s.name for s in self.segments}
        }
        for entry in published:
            self._entries[entry["name"]] = dict(entry)
        self.view = self.store.view = generation
        self._changed = set()
        self._mark_deleted(self.store.removed_rows(generation, after=self.published))
        self.next_row = max(
            self.store.next_row(), int(self.manifest.layout["next_row"]) if self.manifest else 0
        )
        self._remove_unnamed_files()
        self._refresh_filters()

    def _remove_unnamed_files(self) -> None:
        """Delete segment files no segment of this engine names (a stopped writer's, or merged away)."""
        folder = self._segments_dir
        named = {n for s in self.segments for n in s.files.names()}
        if self.manifest is not None:
            for entry in self.manifest.layout.get("segments", []):
                if entry.get("deletes"):
                    named.add(deletes_name(entry["name"], entry["deletes"]["generation"]))
        for path in folder.iterdir():
            if path.name not in named:
                _delete(path)

    def _release(self) -> None:
        if self._holding is not None:
            self._holding()  # calls release() once and detaches the finalizer
            self._holding = None

    # -------------------------------------------------------------- publishing

    def commit(
        self, manifest: Manifest, location: Location | None = None, *, expect_generation: int | None = None
    ) -> Manifest:
        """Publish what was applied: merge small segments, write changed bitmaps, swap the manifest."""
        with self._guard:
            target = location or self._location
            if not isinstance(target, DirectoryLocation):
                raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
            if not self.segments and self.view == self.published and self._staged:
                raise InputError("this index holds no documents yet; add some before saving it")
            if self._staged:
                built = self._commit_build(manifest, target)
                release_freed_memory()  # what the build freed
                return built
            if expect_generation is not None and expect_generation != self.published:
                raise IndexChangedError(f"{self.folder} moved on since this index was loaded; load it again")
            self._begin()  # a commit of nothing new still takes the lock and checks the generation
            try:
                if self.view == self.published:
                    self._floor = max(self._floor, self.view) + 1
                    self.view = self._floor
                generation = self.view
                self._merge(final=False)
                written = self._publish(manifest, generation)
            except BaseException as exc:
                # Unpublished changes stay, and so does the writer lock (another writer would undo them):
                # saving again once there is room publishes them.
                raise_write_failure(
                    exc,
                    f"cannot save the index at {self.folder}",
                    "the index there is unchanged and this one keeps its changes",
                    self.folder,
                )
                raise
            purge_through = self.published
            self.manifest, self.published, self.view = written, generation, generation
            self.store.view = generation
            self._pending = []
            try:
                self._purge(purge_through)
                self.bm25.close()
                self._remove_unnamed_files()
            except (OSError, SemsearchError, *WRITE_FAILURES) as exc:
                # Published already: what is left is tidying, which the next commit does again.
                log.warning("%s: saved, but tidying up after the save failed (%s)", self.folder, exc)
            finally:
                self._release()
            self._refresh_filters()
            release_freed_memory()  # a long-lived writer would otherwise keep what each change freed
            return written

    def _commit_build(self, manifest: Manifest, target: DirectoryLocation) -> Manifest:
        """The first commit of a new index: merge into its final segments, then move the folder into place.

        A failure leaves whatever was at the target as it was and removes the build's own folder.
        """
        destination = target.path
        if destination.exists() and not destination.is_dir():
            raise InputError(
                f"{destination} exists and is a file, not an index directory; choose another output path"
            )
        if destination.exists() and any(destination.iterdir()):
            from semsearch.storage.local.directory import check_replaceable

            check_replaceable(destination, destination.resolve())
        try:
            self.bm25.close()
            self._merge(final=True)
            self._remove_unnamed_files()
            generation = max(self.view, 1)
            written = self._publish(manifest, generation)
            self.store.close()
            destination.parent.mkdir(parents=True, exist_ok=True)
            with write_lock(destination):
                staging.remove_killed(destination)  # skips this build's own folder: it is held
                staging.release(self.folder, self._held)
                self._held = None
                if destination.exists() and any(destination.iterdir()):
                    _replace_index(destination, self.folder)
                else:
                    _move_into_place(self.folder, destination)
        except OSError as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise IndexWriteError(
                f"cannot save the index at {destination} ({exc.strerror or exc}); nothing was written there "
                "and this index's files are gone. Free disk space or make the folder writable, then build it again"
            ) from None
        self.folder, self._staged, self._location = destination, False, target
        self.manifest, self.published, self.view = written, generation, generation
        self._pending = []
        reopened = SegmentedEngine.open(target, written, self._threads)
        self.store, self.bm25, self.segments = reopened.store, reopened.bm25, reopened.segments
        self._entries = {e["name"]: dict(e) for e in written.layout["segments"]}
        self._changed = set()
        self._refresh_filters()
        return written

    def _publish(self, manifest: Manifest, generation: int) -> Manifest:
        """Write the bitmaps that changed and the manifest of ``generation`` (write, fsync, rename)."""
        folder = self._segments_dir
        for segment in self.segments:
            entry = self._entries[segment.name]
            if segment.name in self._changed or (entry["deletes"] is None and segment.deleted.any()):
                path = folder / deletes_name(segment.name, generation)
                if os.path.lexists(path):
                    path.unlink()  # left by a commit that failed after writing it
                _save_rows(path, np.packbits(segment.deleted, bitorder="little"))
                entry["deletes"] = {**_file_record(path), "generation": generation}
        layout = {
            "epoch": self.epoch,
            "segments": [self._entries[s.name] for s in self.segments],
            "next_row": self.next_row,
            "next_segment": self.next_segment,
        }
        written = manifest.replace(
            generation=generation,
            files={},
            format_version=SEGMENTS_FORMAT,
            layout=layout,
            search_params=self.params,
        )
        _write_manifest(self.folder, written.to_dict())
        self._changed = set()
        return written

    def _purge(self, through: int) -> None:
        """Delete for good what a published generation up to ``through`` removed.

        BM25 documents go first, then SQLite rows: a crash between leaves the rows, and the next commit
        purges both again.
        """
        if through < 1:
            return
        rows = self.store.removed_rows(through)
        if len(rows):
            self.bm25.purge(rows.tolist())
            self.bm25.commit()
            self.store.purge(through)

    # -------------------------------------------------------------- merging

    def optimize(self, manifest: Manifest) -> Opened:
        """Merge every segment into one (its approximate index built), purge, and publish.

        A ``manifest`` naming another ``index_type`` rewrites every segment with that type's
        approximate index (or none, for Flat) from the stored vectors.
        """
        with self._guard:
            self._begin()
            before = (self.index_type, self.spec)
            retype = manifest.index_type != self.index_type
            try:
                if retype:
                    self.index_type = manifest.index_type
                    self.spec = dataclasses.replace(self.spec, index_type=manifest.index_type)
                    self._parts = None  # the dense side describes itself by its type
                self._merge(final=True, retype=retype)
                manifest = manifest.replace(faiss_class=self.parts.vectors.describe())
                return Opened(self.commit(manifest), self)
            except BaseException:
                if retype:  # not published: the type in use stays the one on disk
                    self.index_type, self.spec = before
                    self._parts = None
                raise

    def _merge(self, *, final: bool, retype: bool = False) -> None:
        """Merge segments by size tiers (``final``: repack all, see :func:`_final_pieces`), dropping dead rows.

        Only new files are written; the merged-away segments' files go once no manifest names them.
        """
        if final:
            pieces = _final_pieces(self.segments, self.index_type, repack=retype)
            if pieces is None:
                return
            written = [self._write_rows(piece) for piece in pieces]
            for segment in self.segments:
                self._entries.pop(segment.name, None)
            self._changed = set()
            self.segments = [m for m in written if m is not None]
            return
        for group in _merge_groups(self.segments):
            merged = self._write_rows([(s, np.flatnonzero(~s.deleted)) for s in group])
            names = {s.name for s in group}
            at = min(i for i, s in enumerate(self.segments) if s.name in names)
            self.segments = [s for s in self.segments if s.name not in names]
            for name in names:
                self._entries.pop(name, None)
                self._changed.discard(name)
            if merged is not None:
                self.segments.insert(at, merged)

    def _write_rows(self, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment | None:
        """One new segment of the given (ascending) positions of segments, in row order.

        The vectors go from the old files to the new one a block at a time (:class:`VectorBlocks`), so a
        merge of any size holds one block of them, not the merged segment (and its mapped source pages).
        """
        live = sum(len(keep) for _, keep in parts)
        if not live:
            return None
        name = f"s{self.next_segment:08d}"
        self.next_segment += 1
        rows = np.concatenate([np.asarray(s.rows)[keep] for s, keep in parts])
        order = np.argsort(rows, kind="stable")  # a segment's rows ascend; merged ones must too
        ids = np.concatenate([np.asarray(s.ids)[keep] for s, keep in parts])[order]
        days = np.concatenate([np.asarray(s.days)[keep] for s, keep in parts])[order]
        vectors = merged_vectors(parts, order, self.dimension)
        files = write_segment(self._segments_dir, name, vectors, ids, rows[order], days, self.index_type)
        self._entries[name] = self._entry(name, files, live)
        return Segment(self._segments_dir, name, files)

    # -------------------------------------------------------------- filters

    def _refresh_filters(self) -> None:
        """What searches at this generation must hide: removed rows not purged, a writer's newer documents."""
        self._selections = {}
        self._excluded = self.store.removed_rows(self.view)
        self._max_gen = self.view if self.bm25.has_after(self.view) else None
        if self._parts is not None and self._parts.chunks is not self.store:
            self._parts = dataclasses.replace(self._parts, chunks=self.store)

    def lexical_filter(self, allowed: RowSelection | None) -> LexicalFilter:
        """The BM25 search's filter at this generation, with ``allowed``'s days or rows."""
        return LexicalFilter(
            excluded=self._excluded,
            days=None if allowed is None else allowed.days,
            rows=None if allowed is None else allowed.rows,
            max_gen=self._max_gen,
        )

    def select(self, condition: Filter) -> RowSelection:
        """The chunks of the documents ``condition`` matches: a day range when it is one, else their rows."""
        with self._guard:
            found = self._selections.get(condition)
            if found is not None:
                return found
            days = date_range(condition)
            if days is not None and not self.store.irregular_dates():
                low = day_number(days[0]) if days[0] else -(2**31) + 1
                high = day_number(days[1]) if days[1] else 2**31 - 1
                count = sum(
                    int(((s.days >= low) & (s.days <= high) & ~s.deleted).sum()) for s in self.segments
                )
                found = RowSelection(count, days=(low, high))
            else:
                rows = np.unique(
                    np.asarray(
                        self.store.rows_of_docs(self.store.matching_docs(condition.matches)), dtype=np.int64
                    )
                )
                found = RowSelection(len(rows), rows=rows)
            if len(self._selections) > 32:
                self._selections.clear()
            self._selections[condition] = found
            return found

    def masks(self, allowed: RowSelection) -> dict[str, np.ndarray]:
        """Segment name → the rows ``allowed`` lets through (segments it allows nothing in are left out)."""
        if allowed.masks:
            return allowed.masks
        out = allowed.masks
        for segment in self.segments:
            if allowed.days is not None:
                low, high = allowed.days
                mask = (segment.days >= low) & (segment.days <= high)
            else:
                mask = np.isin(segment.rows, allowed.rows)  # type: ignore[arg-type]
            if mask.any():
                out[segment.name] = mask
        if not out:
            out[""] = np.zeros(0, dtype=bool)  # remembered: nothing allowed anywhere
        return out

    # -------------------------------------------------------------- checking

    def verify(self) -> list[str]:
        """Check the whole index; the problems found.

        Every file against the manifest's sizes and checksums, the store in full, and that BM25 and the
        vectors hold exactly the store's chunks (BM25 may already lack rows removed and purged there).
        """
        problems: list[str] = []
        if self.manifest is None:
            return problems
        folder = self._segments_dir
        for entry in self.manifest.layout["segments"]:
            names = segment_files(entry["name"], "ann" in entry["files"]).roles()
            for role, name in names.items():
                problem = _check_file(folder / name, entry["files"][role])
                if problem:
                    problems.append(problem)
            if entry["deletes"]:
                problem = _check_file(
                    folder / deletes_name(entry["name"], entry["deletes"]["generation"]), entry["deletes"]
                )
                if problem:
                    problems.append(problem)
        found = self.store.verify()
        if found:
            problems.append(f"{self.store.path}: {found}")
        stored = self.store.all_rows()
        lexical = self.bm25.all_rows()
        live = self.store.removed_rows(self.view)
        extra = np.setdiff1d(lexical, stored)
        pending = self.store.rows_after(
            self.view
        )  # a writer's unpublished rows may not have reached BM25 yet
        lacking = np.setdiff1d(np.setdiff1d(np.setdiff1d(stored, live), pending), lexical)
        if len(extra) or len(lacking):
            problems.append(
                f"{self.bm25.path}: BM25 holds {len(extra)} rows the store does not and lacks {len(lacking)} it has "
                f"(e.g. row {int((extra if len(extra) else lacking)[0])})"
            )
        segment_rows = np.sort(
            np.concatenate([np.asarray(s.rows)[~s.deleted] for s in self.segments] or [np.zeros(0, np.int64)])
        )
        visible = np.setdiff1d(stored, np.concatenate([live, pending]))
        if not np.array_equal(segment_rows, visible):
            problems.append(
                f"{self._segments_dir}: the segments hold {len(segment_rows)} live rows, the store {len(visible)}"
            )
        return problems


# ---------------------------------------------------------------------- helpers


def _merge_groups(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Segments to merge: :data:`MERGE_FACTOR` of one size tier, and any mostly dead one on its own."""
    groups: list[list[Segment]] = []
    tiers: dict[int, list[Segment]] = {}
    for segment in segments:
        if len(segment) and segment.live / len(segment) < 1 - DELETED_REWRITE:
            groups.append([segment])
            continue
        tier = 0
        size = TIER_BASE
        while segment.live > size:
            size *= 4
            tier += 1
        tiers.setdefault(tier, []).append(segment)
    for members in tiers.values():
        while len(members) >= MERGE_FACTOR:
            group = _fill(members[:MERGE_FACTOR])
            if len(group) < 2:  # the tier's segments are too big to merge: they stay as they are
                break
            groups.append(group)
            members = members[len(group) :]
    return groups


def _fill(segments: Sequence[Segment]) -> list[Segment]:
    """The first of ``segments`` whose live rows together stay within :data:`MAX_SEGMENT_ROWS`."""
    group: list[Segment] = []
    rows = 0
    for segment in segments:
        if group and rows + segment.live > MAX_SEGMENT_ROWS:
            break
        group.append(segment)
        rows += segment.live
    return group


def _final_pieces(
    segments: Sequence[Segment], index_type: str, *, repack: bool = False
) -> list[list[tuple[Segment, np.ndarray]]] | None:
    """``optimize``: every live row repacked, in row order, into the fewest equal segments the cap allows.

    :data:`MAX_SEGMENT_ROWS` is the cap; None when the segments are that already (no dead rows, the
    approximate indexes their size calls for built) and ``repack`` (a new index type) is not asked.
    """
    live = sum(s.live for s in segments)
    count = max(1, -(-live // MAX_SEGMENT_ROWS))
    settled = (
        not repack
        and len(segments) == count
        and not any(s.deleted.any() for s in segments)
        and not any(index_type != "Flat" and s.live >= EXACT_ROWS and s.ann is None for s in segments)
    )
    if settled or not live:
        return None if settled else [[(s, np.flatnonzero(~s.deleted)) for s in segments]]
    owner = np.concatenate([np.full(s.live, n, dtype=np.int32) for n, s in enumerate(segments)])
    position = np.concatenate([np.flatnonzero(~s.deleted) for s in segments])
    rows = np.concatenate([np.asarray(s.rows)[~s.deleted] for s in segments])
    order = np.argsort(rows, kind="stable")
    size = -(-live // count)
    pieces = []
    for first in range(0, live, size):
        taken = order[first : first + size]
        pieces.append(
            [(segments[n], np.sort(position[taken][owner[taken] == n])) for n in np.unique(owner[taken])]
        )
    return pieces


def _member(folder: Path, name: str, kind: str = "file", size: Any = None) -> Path:
    """``folder/name``, which must exist as a ``kind`` ("file" or "dir"), not be a symlink, and have ``size`` bytes."""
    path = folder / name
    try:
        found = os.lstat(path)
        mode = found.st_mode
    except FileNotFoundError:
        raise IndexCorruptError(
            f"{path} is missing; the index is incomplete. Run `semsearch verify`"
        ) from None
    if stat.S_ISLNK(mode):
        raise IndexCorruptError(f"{path} is a symlink: an index's files must be its own; rebuild the index")
    if not (stat.S_ISDIR(mode) if kind == "dir" else stat.S_ISREG(mode)):
        raise IndexCorruptError(
            f"{path} is not a {'folder' if kind == 'dir' else 'regular file'}; run `semsearch verify`"
        )
    if size is not None and found.st_size != size:
        raise IndexCorruptError(
            f"{path} is {found.st_size} bytes, the manifest says {size}; the index is damaged: run `semsearch verify`"
        )
    return path


def _file_record(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a new file (only files a change writes are hashed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def _check_file(path: Path, record: dict[str, Any]) -> str | None:
    try:
        found = _file_record(path)
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    if found["bytes"] != record["bytes"]:
        return f"{path} is {found['bytes']} bytes, the manifest says {record['bytes']}"
    if found["sha256"] != record["sha256"]:
        return f"{path} fails its SHA-256 checksum"
    return None


def _save_rows(path: Path, array: np.ndarray) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _write_manifest(folder: Path, data: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically: a new file in the folder, fsync'd, renamed over the old one."""
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / MANIFEST)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _move_into_place(folder: Path, destination: Path) -> None:
    """Rename a finished index folder to ``destination`` (an empty folder there is replaced).

    Across file systems it is copied beside ``destination`` first, so the rename that publishes it stays atomic.
    """
    if destination.exists():
        destination.rmdir()  # empty (checked by the caller)
    try:
        os.rename(folder, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        beside = destination.parent / staging_name(destination)
        shutil.copytree(folder, beside, symlinks=False)
        os.rename(beside, destination)
        shutil.rmtree(folder, ignore_errors=True)
    _fsync_dir(destination.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_index(destination: Path, staged: Path) -> None:
    """Put a new index built in ``staged`` in place of the one at ``destination``.

    Files are moved in under their own names (the new epoch's and segment names never clash with the
    old ones'), then the manifest is swapped, then what the old manifest named is removed. A crash
    leaves the old index or the new one.
    """
    from semsearch.storage.local.directory import check_replaceable

    check_replaceable(destination, destination.resolve())
    moved: list[Path] = []
    try:
        for item in staged.iterdir():
            if item.name == MANIFEST:
                continue
            target = destination / item.name
            if os.path.lexists(target):
                raise IndexChangedError(f"{target} appeared while saving; load the index again")
            os.rename(item, target)
            moved.append(target)
        _fsync_dir(destination)
        os.replace(staged / MANIFEST, destination / MANIFEST)
        _fsync_dir(destination)
    except BaseException:
        for path in moved:
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise
    shutil.rmtree(staged, ignore_errors=True)
    _remove_other_files(destination)


_SEGMENTED_NAME = re.compile(
    r"^(?:documents\.[0-9a-f]{8}\.sqlite(?:-journal)?|lexical\.[0-9a-f]{8}|segments\.[0-9a-f]{8}"
    rf"|\.{re.escape(MANIFEST)}\.[0-9a-f]{{8}})$"
)
"""The names format 2 gives the entries of an index folder (any epoch's), and its temporary manifests."""


def _remove_other_files(folder: Path) -> None:
    """Delete what the manifest does not name, among the format's own files (nothing else is touched)."""
    manifest = read_manifest(folder)
    epoch = manifest.layout["epoch"]
    store = store_name(epoch)
    # The store's rollback journal is SQLite's: a writer killed mid-transaction needs it to undo.
    keep = {MANIFEST, segments_name(epoch), store, store + "-journal", lexical_name(epoch)}
    from semsearch.storage.local.directory import GENERATION_FILE  # format 1's, left by an upgrade

    for path in folder.iterdir():
        own = (
            _SEGMENTED_NAME.match(path.name) is not None
            or GENERATION_FILE.match(path.name) is not None
            or path.name == MANIFEST + ".tmp"
        )
        if own and path.name not in keep:
            _delete(path)
    named = set()
    for entry in manifest.layout["segments"]:
        named |= set(segment_files(entry["name"], ann=True).names())
        if entry["deletes"]:
            named.add(deletes_name(entry["name"], entry["deletes"]["generation"]))
    for path in (folder / segments_name(epoch)).iterdir():
        if path.name not in named:
            _delete(path)


def _delete(path: Path) -> None:
    """Delete one of the format's own entries: a symlink itself (never what it points to), a folder, a file."""
    with contextlib.suppress(OSError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
