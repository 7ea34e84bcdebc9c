"""The FAISS side: build any factory-string index over L2-normalised vectors, train it, search it.

:class:`VectorIndex` owns the FAISS object, its type and search parameters (txtai's ``ann`` shape:
build, add, delete, search, save, load); the module functions below it work on raw FAISS indexes.

Vectors are L2-normalised, so inner product is cosine similarity. Every index is wrapped in an
``IndexIDMap2`` keyed by the chunks' stable 64-bit ids. ``index_type`` is a FAISS factory string
(``Flat`` by default, exact; ``HNSW32``, ``IVF256,Flat``, ``IVF256,SQ8``, ``IVF256,PQ16``, …);
types that need training are trained on the vectors being indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.defaults import DEFAULT_INDEX_TYPE
from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import SearchParams, VectorHits

log = logging.getLogger(__name__)

TRAIN_POINTS_PER_LIST = 100


def _faiss() -> Any:
    import faiss

    return faiss


def make_vector_index(vectors: np.ndarray, ids: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE) -> Any:
    """A trained FAISS index holding ``vectors`` under ``ids`` (inner-product metric)."""
    faiss = _faiss()
    if not isinstance(index_type, str) or not index_type.strip():
        raise InputError(
            f"index_type must be a FAISS factory string such as 'Flat' or 'HNSW32', not {index_type!r}"
        )
    dim = int(vectors.shape[1])
    try:
        base = faiss.index_factory(dim, index_type.strip(), faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise InputError(
            f"index_type {index_type!r} is not a FAISS factory string FAISS accepts for {dim}-d vectors "
            f"({_first_line(exc)}); try Flat, HNSW32, IVF256,Flat, IVF256,SQ8 or IVF256,PQ16"
        ) from None
    index = base if isinstance(base, faiss.IndexIDMap) else faiss.IndexIDMap2(base)
    if not index.is_trained:
        _train(index, base, vectors, index_type)
    index.add_with_ids(
        np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
    )
    return index


def _train(index: Any, base: Any, vectors: np.ndarray, index_type: str) -> None:
    faiss = _faiss()
    ivf = faiss.try_extract_index_ivf(base)
    needed = ivf.nlist if ivf is not None else 1
    if len(vectors) < needed:
        raise InputError(
            f"index_type {index_type!r} needs at least {needed} vectors to train its {needed} lists, and the "
            f"corpus has {len(vectors)} chunks; use 'Flat' (exact) or fewer lists, e.g. 'IVF{max(1, len(vectors) // 39)},Flat'"
        )
    if ivf is not None and len(vectors) < 39 * ivf.nlist:
        log.warning(
            "%s: %d training vectors for %d lists (FAISS suggests at least %d); recall may suffer",
            index_type,
            len(vectors),
            ivf.nlist,
            39 * ivf.nlist,
        )
    # k-means on every vector of a large corpus costs minutes and buys nothing: FAISS itself advises
    # 39-256 points per list. Train on an even sample of at most TRAIN_POINTS_PER_LIST per list.
    cap = TRAIN_POINTS_PER_LIST * max(needed, 256 if ivf is None else needed)
    sample = (
        vectors if len(vectors) <= cap else vectors[np.linspace(0, len(vectors) - 1, cap).astype(np.int64)]
    )
    try:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    except RuntimeError as exc:
        raise InputError(
            f"index_type {index_type!r} could not be trained on {len(vectors)} vectors ({_first_line(exc)}); "
            "use 'Flat' or a type that needs fewer training vectors"
        ) from None


class VectorIndex:
    """The dense side of an index: a FAISS index over chunk ids, its factory string and search knobs."""

    def __init__(self, index: Any, index_type: str, params: SearchParams | None = None) -> None:
        self.faiss = index
        self.index_type = index_type
        self.params = params or SearchParams()
        self.threads: int | None = None  # OpenMP threads for batches of queries (None: FAISS's default)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE) -> VectorIndex:
        """A trained index of ``index_type`` holding ``vectors`` under ``ids``."""
        return cls(make_vector_index(vectors, ids, index_type), index_type)

    @classmethod
    def load(cls, path: Path, index_type: str, params: SearchParams | None = None) -> VectorIndex:
        """Read a saved FAISS file; an unreadable one is an IndexCorruptError naming it."""
        return cls(read_vector_index(path), index_type, params)

    def save(self, path: Path) -> None:
        """Write the FAISS file."""
        write_vector_index(self.faiss, path)

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        return int(self.faiss.d)

    def __len__(self) -> int:
        return int(self.faiss.ntotal)

    def describe(self) -> str:
        """The FAISS classes, e.g. ``IndexIDMap2(IndexHNSWFlat)``."""
        return describe(self.faiss)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add ``vectors`` under ``ids``."""
        add_vectors(self.faiss, vectors, ids)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove ``ids`` (an HNSW index is rebuilt from the vectors left)."""
        self.faiss = remove_vectors(self.faiss, ids, self.index_type)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """The ``k`` nearest chunks of each query; with ``allowed``, only among those chunk ids."""
        scores, ids = search_vectors(self.faiss, queries, k, self.params, allowed, threads=self.threads)
        return VectorHits(scores, ids)

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks by id (exact for Flat and HNSW, the approximation for compressed types)."""
        return np.vstack([self.faiss.reconstruct(int(i)) for i in ids]).astype(np.float32)


