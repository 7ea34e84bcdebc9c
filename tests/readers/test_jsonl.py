"""JSON Lines feeds (plain or gzipped): a document per line, bad lines skipped with their number."""

import gzip
import io
import json
import logging

import pytest

from semsearch import Document, InputError, read_sources
from semsearch.readers import limits
from semsearch.readers.ingest import FieldNames
from semsearch.readers.jsonl import read_jsonl


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
    assert report.skipped[-1].origin.endswith(f"f.jsonl.gz:{len(report.documents) + 1}")


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


# ---------------------------------------------------------------- bombs: limits on what one file may cost


class _RecordingHandle(io.BytesIO):
    """A file that remembers the longest piece a reader took from it and how many pieces it took."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.longest = 0
        self.pieces = 0

    def _seen(self, piece: bytes) -> bytes:
        self.longest = max(self.longest, len(piece))
        self.pieces += 1
        return piece

    def read(self, size=-1):
        return self._seen(super().read(size))

    def readline(self, size=-1):
        return self._seen(super().readline(size))

    def __next__(self):
        return self._seen(super().__next__())


def _gzip_lines(path, lines):
    with gzip.open(path, "wb") as out:
        out.write(b"".join(lines))


def test_a_line_longer_than_the_cap_is_skipped_without_being_held_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1000)
    good = [json.dumps({"id": f"n{i}", "text": "正文。"}).encode() + b"\n" for i in range(2)]
    long_line = json.dumps({"id": "long", "text": "长" * 50_000}).encode() + b"\n"
    data = good[0] + long_line + good[1]
    _gzip_lines(tmp_path / "feed.jsonl.gz", [data])
    report = read_sources([tmp_path / "feed.jsonl.gz"])
    assert [d.doc_id for d in report.documents] == ["n0", "n1"]
    [skipped] = report.skipped
    assert skipped.origin.endswith("feed.jsonl.gz:2")
    assert "longer than 1,000 bytes" in skipped.reason and "MAX_LINE_BYTES" in skipped.reason
    # The reader takes the file in pieces no longer than the cap (plus the newline): never the whole line.
    handle = _RecordingHandle(data)
    items = list(read_jsonl(tmp_path / "feed.jsonl", "feed", handle, FieldNames()))
    assert [getattr(i, "doc_id", None) for i in items] == ["n0", None, "n1"]
    assert handle.longest <= 1001


def test_a_line_of_exactly_the_cap_is_read(tmp_path, monkeypatch):
    line = json.dumps({"id": "edge", "text": "正文。"}).encode()
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", len(line))
    (tmp_path / "feed.jsonl").write_bytes(line + b"\n" + line.replace(b"edge", b"egde"))
    report = read_sources([tmp_path / "feed.jsonl"])
    assert [d.doc_id for d in report.documents] == ["edge", "egde"] and not report.skipped


def test_blank_lines_past_the_cap_end_the_file_after_a_bounded_number_of_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_BLANK_LINES", 100)
    first = json.dumps({"id": "first", "text": "正文。"}).encode() + b"\n"
    last = json.dumps({"id": "last", "text": "正文。"}).encode() + b"\n"
    data = first + b"\n \r\n" * 50_000 + last
    _gzip_lines(tmp_path / "blank.jsonl.gz", [data])
    report = read_sources([tmp_path / "blank.jsonl.gz"])
    assert [d.doc_id for d in report.documents] == ["first"]
    [skipped] = report.skipped
    assert (
        "more than 100 blank lines" in skipped.reason and "the rest of the file is skipped" in skipped.reason
    )
    handle = _RecordingHandle(data)
    list(read_jsonl(tmp_path / "blank.jsonl", "blank", handle, FieldNames()))
    assert handle.pieces <= 110  # the reader stopped: it did not go through the 100,000 blank lines


def test_a_gzipped_feed_stops_at_the_unpacked_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 10_000)
    lines = [json.dumps({"id": f"n{i}", "text": "正文" * 20}).encode() + b"\n" for i in range(1000)]
    _gzip_lines(tmp_path / "big.jsonl.gz", lines)
    report = read_sources([tmp_path / "big.jsonl.gz"])
    assert 0 < len(report.documents) < 1000
    assert sum(len(line) for line in lines[: len(report.documents)]) <= 10_000
    [skipped] = report.skipped
    assert "unpacks to more than 10,000 bytes" in skipped.reason and "MAX_UNPACKED_BYTES" in skipped.reason
    assert skipped.origin.endswith(f"big.jsonl.gz:{len(report.documents) + 1}")  # the line it stopped in
    # A plain file is what it is on disk: the unpacked cap does not apply to it.
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "plain.jsonl").write_bytes(b"".join(lines))
    assert len(read_sources([tmp_path / "plain" / "plain.jsonl"]).documents) == 1000
    # One huge line in a gzip file is stopped by the same cap while it is being passed over.
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 100)
    _gzip_lines(tmp_path / "big.jsonl.gz", [b'{"text": "' + b"a" * 1_000_000 + b'"}\n'])
    [skipped] = read_sources([tmp_path / "big.jsonl.gz"]).skipped
    assert "unpacks to more than 10,000 bytes" in skipped.reason


def test_bad_lines_past_the_cap_end_the_file_with_one_reason(tmp_path, monkeypatch):
    """A file of a million bad lines would fill the skip report (and the log) a line at a time."""
    monkeypatch.setattr(limits, "MAX_SKIPPED_LINES", 5)
    data = json.dumps({"id": "ok", "text": "正文。"}) + "\n" + "{broken\n" * 1000
    (tmp_path / "bad.jsonl").write_text(data)
    report = read_sources([tmp_path / "bad.jsonl"])
    assert [d.doc_id for d in report.documents] == ["ok"]
    assert len(report.skipped) == 6
    assert (
        "more than 5 lines skipped" in report.skipped[-1].reason and "too large" in report.skipped[-1].reason
    )


def test_a_line_with_an_integer_too_long_for_python_is_skipped_not_a_traceback(tmp_path):
    """Python refuses to convert integers of over 4,300 digits: json.loads raises a plain ValueError."""
    lines = ['{"id": "big", "text": "正文。", "n": ' + "1" * 5000 + "}", '{"id": "ok", "text": "正文。"}']
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    report = read_sources([tmp_path / "feed.jsonl"])
    assert [d.doc_id for d in report.documents] == ["ok"]
    [skipped] = report.skipped
    assert skipped.origin.endswith("feed.jsonl:1") and "invalid JSON line" in skipped.reason
    assert "4300 digits" in skipped.reason
