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

from semsearch.readers import limits
from semsearch.readers.common import normalize_metadata
from semsearch.readers.limits import TooLargeError, too_large
from semsearch.records import Document, Skipped

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P = f"{_W}p"
_CORE = {
    "title": "{http://purl.org/dc/elements/1.1/}title",
    "author": "{http://purl.org/dc/elements/1.1/}creator",
    "date": "{http://purl.org/dc/terms/}created",
}
_PIECE = 2**16  # bytes of a part unpacked and parsed at a time


def read_docx(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from a ``.docx`` file's bytes, its XML streamed within :mod:`~semsearch.readers.limits`."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            paragraphs = [p for p in _body_paragraphs(archive) if p.strip()]
            properties = _properties(archive)
    except TooLargeError as exc:
        yield Skipped(str(path), str(exc))
        return
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError, EOFError) as exc:
        yield Skipped(str(path), f"not a readable .docx file ({exc})")
        return
    if not paragraphs:
        yield Skipped(str(path), "a .docx file with no text")
        return
    title = properties.pop("title", "")
    yield Document(
        doc_id=doc_id,
        text="\n\n".join(paragraphs),
        title=title,
        origin=str(path),
        metadata=normalize_metadata(properties),
    )


def _events(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[str, Any]]:
    """``start`` and ``end`` events of one XML part, unpacked and parsed in pieces within the caps."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise KeyError(f"no {name} inside") from None
    if info.file_size > limits.MAX_UNPACKED_BYTES:
        raise _unpacks_to_more(name)
    parser: Any = ElementTree.XMLPullParser(events=("start", "end"))
    unpacked = elements = 0
    with archive.open(info) as part:
        while True:
            piece = part.read(_PIECE)
            unpacked += len(piece)
            if unpacked > limits.MAX_UNPACKED_BYTES:
                raise _unpacks_to_more(name)
            if piece:
                parser.feed(piece)
            else:
                parser.close()
            events: Iterator[tuple[str, Any]] = parser.read_events()
            for event, element in events:
                if event == "start":
                    elements += 1
                    if elements > limits.MAX_XML_ELEMENTS:
                        raise too_large(
                            f"too large: {name} has more than {limits.MAX_XML_ELEMENTS:,} XML elements",
                            "MAX_XML_ELEMENTS",
                        )
                yield event, element
            if not piece:
                return


def _unpacks_to_more(name: str) -> TooLargeError:
    return too_large(
        f"too large: {name} unpacks to more than {limits.MAX_UNPACKED_BYTES:,} bytes", "MAX_UNPACKED_BYTES"
    )


def _body_paragraphs(archive: zipfile.ZipFile) -> Iterator[str]:
    """The text of each paragraph of the body, in order, each dropped from the tree once read.

    An element ends up removed from its parent unless it is inside a paragraph (read when that ends),
    so what is held is one paragraph and the path to it, whatever the document's length.
    """
    path: list[Any] = []
    in_paragraph = 0
    for event, element in _events(archive, "word/document.xml"):
        if event == "start":
            path.append(element)
            if element.tag == _P:
                in_paragraph += 1
            continue
        path.pop()
        if element.tag == _P:
            in_paragraph -= 1
            if not in_paragraph and len(element):
                yield from (_paragraph_text(p) for p in element.iter(_P))
        if not in_paragraph and path:
            path[-1].remove(element)


def _properties(archive: zipfile.ZipFile) -> dict[str, Any]:
    """Title, author and date from ``docProps/core.xml``, if the file has one."""
    if "docProps/core.xml" not in archive.namelist():
        return {}
    found: dict[str, Any] = {}
    path: list[Any] = []
    for event, element in _events(archive, "docProps/core.xml"):
        if event == "start":
            path.append(element)
            continue
        path.pop()
        if len(path) == 1:  # a child of the root, whole: read it and drop it
            for key, tag in _CORE.items():
                if element.tag == tag and (element.text or "").strip() and key not in found:
                    found[key] = element.text.strip()
            path[0].remove(element)
    return found


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
