"""Embedding passages: each text once, longest first, progress by weight, the cache, broken output refused."""

import numpy as np
import pytest

from semsearch import EmbeddingCache, EncoderError, InputError
from semsearch.encoders.base import embed_passages


class CountingEncoder:
    """Wraps a real encoder and records what it was asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.identity = inner.identity
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.passage_calls: list[list[str]] = []

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.passage_calls.append(list(texts))
        return self.inner.encode_passages(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def spec(self):
        return {"kind": "counting"}


def test_identical_texts_are_embedded_once_longest_first(e5):
    counting = CountingEncoder(e5)
    texts = ["短文本。", "一段比较长的文本，用来检查排序。", "短文本。", "中等长度的文本。"]
    vectors = embed_passages(counting, texts, batch_size=2, cache=None)
    embedded = [t for call in counting.passage_calls for t in call]
    assert sorted(embedded) == sorted(set(texts))
    assert [len(t) for t in embedded] == sorted((len(t) for t in embedded), reverse=True)
    assert np.array_equal(vectors[0], vectors[2])
    assert np.allclose(vectors, e5.encode_passages(texts), atol=1e-5)


def test_progress_counts_the_given_weights_cached_texts_first(e5, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    embed_passages(e5, ["甲文。"], cache=cache)
    counting = CountingEncoder(e5)
    texts = ["甲文。", "短。", "一段比较长的文本，用来检查进度。", "短。"]
    tokens = [e5.count_tokens(t) for t in texts]
    reported: list[int] = []
    embed_passages(counting, texts, batch_size=1, cache=cache, progress=reported.append, weights=tokens)
    assert sum(reported) == sum(tokens)  # every occurrence, duplicates included
    assert reported[0] == tokens[0]  # the cached text, reported before any embedding
    assert reported[1:] == [tokens[2], 2 * tokens[1]]  # the most tokens first
    assert [t for call in counting.passage_calls for t in call] == [texts[2], texts[1]]
    with pytest.raises(InputError, match="weights has 1 entries for 4 texts"):
        embed_passages(e5, texts, weights=[1])


def test_cache_skips_texts_seen_before(e5, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    counting = CountingEncoder(e5)
    first = embed_passages(counting, ["甲文。", "乙文。"], cache=cache)
    counting.passage_calls.clear()
    second = embed_passages(counting, ["乙文。", "丙文。", "甲文。"], cache=cache)
    assert counting.passage_calls == [["丙文。"]]
    assert np.allclose(second[[2, 0]], first)
    stats = cache.stats()
    assert stats.vectors == {e5.identity: 3} and stats.bytes > 0
    assert cache.clear() == 3 and cache.stats().vectors == {}


def test_broken_encoder_output_is_rejected(e5):
    class Broken(CountingEncoder):
        def encode_passages(self, texts):
            return np.full((len(texts), self.dimension), np.nan, dtype=np.float32)

    with pytest.raises(EncoderError, match="NaN"):
        embed_passages(Broken(e5), ["文本。"], cache=None)
