"""Cleaning news text: pinyin readings, lost characters, punctuation, page chrome, headlines, wrapped lines."""

import re
import unicodedata

from semsearch import clean_text
from semsearch.text.clean import first_sentence
from tests.support.text import assert_nothing_lost_but_reported

PINYIN_READING = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")


def test_cleaning_is_pure_and_deterministic(seed_texts):
    for raw in seed_texts.values():
        copy = str(raw)
        assert clean_text(raw) == clean_text(raw)
        assert raw == copy


def test_nothing_is_lost_except_what_is_reported(seed_texts):
    for raw in seed_texts.values():
        assert_nothing_lost_but_reported(raw, clean_text(raw))


def test_paragraph_offsets_point_into_the_cleaned_text(seed_texts):
    for raw in seed_texts.values():
        result = clean_text(raw)
        assert result.text == "\n".join(p.text for p in result.paragraphs)
        for p in result.paragraphs:
            assert result.text[p.start : p.end] == p.text


def test_pinyin_readings_are_removed_and_reported(seed_texts):
    raw = seed_texts["000_d06f920685a293a0"]
    assert PINYIN_READING.search(raw)
    result = clean_text(raw)
    assert not PINYIN_READING.search(result.text)
    assert "梧州零距離網-梧州日" in result.text
    readings = [d for d in result.dropped if d.reason == "pinyin reading"]
    assert len(readings) == len(PINYIN_READING.findall(raw))
    assert {"(wǎng)", "(shū)"} <= {d.text for d in readings}


def test_characters_lost_to_question_marks_are_removed_but_real_question_marks_stay(seed_texts):
    result = clean_text(seed_texts["000_d06f920685a293a0"])
    lost = [d.text for d in result.dropped if d.reason.startswith("character lost")]
    assert "?qǐng)" in lost and "?xí)" in lost and "?" in lost
    assert "蓮塘、袁崇煥" in result.text
    assert "經驗?”" in result.text  # a genuine question mark is kept


def test_doubled_and_stray_punctuation_is_collapsed(seed_texts):
    raw = seed_texts["001_2a3c1398cfc30887"]
    assert ",," in raw and ",、" in raw and ",。" in raw
    result = clean_text(raw)
    for bad in (",,", ",、", ",。", ",;"):
        assert bad not in result.text
    assert "深入落實省、市、區關于鄉村振興工作部署" in result.text
    assert result.text.startswith("欲筑室者,先治其基;黨建引領,穩舵奮楫。")


def test_spaces_are_normalised(seed_texts):
    result = clean_text(seed_texts["002_04edc0192fabf55a"])
    assert "交流乡村振兴、脱贫攻坚等工作" in result.text
    assert "针对性、指导性、实操性都很强,我们将不折不扣" in result.text
    page = clean_text(seed_texts["004_8f871e82e7ea0e07"])
    assert "\u3000" not in page.text and "\u00a0" not in page.text
    assert all(line == line.strip() for line in page.text.splitlines())  # indentation gone


def test_page_chrome_is_dropped_with_reasons(seed_texts):
    result = clean_text(seed_texts["004_8f871e82e7ea0e07"])
    for chrome in (
        "上一版",
        "版面导航",
        "下一篇",
        "Copyright",
        "ICP备",
        "联系电话",
        "放大 缩小",
        "文/黎禹君",
    ):
        assert chrome not in result.text, chrome
    reasons = {d.text: d.reason for d in result.dropped}
    assert reasons["版面导航 |"] == "page navigation"
    assert reasons["粤ICP备05079094号 经营许可证编号:粤B2-20050439"] == "licence/ICP line"
    assert reasons["江门日报社主办 江门新闻网版权所有 未经授权许可不得复制或转载"] == "copyright notice"
    assert reasons["加快工业互联网创新发展"] == "page navigation (headlines of other articles)"
    assert reasons["文/黎禹君 江组轩 江轩"] == "byline"
    copyright_page = clean_text(seed_texts["003_0a8f1e061dc44cdc"])
    assert "版权声明" not in copyright_page.text and "0779" not in copyright_page.text
    assert copyright_page.paragraphs[-1].text.endswith("曲樟發展之路。".replace("發展", "发展"))


def test_unrelated_headlines_and_byline_after_the_article_are_dropped(seed_texts):
    result = clean_text(seed_texts["002_04edc0192fabf55a"])
    assert result.paragraphs[-1].text.endswith("谱写新时代乡村振兴新篇章!”")
    headlines = [d for d in result.dropped if d.reason == "unrelated headlines after the article"]
    assert len(headlines) == 20
    assert "市科协八届六次全委会召开" in {d.text for d in headlines}
    assert ("西江日报记者 谢江涛", "byline") in {(d.text, d.reason) for d in result.dropped}
    assert ("張平", "byline") in {
        (d.text, d.reason) for d in clean_text(seed_texts["001_2a3c1398cfc30887"]).dropped
    }