def search_vectors(
    index: Any,
    queries: np.ndarray,
    k: int,
    params: SearchParams,
    allowed: np.ndarray | None = None,
    *,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) per query; missing results have id -1.

    ``allowed``: only these ids may be returned (a filter applied inside the search, before the top-k
    cut, through a FAISS id selector), so a filtered search still finds ``k`` hits when ``k`` exist.

    ``threads``: OpenMP threads for a batch of queries (a single query always uses one).
    """
    faiss = _faiss()
    k = max(1, min(k, int(index.ntotal)))
    base = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    search_params = None
    selector = None
    if allowed is not None:
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        k = max(1, min(k, len(allowed)))
    if isinstance(base, faiss.IndexHNSW):
        search_params = faiss.SearchParametersHNSW(efSearch=max(params.ef_search, k), sel=selector)
    elif faiss.try_extract_index_ivf(base) is not None:
        search_params = faiss.SearchParametersIVF(nprobe=params.nprobe, sel=selector)
    elif selector is not None:
        search_params = faiss.SearchParameters(sel=selector)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    args = (queries, k)
    kwargs = {} if search_params is None else {"params": search_params}
    if len(queries) > 1 and threads is None:
        return index.search(*args, **kwargs)
    # One query gains nothing from OpenMP threads and pays their start-up: measured 14.6 ms with two
    # threads vs 6.1 ms with one on 100k Flat vectors. The setting is per calling thread.
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1 if len(queries) == 1 else threads)
    try:
        return index.search(*args, **kwargs)
    finally:
        faiss.omp_set_num_threads(before)


def write_vector_index(index: Any, path: Path) -> None:
    """Write a FAISS index file."""
    _faiss().write_index(index, str(path))


def read_vector_index(path: Path) -> Any:
    """Read a FAISS index file; an unreadable one is an IndexCorruptError naming it."""
    faiss = _faiss()
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as exc:
        raise IndexCorruptError(
            f"{path} is not a readable FAISS index ({_first_line(exc)}); rebuild the index"
        ) from None
    if not isinstance(index, faiss.IndexIDMap):
        raise IndexCorruptError(
            f"{path} holds a FAISS {describe(index)} without chunk ids (semsearch writes an IndexIDMap2); "
            "rebuild the index"
        )
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise IndexCorruptError(f"{path} does not measure inner product (cosine); rebuild the index")
    return index


def vector_ids(index: Any) -> np.ndarray:
    """The chunk ids a FAISS index (an ``IndexIDMap``) holds, in its own order."""
    return _faiss().vector_to_array(index.id_map).astype(np.int64)


def describe(index: Any) -> str:
    """A short description of a FAISS index, e.g. ``IndexIDMap2(IndexHNSWFlat)``."""
    faiss = _faiss()
    if isinstance(index, faiss.IndexIDMap):
        return f"{type(index).__name__}({type(faiss.downcast_index(index.index)).__name__})"
    return type(index).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    useful = [line for line in text if "Error" in line or "error" in line] or text or [type(exc).__name__]
    return useful[-1].strip()[:200]


def add_vectors(index: Any, vectors: np.ndarray, ids: np.ndarray) -> None:
    """Add ``vectors`` under ``ids`` to a built (trained) index."""
    if len(ids):
        index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
        )


def remove_vectors(index: Any, ids: Sequence[int], index_type: str) -> Any:
    """Remove ``ids`` from ``index``; returns the index to use from now on.

    Flat and IVF indexes delete in place. Graph indexes (HNSW) cannot delete, so the index is rebuilt
    from the remaining vectors (reconstructed from the index itself: exact for HNSW32, the stored
    approximation for compressed types). The cost is a rebuild, paid only when something was removed.
    """
    faiss = _faiss()
    if not len(ids):
        return index
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    try:
        index.remove_ids(selector)
        return index
    except RuntimeError:
        pass
    gone = set(int(i) for i in ids)
    kept_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = index.index.reconstruct_n(0, index.ntotal)
    keep = np.fromiter((int(i) not in gone for i in kept_ids), dtype=bool, count=len(kept_ids))
    log.info("%s cannot delete in place: rebuilt from %d remaining vectors", index_type, int(keep.sum()))
    return make_vector_index(vectors[keep], kept_ids[keep], index_type)
