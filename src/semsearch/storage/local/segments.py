"""The dense side of a segmented index: immutable vector segments, mapped from disk, searched together.

A segment is written once and never changed: the chunks' float32 vectors (``NAME.flat.faiss``, a FAISS
flat index mapped with ``IO_FLAG_MMAP_IFC``: exact search runs in FAISS's kernels over the mapped
file), their chunk ids (``NAME.ids.npy``), rows (``NAME.rows.npy``, ascending: the number every part of the index
shares) and publication days (``NAME.days.npy``, -1 for none: date filters read it instead of the
document store), all memory-mapped on open, and, for a segment large enough, an
approximate index over it (``NAME.ann.faiss``, any FAISS factory string, rows numbered by position)
opened with ``IO_FLAG_MMAP``, an IVF one read into memory after :data:`RESIDENT_AFTER` searches. A deletion never rewrites a segment: it
marks the row in a deletion bitmap kept in memory and written as a small ``NAME.del.GEN.npy`` by the
commit that made it, as Lucene's ``.liv`` files are. A search asks every segment for its best rows
among those alive (and allowed by a filter) and merges the lists; an approximate segment answers with a
:class:`Shortlist` of candidates and approximate scores instead, and the best ``RERANK × k`` candidates
of every approximate segment together are re-scored exactly from their float32 vectors (read from the
file, not mapped, the reads announced to the kernel first so they overlap: :func:`rerank`). Merging segments
copies their live rows into a new one (:func:`write_segment`) a block at a time, read from the old
files with plain reads (not through their mappings), so a merge holds one block of vectors whatever
the segment's size; it never touches the old files, which go when no manifest names them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import tokenize
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import Scored, SearchParams

log = logging.getLogger(__name__)

NO_DAY = -1  # a chunk whose document has no date
# Below this many rows a segment is searched exactly (a brute-force product over its mapped vectors
# costs less than an approximate index's overhead and is never wrong).
EXACT_ROWS = 50_000
# Approximate segments return RERANK × k candidates; the best RERANK × k of all of them are re-scored exactly.
RERANK = 4
# Mapped IVF searches a segment makes before it reads its index into memory: a read costs about as much
# as this many mapped searches cost more than in-memory ones (1M chunks, four IVF4096,SQ8 segments: ~0.1 s
# a segment against ~1.2 ms a search), so a long-lived process pays at most twice the better choice and a
# one-shot command (`semsearch query`) never reads (ski rental).
RESIDENT_AFTER = 64
BLOCK_ROWS = 16_384  # vectors a merge (or an approximate index's build) holds at once: 24 MiB at 384-d


def _faiss() -> Any:
    import faiss

    return faiss


@dataclass(frozen=True)
class SegmentFiles:
    """The files of one segment, by role; ``ann`` and ``deletes`` may be absent."""

    vectors: str
    ids: str
    rows: str
    days: str
    ann: str | None = None

    def names(self) -> list[str]:
        """Every file name of the segment (its deletion bitmaps are the manifest's, per generation)."""
        return [n for n in (self.vectors, self.ids, self.rows, self.days, self.ann) if n]

    def roles(self) -> dict[str, str]:
        """Role → file name, as the manifest lists them."""
        named = {"vectors": self.vectors, "ids": self.ids, "rows": self.rows, "days": self.days}
        return {**named, "ann": self.ann} if self.ann else named


def segment_files(name: str, ann: bool) -> SegmentFiles:
    """The file names a segment called ``name`` is written under."""
    return SegmentFiles(
        vectors=f"{name}.flat.faiss",
        ids=f"{name}.ids.npy",
        rows=f"{name}.rows.npy",
        days=f"{name}.days.npy",
        ann=f"{name}.ann.faiss" if ann else None,
    )


@dataclass(frozen=True)
class VectorBlocks:
    """``count`` vectors of ``dimension`` floats handed over a block at a time, in row order.

    What a merge writes: it never assembles the merged segment's vectors in memory.
    """

    count: int
    dimension: int
    blocks: Callable[[], Iterator[np.ndarray]]

    @classmethod
    def of(cls, vectors: np.ndarray) -> VectorBlocks:
        """The rows of an array already in memory (a new batch), a block at a time."""
        if vectors.ndim != 2:
            raise InputError(f"a segment's vectors are one row per chunk, not of shape {vectors.shape}")
        return cls(
            len(vectors),
            vectors.shape[1],
            lambda: (vectors[first : first + BLOCK_ROWS] for first in range(0, len(vectors), BLOCK_ROWS)),
        )


def write_segment(
    folder: Path,
    name: str,
    vectors: np.ndarray | VectorBlocks,
    ids: np.ndarray,
    rows: np.ndarray,
    days: np.ndarray,
    index_type: str,
) -> SegmentFiles:
    """Write a new segment of ``vectors`` under chunk ``ids`` and ``rows`` (ascending; with their ``days``).

    Segments of at least :data:`EXACT_ROWS` rows get an approximate index of ``index_type`` (unless it
    is "Flat": exact search), built from the vectors file just written. Files are written new (never
    through an existing name) and fsync'd.
    """
    if not isinstance(vectors, VectorBlocks):
        vectors = VectorBlocks.of(np.asarray(vectors))
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    days = np.ascontiguousarray(days, dtype=np.int32)
    if not (vectors.count == len(ids) == len(rows) == len(days)):
        raise InputError(
            f"a segment needs one id, row and day per vector: {vectors.count} vectors, "
            f"{len(ids)} ids, {len(rows)} rows, {len(days)} days"
        )
    if len(rows) > 1 and (np.diff(rows) <= 0).any():
        raise InputError("a segment's rows must ascend")
    ann = index_type.strip() != "Flat" and vectors.count >= EXACT_ROWS
    files = segment_files(name, ann)
    write_flat(folder / files.vectors, vectors)
    _save_array(folder / files.ids, ids)
    _save_array(folder / files.rows, rows)
    _save_array(folder / files.days, days)
    if ann and files.ann:
        flat = FlatFile(folder / files.vectors, vectors.count, vectors.dimension)
        _write_index(_build_ann(flat, index_type), folder / files.ann)
    return files


def merged_vectors(
    parts: Sequence[tuple[Segment, np.ndarray]], order: np.ndarray, dimension: int
) -> VectorBlocks:
    """The vectors at the given ascending positions of segments, in the merged ``order``, a block at a time.

    ``order`` is the argsort of the parts' rows as concatenated: the merged segment's row order. Each block
    reads what it needs of each segment's flat file (a segment's positions ascend in row order too).
    """
    count = sum(len(keep) for _, keep in parts)
    source = np.repeat(np.arange(len(parts), dtype=np.int32), [len(keep) for _, keep in parts])[order]
    position = np.concatenate([np.asarray(keep, dtype=np.int64) for _, keep in parts])[order]

    def blocks() -> Iterator[np.ndarray]:
        for first in range(0, count, BLOCK_ROWS):
            sources, positions = source[first : first + BLOCK_ROWS], position[first : first + BLOCK_ROWS]
            block = np.empty((len(sources), dimension), dtype=np.float32)
            for part in np.unique(sources):
                mine = sources == part
                block[mine] = parts[int(part)][0].flat_file.read(positions[mine])
            yield block
            del block  # before the next one is made

    return VectorBlocks(count, dimension, blocks)


def flat_header(dimension: int, count: int) -> bytes:
    """The bytes FAISS writes before the vectors of an inner-product flat index of ``count`` vectors.

    FAISS's own header (an empty index told its count), then the vectors' length in floats: a flat file
    is that header and the raw float32 rows, so it can be written a block at a time (a test checks the
    bytes equal what ``faiss.write_index`` writes).
    """
    faiss = _faiss()
    empty = faiss.IndexFlatIP(dimension)
    empty.ntotal = count
    head = faiss.serialize_index(empty).tobytes()
    return head[:-8] + struct.pack("<Q", count * dimension)


def write_flat(path: Path, vectors: VectorBlocks) -> None:
    """Write ``vectors`` as a FAISS inner-product flat index file, a block at a time, new and fsync'd."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise IndexCorruptError(f"{path} exists already; run `semsearch verify`") from None
    written = 0
    with os.fdopen(fd, "wb") as handle:
        handle.write(flat_header(vectors.dimension, vectors.count))
        for block in vectors.blocks():
            block = np.ascontiguousarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[1] != vectors.dimension:
                raise InputError(
                    f"vectors of shape {block.shape} handed to a segment of {vectors.dimension} dimensions"
                )
            handle.write(block.data.cast("B"))
            written += len(block)
            del block  # before the next one is made
        if written != vectors.count:
            raise InputError(f"{written} vectors were handed over for a segment of {vectors.count}")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True)
class FlatFile:
    """A segment's flat file read with plain reads: the pages a merge reads stay the page cache's, not mapped here."""

    path: Path
    count: int
    dimension: int
    fd: int | None = None  # a descriptor the owner keeps open (the file may be deleted meanwhile), or None

    @contextlib.contextmanager
    def _opened(self) -> Iterator[tuple[int, int]]:
        """The file open for reading, and the offset of its first row (the rows end the file)."""
        fd = os.open(self.path, os.O_RDONLY) if self.fd is None else self.fd
        try:
            start = os.fstat(fd).st_size - self.count * self.dimension * 4
            if start < 0:
                raise IndexCorruptError(
                    f"{self.path} is shorter than its {self.count} vectors; run `semsearch verify`"
                )
            yield fd, start
        finally:
            if self.fd is None:
                os.close(fd)

    def read(self, positions: np.ndarray) -> np.ndarray:
        """The vectors at ``positions`` (ascending), reading at most :data:`BLOCK_ROWS` rows' span at a time."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        if not len(positions):
            return out
        if positions[0] < 0 or positions[-1] >= self.count or (np.diff(positions) < 0).any():
            raise InputError(
                f"positions outside its {self.count} rows, or not ascending, asked of {self.path}"
            )
        with self._opened() as (fd, start):
            done = 0
            while done < len(positions):
                first = int(positions[done])
                stop = int(np.searchsorted(positions, first + BLOCK_ROWS, side="left"))
                span = np.empty((int(positions[stop - 1]) - first + 1, self.dimension), dtype=np.float32)
                self._read_into(fd, start, first, span)
                out[done:stop] = span[positions[done:stop] - first]
                done = stop
        return out

    def pick(self, positions: np.ndarray) -> np.ndarray:
        """A few scattered rows (a re-rank's candidates), one read each: nothing between them is read or mapped.

        Through the mapping, each row brought a large folio of the file into this process (37 MiB resident
        after re-ranking 40 rows of a 248k-row segment); at 1M chunks, after 100 approximate queries:
        330 against 515 MiB of mapped file pages resident, at the same latency.
        """
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        if not len(positions):
            return out
        wanted = np.asarray(positions, dtype=np.int64).tolist()
        for position in wanted:
            if not 0 <= position < self.count:
                raise InputError(f"row {position} asked of {self.path}, which holds {self.count}")
        row_bytes = self.dimension * 4
        with self._opened() as (fd, start):
            if len(wanted) > 1 and hasattr(os, "posix_fadvise"):
                for position in wanted:  # every read starts now: rows not in the page cache come in together
                    os.posix_fadvise(fd, start + position * row_bytes, row_bytes, os.POSIX_FADV_WILLNEED)
            for at, position in enumerate(wanted):
                self._read_into(fd, start, position, out[at : at + 1])
        return out

    def blocks(self) -> Iterator[np.ndarray]:
        """Every row, in order, a block at a time."""
        for first in range(0, self.count, BLOCK_ROWS):
            yield self.read(np.arange(first, min(first + BLOCK_ROWS, self.count)))

    def _read_into(self, fd: int, start: int, row: int, into: np.ndarray) -> None:
        """Fill ``into`` (contiguous rows) with the file's rows from ``row`` on."""
        _read_exactly(fd, start + row * self.dimension * 4, into, self.path, "vectors")


def _read_exactly(fd: int, offset: int, into: np.ndarray, path: Path | str, what: str) -> None:
    """Fill ``into`` with the bytes of ``fd`` from ``offset`` on (IndexCorruptError if the file ends first)."""
    view = into.data.cast("B")
    got = 0
    while got < len(view):
        count = os.preadv(fd, [view[got:]], offset + got)
        if not count:
            raise IndexCorruptError(f"{path} ends before its {what} do; run `semsearch verify`")
        got += count


def _write_index(index: Any, path: Path) -> None:
    """Write a FAISS index as a new file (never through an existing name) and fsync it."""
    if os.path.lexists(path):
        raise IndexCorruptError(f"{path} exists already; run `semsearch verify`")
    _faiss().write_index(index, str(path))
    _fsync(path)


def _build_ann(vectors: FlatFile, index_type: str) -> Any:
    """An approximate index of ``index_type`` over a flat file's vectors, rows numbered by position.

    Trained on an even sample of them (all of them up to the sample's size), then fed a block at a time.
    """
    faiss = _faiss()
    try:
        index = faiss.index_factory(vectors.dimension, index_type.strip(), faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise InputError(
            f"index_type {index_type!r} is not a FAISS factory string FAISS accepts ({exc})"
        ) from None
    if not index.is_trained:
        cap = 256 * 100
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            cap = max(cap, 100 * ivf.nlist)
        sample = np.unique(np.linspace(0, vectors.count - 1, min(cap, vectors.count)).astype(np.int64))
        index.train(vectors.read(sample))
    for block in vectors.blocks():
        index.add(block)
    return index


def _save_array(path: Path, array: np.ndarray) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


ARRAY_READ_ERRORS = (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError)
"""What ``np.load`` raises on a damaged file: numpy parses the header with ``tokenize`` and ``ast``."""


def _load_array(path: Path, dtype: str, ndim: int) -> np.ndarray:
    """A memory-mapped array of a segment file, checked for type and shape (never unpickled)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise IndexCorruptError(
            f"{path} is missing; the index is incomplete. Run `semsearch verify`"
        ) from None
    except ARRAY_READ_ERRORS as exc:
        raise IndexCorruptError(f"{path} is not a readable array ({exc}); run `semsearch verify`") from None
    if array.dtype != np.dtype(dtype) or array.ndim != ndim:
        raise IndexCorruptError(
            f"{path} holds {array.dtype} of {array.ndim} dimensions, not {dtype}; run `semsearch verify`"
        )
    return array


class Segment:
    """One open segment: mapped vectors, ids and days, its approximate index if any, and its live rows."""

    def __init__(
        self, folder: Path, name: str, files: SegmentFiles, deleted: np.ndarray | None = None
    ) -> None:
        self.name = name
        self.files = files
        faiss = _faiss()
        flat_path = folder / files.vectors
        try:
            self.flat = faiss.read_index(str(flat_path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:
            raise IndexCorruptError(
                f"{flat_path} is not a readable FAISS index ({exc}); run `semsearch verify`"
            ) from None
        if not isinstance(self.flat, faiss.IndexFlat) or self.flat.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IndexCorruptError(f"{flat_path} is not a flat inner-product index; run `semsearch verify`")
        rows, dim = int(self.flat.ntotal), int(self.flat.d)
        # Exact search runs in FAISS over the mapping; merges and re-ranks read rows with plain reads,
        # through a descriptor opened now: a writer deletes the files of segments it merged away when it
        # saves, and a reader still at the generation before keeps reading them (as it does the mapping).
        self.flat_file = FlatFile(flat_path, rows, dim, self._kept_open(flat_path))
        self.ids = _load_array(folder / files.ids, "int64", 1)
        self.rows = _load_array(folder / files.rows, "int64", 1)
        self.days = _load_array(folder / files.days, "int32", 1)
        if not (rows == len(self.ids) == len(self.rows) == len(self.days)):
            raise IndexCorruptError(
                f"segment {name} of {folder} has files of different lengths; run `semsearch verify`"
            )
        self.ann: Any = None
        self._ann_path = None if not files.ann else folder / files.ann
        self._ann_fd: int | None = None
        self._ivf = False  # an IVF index: read into memory after RESIDENT_AFTER searches through the mapping
        self._mapped_searches = 0
        if self._ann_path is not None:
            self.ann = self._read_ann(faiss.IO_FLAG_MMAP)
            self._ann_fd = self._kept_open(self._ann_path)
            self._ivf = faiss.try_extract_index_ivf(self.ann) is not None
        self.deleted = np.zeros(len(self.ids), dtype=bool) if deleted is None else deleted
        if len(self.deleted) != len(self.ids):
            raise IndexCorruptError(
                f"the deletion bitmap of segment {name} has the wrong length; run `semsearch verify`"
            )
        self._positions: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def deleted(self) -> np.ndarray:
        """The deletion bitmap (one bool per row). Replaced whole, never changed in place: searches read it."""
        return self._deleted

    @deleted.setter
    def deleted(self, bitmap: np.ndarray) -> None:
        self._deleted = bitmap
        self._live = int(len(bitmap) - bitmap.sum())  # every search asks: counted once per bitmap

    @property
    def live(self) -> int:
        """Rows not deleted."""
        return self._live

    def where(self, rows: np.ndarray) -> np.ndarray:
        """The positions of those of ``rows`` (sorted) that live in this segment (rows ascend: a binary search)."""
        if not len(rows) or not len(self.rows):
            return np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self.rows, rows)
        inside = at < len(self.rows)
        at, rows = at[inside], rows[inside]
        return at[np.asarray(self.rows[at]) == rows]

    def positions(self) -> dict[int, int]:
        """Chunk id → row, built on first use (a delete or reconstruct; searches never need it)."""
        if self._positions is None:
            self._positions = {int(c): i for i, c in enumerate(self.ids.tolist())}
        return self._positions

    def _kept_open(self, path: Path) -> int:
        """A read-only descriptor of ``path``, closed when this segment is dropped."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise IndexCorruptError(
                f"{path} is missing; the index is incomplete. Run `semsearch verify`"
            ) from None
        weakref.finalize(self, os.close, fd)
        return fd

    def _read_ann(self, flags: int | None) -> Any:
        """The segment's approximate index, checked against the segment.

        Mapped from its path with ``flags``; with None, read whole into memory through the kept descriptor.
        """
        path = self._ann_path
        faiss = _faiss()
        try:
            if flags is not None or self._ann_fd is None:
                ann = faiss.read_index(str(path), flags or 0)
            elif os.path.exists(kept := f"/proc/self/fd/{self._ann_fd}"):  # Linux: the open file, no copy
                ann = faiss.read_index(kept)
            else:
                data = np.empty(os.fstat(self._ann_fd).st_size, dtype=np.uint8)
                _read_exactly(self._ann_fd, 0, data, str(path), "index's bytes")
                ann = faiss.deserialize_index(data)
                del data
        except RuntimeError as exc:
            raise IndexCorruptError(
                f"{path} is not a readable FAISS index ({exc}); run `semsearch verify`"
            ) from None
        if ann.ntotal != len(self.ids) or ann.d != self.flat_file.dimension:
            raise IndexCorruptError(f"{path} does not index its segment's vectors; run `semsearch verify`")
        return ann

    def _searched_ann(self) -> Any:
        """The approximate index to search: an IVF one read into memory after :data:`RESIDENT_AFTER` searches.

        FAISS's mapped inverted lists fault their pages in on every search, even of lists searched before
        and in the page cache: an IVF4096,SQ8 segment of 248k rows at nprobe 16 took 1.0-1.7 ms a search
        mapped (24 page faults each) against 0.26 ms read (none). Reading it costs ~0.1 s per 100 MB (the
        SQ8 codes: about 400 bytes a row, 0.4 KiB per chunk resident) once, after that many mapped searches,
        so a load and a one-shot query stay as cheap as before (at 1M, reading all four on the first
        search added 0.35 s to a cold `semsearch query`). HNSW reads its graph and vectors at open either
        way (same speed).
        """
        if self._ivf and self._mapped_searches <= RESIDENT_AFTER:
            self._mapped_searches += 1
            if self._mapped_searches > RESIDENT_AFTER:  # from now on, read: never counted again
                self.ann = self._read_ann(None)  # concurrent searches may both read it: the same index
        return self.ann

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None, params: SearchParams
    ) -> list[Scored] | Shortlist:
        """The ``k`` best live rows (among ``mask``'s True rows when given) for one unit query vector.

        An approximate segment answers with its ``RERANK × k`` candidates instead, scored approximately:
        :func:`rerank` re-scores the best of every segment's together.
        """
        alive = ~self.deleted if mask is None else mask & ~self.deleted
        count = int(alive.sum())
        if not count or k < 1:
            return []
        faiss = _faiss()
        query = np.ascontiguousarray(query[None, :], dtype=np.float32)
        bits = None if count == len(alive) else np.packbits(alive, bitorder="little")
        selector = None if bits is None else faiss.IDSelectorBitmap(bits)  # ``bits`` lives through the search
        if self.ann is None or count < k * RERANK:
            found_scores, found = self.flat.search(
                query, min(k, count), params=faiss.SearchParameters(sel=selector)
            )
            keep = found[0] >= 0
            return _top(found_scores[0][keep], np.asarray(self.ids)[found[0][keep]], k)
        wanted = min(count, k * RERANK)
        ann = self._searched_ann()
        if self._ivf:
            search = faiss.SearchParametersIVF(nprobe=params.nprobe, sel=selector)
        elif isinstance(ann, faiss.IndexHNSW):
            search = faiss.SearchParametersHNSW(efSearch=max(params.ef_search, wanted), sel=selector)
        else:
            search = faiss.SearchParameters(sel=selector)
        scores, found = ann.search(query, wanted, params=search)
        keep = found[0] >= 0
        return Shortlist(self, scores[0][keep], found[0][keep])

    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of the chunks among ``ids`` that live here."""
        where = self.positions()
        found = [int(c) for c in ids if int(c) in where and not self.deleted[where[int(c)]]]
        vectors = self.flat_file.pick(np.asarray([where[c] for c in found], dtype=np.int64))
        return dict(zip(found, vectors))


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """FAISS's OpenMP threads set to one for the block: one query gains nothing from more (it pays their start-up)."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class Shortlist(NamedTuple):
    """An approximate segment's candidates for one query: their rows there and approximate scores."""

    segment: Segment
    scores: np.ndarray
    rows: np.ndarray


