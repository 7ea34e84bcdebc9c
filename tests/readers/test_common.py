"""What every reader shares: decoding (UTF-8, GB18030/GBK, Big5), regular files only, dates under common names."""

import json
import logging
import os
import threading
from pathlib import Path

import pytest

from semsearch import Document, read_sources
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
    reasons = {Path(s.origin).name: s.reason for s in report.skipped}
    assert set(reasons) == {"latin.txt", "binary.txt", "empty.txt"}
    assert "not valid UTF-8, GB18030/GBK or Big5" in reasons["latin.txt"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert any("latin.txt" in r.message for r in caplog.records)


def test_decode_bytes_raises_naming_the_source():
    with pytest.raises(UndecodableError, match="mystery.bin"):
        decode_bytes(b"\x00\x01\x02", "mystery.bin")


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
    assert {os.path.basename(s.origin): s.reason for s in report.skipped} == {
        "pipe.txt": "not a regular file (a FIFO); only files are read",
        "pipe.jsonl": "not a regular file (a FIFO); only files are read",
    }
    direct = _with_timeout(lambda: read_sources([tmp_path / "pipe.txt"]))
    assert direct.documents == [] and "FIFO" in direct.skipped[0].reason
