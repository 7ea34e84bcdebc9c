"""Issue 15 point 7: the small things a new user trips on."""

import pytest

from semsearch import InputError
from semsearch.search.evaluation import Judgments, evaluate, tune_fusion
from tests.test_cli import run


def test_remove_of_an_unknown_id_points_at_a_command_that_lists_ids(seeds_index):
    with pytest.raises(InputError, match=r"semsearch docs -i INDEX"):
        seeds_index.remove(["no-such-id"])


@pytest.mark.slow
def test_query_with_empty_stdin_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), stdin="")
    assert result.returncode == 2 and "no query on stdin" in result.stderr


@pytest.mark.slow
def test_cache_clear_of_an_unknown_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(tmp_path))
    result = run("cache", "clear", "--model", "no-such-model")
    assert result.returncode == 2
    assert "the cache holds no vectors of 'no-such-model'" in result.stderr


def _easy_judgments(index):
    # Each question is a document's own opening: every setting ranks it first, so all settings tie.
    queries, relevant = {}, {}
    for doc_id in index.doc_ids():
        queries[doc_id] = index.document(doc_id)["clean_text"][:40]
        relevant[doc_id] = frozenset({doc_id})
    return Judgments(queries, relevant)


def test_tune_keeps_the_current_setting_when_nothing_beats_it(seeds_index):
    judgments = _easy_judgments(seeds_index)
    tuning = tune_fusion(seeds_index, judgments)
    assert tuning.metrics["MRR@10"] == 1.0
    assert tuning.best == seeds_index.fusion


def test_evaluate_and_tune_report_progress(seeds_index):
    judgments = _easy_judgments(seeds_index)
    seen = []
    evaluate(seeds_index, judgments, ("dense", "lexical"), progress=seen.append)
    assert sum(seen) == 2 * len(judgments)
    seen.clear()
    tune_fusion(seeds_index, judgments, progress=seen.append)
    assert sum(seen) == len(judgments)
