"""CSV and TSV: a document per row, the text column named or guessed."""

from semsearch import read_sources
from semsearch.readers.ingest import FieldNames


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
    assert first.origin.endswith("news.csv:2") and first.source == "新华社"  # the file, the outlet


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
