"""JSON Lines feeds (plain or gzipped): a document per line, bad lines skipped with their number."""

import json
import logging

import pytest

from semsearch import Document, InputError, read_sources
from semsearch.readers.ingest import FieldNames


def test_jsonl_keeps_id_title_text_and_other_keys_as_metadata(tmp_path, caplog):
    rows = [
        {"id": "n1", "title": "标题一", "text": "正文一。", "date": "2024-01-01", "url": "http://x/1"},
        {"_id": "n2", "text": "正文二。"},
        "not an object",
        {"id": "n3", "title": "无正文"},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, "{broken json")
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        report = read_sources([tmp_path / "feed.jsonl"])
    first, second = report.documents
    assert (first.doc_id, first.title, first.text) == ("n1", "标题一", "正文一。")
    assert first.metadata == {"date": "2024-01-01", "url": "http://x/1"}
    assert second.doc_id == "n2"
    skipped = {s.origin.rsplit(":", 1)[1]: s.reason for s in report.skipped}
    assert set(skipped) == {"3", "4", "5"}  # line numbers of the bad lines
    assert "invalid JSON" in skipped["3"]
    assert "'text'" in skipped["5"]


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


def test_jsonl_line_with_a_lone_surrogate_is_skipped_with_its_number(tmp_path):
    (tmp_path / "f.jsonl").write_text(
        '{"id": "ok", "text": "正文。"}\n{"id": "bad", "text": "坏\\ud800字"}\n{"id": "ok2", "text": "好。"}\n',
        encoding="utf-8",
    )
    report = read_sources([tmp_path])
    assert [d.doc_id for d in report.documents] == ["ok", "ok2"]
    [skipped] = report.skipped
    assert skipped.origin.endswith("f.jsonl:2") and "lone surrogate" in skipped.reason
    with pytest.raises(InputError, match="lone surrogate"):
        read_sources([Document("d", "坏\ud800")])


def test_gzipped_jsonl_cut_short_keeps_what_was_read_and_says_where_it_broke(tmp_path):
    import gzip

    data = gzip.compress(
        b"".join(b'{"id": "%d", "text": "\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82"}\n' % i for i in range(50))
    )
    (tmp_path / "f.jsonl.gz").write_bytes(data[: len(data) // 2])
    report = read_sources([tmp_path])
    assert report.documents  # the lines before the cut
    assert "cannot be read from here on" in report.skipped[-1].reason


def test_guid_is_an_id_field_and_fields_choose_the_metadata(tmp_path):
    row = {"guid": "g-1", "title": "标题", "text": "正文。", "date": "2024-01-01", "paragraphs": ["正文。"]}
    (tmp_path / "feed.jsonl").write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    [doc] = read_sources([tmp_path / "feed.jsonl"]).documents
    assert doc.doc_id == "g-1" and doc.metadata == {"date": "2024-01-01", "paragraphs": ["正文。"]}
    [kept] = read_sources([tmp_path / "feed.jsonl"], fields=FieldNames(metadata=["date"])).documents
    assert kept.metadata == {"date": "2024-01-01"}
    [rest] = read_sources([tmp_path / "feed.jsonl"], fields=FieldNames(drop=["paragraphs"])).documents
    assert rest.metadata == {"date": "2024-01-01"}
    with pytest.raises(InputError, match="metadata must be a list of field names"):
        FieldNames(metadata="date")