def rerank(shortlists: Sequence[Shortlist], query: np.ndarray, k: int) -> list[Scored]:
    """The ``k`` best of the ``RERANK × k`` best candidates of all ``shortlists`` by exact score.

    Only those are read (one read a row, announced together): at 1M chunks in four approximate
    segments, 40 rows a query instead of each segment re-scoring its own 40.
    """
    if not shortlists:
        return []
    approximate = np.concatenate([s.scores for s in shortlists])
    owner = np.concatenate([np.full(len(s.rows), at) for at, s in enumerate(shortlists)])
    position = np.concatenate([s.rows for s in shortlists])
    wanted = k * RERANK
    if len(approximate) > wanted:
        keep = np.argpartition(-approximate, wanted - 1)[:wanted]
        owner, position = owner[keep], position[keep]
    rankings = []
    for at, shortlist in enumerate(shortlists):
        rows = np.sort(position[owner == at])
        if len(rows):
            segment = shortlist.segment
            exact = segment.flat_file.pick(rows) @ np.asarray(query, dtype=np.float32)
            rankings.append(_top(exact, np.asarray(segment.ids)[rows], k))
    return merge_rankings(rankings, k)


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> list[Scored]:
    """The ``k`` best (id, score), best first, ties by id."""
    if len(scores) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))
    return [Scored(int(ids[i]), float(scores[i])) for i in order]


def merge_rankings(rankings: Sequence[list[Scored]], k: int) -> list[Scored]:
    """The ``k`` best of several best-first lists, best first, ties by id."""
    merged = [s for ranking in rankings for s in ranking]
    merged.sort(key=lambda s: (-s.score, s.chunk_id))
    return merged[:k]
