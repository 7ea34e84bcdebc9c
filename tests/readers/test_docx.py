"""Word documents (.docx): paragraphs, title, author and date from the document's properties."""

import io
import tracemalloc
import zipfile

from semsearch import read_sources
from semsearch.readers import limits


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


def _docx_with_body(body: bytes) -> bytes:
    w = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<w:document " + w + b"><w:body>" + body + b"</w:body></w:document>")
    return buffer.getvalue()


def test_a_docx_of_too_many_xml_elements_is_skipped_with_the_reason(tmp_path, monkeypatch):
    """A 168 KB .docx can unpack to 58 MB of tiny elements: 749 MB and 26 s as a whole tree."""
    monkeypatch.setattr(limits, "MAX_XML_ELEMENTS", 1000)
    paragraph = b"<w:p><w:r><w:t>\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82</w:t></w:r></w:p>"
    (tmp_path / "bomb.docx").write_bytes(_docx_with_body(b"<w:p/>" * 5000 + paragraph))
    (tmp_path / "fine.docx").write_bytes(_docx_with_body(paragraph * 200))  # 803 elements
    report = read_sources([tmp_path])
    [doc] = report.documents
    assert doc.doc_id == "fine" and doc.text.count("正文。") == 200
    [skipped] = report.skipped
    assert skipped.origin.endswith("bomb.docx")
    assert "more than 1,000 XML elements" in skipped.reason and "MAX_XML_ELEMENTS" in skipped.reason


def test_a_docx_part_is_read_in_pieces_up_to_the_unpacked_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 5000)
    paragraph = b"<w:p><w:r><w:t>\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82</w:t></w:r></w:p>"
    (tmp_path / "big.docx").write_bytes(_docx_with_body(paragraph * 200))
    [skipped] = read_sources([tmp_path]).skipped
    assert "unpacks to more than 5,000 bytes" in skipped.reason and "MAX_UNPACKED_BYTES" in skipped.reason


def test_a_docx_body_is_not_kept_as_a_whole_tree(tmp_path):
    """Paragraphs are read as they end and dropped: what is held does not grow with the element count."""
    paragraph = b"<w:p><w:r><w:t>\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82</w:t></w:r></w:p>"
    (tmp_path / "empty.docx").write_bytes(_docx_with_body(b"<w:p/>" * 200_000 + paragraph))
    tracemalloc.start()
    try:
        [doc] = read_sources([tmp_path]).documents
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert doc.text == "正文。"
    assert peak < 8 * 2**20  # 200,000 elements as a tree take over 20 MB
