"""Hybrid retrieval: script-insensitive jieba BM25, fusion with the dense side, highlights."""

import json
import shutil

import pytest

from semsearch import Document, Index, IndexCorruptError, InputError
from semsearch.records import FusionConfig
from semsearch.search.fusion import default_fusion, fuse
from semsearch.storage.local.files import MANIFEST
from semsearch.storage.local.lexical import LexicalIndex
from semsearch.text.analyzer import Analyzer, bigrams, normalize, normalize_with_offsets
from tests.conftest import TRADITIONAL_SEEDS


def test_normalize_folds_width_case_and_script():
    assert normalize("ＡＢＣ１２３，網格員") == "abc123,网格员"
    folded, origin = normalize_with_offsets("Ｘ網格\u3000員")
    assert folded == "x网格 员" and origin == (0, 1, 2, 3, 4)


def test_offsets_survive_characters_that_expand():
    folded, origin = normalize_with_offsets("㈠網格")  # NFKC turns ㈠ into three characters
    assert folded == "(一)网格"
    assert origin == (0, 0, 0, 1, 2)


def test_tokens_drop_function_words_and_punctuation_but_keep_numbers_and_latin():
    tokens = Analyzer(terms="words").tokens("我们的网格员，有33名！GDP增长了。")
    assert "网格" in tokens and "33" in tokens and "gdp" in tokens
    assert not {"我们", "的", "，", "！", "了", "。"} & set(tokens)
    # Bigrams run within Chinese text and never across punctuation.
    assert not {"，", "员，", "，有", "！", "。"} & set(
        Analyzer().tokens("我们的网格员，有33名！GDP增长了。")
    )


def test_bigrams_cover_what_jieba_cuts_wrong():
    # jieba cuts 网格员有 into 网格 / 员有: the word 网格员 is lost, the bigrams keep 格员.
    assert bigrams("网格员有33名") == ["网格", "格员", "员有", "名"]
    assert "格员" not in Analyzer(terms="words").tokens("网格员有33名")
    both = Analyzer().tokens("网格员有33名！GDP增长了")
    assert {"格员", "增长", "33", "gdp"} <= set(both)
    assert Analyzer(terms="bigrams").tokens("C919首飞") == ["c919", "首飞"]
    with pytest.raises(InputError, match="unknown lexical terms"):
        Analyzer(terms="trigrams")


@pytest.mark.parametrize("terms", ["words", "bigrams", "words+bigrams"])
def test_lone_latin_letters_and_possessive_fragments_are_not_terms(terms):
    tokens = Analyzer(terms=terms).tokens("China's space station: it's the S-SAR 01 satellite")
    assert {"china", "space", "station", "sar", "01"} <= set(tokens)
    assert not {"s", "t", "'"} & set(tokens)


def test_possessive_s_does_not_put_a_chunk_with_a_lone_s_first():
    docs = [
        Document(doc_id="station", text="中国空间站的三名航天员顺利完成出舱活动，神舟乘组在轨工作状态良好。"),
        Document(doc_id="sar", text="S-SAR 01卫星发射成功，这颗雷达卫星将用于自然灾害监测和国土资源调查。"),
        Document(doc_id="tea", text="茶农在春季采摘新茶，合作社统一收购加工，带动村民增收致富。"),
    ]
    index = Index.build(docs)
    query = "China's space station astronauts"
    assert index.search(query, k=3, mode="lexical") == []  # no term left that the chunks share
    assert index.search(query, k=1)[0].doc_id == "station"


def test_an_index_from_before_bigrams_keeps_its_word_analysis():
    spec = {"analyzer_version": 1, "tokenizer": "jieba/search", "user_words": []}  # format 1 manifest
    analyzer = Analyzer.from_spec(spec)
    assert analyzer.terms == "words" and "格员" not in analyzer.tokens("网格员有")
    assert Analyzer.from_spec(Analyzer(terms="bigrams").spec()).terms == "bigrams"
    with pytest.raises(IndexCorruptError, match="analyzer version 9"):
        Analyzer.from_spec({**spec, "analyzer_version": 9})
    with pytest.raises(IndexCorruptError, match="terms 'trigrams'"):
        Analyzer.from_spec({**spec, "analyzer_version": 2, "terms": "trigrams"})


def test_bigram_highlights_merge_into_one_span():
    analyzer = Analyzer()
    index = LexicalIndex.build(analyzer, [1], ["這些網格員在網格裡"])
    marks = analyzer.highlights(index.query_terms("网格员"), "這些網格員在網格裡")
    assert [(m.term, m.start, m.end) for m in marks] == [("网格员", 2, 5), ("网格", 6, 8)]


def test_user_dictionary_keeps_programme_names_whole(tmp_path):
    text = "推进五基三化建设和百千万工程"
    assert "五基三化" not in Analyzer().tokens(text)
    words = tmp_path / "words.txt"
    words.write_text("# programme names\n五基三化 10 nz\n百千万工程\n", encoding="utf-8")
    tokens = Analyzer.from_user_dict(words).tokens(text)
    assert "五基三化" in tokens and "百千万工程" in tokens
    with pytest.raises(InputError, match="does not exist"):
        Analyzer.from_user_dict(tmp_path / "missing.txt")


def test_analyzers_share_jiebas_dictionary_but_user_words_stay_their_own():
    """jieba's dictionary (53 MiB a copy) is loaded once per process; user words never leak between indexes."""
    text = "推进五基三化建设和百千万工程"
    plain, other = Analyzer(), Analyzer(mode="precise")
    own = Analyzer(user_words=("五基三化 10 nz",))
    assert plain.tokenizer is other.tokenizer is not own.tokenizer
    assert "五基三化" in own.tokens(text)
    assert "五基三化" not in plain.tokens(text) and "五基三化" not in Analyzer().tokens(text)