def test_an_articles_own_ending_is_not_mistaken_for_chrome():
    """Closing lines, signatures, numbered lists and one-line stories (from 新闻联播) are content."""
    one_line = "央视网消息（新闻联播）：金秋时节，大江南北，美景如画。节目的最后，让我们继续感知中华文明的悠久历史，走进美丽中国"
    assert clean_text(one_line).text == one_line

    letter = "\n".join(
        [
            "在全党全军全国各族人民的共同努力下，各项工作取得了新的成绩。",
            "此致",
            "敬礼！",
            "中国共产党中央委员会",
            "国务院",
        ]
    )
    kept = clean_text(letter)
    assert kept.dropped == ()
    assert kept.text.endswith("此致\n敬礼！\n中国共产党中央委员会\n国务院")

    ranking = "\n".join(
        ["2025国际十大新闻包括：1.中国元首外交引领世界和平与发展时代潮流。"]
        + [f"{n}.第{n}条新闻的标题 某地某事" for n in range(2, 11)]
    )
    assert clean_text(ranking).dropped == ()

    in_sentence = "赶路的人们在车里相遇，周师傅跟大龙交换了联系方式，约定再来济南的时候还去车站接他。"
    assert clean_text(in_sentence).text == in_sentence


def test_headline_and_headings_are_found(seed_texts):
    page = clean_text(seed_texts["004_8f871e82e7ea0e07"])
    assert page.title == "我市高质量实施党建引领乡村治理提质增效行动"
    assert page.paragraphs[0].kind == "title"
    kinds = {p.text: p.kind for p in clean_text(seed_texts["003_0a8f1e061dc44cdc"]).paragraphs}
    assert kinds["聚焦强根基,夯实基层组织体系"] == "heading"
    lead = clean_text(seed_texts["002_04edc0192fabf55a"])
    assert lead.title == "" and lead.paragraphs[0].text == "核心提示:"  # a label, not a headline
    stop = clean_text(seed_texts["001_2a3c1398cfc30887"])  # a headline that ends with 。
    assert stop.title == "欲筑室者,先治其基;黨建引領,穩舵奮楫"
    assert stop.paragraphs[0].kind == "title"
    opening = clean_text(seed_texts["003_0a8f1e061dc44cdc"])  # a long first paragraph is body
    assert opening.title == "" and opening.paragraphs[0].kind == "body"


def test_article_without_headline_gets_its_first_sentence_as_stand_in():
    result = clean_text("市委书记到藤县调研农村基层党建。强调要坚持以党的二十大精神为指引。")
    assert result.title == ""
    assert first_sentence(result) == "市委书记到藤县调研农村基层党建。"


WRAPPED = (
    "乡村振兴\n\n"
    "今年以来，全市深入实施乡村振兴战略，坚持\n"
    "农业农村优先发展，扎实推进乡村产业、人才\n"
    "、文化、生态和组织振兴，农村面貌持续改善\n"
    "，农民收入稳步增长。\n\n"
    "下一步，全市将继续加大投入，推动各项工作\n"
    "落地见效。\n"
)


def test_hard_wrapped_paragraphs_are_rejoined():
    result = clean_text(WRAPPED)
    assert [p.kind for p in result.paragraphs] == ["title", "body", "body"]
    assert result.paragraphs[1].text == (
        "今年以来，全市深入实施乡村振兴战略，坚持农业农村优先发展，扎实推进乡村产业、人才"
        "、文化、生态和组织振兴，农村面貌持续改善，农民收入稳步增长。"
    )
    assert result.paragraphs[2].text.endswith("推动各项工作落地见效。")


def test_lines_are_paragraphs_where_no_blank_lines_separate_them():
    raw = "第一段没有句号但它是单独一行的段落，因为这篇文章不用空行分段而且行很长很长\n第二段。"
    assert len(clean_text(raw).paragraphs) == 2


def test_short_document_without_body_is_kept():
    result = clean_text("乡村振兴")
    assert [p.text for p in result.paragraphs] == ["乡村振兴"]


def test_stray_punctuation_at_a_paragraph_start_is_dropped():
    result = clean_text("，今年以来全市深入实施乡村振兴战略。\n、；下一步继续推进。")
    assert result.text == "今年以来全市深入实施乡村振兴战略。\n下一步继续推进。"
    assert [(d.line, d.text, d.reason) for d in result.dropped] == [
        (1, "，", "stray punctuation"),
        (2, "、", "repeated punctuation"),
        (2, "；", "stray punctuation"),
    ]


def test_control_characters_and_zero_width_spaces_are_removed():
    result = clean_text("乡村\u200b振兴\x00示范\x07村。")
    assert result.text == "乡村振兴示范村。"


def test_control_characters_and_lone_surrogates_are_removed_but_tabs_become_spaces():
    """The one regex that removes them matches exactly Unicode's Cc and Cs categories (but the tab)."""
    from semsearch.text.clean import _CONTROL

    wrong = [
        hex(code)
        for code in range(0x10000)
        if bool(_CONTROL.fullmatch(chr(code)))
        != (chr(code) != "\t" and unicodedata.category(chr(code)) in ("Cc", "Cs"))
    ]
    assert wrong == []
    assert clean_text("网格\x07员\ud800走访\x85老人\t安装").text == "网格员走访老人 安装"
