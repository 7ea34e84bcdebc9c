"""The lexical analysis: script-insensitive normalisation, jieba words and character bigrams, user words."""

import pytest

from semsearch import Document, Index, IndexCorruptError, InputError
from semsearch.storage.local.lexical import LexicalIndex
from semsearch.text.analyzer import Analyzer, bigrams, normalize, normalize_with_offsets


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


def test_preloading_jieba_in_the_background_gives_the_same_terms():
    text = "推进五基三化建设和百千万工程，网格员走访独居老人"
    for analyzer in (Analyzer(), Analyzer(user_words=("五基三化 10 nz",))):
        expected = Analyzer(user_words=analyzer.user_words).tokens(text)
        analyzer.preload()
        assert analyzer.tokens(text) == expected  # waits for the thread, never a half-loaded dictionary


@pytest.mark.parametrize("word", ["五基\n三化", "五基三化\r", "五基\u2028三化", "五基\x00三化", " "])
def test_a_user_word_holding_a_line_break_or_control_is_refused(word):
    """Issue 24, item 17: a user-dictionary word with a newline was accepted (and jieba read two entries)."""
    with pytest.raises(InputError, match="user word"):
        Analyzer(user_words=(word,))
    assert Analyzer(user_words=("五基三化 10 nz",)).user_words == ("五基三化 10 nz",)


def test_jieba_rs_analyzers_share_its_default_dictionary_and_keep_user_words_their_own():
    """jieba-rs's import already loads its dictionary; the shared tokenizer is that one, not a second copy."""
    text = "推进五基三化建设和百千万工程"
    plain, other = Analyzer(segmenter="jieba-rs"), Analyzer(segmenter="jieba-rs", mode="precise")
    own = Analyzer(segmenter="jieba-rs", user_words=("五基三化 10 nz",))
    assert plain.tokenizer is other.tokenizer is not own.tokenizer
    assert "五基三化" in own.tokens(text)
    assert "五基三化" not in plain.tokens(text) and "五基三化" not in Analyzer(segmenter="jieba-rs").tokens(
        text
    )
    assert plain.tokens(text) == Analyzer(segmenter="jieba").tokens(text)  # the same words as jieba here
