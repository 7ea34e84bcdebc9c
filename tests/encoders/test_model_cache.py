"""The compiled-model cache: a cached model is checked against the network it was built from before use.

A checksum catches damage, not a blob replaced by another valid model with its checksum recomputed;
reference vectors (fixed token windows embedded at build, embedded again at load) catch that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat

import numpy as np
import pytest

from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder

LOGGER = "semsearch.encoders"
QUERY = "网格化管理"


def _ours(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages semsearch's encoders logged (not what other libraries' threads, Ray's say, logged meanwhile)."""
    return [r.getMessage() for r in caplog.records if r.name.startswith(LOGGER)]


def _foreign_model(encoder: OpenVinoE5Encoder, *, pooled: bool) -> bytes:
    """Another valid compiled model with the same inputs: pooled to (batch, 384), or not pooled."""
    import openvino as ov
    import openvino.opset13 as op

    hidden = encoder.dimension
    words = op.parameter([-1, -1, hidden], ov.Type.f32, name="word_embeddings")
    mask = op.parameter([-1, -1], ov.Type.f32, name="attention_mask")
    masked = op.multiply(words, op.unsqueeze(mask, op.constant(np.int64(-1))))
    if pooled:
        weights = np.random.default_rng(3).standard_normal((hidden, hidden)).astype(np.float32)
        out = op.matmul(
            op.reduce_sum(masked, op.constant(np.int64(1)), False), op.constant(weights), False, False
        )
    else:
        out = masked
    compiled = ov.Core().compile_model(ov.Model([out], [words, mask]), "CPU", encoder._config(1))
    return compiled.export_model().getvalue()


def _swap_blob(encoder: OpenVinoE5Encoder, blob: bytes) -> None:
    """Replace the cached blob and recompute its sidecar's checksum, as someone who can write the cache could."""
    sidecar = encoder.model_path.with_name(encoder.model_path.name + ".json")
    meta = json.loads(sidecar.read_text())
    meta.update(bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    encoder.model_path.write_bytes(blob)
    sidecar.write_text(json.dumps(meta))


@pytest.fixture
def built(tmp_path) -> tuple[OpenVinoE5Encoder, np.ndarray]:
    """An encoder whose model was just built into a fresh cache, and its vector for a query."""
    encoder = OpenVinoE5Encoder(cache_dir=tmp_path / "models")
    return encoder, encoder.encode_queries([QUERY])


@pytest.mark.parametrize("pooled", [True, False], ids=["another model", "another output shape"])
def test_a_cached_model_swapped_for_another_valid_one_is_rebuilt_not_used(built, pooled, caplog):
    encoder, reference = built
    foreign = _foreign_model(encoder, pooled=pooled)
    _swap_blob(encoder, foreign)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again = OpenVinoE5Encoder(cache_dir=encoder.model_path.parent)
        vectors = again.encode_queries([QUERY])
    assert float((vectors * reference).sum()) >= 0.9999  # the real model's vectors, not the foreign one's
    [warning] = _ours(caplog)
    assert str(encoder.model_path) in warning and "building it again" in warning and "\n" not in warning
    assert encoder.model_path.read_bytes() != foreign  # rebuilt and cached again


def test_a_whole_cached_model_is_loaded_not_rebuilt(built, caplog):
    encoder, reference = built
    before = encoder.model_path.stat()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = OpenVinoE5Encoder(cache_dir=encoder.model_path.parent)
        vectors = again.encode_queries([QUERY])
    assert not _ours(caplog)  # no "building", no warning
    after = encoder.model_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert float((vectors * reference).sum()) >= 0.9999


def test_a_sidecar_without_reference_vectors_is_rebuilt(built, caplog):
    """A model cached before the check (or a sidecar stripped of its vectors) cannot be checked: rebuilt."""
    encoder, _ = built
    sidecar = encoder.model_path.with_name(encoder.model_path.name + ".json")
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({"bytes": meta["bytes"], "sha256": meta["sha256"]}))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        OpenVinoE5Encoder(cache_dir=encoder.model_path.parent).compiled(1)
    assert any("building" in m for m in _ours(caplog))
    assert "reference" in json.loads(sidecar.read_text())


def test_the_cache_is_created_private(built):
    encoder, _ = built
    folder = encoder.model_path.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in (encoder.model_path, encoder.model_path.with_name(encoder.model_path.name + ".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_cache_others_can_write_is_warned_about_once(built, caplog):
    encoder, _ = built
    folder = encoder.model_path.parent
    folder.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(2):
            OpenVinoE5Encoder(cache_dir=folder).encode_queries([QUERY])
    [warning] = _ours(caplog)
    assert str(folder) in warning and "writable by others" in warning and "\n" not in warning
    folder.chmod(0o700)
    encoder.model_path.chmod(0o664)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        OpenVinoE5Encoder(cache_dir=folder).encode_queries([QUERY])
    [warning] = _ours(caplog)
    assert str(encoder.model_path) in warning and "writable by others" in warning


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_cached_model_owned_by_another_user_is_warned_about(built, caplog):
    encoder, _ = built
    os.chown(encoder.model_path, 12345, -1)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        OpenVinoE5Encoder(cache_dir=encoder.model_path.parent).encode_queries([QUERY])
    [warning] = _ours(caplog)
    assert str(encoder.model_path) in warning and "owned by user 12345" in warning


def test_forged_reference_vectors_that_are_not_numbers_do_not_pass(built, caplog):
    """NaN compares false with everything: a check written as ``cosine < limit`` would let it through."""
    encoder, _ = built
    sidecar = encoder.model_path.with_name(encoder.model_path.name + ".json")
    meta = json.loads(sidecar.read_text())
    meta["reference"] = [[float("nan")] * len(row) for row in meta["reference"]]
    sidecar.write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        OpenVinoE5Encoder(cache_dir=encoder.model_path.parent).compiled(1)
    [warning] = _ours(caplog)
    assert "is not the network it was built from" in warning
