"""The dense side of a segmented index: immutable vector segments, mapped from disk, searched together.

A segment is written once and never changed: the chunks' float32 vectors (``NAME.vectors.npy``), their
chunk ids (``NAME.ids.npy``), rows (``NAME.rows.npy``, ascending: the number every part of the index
shares) and publication days (``NAME.days.npy``, -1 for none: date filters read it instead of the
document store), all memory-mapped on open, and, for a segment large enough, an
approximate index over it (``NAME.ann.faiss``, any FAISS factory string, rows numbered by position)
read with ``IO_FLAG_MMAP`` so its inverted lists stay on disk. A deletion never rewrites a segment: it
marks the row in a deletion bitmap kept in memory and written as a small ``NAME.del.GEN.npy`` by the
commit that made it, as Lucene's ``.liv`` files are. A search asks every segment for its best rows
among those alive (and allowed by a filter), re-scores an approximate segment's candidates exactly
from the mapped float32 vectors, and merges the lists. Merging segments copies their live rows into a
new one (:func:`write_segment`); a merge never touches the old files, which go when no manifest names
them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import Scored, SearchParams

log = logging.getLogger(__name__)

NO_DAY = -1  # a chunk whose document has no date
# Below this many rows a segment is searched exactly (a brute-force product over its mapped vectors
# costs less than an approximate index's overhead and is never wrong).
EXACT_ROWS = 50_000
RERANK = 4  # an approximate segment returns RERANK × k candidates, re-scored exactly


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
        vectors=f"{name}.vectors.npy",
        ids=f"{name}.ids.npy",
        rows=f"{name}.rows.npy",
        days=f"{name}.days.npy",
        ann=f"{name}.ann.faiss" if ann else None,
    )


def write_segment(
    folder: Path,
    name: str,
    vectors: np.ndarray,
    ids: np.ndarray,
    rows: np.ndarray,
    days: np.ndarray,
    index_type: str,
) -> SegmentFiles:
    """Write a new segment of ``vectors`` under chunk ``ids`` and ``rows`` (ascending; with their ``days``).

    Segments of at least :data:`EXACT_ROWS` rows get an approximate index of ``index_type`` (unless it
    is "Flat": exact search). Files are written new (never through an existing name) and fsync'd.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    days = np.ascontiguousarray(days, dtype=np.int32)
    if not (len(vectors) == len(ids) == len(rows) == len(days)) or vectors.ndim != 2:
        raise InputError(
            f"a segment needs one id, row and day per vector: {vectors.shape}, {ids.shape}, {days.shape}"
        )
    if len(rows) > 1 and (np.diff(rows) <= 0).any():
        raise InputError("a segment's rows must ascend")
    ann = index_type.strip() != "Flat" and len(vectors) >= EXACT_ROWS
    files = segment_files(name, ann)
    _save_array(folder / files.vectors, vectors)
    _save_array(folder / files.ids, ids)
    _save_array(folder / files.rows, rows)
    _save_array(folder / files.days, days)
    if ann and files.ann:
        index = _build_ann(vectors, index_type)
        faiss = _faiss()
        target = folder / files.ann
        faiss.write_index(index, str(target))
        _fsync(target)
    return files


def _build_ann(vectors: np.ndarray, index_type: str) -> Any:
    """An approximate index of ``index_type`` over ``vectors``, rows numbered by position (trained on them)."""
    faiss = _faiss()
    try:
        index = faiss.index_factory(vectors.shape[1], index_type.strip(), faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise InputError(
            f"index_type {index_type!r} is not a FAISS factory string FAISS accepts ({exc})"
        ) from None
    if not index.is_trained:
        sample = vectors
        cap = 256 * 100
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            cap = max(cap, 100 * ivf.nlist)
        if len(vectors) > cap:
            sample = vectors[np.linspace(0, len(vectors) - 1, cap).astype(np.int64)]
        index.train(np.ascontiguousarray(sample))
    index.add(vectors)
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


def _load_array(path: Path, dtype: str, ndim: int) -> np.ndarray:
    """A memory-mapped array of a segment file, checked for type and shape (never unpickled)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise IndexCorruptError(
            f"{path} is missing; the index is incomplete. Run `semsearch verify`"
        ) from None
    except (OSError, ValueError, EOFError) as exc:
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
        self.vectors = _load_array(folder / files.vectors, "float32", 2)
        self.ids = _load_array(folder / files.ids, "int64", 1)
        self.rows = _load_array(folder / files.rows, "int64", 1)
        self.days = _load_array(folder / files.days, "int32", 1)
        if not (len(self.vectors) == len(self.ids) == len(self.rows) == len(self.days)):
            raise IndexCorruptError(
                f"segment {name} of {folder} has files of different lengths; run `semsearch verify`"
            )
        self.ann: Any = None
        if files.ann:
            faiss = _faiss()
            path = folder / files.ann
            try:
                self.ann = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
            except RuntimeError as exc:
                raise IndexCorruptError(
                    f"{path} is not a readable FAISS index ({exc}); run `semsearch verify`"
                ) from None
            if self.ann.ntotal != len(self.ids) or self.ann.d != self.vectors.shape[1]:
                raise IndexCorruptError(
                    f"{path} does not index its segment's vectors; run `semsearch verify`"
                )
        self.deleted = np.zeros(len(self.ids), dtype=bool) if deleted is None else deleted
        if len(self.deleted) != len(self.ids):
            raise IndexCorruptError(
                f"the deletion bitmap of segment {name} has the wrong length; run `semsearch verify`"
            )
        self._positions: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def live(self) -> int:
        """Rows not deleted."""
        return int(len(self.ids) - self.deleted.sum())

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

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None, params: SearchParams
    ) -> list[Scored]:
        """The ``k`` best live rows (among ``mask``'s True rows when given) for one unit query vector."""
        alive = ~self.deleted if mask is None else mask & ~self.deleted
        count = int(alive.sum())
        if not count or k < 1:
            return []
        if self.ann is None or count < k * RERANK:
            rows = np.flatnonzero(alive) if count < len(alive) else None
            scores = (self.vectors if rows is None else self.vectors[rows]) @ query
            return _top(scores, self.ids if rows is None else self.ids[rows], k)
        faiss = _faiss()
        selector = faiss.IDSelectorBitmap(np.packbits(alive, bitorder="little"))
        wanted = min(count, k * RERANK)
        ivf = faiss.try_extract_index_ivf(self.ann)
        if ivf is not None:
            search = faiss.SearchParametersIVF(nprobe=params.nprobe, sel=selector)
        elif "HNSW" in type(self.ann).__name__:
            search = faiss.SearchParametersHNSW(efSearch=max(params.ef_search, wanted), sel=selector)
        else:
            search = faiss.SearchParameters(sel=selector)
        _, found = self.ann.search(query[None, :].astype(np.float32), wanted, params=search)
        rows = np.sort(found[0][found[0] >= 0])
        return _top(self.vectors[rows] @ query, self.ids[rows], k)  # exact scores from the float32 vectors

    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of the chunks among ``ids`` that live here."""
        where = self.positions()
        return {
            int(c): np.asarray(self.vectors[where[int(c)]])
            for c in ids
            if int(c) in where and not self.deleted[where[int(c)]]
        }


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
