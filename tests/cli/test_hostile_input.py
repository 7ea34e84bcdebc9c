"""Issue 16, items 7-16, on the command line: damaged indexes, unusable caches and hostile input give one clear error.

What a user must see: one ``semsearch: error:`` line (exit 1 for a damaged index, 2 for user input),
never a traceback, a hang, or a silently wrong answer. The same attacks through Python are in
tests/index/test_hostile_input.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import semsearch
from semsearch import Document
from tests.support.cli import assert_one_line_error, run
from tests.support.hostile import (
    CLEANS_TO_NOTHING,
    MANIFEST_DAMAGE,
    MODES,
    SEED_ID,
    SHORT,
    build_and_search,
    edit_manifest,
)

# ------------------------------------------------------------------ 7. a document that cleans to nothing


def test_add_on_the_command_line_reports_the_skip(index_copy, tmp_path):
    source = tmp_path / "blank.txt"
    source.write_text(CLEANS_TO_NOTHING, encoding="utf-8")
    result = run("add", "-i", str(index_copy), str(source), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "0 added" in result.stdout and "1 skipped" in result.stdout
    assert "no text left after cleaning" in result.stdout + result.stderr


# ------------------------------------------------------------------ 8. only regular files are read


def test_a_fifo_among_the_sources_is_skipped_not_waited_on(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text(SHORT, encoding="utf-8")
    os.mkfifo(folder / "b.txt")
    result = run("build", str(folder), "-o", str(tmp_path / "idx"), "--no-progress", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 docs" in result.stdout and "1 skipped" in result.stdout
    given = run("build", str(folder / "b.txt"), "-o", str(tmp_path / "idx2"), "--no-progress", timeout=120)
    assert "regular file" in assert_one_line_error(given, 2)


# ------------------------------------------------------------------ 9. an empty index is valid


def test_removing_every_document_leaves_a_valid_empty_index(index_copy):
    ids = semsearch.Index.load(index_copy).doc_ids()
    result = run("remove", "-i", str(index_copy), *ids)
    assert result.returncode == 0, result.stderr
    assert "now 0 docs, 0 chunks" in result.stdout
    for mode in MODES:
        answer = run("query", "-i", str(index_copy), "--mode", mode, "网格员")
        assert answer.returncode == 0, answer.stderr
        assert "(no hits)" in answer.stdout
    index = semsearch.Index.load(index_copy)
    assert len(index) == 0 and index.doc_ids() == []
    assert all(index.search("网格员", mode=mode) == [] for mode in MODES)
    index.add([Document(doc_id="again", text=SHORT)])
    index.save()
    assert semsearch.Index.load(index_copy).search("网格员", k=1)[0].doc_id == "again"


# ------------------------------------------------------------------ 10. invalid UTF-8


def test_invalid_utf8_in_argv_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), b"\xff\xfe\xe7\xbd")
    assert "UTF-8" in assert_one_line_error(result, 2)


def test_invalid_utf8_on_stdin_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), stdin=b"\xe7\xbd\x91\xe6\xa0\xbc\n\xff\xfe\n")
    message = assert_one_line_error(result, 2)
    assert "UTF-8" in message and "line 2" in message


# ------------------------------------------------------------------ 11. one schema for the manifest


@pytest.mark.parametrize("damage", ["fusion.depth zero", "a blank user word", "encoder as a string"])
def test_a_damaged_manifest_exits_1_on_the_command_line(index_copy, damage):
    edit_manifest(index_copy, MANIFEST_DAMAGE[damage])
    assert_one_line_error(run("query", "-i", str(index_copy), "网格员"), 1)


# ------------------------------------------------------------------ 13. a read-only index


def _immutable(paths: list[Path], on: bool) -> bool:
    """``chattr +i`` (or ``-i``): a folder not even root can add to, the way a read-only mount behaves."""
    results = [
        subprocess.run(["chattr", "+i" if on else "-i", str(p)], capture_output=True, check=False).returncode
        for p in paths
    ]
    return all(code == 0 for code in results)


@pytest.mark.parametrize("parent_too", [False, True], ids=["read-only-index", "read-only-parent"])
def test_a_read_only_index_is_a_clear_error(saved_seeds_index, tmp_path, parent_too):
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr to make a folder read-only")
    parent = tmp_path / "ro"
    target = parent / "seeds"
    shutil.copytree(saved_seeds_index, target)
    frozen = [target, parent] if parent_too else [target]
    if not _immutable(frozen, True):
        _immutable(frozen, False)
        pytest.skip("this file system (or user) cannot make a folder immutable")
    try:
        before = sorted(p.name for p in target.iterdir())
        result = run("remove", "-i", str(target), SEED_ID)
        message = assert_one_line_error(result, 1)
        assert any(word in message.lower() for word in ("permission", "not permitted", "read-only")), message
        assert sorted(p.name for p in target.iterdir()) == before
    finally:
        _immutable(frozen, False)
    assert SEED_ID in semsearch.Index.load(target).doc_ids()


# ------------------------------------------------------------------ 14. the embedding cache is only an optimisation


@pytest.mark.parametrize(
    "kind", ["cache dir is a file", "cache file is a directory", "cache file is not sqlite"]
)
def test_an_unusable_cache_warns_once_and_the_build_goes_on(tmp_path, monkeypatch, caplog, kind):
    root = tmp_path / "cache"
    if kind == "cache dir is a file":
        root.write_text("not a directory")
        root = root / "sub"
    elif kind == "cache file is a directory":
        (root / "embeddings.sqlite").mkdir(parents=True)
    else:
        root.mkdir()
        (root / "embeddings.sqlite").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(root))
    assert build_and_search(True) == ["a", "b"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    embedding = [w for w in warnings if "embedding cache" in w]
    model = [w for w in warnings if "compiled model" in w]  # only when this process compiles the model first
    assert len(embedding) == 1 and len(model) <= 1, warnings
    info = run("cache", "info", env={"SEMSEARCH_CACHE_DIR": str(root)})
    assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
    assert "unusable" in info.stdout
    if kind != "cache dir is a file":
        cleared = run("cache", "clear", env={"SEMSEARCH_CACHE_DIR": str(root)})
        assert cleared.returncode == 0, cleared.stderr
        again = run("cache", "info", "--json", env={"SEMSEARCH_CACHE_DIR": str(root)})
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["vectors"] == {}


# ------------------------------------------------------------------ 16. arguments that used to slip through


def test_min_score_nan_on_the_command_line_is_a_usage_error(saved_seeds_index):
    assert "min" in assert_one_line_error(
        run("query", "-i", str(saved_seeds_index), "--min-score", "nan", "网格"), 2
    )


def test_max_tokens_zero_on_the_command_line_is_a_usage_error(tmp_path, seeds_dir):
    result = run("build", str(seeds_dir), "-o", str(tmp_path / "idx"), "--max-tokens", "0", "--no-progress")
    assert "max_tokens" in assert_one_line_error(result, 2)
