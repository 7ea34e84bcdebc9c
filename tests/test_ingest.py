import json
import logging
import re
from pathlib import Path

import pytest

from semsearch import Document, DuplicateDocumentError, InputError, read_sources
from semsearch.readers.ingest import UndecodableError, decode_bytes

TRADITIONAL = (
    "梧州零距離網梧州日訊記者陳雨燕三月二十二日市委書記蔣連生到藤縣調研農村基層黨建社會治理和鄉村振興工作"
)
SIMPLIFIED = (
    "走中国特色社会主义乡村振兴道路，首要原则是坚持党管农村工作。农村基层党组织作为党组织体系的神经末梢。"
)


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (SIMPLIFIED, "utf-8", "utf-8"),
        (SIMPLIFIED, "utf-8-sig", "utf-8-sig"),
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED, "gb18030", "gb18030"),
        (TRADITIONAL, "big5", "big5"),
        (TRADITIONAL, "gb18030", "gb18030"),
        (SIMPLIFIED, "utf-16", "utf-16"),
    ],
)
def test_decode_detects_encoding(text, encoding, expected):
    decoded, detected = decode_bytes(text.encode(encoding))
    assert decoded == text
    assert detected == expected


def test_big5_file_is_not_misread_as_gbk(tmp_path):
    # Big5 bytes are nearly all valid GBK too; a wrong guess gives mojibake.
    (tmp_path / "trad.txt").write_bytes(TRADITIONAL[:20].encode("big5"))
    [doc] = read_sources([tmp_path]).documents
    assert doc.text == TRADITIONAL[:20]
    assert doc.encoding == "big5"


def test_undecodable_and_binary_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("乡村振兴示范村建设。", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty.txt").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        report = read_sources([tmp_path])
    assert [d.doc_id for d in report.documents] == ["good"]
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert set(reasons) == {"latin.txt", "binary.txt", "empty.txt"}
    assert "not valid UTF-8, GB18030/GBK or Big5" in reasons["latin.txt"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert any("latin.txt" in r.message for r in caplog.records)


def test_decode_bytes_raises_naming_the_source():
    with pytest.raises(UndecodableError, match="mystery.bin"):
        decode_bytes(b"\x00\x01\x02", "mystery.bin")


def test_document_ids_are_stable_relative_paths(tmp_path, seeds_dir):
    sub = tmp_path / "2024" / "03"
    sub.mkdir(parents=True)
    (sub / "a.txt").write_text("第一篇文章的正文。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("第二篇文章的正文。", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("隐藏文件。", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a,b", encoding="utf-8")
    ids = [d.doc_id for d in read_sources([tmp_path]).documents]
    assert ids == ["2024/03/a", "b"]
    # a file given directly is named by its stem
    [doc] = read_sources([seeds_dir / "000_d06f920685a293a0.txt"]).documents
    assert doc.doc_id == "000_d06f920685a293a0"


def test_seeds_read_as_five_utf8_documents(seeds_dir, seed_texts):
    report = read_sources([seeds_dir])
    assert [d.doc_id for d in report.documents] == sorted(seed_texts)
    assert all(d.encoding == "utf-8" for d in report.documents)
    assert all(d.text == seed_texts[d.doc_id] for d in report.documents)
    assert report.skipped == []


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
    skipped = {s.source.rsplit(":", 1)[1]: s.reason for s in report.skipped}
    assert set(skipped) == {"3", "4", "5"}  # line numbers of the bad lines
    assert "invalid JSON" in skipped["3"]
    assert "'text'" in skipped["5"]


def test_duplicate_document_ids_are_an_error_naming_both(tmp_path):
    (tmp_path / "feed.jsonl").write_text(
        '{"id": "x", "text": "一。"}\n{"id": "x", "text": "二。"}\n', encoding="utf-8"
    )
    with pytest.raises(DuplicateDocumentError, match=r"'x'.*feed.jsonl:1.*feed.jsonl:2"):
        read_sources([tmp_path])


def test_missing_path_and_unsupported_file_are_errors(tmp_path):
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "nope"))):
        read_sources([tmp_path / "nope"])
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(InputError, match=r"photo.png: unsupported file type \.png; semsearch reads .*\.html"):
        read_sources([tmp_path / "photo.png"])


def test_document_objects_pass_through():
    doc = Document(doc_id="d1", text="正文。", title="题")
    assert read_sources([doc]).documents == [doc]
    with pytest.raises(InputError, match="empty doc_id"):
        read_sources([Document(doc_id=" ", text="正文。")])
