"""Issue 16, security: what Python users rely on when an index or its data comes from someone else.

The attacks themselves are played through the command line in tests/cli/test_security.py (and the
locks in tests/durability/test_locks.py); sentence-transformers' remote code in
tests/encoders/other_models/test_sentence_transformer.py.
"""

from __future__ import annotations

import pytest

from tests.support.hostile import HOSTILE_ID, HOSTILE_TITLE


def test_the_st_extra_requires_a_sentence_transformers_that_refuses_remote_code():
    tomllib = pytest.importorskip("tomllib")
    from importlib.metadata import PackageNotFoundError, version

    from tests.support.paths import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for extra in ("st", "bench", "test"):
        pins = [r for r in project["optional-dependencies"][extra] if r.startswith("sentence-transformers")]
        assert pins == ["sentence-transformers>=6.2"], (extra, pins)
    try:  # its metadata, not an import: importing sentence-transformers loads torch
        found = version("sentence-transformers")
    except PackageNotFoundError:
        pytest.skip("sentence-transformers is not installed (the st extra): no installed version to check")
    installed = tuple(int(p) for p in found.split(".")[:2])
    assert installed >= (6, 2)


def test_python_sees_the_data_as_written(hostile_index):
    import semsearch

    hit = semsearch.Index.load(hostile_index).search("网格员", k=1)[0]
    assert hit.title == HOSTILE_TITLE and hit.doc_id == HOSTILE_ID
