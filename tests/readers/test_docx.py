"""Word documents (.docx): paragraphs, title, author and date from the document's properties."""

import io
import zipfile

from semsearch import read_sources


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
