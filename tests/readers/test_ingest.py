"""Reading sources: folders walked in order, stable ids, Documents passed through, what is skipped and why."""

import os
import re

import pytest

from semsearch import Document, DuplicateDocumentError, InputError, read_sources
from semsearch.readers.ingest import iter_sources


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


def test_other_files_in_a_folder_are_counted_as_skipped_with_their_reason(tmp_path):
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.7\n")
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    (tmp_path / ".hidden.txt").write_text("隐藏。", encoding="utf-8")
    report = read_sources([tmp_path])
    assert [d.doc_id for d in report.documents] == ["a"]
    reasons = {os.path.basename(s.origin): s.reason for s in report.skipped}
    assert set(reasons) == {"scan.pdf", "old.doc", "photo.png", "broken.docx"}
    assert "PDF is not read" in reasons["scan.pdf"] and "pdftotext" in reasons["scan.pdf"]
    assert "save it as .docx" in reasons["old.doc"]
    assert reasons["photo.png"].startswith("unsupported file type .png; semsearch reads")
    assert "not a readable .docx" in reasons["broken.docx"]


def test_sources_are_streamed_one_document_at_a_time(tmp_path):
    # The second line repeats an id: a reader that read everything first would raise before the first
    # document is handed over.
    (tmp_path / "f.jsonl").write_text('{"id": "x", "text": "一。"}\n{"id": "x", "text": "二。"}\n')
    items = iter_sources([tmp_path])
    assert next(items).doc_id == "x"
    with pytest.raises(InputError, match="given twice"):
        next(items)
