"""Embedding on Ray: two loopback nodes, vectors identical to a local run, in order, cache used both ways."""

import numpy as np
import pytest

from semsearch.encoders.base import embed_passages
from semsearch.encoders.cache import EmbeddingCache
from semsearch.encoders.loading import load_encoder


@pytest.fixture(scope="module")
def repeated_paragraphs(paragraphs):
    """Seed paragraphs, the first three twice: repeats are embedded once and returned at every place."""
    return paragraphs[:23] + paragraphs[:3]


def test_ray_vectors_equal_a_local_run_in_order_and_fill_the_cache(
    ray_cluster, repeated_paragraphs, tmp_path
):
    from semsearch.encoders.ray_workers import embed_with_ray

    encoder = load_encoder()
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    expected = embed_passages(encoder, repeated_paragraphs, cache=None)
    stats: dict[str, int] = {}
    got = embed_with_ray(encoder, repeated_paragraphs, workers=2, batch_size=4, cache=cache, stats=stats)
    assert got.shape == expected.shape
    assert np.min(np.sum(got * expected, axis=1)) >= 0.9999
    assert stats["embedded"] == len(set(repeated_paragraphs))
    again: dict[str, int] = {}
    assert np.array_equal(embed_with_ray(encoder, repeated_paragraphs, cache=cache, stats=again), got)
    assert again["embedded"] == 0  # everything came from the cache: the cluster was not asked


def test_bad_worker_counts_are_refused(repeated_paragraphs):
    from semsearch.encoders.ray_workers import embed_with_ray
    from semsearch.errors import InputError

    with pytest.raises(InputError, match="workers must be a positive integer"):
        embed_with_ray(load_encoder(), repeated_paragraphs, workers=0)


def test_a_ray_build_into_milvus_searches_like_a_local_build(ray_cluster, seeds_dir, seeds_index, tmp_path):
    from semsearch import Index

    pytest.importorskip("pymilvus")
    index = Index.build(
        [seeds_dir], executor="ray", engine=f"milvus-lite:{tmp_path / 'ray.db'}#seeds", cache=False
    )
    ids = [c.chunk_id for c in seeds_index.chunks()]
    got = index.searcher().parts.vectors.reconstruct(ids)
    want = seeds_index.searcher().parts.vectors.reconstruct(ids)
    assert np.min(np.sum(got * want, axis=1)) >= 0.9999
    for query in ("网格化管理如何推动基层治理", "乡村振兴"):
        assert [h.chunk_id for h in index.search(query, k=5)] == [
            h.chunk_id for h in seeds_index.search(query, k=5)
        ]


def test_executor_and_ray_address_are_checked(seeds_dir):
    from semsearch import Index
    from semsearch.errors import InputError

    with pytest.raises(InputError, match="executor must be one of local, ray"):
        Index.build([seeds_dir], executor="dask")
    with pytest.raises(InputError, match="ray_address is for executor='ray'"):
        Index.build([seeds_dir], ray_address="127.0.0.1:6379")


class _DiesOnce:
    """The keyword encoder, except that the first worker process to embed a batch dies (a crashed node)."""

    def __init__(self, marker):
        from tests.support.keyword_encoder import KeywordEncoder

        self.inner = KeywordEncoder()
        self.identity, self.dimension, self.max_tokens = "tests/dies-once@1", self.inner.dimension, 512
        self.marker = str(marker)

    def encode_passages(self, texts):
        import os

        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return self.inner.encode_passages(texts)
        os._exit(1)  # the actor's process is gone mid-batch, its batch unanswered

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def spec(self):
        return {"kind": "tests-dies-once"}


def test_a_worker_that_dies_mid_batch_is_replaced_and_no_text_is_lost(ray_cluster, tmp_path):
    from semsearch.encoders.ray_workers import embed_with_ray
    from tests.support.keyword_encoder import WORDS, KeywordEncoder

    texts = [f"{a} {b} {i}" for i, (a, b) in enumerate(zip(WORDS * 3, WORDS[3:] * 3 + WORDS[:3] * 3))]
    encoder = _DiesOnce(tmp_path / "died")
    got = embed_with_ray(encoder, texts, workers=2, batch_size=4, cache=None)
    assert (tmp_path / "died").exists()  # a worker did die
    np.testing.assert_allclose(got, KeywordEncoder().encode_passages(texts), atol=1e-6)