def test_user_dictionary_is_recorded_and_used_after_loading(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("五基三化\n", encoding="utf-8")
    docs = [
        Document(doc_id="a", text="全县推进五基三化建设，夯实基层组织。"),
        Document(doc_id="b", text="五月基层三项工作化整为零，逐步推进。"),
    ]
    index = Index.build(docs, user_dict=words)
    assert index.manifest.lexical["user_words"] == ["五基三化"]
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    hits = loaded.search("五基三化", k=2, mode="lexical")
    assert [h.doc_id for h in hits] == ["a"]  # b has the characters, not the word
    assert hits[0].highlights[0].term == "五基三化"


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


def test_save_load_keeps_lexical_results_and_records_them(seeds_index, saved_seeds_index):
    manifest = json.loads((saved_seeds_index / MANIFEST).read_text(encoding="utf-8"))
    assert "lexical" in manifest["files"] and manifest["lexical"]["tokenizer"] == "jieba/search"
    assert manifest["fusion"]["method"] in ("rrf", "weighted")
    loaded = Index.load(saved_seeds_index)
    for query in ("网格员", "袁崇煥故里", "2023年"):
        before = [(h.chunk_id, round(h.score, 4)) for h in seeds_index.search(query, k=5, mode="lexical")]
        after = [(h.chunk_id, round(h.score, 4)) for h in loaded.search(query, k=5, mode="lexical")]
        assert before == after


def test_damaged_lexical_file_is_corrupt(index_copy):
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    entry = manifest["files"]["lexical"]
    (index_copy / entry["name"]).write_bytes(b"{" + b" " * (entry["bytes"] - 1))
    with pytest.raises(IndexCorruptError, match="checksum"):
        Index.load(index_copy)
    # Without verification the damage goes unnoticed while BM25 answers from its own saved file, but
    # it is never saved into a new generation as sound, nor used for a change.
    index = Index.load(index_copy, verify=False)
    assert index.search("网格员", k=1, mode="lexical")
    with pytest.raises(IndexCorruptError, match=f"{entry['name']} fails its SHA-256 checksum"):
        index.save()
    with pytest.raises(IndexCorruptError, match=f"{entry['name']} is not a readable lexical index"):
        index.remove([index.doc_ids()[0]])


def test_damaged_bm25_file_is_corrupt_and_unreadable_bm25_is_rebuilt(seeds_index, index_copy, caplog):
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    bm25_dir = index_copy / manifest["files"]["bm25"]["name"]
    assert manifest["files"]["bm25"]["kind"] == "dir" and (bm25_dir / "chunk_ids.npy").is_file()
    params = bm25_dir / "params.index.json"
    params.write_text(params.read_text(encoding="utf-8").replace('"k1"', '"x1"'), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="fails its SHA-256 checksum"):
        Index.load(index_copy)
    # Unverified, a BM25 file this bm25s cannot read is rebuilt from the saved terms, with a warning.
    loaded = Index.load(index_copy, verify=False)
    assert "rebuilding BM25 from the saved terms" in caplog.text
    query = "全科网格员"
    assert [h.chunk_id for h in loaded.search(query, k=5, mode="lexical")] == [
        h.chunk_id for h in seeds_index.search(query, k=5, mode="lexical")
    ]
    (bm25_dir / "vocab.index.json").unlink()
    with pytest.raises(IndexCorruptError, match="bytes but the manifest says"):
        Index.load(index_copy, verify=False)


def test_index_saved_without_a_lexical_file_gets_one_on_load(seeds_index, index_copy):
    manifest = json.loads((index_copy / MANIFEST).read_text(encoding="utf-8"))
    (index_copy / manifest["files"].pop("lexical")["name"]).unlink()
    shutil.rmtree(index_copy / manifest["files"].pop("bm25")["name"])  # saved before either existed
    manifest.pop("lexical")
    (index_copy / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    loaded = Index.load(index_copy)
    query = "全科网格员"
    assert [h.chunk_id for h in loaded.search(query, k=5, mode="lexical")] == [
        h.chunk_id for h in seeds_index.search(query, k=5, mode="lexical")
    ]


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


@pytest.mark.slow
def test_traditional_text_is_embedded_as_simplified_and_the_setting_is_recorded(tmp_path):
    simplified = "这些网格员每周入户走访，记录群众反映的问题并及时上报处理。"
    traditional = "這些網格員每週入戶走訪，記錄群眾反映的問題並及時上報處理。"
    query = "网格员多久入户走访一次"
    built = {
        name: Index.build([Document(doc_id="a", text=text)], **options)
        for name, text, options in (
            ("simplified", simplified, {}),
            ("traditional", traditional, {}),
            ("as-written", traditional, {"embed_script": "as-written"}),
        )
    }
    score = {name: index.search(query, k=1, mode="dense")[0].score for name, index in built.items()}
    assert score["traditional"] == pytest.approx(score["simplified"], abs=1e-6)
    assert score["as-written"] != pytest.approx(score["simplified"], abs=1e-4)
    built["traditional"].save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded.embed_script == "simplified" and "網格員" in loaded.search(query, k=1)[0].text
    with pytest.raises(InputError, match="embed_script must be one of"):
        Index.build([Document(doc_id="a", text=simplified)], embed_script="pinyin")


def test_preloading_jieba_in_the_background_gives_the_same_terms():
    text = "推进五基三化建设和百千万工程，网格员走访独居老人"
    for analyzer in (Analyzer(), Analyzer(user_words=("五基三化 10 nz",))):
        expected = Analyzer(user_words=analyzer.user_words).tokens(text)
        analyzer.preload()
        assert analyzer.tokens(text) == expected  # waits for the thread, never a half-loaded dictionary
