"""Ranking plumbing with a keyword encoder (dense scores known exactly), then the modes on the seeds on every backend."""

import numpy as np
import pytest

from semsearch import Document, Index, InputError
from semsearch.defaults import MODES
from semsearch.search.searcher import SearchOptions
from semsearch.text.analyzer import normalize
from tests.support.corpora import TRADITIONAL_SEEDS
from tests.support.keyword_encoder import WORDS, KeywordEncoder

# Each document is one paragraph (over 30 characters, so nothing is merged) naming a few known words.
TEXTS = {
    "fruit": "apple banana cherry grape lemon, a basket of fruit on the table.",
    "apple": "apple apple apple pie was served, and apple cider after the meal.",
    "coast": "ocean harbour island, the ships came into the harbour at dawn.",
    "hills": "mountain valley forest river, a long walk through the wild country.",
    "mixed": "apple orchard by the river valley, where the mountain stream runs.",
}


MANY = Document(
    "many", "\n\n".join(f"Paragraph {i}: the apple trees stand in row {i} of the orchard." for i in range(8))
)


@pytest.fixture(scope="module")
def index(keyword_index):
    docs = [Document(doc_id, text) for doc_id, text in TEXTS.items()]
    return keyword_index([*docs, MANY], min_chars=10)


def _cosines(query: str, index: Index) -> dict[int, float]:
    encoder = KeywordEncoder()
    return {c.chunk_id: float(encoder.vector(query) @ encoder.vector(c.text)) for c in index.chunks()}


def test_dense_mode_ranks_by_exact_cosine(index):
    query = "apple river valley"
    exact = _cosines(query, index)
    hits = index.search(query, k=len(index), mode="dense")
    assert len(hits) == len(index) == len(exact)
    # Scores are the exact cosines, best first (ties may come in either order).
    assert np.allclose([h.score for h in hits], sorted(exact.values(), reverse=True), atol=1e-5)
    assert all(abs(h.score - exact[h.chunk_id]) < 1e-5 for h in hits)
    assert hits[0].doc_id == "mixed" and hits[0].scores["dense_rank"] == 1


def test_lexical_mode_returns_only_chunks_sharing_a_word(index):
    hits = index.search("harbour", k=10, mode="lexical")
    assert [h.doc_id for h in hits] == ["coast"]
    assert {
        index.search("harbour", k=1, mode="lexical")[0].text[h.start : h.end] for h in hits[0].highlights
    } == {"harbour"}


def test_hybrid_hits_carry_both_sides_and_the_fused_score(index):
    hits = index.search("mountain valley", k=3, mode="hybrid")
    assert hits[0].doc_id in ("hills", "mixed")
    top = hits[0].scores
    assert {"dense", "dense_rank", "lexical", "lexical_rank", "fused"} <= set(top)
    assert hits[0].score == top["fused"]


def test_max_per_doc_grows_the_depth_until_k_documents_are_found(index):
    hits = index.search("apple", k=4, mode="dense", max_per_doc=1)
    assert len(hits) == 4 and len({h.doc_id for h in hits}) == 4
    crowded = index.search("apple", k=4, mode="dense")
    assert (
        len({h.doc_id for h in crowded}) < 4
    )  # the eight apple paragraphs of "many" fill it without the cap


def test_min_score_cuts_on_the_modes_scale(index):
    hits = index.search("apple", k=len(index), mode="dense", min_score=0.5)
    assert hits and all(h.score >= 0.5 for h in hits)
    assert len(hits) < len(index)


def test_a_filter_is_applied_before_the_top_k_cut(index):
    searcher = index.searcher()
    allowed = {c.chunk_id for c in index.chunks() if c.doc_id in ("coast", "hills")}
    ranked = searcher.rank(["apple"], SearchOptions(k=2, mode="dense"), keep=lambda ids: set(ids) & allowed)
    assert len(ranked[0]) == 2 and {c.chunk_id for c in ranked[0]} <= allowed


def test_sides_give_each_rankings_unfused(index):
    (sides,) = index.searcher().sides(["harbour island"], depth=3)
    assert sides.lexical[0].chunk_id == sides.dense[0].chunk_id
    assert len(sides.dense) == 3 and len(sides.lexical) == 1


def test_queries_embed_through_the_index_encoder(index):
    vectors = index.searcher().embed_queries(["  apple\tbanana  "])
    assert np.allclose(vectors[0], KeywordEncoder().vector("apple banana"))
    assert vectors.shape == (1, len(WORDS))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": True}, "k must be a positive integer"),
        ({"mode": "fuzzy"}, "mode must be one of hybrid, dense, lexical"),
        ({"min_score": "high"}, "min_score must be a number"),
        ({"max_per_doc": 0}, "max_per_doc must be a positive integer"),
    ],
)
def test_bad_options_name_the_culprit(options, message):
    with pytest.raises(InputError, match=message):
        SearchOptions(**options)


def test_modes_are_defined_once():
    assert MODES == ("hybrid", "dense", "lexical")


# ---------------------------------------------------------------------- the seeds, on every backend


def test_simplified_query_finds_traditional_paragraph_in_lexical_mode(any_seeds_index):
    hits = any_seeds_index.search("修文镇全科网格员", k=3, mode="lexical")
    assert hits[0].doc_id in TRADITIONAL_SEEDS and "全科網格員" in hits[0].text
    marked = {hits[0].text[h.start : h.end] for h in hits[0].highlights}
    assert "網格" in marked or "網格員" in marked  # highlighted in the script the text is written in


def test_lexical_mode_does_not_load_the_model(saved_seeds_index, monkeypatch):
    import semsearch.encoders.loading

    def refuse(spec: dict, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"the model {spec} was loaded for a lexical search")

    monkeypatch.setattr(semsearch.encoders.loading, "encoder_from_spec", refuse)
    index = Index.load(saved_seeds_index)
    assert index.search("乡村振兴", k=3, mode="lexical")


def test_english_query_finds_its_paragraph_in_hybrid_mode(any_seeds_index):
    query = "How many full-time grid workers does Jiangmen have?"
    assert (
        any_seeds_index.search(query, k=5, mode="lexical") == []
    )  # no shared words: only the dense side can help
    hits = any_seeds_index.search(query, k=5, mode="hybrid")
    assert any("4500名专职网格员" in h.text for h in hits)


def test_hybrid_hits_carry_both_sides_and_highlights_point_at_the_terms(any_seeds_index):
    hits = any_seeds_index.search("网格员激励机制", k=5)
    assert hits[0].scores.keys() >= {"dense", "fused"}
    assert any("lexical" in h.scores for h in hits)
    for hit in hits:
        for mark in hit.highlights:
            assert normalize(hit.text[mark.start : mark.end]) == mark.term
        assert [m.start for m in hit.highlights] == sorted(m.start for m in hit.highlights)
    data = hits[0].to_dict()
    assert data["highlights"] and {"term", "start", "end"} <= data["highlights"][0].keys()


def test_modes_rank_differently_and_respect_filters(any_seeds_index):
    lexical = any_seeds_index.search("道德银行", k=20, mode="lexical", min_score=1.0)
    assert lexical and all(h.score >= 1.0 for h in lexical)
    assert all(h.scores["lexical_rank"] == h.rank for h in lexical)
    one_each = any_seeds_index.search("网格", k=5, mode="lexical", max_per_doc=1)
    assert len({h.doc_id for h in one_each}) == len(one_each) >= 3
    with pytest.raises(InputError, match="mode must be one of"):
        any_seeds_index.search("网格", mode="bm25")
