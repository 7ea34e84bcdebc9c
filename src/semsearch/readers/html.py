"""News pages (``.html``, ``.htm``, or HTML inside a ``.txt``): the article's main text and its metadata.

``trafilatura`` (built for news pages) finds the main text without navigation, footers and comments,
and the title, date, author and site name. Each block (``<p>``, heading, list item) stays a paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from semsearch.readers.common import UndecodableError, decode_bytes, normalize_metadata
from semsearch.records import Document, Skipped

_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def looks_like_html(data: bytes) -> bool:
    """Whether ``data`` starts like an HTML page (a doctype or an ``<html>``/``<head>`` tag)."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf")
    return bool(_SNIFF.match(head))


def read_html(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from an HTML page's bytes: main text, title, and date/author/site as metadata."""
    try:
        html, encoding = _decode(data, str(path))
    except UndecodableError as exc:
        yield Skipped(str(path), str(exc).removeprefix(f"{path}: "))
        return
    page = extract(html)
    if page is None:
        yield Skipped(str(path), "HTML page with no main text found")
        return
    text, title, metadata = page
    yield Document(
        doc_id=doc_id,
        text=text,
        title=title,
        origin=str(path),
        encoding=encoding,
        metadata=normalize_metadata(metadata),
    )


def extract(html: str) -> tuple[str, str, dict[str, Any]] | None:
    """``(text, title, metadata)`` of a page's main content, paragraphs separated by blank lines."""
    import trafilatura

    result = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True, config=_config()
    )
    text = (getattr(result, "text", None) or "").strip() if result is not None else ""
    if not text:
        return None
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    metadata = {
        key: value
        for key in ("date", "author", "sitename", "hostname", "url", "description")
        if (value := getattr(result, key, None))
    }
    if "sitename" in metadata:
        metadata["site"] = metadata.pop("sitename")
    return "\n\n".join(paragraphs), (getattr(result, "title", None) or "").strip(), metadata


@lru_cache(maxsize=1)
def _config() -> Any:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # its timeout uses signals: wrong in a library
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")  # short items are still news
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    return config


def _decode(data: bytes, name: str) -> tuple[str, str]:
    declared = _CHARSET.search(data[:4096])
    if declared:
        encoding = declared.group(1).decode("ascii").lower()
        encoding = "gb18030" if encoding in ("gb2312", "gbk", "gb18030") else encoding
        try:
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(data, name)
