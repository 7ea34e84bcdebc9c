"""Ranking plumbing with a keyword encoder (dense scores known exactly), then the modes on the seeds on every backend."""

import dataclasses

import numpy as np
import pytest

from semsearch import Document, Index, InputError
from semsearch.defaults import MODES
from semsearch.search.searcher import Searcher, SearchOptions
from semsearch.text.analyzer import normalize
from tests.support.corpora import TRADITIONAL_SEEDS
from tests.support.keyword_encoder import WORDS, BilingualEncoder, KeywordEncoder

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


# ------------------------------------------------- English questions over Chinese text (bilingual encoder)

# Chinese passages the bilingual encoder reads as keywords (港口 harbour, 岛屿 island, 海洋 ocean...); the
# "stray" one names a place in Latin letters too, as Chinese news does, so an English question shares a
# single word with it and nothing else with the corpus.
CHINESE_TEXTS = {
    "coast": "港口和岛屿之间的海洋航线今年开通，渔船每天清晨进港卸货。",
    "stray": "纽约长岛（Long Island）的苹果园今年丰收，果农忙着采摘苹果。",
    "hills": "山里的森林和河流养育了这里的村民，游客沿着河流走进森林。",
    "fruit": "香蕉和樱桃在市场上很受欢迎，苹果的价格也比去年便宜。",
}
ENGLISH_QUESTION = "Which island harbour takes ships from the ocean every day?"


@pytest.fixture(scope="module")
def chinese_index():
    from semsearch.records import FusionConfig

    docs = [
        Document(doc_id, text, metadata={"region": "coast" if doc_id in ("coast", "stray") else "inland"})
        for doc_id, text in CHINESE_TEXTS.items()
    ]
    fusion = FusionConfig("rrf", rrf_k=5.0, depth=20, min_coverage=0.5, feedback="off")
    return Index.build(docs, model=BilingualEncoder(), cache=False, min_chars=10, fusion=fusion)


def test_a_query_the_lexical_side_is_silent_on_gets_the_dense_ranking(chinese_index):
    # The question's only term the corpus holds is "island" (in "stray"): a quarter of its terms, under
    # the threshold, so hybrid gives the dense ranking instead of lifting "stray" over "coast".
    assert [h.doc_id for h in chinese_index.search(ENGLISH_QUESTION, k=5, mode="lexical")] == ["stray"]
    dense = [h.doc_id for h in chinese_index.search(ENGLISH_QUESTION, k=4, mode="dense")]
    assert dense[:2] == ["coast", "stray"]
    hybrid = chinese_index.search(ENGLISH_QUESTION, k=4, mode="hybrid")
    assert [h.doc_id for h in hybrid] == dense
    assert not any("lexical" in h.scores for h in hybrid)
    # With no threshold the stray word takes its share of the fused list, as before.
    always = dataclasses.replace(chinese_index.fusion, min_coverage=0.0)
    fused = Searcher(chinese_index.searcher().parts, always, chinese_index.searcher().embed)
    (ranked,) = fused.rank([ENGLISH_QUESTION], SearchOptions(k=4, mode="hybrid"))
    assert chinese_index.searcher().parts.chunks.doc_of([ranked[0].chunk_id])[ranked[0].chunk_id] == "stray"


def test_a_query_sharing_no_term_with_the_corpus_gets_the_dense_ranking(chinese_index):
    query = "harbour ocean ships"
    assert chinese_index.search(query, k=5, mode="lexical") == []
    dense = chinese_index.search(query, k=4, mode="dense")
    assert [h.doc_id for h in chinese_index.search(query, k=4)] == [h.doc_id for h in dense]


def test_a_chinese_query_still_fuses_the_lexical_side(chinese_index):
    hits = chinese_index.search("港口 岛屿 苹果", k=3, mode="hybrid")
    assert any("lexical" in h.scores for h in hits)


