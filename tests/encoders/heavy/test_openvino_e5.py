"""The default runtime at length: a vector does not depend on its batch, a damaged cached model is rebuilt."""

from __future__ import annotations

import logging

import numpy as np

import semsearch.encoders.openvino_e5 as fast_encoder
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder


def test_a_vector_does_not_depend_on_its_batch_mates(encoder, sample_paragraphs):
    together = encoder.encode_passages(sample_paragraphs)
    alone = np.concatenate([encoder.encode_passages([p]) for p in sample_paragraphs])
    shuffled_order = np.random.default_rng(7).permutation(len(sample_paragraphs))
    shuffled = encoder.encode_passages([sample_paragraphs[i] for i in shuffled_order])
    assert (together * alone).sum(axis=1).min() >= 0.9999
    assert (together[shuffled_order] * shuffled).sum(axis=1).min() >= 0.9999


def test_a_damaged_cached_model_is_rebuilt_not_used(tmp_path, sample_paragraphs, caplog):
    built = OpenVinoE5Encoder(cache_dir=tmp_path)
    reference = built.encode_passages(sample_paragraphs[:4])
    path = built.model_path
    assert path.exists() and path.stat().st_size > 1_000_000
    original = path.read_bytes()
    damages = {
        "truncated": original[: len(original) // 2],
        "bit flipped": original[:5000] + bytes([original[5000] ^ 0xFF]) + original[5001:],
        "empty": b"",
    }
    for what, damaged in damages.items():
        path.write_bytes(damaged)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="semsearch.encoders.openvino_e5"):
            again = OpenVinoE5Encoder(cache_dir=tmp_path)
            vectors = again.encode_passages(sample_paragraphs[:4])
        assert any("damaged or truncated" in r.getMessage() for r in caplog.records), what
        assert fast_encoder.read_checked(path) is not None, what  # rebuilt and cached again, whole
        assert (vectors * reference).sum(axis=1).min() >= 0.9999, what
    # A cached model that is whole is used as it is: nothing is logged.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="semsearch.encoders.openvino_e5"):
        OpenVinoE5Encoder(cache_dir=tmp_path).encode_queries(["网格化管理"])
    assert not caplog.records
