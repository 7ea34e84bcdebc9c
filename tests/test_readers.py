"""Readers: each format a news user keeps articles in becomes Documents, or is skipped with a reason."""

import io
import json
import os
import threading
import zipfile

import pytest

from semsearch import Document, InputError, read_sources
from semsearch.readers.ingest import FieldNames, iter_sources
from semsearch.readers.markdown import markdown_to_text

NEWS_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>嫦娥六号月背采样返回_新华网</title>
<meta property="og:site_name" content="新华网"><meta name="publishdate" content="2024-06-25">
</head><body><nav><a href="/">首页</a> | <a href="/world">国际</a> | <a href="/tech">科技</a></nav>
<article><h1>嫦娥六号月背采样返回</h1>
<p>新华社北京6月25日电 嫦娥六号返回器携带来自月背的月球样品安全着陆在内蒙古四子王旗预定区域。</p>
<p>这次任务首次实现了人类从月球背面采集样品，是我国建设航天强国、科技强国取得的又一标志性成果。</p>
<p>国家航天局局长表示，样品将在完成交接后开展科学研究。</p>
</article><footer>版权所有 新华网 京ICP备12345号</footer></body></html>
"""


def test_html_page_gives_main_text_in_paragraphs_title_date_and_site(tmp_path):
    (tmp_path / "page.html").write_text(NEWS_PAGE, encoding="utf-8")
    [doc] = read_sources([tmp_path]).documents
    assert doc.doc_id == "page"
    assert doc.title == "嫦娥六号月背采样返回"
    assert doc.metadata["date"] == "2024-06-25"
    assert doc.metadata["site"] == "新华网"
    paragraphs = doc.text.split("\n\n")
    assert any(p.startswith("新华社北京6月25日电") for p in paragraphs)
    assert any(p.startswith("这次任务首次实现") for p in paragraphs)  # each <p> its own paragraph
    assert "首页" not in doc.text and "ICP" not in doc.text and "<" not in doc.text


def test_html_saved_as_txt_is_read_as_html(tmp_path):
    (tmp_path / "saved.txt").write_text(NEWS_PAGE, encoding="utf-8")
    [doc] = read_sources([tmp_path / "saved.txt"]).documents
    assert doc.title == "嫦娥六号月背采样返回"
    assert "<!DOCTYPE" not in doc.text and "<p>" not in doc.text


def test_html_in_gbk_declared_by_meta_charset(tmp_path):
    page = NEWS_PAGE.replace('charset="utf-8"', 'charset="gbk"')
    (tmp_path / "gbk.htm").write_bytes(page.encode("gbk"))
    [doc] = read_sources([tmp_path]).documents
    assert "嫦娥六号返回器" in doc.text


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


def test_csv_with_named_columns(tmp_path):
    (tmp_path / "news.csv").write_text(
        "id,title,content,pub_date,source\n"
        'a1,标题一,"正文一，含逗号。",2024/06/25 08:00,新华社\n'
        "a2,标题二,正文二。,20240626,人民日报\n",
        encoding="utf-8",
    )
    first, second = read_sources([tmp_path]).documents
    assert (first.doc_id, first.title, first.text) == ("a1", "标题一", "正文一，含逗号。")
    assert first.metadata == {"pub_date": "2024/06/25 08:00", "date": "2024-06-25", "source": "新华社"}
    assert second.metadata["date"] == "2024-06-26"
    assert first.source.endswith("news.csv:2")


def test_csv_text_column_guessed_as_the_longest_and_fields_named(tmp_path):
    (tmp_path / "t.tsv").write_text(
        "编号\t摘要\t备注\nx1\t这是一篇很长的新闻正文，讲述了基层治理的经验。\t短\n", encoding="utf-8"
    )
    [doc] = read_sources([tmp_path]).documents
    assert doc.doc_id == "x1" and doc.text.startswith("这是一篇很长的新闻正文")
    [named] = read_sources([tmp_path], fields=FieldNames(text="备注", id="编号")).documents
    assert named.text == "短" and named.metadata == {"摘要": "这是一篇很长的新闻正文，讲述了基层治理的经验。"}


def test_csv_named_text_column_missing_is_skipped_with_the_columns(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    report = read_sources([tmp_path], fields=FieldNames(text="body"))
    assert report.documents == []
    assert "no column 'body' (it has a, b)" in report.skipped[0].reason


def test_jsonl_with_content_instead_of_text_is_read_and_the_field_can_be_named(tmp_path):
    lines = [{"id": "c1", "content": "正文一。", "headline": "标题"}, {"id": "c2", "正文": "正文二。"}]
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    report = read_sources([tmp_path])
    assert [(d.doc_id, d.title, d.text) for d in report.documents] == [
        ("c1", "标题", "正文一。"),
        ("c2", "", "正文二。"),
    ]
    (tmp_path / "feed.jsonl").write_text(json.dumps({"key": "k1", "body_zh": "正文。", "h": "题"}))
    [doc] = read_sources([tmp_path], fields=FieldNames(text="body_zh", title="h", id="key")).documents
    assert (doc.doc_id, doc.title, doc.text, doc.metadata) == ("k1", "题", "正文。", {})
    report = read_sources([tmp_path], fields=FieldNames(text="missing"))
    assert "no 'missing' field" in report.skipped[0].reason


def test_dates_under_common_names_are_normalised_to_date(tmp_path):
    lines = [
        {"id": "1", "text": "一。", "published": "Tue, 25 Jun 2024 08:00:00 GMT"},
        {"id": "2", "text": "二。", "date": "2024年6月26日"},
        {"id": "3", "text": "三。", "time": 1719273600},
        {"id": "4", "text": "四。", "date": "sometime"},
    ]
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    docs = read_sources([tmp_path]).documents
    assert [d.metadata.get("date") for d in docs] == ["2024-06-25", "2024-06-26", "2024-06-25", "sometime"]
    assert docs[1].metadata["date_raw"] == "2024年6月26日"
    assert (
        read_sources([Document("d", "正文。", metadata={"pub_date": "2024.1.2"})])
        .documents[0]
        .metadata["date"]
        == "2024-01-02"
    )


def _docx(paragraphs, title=""):
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
        f"<dc:title>{title}</dc:title><dc:creator>记者</dc:creator>"
        "<dcterms:created>2024-06-25T08:00:00Z</dcterms:created></cp:coreProperties>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", f"<w:document {w}><w:body>{body}</w:body></w:document>")
        z.writestr("docProps/core.xml", core)
    return buffer.getvalue()


def test_docx_paragraphs_title_author_and_date(tmp_path):
    (tmp_path / "report.docx").write_bytes(_docx(["第一段正文。", "第二段正文。"], title="月背采样"))
    [doc] = read_sources([tmp_path]).documents
    assert (doc.title, doc.text) == ("月背采样", "第一段正文。\n\n第二段正文。")
    assert doc.metadata == {"author": "记者", "date": "2024-06-25", "date_raw": "2024-06-25T08:00:00Z"}


def test_other_files_in_a_folder_are_counted_as_skipped_with_their_reason(tmp_path):
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.7\n")
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    (tmp_path / ".hidden.txt").write_text("隐藏。", encoding="utf-8")
    report = read_sources([tmp_path])
    assert [d.doc_id for d in report.documents] == ["a"]
    reasons = {os.path.basename(s.source): s.reason for s in report.skipped}
    assert set(reasons) == {"scan.pdf", "old.doc", "photo.png", "broken.docx"}
    assert "PDF is not read" in reasons["scan.pdf"] and "pdftotext" in reasons["scan.pdf"]
    assert "save it as .docx" in reasons["old.doc"]
    assert reasons["photo.png"].startswith("unsupported file type .png; semsearch reads")
    assert "not a readable .docx" in reasons["broken.docx"]


def _with_timeout(function, seconds=10):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading hung"
    return result["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_txt_is_skipped_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "real.txt").write_text("正文。", encoding="utf-8")
    report = _with_timeout(lambda: read_sources([tmp_path]))
    assert [d.doc_id for d in report.documents] == ["real"]
    assert {os.path.basename(s.source): s.reason for s in report.skipped} == {
        "pipe.txt": "not a regular file (a FIFO); only files are read",
        "pipe.jsonl": "not a regular file (a FIFO); only files are read",
    }
    direct = _with_timeout(lambda: read_sources([tmp_path / "pipe.txt"]))
    assert direct.documents == [] and "FIFO" in direct.skipped[0].reason


def test_jsonl_line_with_a_lone_surrogate_is_skipped_with_its_number(tmp_path):
    (tmp_path / "f.jsonl").write_text(
        '{"id": "ok", "text": "正文。"}\n{"id": "bad", "text": "坏\\ud800字"}\n{"id": "ok2", "text": "好。"}\n',
        encoding="utf-8",
    )
    report = read_sources([tmp_path])
    assert [d.doc_id for d in report.documents] == ["ok", "ok2"]
    [skipped] = report.skipped
    assert skipped.source.endswith("f.jsonl:2") and "lone surrogate" in skipped.reason
    with pytest.raises(InputError, match="lone surrogate"):
        read_sources([Document("d", "坏\ud800")])


def test_sources_are_streamed_one_document_at_a_time(tmp_path):
    # The second line repeats an id: a reader that read everything first would raise before the first
    # document is handed over.
    (tmp_path / "f.jsonl").write_text('{"id": "x", "text": "一。"}\n{"id": "x", "text": "二。"}\n')
    items = iter_sources([tmp_path])
    assert next(items).doc_id == "x"
    with pytest.raises(InputError, match="given twice"):
        next(items)


def test_gzipped_jsonl_cut_short_keeps_what_was_read_and_says_where_it_broke(tmp_path):
    import gzip

    data = gzip.compress(
        b"".join(b'{"id": "%d", "text": "\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82"}\n' % i for i in range(50))
    )
    (tmp_path / "f.jsonl.gz").write_bytes(data[: len(data) // 2])
    report = read_sources([tmp_path])
    assert report.documents  # the lines before the cut
    assert "cannot be read from here on" in report.skipped[-1].reason
