"""News pages (``.html``, ``.htm``, or HTML inside a ``.txt``): the article's main text and its metadata.

``trafilatura`` (built for news pages) finds the main text without navigation, footers and comments,
and the title, date, author and site name. Each block (``<p>``, heading, list item) stays a paragraph.
The outlet (metadata ``source``) is the page's ``来源：`` line when it has one, else the site's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from html import unescape
from pathlib import Path
from typing import Any

from semsearch.readers.common import UndecodableError, decode_bytes, labelled_fields, normalize_metadata
from semsearch.records import SOURCE_KEY, Document, Skipped

_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)
_TAGS = re.compile(r"<(?:script|style)\b.*?</(?:script|style)\s*>|<[^>]*>", re.I | re.S)
_META_AUTHOR = re.compile(
    r"""<meta\s+(?:name|property)\s*=\s*["'](?:author|article:author)["']\s+content\s*=\s*["']([^"']*)""",
    re.I,
)
LABELLED_LINE_CHARS = 80  # a dateline (date, 来源, 作者) is short; a longer line is the story's text
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
    text = "\n\n".join(paragraphs)
    # trafilatura keeps neither a 来源：dateline (it is not main text) nor a two-character Chinese
    # author name: both are read from the page's own lines and <meta name="author">.
    labelled = page_fields(html)
    outlet = labelled.get(SOURCE_KEY) or metadata.get("site")
    if outlet:
        metadata[SOURCE_KEY] = outlet
    if "author" not in metadata and labelled.get("author"):
        metadata["author"] = labelled["author"]
    if "date" not in metadata and labelled.get("date"):
        metadata["date"] = labelled["date"]
    return text, (getattr(result, "title", None) or "").strip(), metadata


def page_fields(html: str) -> dict[str, str]:
    """Outlet, author and date a page states in its own short lines (``来源：新华社``) and ``<meta name="author">``.

    >>> page_fields('<meta name="author" content="李华"><p>2024-06-25　来源：新华社</p>')
    {'source': '新华社', 'author': '李华'}
    """
    lines = [" ".join(line.split()) for line in _TAGS.sub("\n", html).splitlines()]
    short = [line for line in lines if 0 < len(line) <= LABELLED_LINE_CHARS and not line.startswith("<")]
    fields: dict[str, str] = {}
    for line in short:
        for key, value in labelled_fields(line).items():
            fields.setdefault(key, value)
    author = _META_AUTHOR.search(html)
    if author and author.group(1).strip():
        fields["author"] = unescape(author.group(1).strip())
    return fields


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
