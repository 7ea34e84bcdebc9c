"""semsearch evaluate, tune and --fusion on the command line."""

import json

from semsearch.defaults import DEFAULT_FEEDBACK_DOCS, DEFAULT_FEEDBACK_WEIGHT, DEFAULT_MIN_COVERAGE
from tests.support.cli import run


def test_cli_evaluate_and_tune_save_the_best_fusion(index_copy, paraphrase_folder):
    shown = run("evaluate", "-i", str(index_copy), "--data", str(paraphrase_folder), "--json")
    assert shown.returncode == 0, shown.stderr
    assert set(json.loads(shown.stdout)["modes"]) == {"dense", "lexical", "hybrid"}

    tuned = run("tune", "-i", str(index_copy), "--data", str(paraphrase_folder), "--save", "--json")
    assert tuned.returncode == 0, tuned.stderr
    best = json.loads(tuned.stdout)["best"]
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fusion"] == best

    bad = run("evaluate", "-i", str(index_copy), "--data", str(paraphrase_folder), "--modes", "fuzzy")
    assert bad.returncode == 2 and "--modes takes hybrid, dense, lexical, not 'fuzzy'" in bad.stderr


def test_cli_fusion_option_is_parsed_and_checked(index_copy):
    ok = run("query", "-i", str(index_copy), "--fusion", "rrf:k=60,depth=20", "--json", "乡村振兴")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["scores"]["fused"] <= 2 / 61  # RRF with k=60: at most 1/61 per side
    bad = run("query", "-i", str(index_copy), "--fusion", "rrf:speed=3", "乡村振兴")
    assert bad.returncode == 2 and "cannot read fusion setting 'speed=3'" in bad.stderr


def test_cli_feedback_option_is_checked_and_the_fusion_described(index_copy):
    query = "How many full-time grid workers does Jiangmen have?"
    ok = run("query", "-i", str(index_copy), "--feedback", "on", "--json", query)
    assert ok.returncode == 0, ok.stderr
    assert any("4500名专职网格员" in hit["text"] for hit in json.loads(ok.stdout))
    dense = run("query", "-i", str(index_copy), "--feedback", "on", "--mode", "dense", query)
    assert dense.returncode != 0 and "feedback applies to hybrid search, not dense mode" in dense.stderr
    assert "Traceback" not in dense.stderr
    bad = run("query", "-i", str(index_copy), "--fusion", "weighted:feedback=maybe", query)
    assert bad.returncode == 2 and "unknown feedback 'maybe'" in bad.stderr
    info = run("info", "-i", str(index_copy))
    assert f"BM25 left out when under {DEFAULT_MIN_COVERAGE:g} of a query's words occur" in info.stdout
    feedback = f"(top {DEFAULT_FEEDBACK_DOCS} passages at weight {DEFAULT_FEEDBACK_WEIGHT:g})"
    assert f"dense feedback when BM25 is left out {feedback}" in info.stdout
