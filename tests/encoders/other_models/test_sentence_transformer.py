"""Any sentence-transformers model as an encoder: MiniLM and m3e shipped locally, prefixes by family, no remote code."""

from pathlib import Path

import numpy as np
import pytest

from semsearch import EncoderError, load_encoder
from semsearch.encoders.loading import encoder_from_spec
from semsearch.encoders.sentence_transformer import SentenceTransformerEncoder


def _named(model: Path, folder: Path) -> Path:
    """``model``'s files in a new folder ``folder``: a model's family (and so its prefixes) is read from its name."""
    folder.mkdir(parents=True)
    for member in model.iterdir():
        (folder / member.name).symlink_to(member)
    return folder


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


def test_sentence_transformers_on_a_chinese_model(m3e_path):
    m3e = load_encoder(m3e_path)
    assert m3e.dimension == 512
    q = m3e.encode_queries(["网格化管理"])[0]
    p = m3e.encode_passages(["提高网格化管理水平", "今年预计培训超过500人次"])
    assert p[0] @ q > p[1] @ q


def test_prefixes_follow_the_model_family(minilm_path, tmp_path):
    def family(name: str) -> SentenceTransformerEncoder:  # MiniLM's files under a model family's name
        return SentenceTransformerEncoder(_named(minilm_path, tmp_path / name))

    e5 = family("intfloat/multilingual-e5-small")
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    minilm = family("sentence-transformers/all-minilm-l6-v2")
    assert (minilm.query_prefix, minilm.passage_prefix) == ("", "")
    assert family("baai/bge-small-zh-v1.5").query_prefix.startswith("为这个句子")
    custom = SentenceTransformerEncoder(minilm_path, query_prefix="query: ", passage_prefix="passage: ")
    assert custom.count_tokens("hello") > load_encoder(minilm_path).count_tokens("hello")
    assert "q='query: '" in custom.identity  # prefixes change vectors, so they are part of the identity


def test_unknown_model_is_a_clear_error_offline():
    with pytest.raises(EncoderError, match="no-such-org/no-such-model.*local"):
        load_encoder("no-such-org/no-such-model")


def test_sentence_transformers_is_always_asked_not_to_run_remote_code(monkeypatch, minilm_path):
    import sentence_transformers

    from semsearch.encoders.sentence_transformer import SentenceTransformerEncoder

    seen: dict[str, object] = {}
    real = sentence_transformers.SentenceTransformer

    def spy(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", spy)
    SentenceTransformerEncoder(minilm_path)
    assert seen.get("trust_remote_code") is False
