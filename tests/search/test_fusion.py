"""Fusing the dense and the lexical ranking: RRF and weighted sums worked by hand, settings checked."""

import pytest

from semsearch import InputError
from semsearch.records import FusionConfig
from semsearch.search.fusion import coverage, default_fusion, fuse, lexical_speaks


def test_reciprocal_rank_fusion_by_hand():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 9.0), (4, 5.0)]
    fused = fuse(dense, lexical, FusionConfig("rrf", rrf_k=10, depth=3))
    scores = {cid: score for cid, score, _ in fused}
    assert scores[3] == pytest.approx(1 / 13 + 1 / 11)
    assert scores[1] == pytest.approx(1 / 11)
    assert [cid for cid, _, _ in fused] == [3, 1, 2, 4]  # 2 and 4 tie at 1/12: the lower id first


def test_weighted_fusion_by_hand():
    legacy = FusionConfig("weighted", weight=0.5, norm="lexical-top")
    fused = fuse([(1, 0.9), (2, 0.5)], [(2, 4.0), (3, 2.0)], legacy)
    scores = {cid: score for cid, score, _ in fused}
    assert scores[2] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    # The lexical list is shorter than the depth asked for, so it is complete: chunk 1 shares no word
    # with the query and scores 0 on that side.
    assert scores[1] == pytest.approx(0.5 * 0.9 + 0.5 * 0.0)
    assert scores[3] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)  # dense missed it: its lowest score stands in
    # A full lexical list (as long as asked for) may have cut chunk 1 off: its lowest score stands in.
    full = {cid: score for cid, score, _ in fused_at(depth=2)}
    assert full[1] == pytest.approx(0.5 * 0.9 + 0.5 * 0.5)


def fused_at(depth):
    legacy = FusionConfig("weighted", weight=0.5, norm="lexical-top")
    return fuse([(1, 0.9), (2, 0.5)], [(2, 4.0), (3, 2.0)], legacy, depth)


@pytest.mark.parametrize(
    ("norm", "expected"),
    [
        # dense 0.9, 0.5 (floor 0.5); lexical 4, 2 (complete list: floor 0)
        ("top", {1: 0.5 * 1.0 + 0.5 * 0.0, 2: 0.5 * 0.5 / 0.9 + 0.5 * 1.0, 3: 0.5 * 0.5 / 0.9 + 0.5 * 0.5}),
        ("minmax", {1: 0.5 * 1.0 + 0.5 * 0.0, 2: 0.5 * 0.0 + 0.5 * 1.0, 3: 0.5 * 0.0 + 0.5 * 0.5}),
        ("zscore", {1: 0.5 * 1.0 + 0.5 * -3.0, 2: 0.5 * -1.0 + 0.5 * 1.0, 3: 0.5 * -1.0 + 0.5 * -1.0}),
    ],
)
def test_each_normalisation_by_hand(norm, expected):
    fused = fuse([(1, 0.9), (2, 0.5)], [(2, 4.0), (3, 2.0)], FusionConfig("weighted", weight=0.5, norm=norm))
    assert {cid: score for cid, score, _ in fused} == pytest.approx(expected)


def test_normalised_fusion_ignores_each_sides_scale():
    dense, lexical = [(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 12.0), (2, 3.0)]
    for norm in ("top", "minmax", "zscore"):
        config = FusionConfig("weighted", weight=0.5, norm=norm)
        scaled = [(cid, 10 * s) for cid, s in lexical]
        assert [c for c, _, _ in fuse(dense, lexical, config)] == [
            c for c, _, _ in fuse(dense, scaled, config)
        ]


def test_fusion_saved_before_norm_existed_keeps_lexical_top():
    old = FusionConfig.from_manifest({"method": "weighted", "weight": 0.95, "depth": 50, "rrf_k": 5.0})
    assert old.norm == "lexical-top" and "norm" not in old.to_manifest()
    assert FusionConfig.from_manifest(FusionConfig().to_manifest()) == FusionConfig()
    assert FusionConfig.parse("weighted:weight=0.5,norm=zscore").norm == "zscore"
    with pytest.raises(InputError, match="unknown fusion norm"):
        FusionConfig.parse("weighted:norm=median")


def test_a_chunk_only_one_side_found_never_ties_the_other_sides_best():
    # One lexical hit: its score is both the best and the lowest listed. A chunk only the dense side
    # found must not share it (at weight 0 the order must be the lexical order, then the rest).
    fused = fuse([(7, 0.9), (8, 0.8)], [(8, 3.0)], FusionConfig("weighted", weight=0.0, depth=10))
    assert [cid for cid, _, _ in fused] == [8, 7]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "max"}, "unknown fusion method"), ({"weight": 2}, "within"), ({"depth": 0}, "positive")],
)
def test_fusion_config_is_validated(kwargs, message):
    with pytest.raises(InputError, match=message):
        FusionConfig(**kwargs)


def test_default_fusion_is_tuned_for_the_bundled_model_only(seeds_index):
    assert seeds_index.fusion == default_fusion(seeds_index.manifest.encoder_identity)
    assert seeds_index.fusion.method == "weighted"
    other = default_fusion("sentence-transformers/BAAI/bge-small-zh-v1.5|q=''|p=''|d=512")
    assert other.method == "rrf" and other.depth == 20


def test_coverage_is_the_share_of_query_terms_the_corpus_holds():
    assert coverage([3, 0, 1, 0]) == 0.5
    assert coverage([0, 0]) == 0.0 and coverage([]) == 0.0
    gate = FusionConfig(min_coverage=0.5)
    assert lexical_speaks(0.5, gate) and not lexical_speaks(0.49, gate)
    # With no threshold the side still says nothing when none of the query's terms occur.
    assert lexical_speaks(0.01, FusionConfig(min_coverage=0.0)) and not lexical_speaks(0.0, gate)


def test_query_time_settings_round_trip_and_stay_out_of_the_manifest_at_their_defaults():
    assert set(FusionConfig().to_manifest()) == {"method", "rrf_k", "weight", "depth", "norm"}
    tuned = FusionConfig.parse(
        "weighted:weight=0.9,coverage=0.3,feedback=on,feedback_docs=3,feedback_weight=0.5"
    )
    assert (tuned.min_coverage, tuned.feedback, tuned.feedback_docs, tuned.feedback_weight) == (
        0.3,
        "on",
        3,
        0.5,
    )
    assert FusionConfig.from_manifest(tuned.to_manifest()) == tuned
    # An index saved before these settings existed follows today's defaults.
    assert FusionConfig.from_manifest({"method": "weighted", "weight": 0.95, "depth": 10}).feedback == "auto"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("weighted:coverage=1.5", "min_coverage must be within"),
        ("weighted:feedback=maybe", "unknown feedback 'maybe'"),
        ("weighted:feedback_docs=0", "feedback_docs must be a positive integer"),
        ("weighted:feedback_weight=-1", "feedback_weight must be 0 or more"),
        ("weighted:coverage=half", "is not a number"),
    ],
)
def test_query_time_settings_are_validated(spec, message):
    with pytest.raises(InputError, match=message):
        FusionConfig.parse(spec)
