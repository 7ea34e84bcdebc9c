"""Ranking plumbing with a keyword encoder, whose dense scores are known exactly: modes, filters, depth growth."""

import numpy as np
import pytest

from semsearch import Document, Index, InputError
from semsearch.defaults import MODES
from semsearch.search.searcher import SearchOptions
from tests.keyword_encoder import WORDS, KeywordEncoder

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
def index():
    docs = [Document(doc_id, text) for doc_id, text in TEXTS.items()]
    return Index.build([*docs, MANY], model=KeywordEncoder(), cache=False, min_chars=10)


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
