"""The vector side in a directory: FAISS indexes, exact and approximate, searched among allowed ids."""

import numpy as np
import pytest

from semsearch import InputError
from semsearch.records import SearchParams
from semsearch.storage.local.vectors import VectorIndex, make_vector_index, search_vectors


def _unit(rows, dim=384, seed=0):
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "n_queries", "k"), [(1, 1, 1), (37, 5, 7), (257, 13, 10), (1000, 3, 1000)])
def test_flat_matches_numpy_brute_force(n, n_queries, k):
    vectors, queries = _unit(n), _unit(n_queries, seed=1)
    ids = np.arange(n, dtype=np.int64) * 7919 + 3  # arbitrary 64-bit ids
    index = make_vector_index(vectors, ids, "Flat")
    scores, found = search_vectors(index, queries, k, SearchParams())
    exact = queries @ vectors.T
    for row in range(n_queries):
        order = np.argsort(-exact[row], kind="stable")[: min(k, n)]
        assert np.allclose(scores[row], exact[row][order], atol=1e-5)
        # same set up to ties: every returned id scores at least the k-th best exact score
        kth = exact[row][order[-1]]
        assert all(exact[row][(i - 3) // 7919] >= kth - 1e-5 for i in found[row])


def test_k_larger_than_the_index_returns_everything_once():
    index = make_vector_index(_unit(5), np.arange(5), "Flat")
    scores, ids = search_vectors(index, _unit(1, seed=2), 50, SearchParams())
    assert sorted(ids[0].tolist()) == [0, 1, 2, 3, 4]


def _clustered(rows, seed):
    """Unit vectors around 40 centres: structured like real embeddings, unlike pure noise."""
    rng = np.random.default_rng(seed)
    centres = _unit(40, seed=99)
    x = centres[rng.integers(0, 40, rows)] + 0.08 * rng.standard_normal((rows, 384)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(
    "index_type", ["HNSW32", "IVF8,Flat", "IVF8,SQ8", pytest.param("IVF8,PQ48x4", marks=pytest.mark.slow)]
)
def test_approximate_types_are_trained_and_find_most_neighbours(index_type):
    vectors, queries = _clustered(2000, seed=0), _clustered(20, seed=3)
    index = make_vector_index(vectors, np.arange(2000), index_type)
    assert index.ntotal == 2000
    _, approx = search_vectors(index, queries, 10, SearchParams(ef_search=128, nprobe=8))
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall >= (0.3 if "PQ" in index_type else 0.9)  # random guessing would give 0.005


def test_a_query_that_is_one_of_the_vectors_finds_itself_first():
    vectors = _unit(300)
    index = make_vector_index(vectors, np.arange(300) + 10**15, "HNSW32")
    _, ids = search_vectors(index, vectors[[17, 123]], 1, SearchParams())
    assert ids[:, 0].tolist() == [17 + 10**15, 123 + 10**15]


def test_bad_index_types_are_clear_errors():
    with pytest.raises(InputError, match="not a FAISS factory string.*Flat, HNSW32"):
        make_vector_index(_unit(10), np.arange(10), "Bogus")
    with pytest.raises(InputError, match="needs at least 256 vectors.*corpus has 10 chunks"):
        make_vector_index(_unit(10), np.arange(10), "IVF256,Flat")


@pytest.mark.parametrize("index_type", ["Flat", "HNSW32", "IVF4,Flat"])
def test_search_among_allowed_ids_matches_brute_force_over_them(index_type):
    vectors, queries = _unit(300), _unit(3, seed=5)
    ids = np.arange(300, dtype=np.int64) * 11 + 1
    index = VectorIndex.build(vectors, ids, index_type)
    index.params = SearchParams(ef_search=300, nprobe=4)
    allowed = ids[::7]
    hits = index.search(queries, 5, allowed=allowed)
    exact = queries @ vectors[::7].T
    for row in range(len(queries)):
        assert [c for c, _ in hits.ranking(row)] == list(allowed[np.argsort(-exact[row])[:5]])


def test_vector_index_deletes_adds_and_round_trips(tmp_path):
    vectors = _unit(50)
    ids = np.arange(50, dtype=np.int64) + 100
    for index_type in ("Flat", "HNSW32"):
        index = VectorIndex.build(vectors[:40], ids[:40], index_type)
        index.delete([100, 101])
        index.add(vectors[40:], ids[40:])
        assert len(index) == 48 and index.dimension == 384
        index.save(tmp_path / f"{index_type}.faiss")
        loaded = VectorIndex.load(tmp_path / f"{index_type}.faiss", index_type)
        assert loaded.search(vectors[[45]], 1).ranking(0)[0].chunk_id == 145
        assert loaded.search(vectors[[0]], 48).ranking(0)[0].chunk_id != 100
        assert np.allclose(loaded.reconstruct([145]), vectors[[45]], atol=1e-5)
