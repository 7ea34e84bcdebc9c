"""Markdown: plain text without markup, the first heading as title."""

from semsearch import read_sources
from semsearch.readers.markdown import markdown_to_text


def test_markdown_loses_its_markup_and_gives_its_first_heading_as_title(tmp_path):
    (tmp_path / "note.md").write_text(
        "# 嫦娥六号**月背**采样\n\n**新华社**消息：返回器[安全着陆](http://x)。\n\n- 第一项成果\n- 第二项成果\n",
        encoding="utf-8",
    )
    [doc] = read_sources([tmp_path]).documents
    assert doc.title == "嫦娥六号月背采样"
    assert doc.text.split("\n\n") == [
        "嫦娥六号月背采样",
        "新华社消息：返回器安全着陆。",
        "第一项成果",
        "第二项成果",
    ]
    assert not any(mark in doc.text for mark in ("#", "**", "](", "- "))


def test_markdown_wrapped_lines_join_without_space_between_chinese_characters():
    text, title = markdown_to_text("第一行文字\n第二行文字\nEnglish words\nwrap here")
    assert text == "第一行文字第二行文字 English words wrap here"
    assert title == ""


def test_markdown_date_outlet_and_author_lines_become_metadata(tmp_path):
    # Issue 25: `*发布时间：2026-01-16*` was not recognised; the document had no date.
    (tmp_path / "page.md").write_text(
        "# 智慧网格平台上线\n\n*发布时间：2026-01-16 08:30　来源：新华社*\n\n作者：李华\n\n"
        "梧州市上线智慧网格平台，网格员可以用手机上报安全隐患。时间：不是日期的说法。\n",
        encoding="utf-8",
    )
    [doc] = read_sources([tmp_path]).documents
    assert doc.metadata == {"date": "2026-01-16", "source": "新华社", "author": "李华"}
    assert doc.title == "智慧网格平台上线" and doc.source == "新华社"


def test_markdown_front_matter_is_metadata_not_text(tmp_path):
    (tmp_path / "post.md").write_text(
        '---\ntitle: "乡村振兴示范村"\ndate: 2025/3/8\nsource: 人民网\n---\n\n示范村建设带动了农民增收。\n\n发布时间：2024-01-01\n',
        encoding="utf-8",
    )
    [doc] = read_sources([tmp_path]).documents
    assert doc.title == "乡村振兴示范村" and "title:" not in doc.text and "---" not in doc.text
    assert doc.metadata == {"date": "2025-03-08", "source": "人民网", "date_raw": "2025/3/8"}


def test_raw_script_and_style_bodies_in_markdown_are_not_article_text(tmp_path):
    """Issue 24, item 17: a Markdown file's raw <script> body was indexed as article text."""
    source = (
        "# 标题\n\n<script>\nvar secret = '脚本正文';\n</script>\n\n正文开头 <script>inline_code()</script> 正文结尾\n\n"
        "<div>保留 <style>p { color: red }</style> 文字</div>\n\n<SCRIPT type=x>\nunclosed_code()\n"
    )
    (tmp_path / "page.md").write_text(source, encoding="utf-8")
    [doc] = read_sources([tmp_path]).documents
    for code in ("脚本正文", "secret", "inline_code", "color", "unclosed_code"):
        assert code not in doc.text, code
    assert "正文开头" in doc.text and "正文结尾" in doc.text and "保留" in doc.text and "文字" in doc.text
