"""Split BM25: a stored document half and a query-time IDF half whose product is bm25s's score."""

import numpy as np
import pytest

from semsearch.storage.local.lexical import LexicalIndex
from semsearch.storage.milvus.split_bm25 import (
    CorpusStats,
    document_frequencies,
    document_weights,
    idf,
    needs_reweighting,
    query_weights,
)
from semsearch.text.analyzer import Analyzer

QUERIES = ["网格化管理如何推动基层治理", "乡村振兴", "網格員", "党建引领", "村民 服务 小会"]


def _split_scores(analyzer, term_lists, stats, query):
    df = document_frequencies(term_lists)
    weights = query_weights(analyzer.tokens(query), df, stats.chunks)
    docs = [document_weights(terms, stats) for terms in term_lists]
    return np.array([sum(w * d.get(t, 0.0) for t, w in weights.items()) for d in docs])


def test_split_scores_equal_bm25s_scores(paragraphs):
    analyzer = Analyzer()
    ids = list(range(len(paragraphs)))
    local = LexicalIndex.build(analyzer, ids, paragraphs)
    term_lists = [analyzer.tokens(p) for p in paragraphs]
    stats = CorpusStats().changed([len(t) for t in term_lists], [])
    for query in QUERIES:
        expected = local.search(query, len(paragraphs))
        scores = _split_scores(analyzer, term_lists, stats, query)
        assert expected, query
        for chunk_id, score in expected:
            assert scores[chunk_id] == pytest.approx(score, rel=1e-5)
        assert np.count_nonzero(scores) == len(expected)


def test_adding_documents_keeps_old_weights_and_drift_is_reported():
    stats = CorpusStats().changed([10, 20, 30], [])
    assert stats.weighted_avgdl == 20 and stats.drift == 0
    before = document_weights(["a", "a", "b"], stats)
    grown = stats.changed([100, 100], [])
    assert grown.weighted_avgdl == 20  # frozen: old rows need no rewrite
    assert document_weights(["a", "a", "b"], grown) == before
    assert grown.avgdl == 52 and grown.drift == pytest.approx(1.6)
    assert needs_reweighting(grown) and not needs_reweighting(stats)
    shrunk = grown.changed([], [100, 100])
    assert shrunk.chunks == 3 and shrunk.avgdl == 20


def test_query_side_ignores_unknown_terms_and_repeats():
    weights = query_weights(["a", "b", "a", "z"], {"a": 1, "b": 5, "z": 0}, 10)
    assert list(weights) == ["a", "b"]
    assert weights["a"] == pytest.approx(idf(1, 10)) and weights["a"] > weights["b"]


def test_negative_statistics_are_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        CorpusStats().changed([], [5])