def _expected_feedback(index, query, chunk_ids, docs, weight):
    """The dense scores feedback should give ``chunk_ids``: the query moved toward its best ``docs`` of them."""
    encoder = BilingualEncoder()
    texts = {c.chunk_id: c.text for c in index.chunks()}
    vectors = {cid: encoder.vector(texts[cid]) for cid in chunk_ids}
    query_vector = encoder.vector(query)
    best = sorted(chunk_ids, key=lambda cid: (-float(query_vector @ vectors[cid]), cid))[:docs]
    moved = query_vector + weight * np.mean([vectors[cid] for cid in best], axis=0)
    moved /= np.linalg.norm(moved)
    return {cid: float(moved @ vectors[cid]) for cid in chunk_ids}


def test_feedback_moves_the_query_toward_its_best_passages_within_the_filter(chinese_index):
    fusion = dataclasses.replace(chinese_index.fusion, feedback_docs=2, feedback_weight=1.0)
    index = chinese_index
    index.fusion, before = fusion, index.fusion
    try:
        query, where = "apple harbour", {"region": "inland"}
        allowed = [c.chunk_id for c in index.chunks() if c.doc_id in ("hills", "fruit")]
        everywhere = [c.chunk_id for c in index.chunks()]
        expected = _expected_feedback(index, query, allowed, 2, 1.0)
        unfiltered = _expected_feedback(index, query, everywhere, 2, 1.0)
        assert any(abs(expected[c] - unfiltered[c]) > 1e-3 for c in allowed)  # the filter matters here
        hits = index.search(query, k=4, feedback="on", where=where)
        assert {h.doc_id for h in hits} <= {"hills", "fruit"}
        assert {h.chunk_id: h.scores["dense"] for h in hits} == pytest.approx(
            {h.chunk_id: expected[h.chunk_id] for h in hits}, abs=1e-5
        )
        # Deterministic: the same hits and scores every time, alone or in a batch.
        again = index.search_batch([query, "森林"], k=4, feedback="on", where=where)[0]
        assert [(h.chunk_id, h.score) for h in again] == [(h.chunk_id, h.score) for h in hits]
        # "off" searches with the query's own vector.
        plain = index.search(query, k=4, feedback="off", where=where)
        assert {h.chunk_id: h.scores["dense"] for h in plain} != pytest.approx(
            {h.chunk_id: h.scores["dense"] for h in hits}, abs=1e-5
        )
    finally:
        index.fusion = before


def test_auto_feedback_moves_only_queries_the_lexical_side_is_silent_on(chinese_index):
    index = chinese_index
    index.fusion, before = (
        dataclasses.replace(index.fusion, feedback="auto", feedback_weight=1.0),
        index.fusion,
    )
    try:
        chinese = "港口 岛屿 苹果"
        assert [(h.chunk_id, h.score) for h in index.search(chinese, k=3)] == [
            (h.chunk_id, h.score) for h in index.search(chinese, k=3, feedback="off")
        ]
        moved = index.search(ENGLISH_QUESTION, k=3)
        plain = index.search(ENGLISH_QUESTION, k=3, feedback="off")
        assert [h.scores["dense"] for h in moved] != pytest.approx([h.scores["dense"] for h in plain])
    finally:
        index.fusion = before


def test_feedback_is_for_hybrid_search_only(chinese_index):
    with pytest.raises(InputError, match="feedback applies to hybrid search, not dense mode"):
        chinese_index.search("apple", mode="dense", feedback="on")
    with pytest.raises(InputError, match="feedback must be one of off, auto, on, not 'always'"):
        chinese_index.search("apple", feedback="always")


def test_mixed_script_and_pinyin_questions_keep_working(any_seeds_index):
    # An English place name inside a Chinese question: most terms still occur, so BM25 is fused.
    mixed = any_seeds_index.search("Jiangmen有多少名专职网格员？", k=5)
    assert any("lexical" in h.scores for h in mixed)
    assert any("4500名专职网格员" in h.text for h in mixed)
    # Pinyin shares no term with the corpus: hybrid gives the dense side's documents, in its order.
    pinyin = "quanke wanggeyuan"
    assert any_seeds_index.search(pinyin, k=5, mode="lexical") == []
    dense = [h.chunk_id for h in any_seeds_index.search(pinyin, k=5, mode="dense")]
    assert [h.chunk_id for h in any_seeds_index.search(pinyin, k=5, feedback="off")] == dense
