"""Word documents (``.docx``): paragraphs of the document body, title and author from its properties.

A ``.docx`` is a zip of XML; the standard library reads it (no extra dependency). Old binary ``.doc``
files are not read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from semsearch.readers.common import normalize_metadata
from semsearch.records import Document, Skipped

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CORE = {
    "title": "{http://purl.org/dc/elements/1.1/}title",
    "author": "{http://purl.org/dc/elements/1.1/}creator",
    "date": "{http://purl.org/dc/terms/}created",
}
_MAX_XML_BYTES = 256 * 2**20  # a zip bomb stops here, with a reason


def read_docx(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from a ``.docx`` file's bytes."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = _xml(archive, "word/document.xml")
            core = _xml(archive, "docProps/core.xml", required=False)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as exc:
        yield Skipped(str(path), f"not a readable .docx file ({exc})")
        return
    paragraphs = [_paragraph_text(p) for p in body.iter(f"{_W}p")]
    paragraphs = [p for p in paragraphs if p.strip()]
    if not paragraphs:
        yield Skipped(str(path), "a .docx file with no text")
        return
    properties: dict[str, Any] = {}
    if core is not None:
        for key, tag in _CORE.items():
            element = core.find(tag)
            if element is not None and (element.text or "").strip():
                properties[key] = element.text.strip()
    title = properties.pop("title", "")
    yield Document(
        doc_id=doc_id,
        text="\n\n".join(paragraphs),
        title=title,
        origin=str(path),
        metadata=normalize_metadata(properties),
    )


def _xml(archive: zipfile.ZipFile, name: str, *, required: bool = True) -> Any:
    try:
        info = archive.getinfo(name)
    except KeyError:
        if required:
            raise KeyError(f"no {name} inside") from None
        return None
    if info.file_size > _MAX_XML_BYTES:
        raise ValueError(f"{name} unpacks to {info.file_size} bytes")
    return ElementTree.fromstring(archive.read(name))


def _paragraph_text(paragraph: Any) -> str:
    parts = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
    return "".join(parts).strip()
