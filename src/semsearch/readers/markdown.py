"""Markdown files (``.md``, ``.markdown``): the text without markup, the first heading as the title.

Metadata comes from a front matter block (``---`` lines around ``key: value`` lines, as static-site
generators write it) and from the date, outlet and author lines news pages carry near the top
(``*发布时间：2026-01-16*``, ``来源：新华社``, ``作者：李华``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from semsearch.readers.common import decode_file, labelled_fields, normalize_metadata
from semsearch.records import Document, Skipped

_TAG = re.compile(r"<[^>]+>")
# Raw HTML elements whose body is code or styling, never article text: dropped with what they hold (to
# the end of the block when left open), as the HTML reader drops them.
RAW_ELEMENTS = ("script", "style", "template", "noscript", "iframe", "object")
_RAW = re.compile(rf"<({'|'.join(RAW_ELEMENTS)})\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_RAW_OPEN = re.compile(rf"<({'|'.join(RAW_ELEMENTS)})\b", re.IGNORECASE)
_RAW_CLOSE = re.compile(rf"</({'|'.join(RAW_ELEMENTS)})\s*>", re.IGNORECASE)
_BREAK = "\x00"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FIELD = re.compile(r"^\s*(?P<key>[\w\u4e00-\u9fff-]+)\s*:\s*(?P<value>.*?)\s*$")
_WRAP_CJK = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\x00(?=[\u3000-\u9fff\uff00-\uffef])")


def read_markdown(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from a Markdown file's bytes: paragraphs of plain text, first heading as title."""
    decoded = decode_file(path, data)
    if isinstance(decoded, Skipped):
        yield decoded
        return
    body, metadata = front_matter(decoded.text)
    text, title = markdown_to_text(body)
    if not text.strip():
        yield Skipped(str(path), "Markdown with no text once the markup is removed")
        return
    metadata = {**labelled_fields(text), **metadata}  # the front matter wins
    title = metadata.pop("title", "") or title
    yield Document(
        doc_id=doc_id,
        text=text,
        title=title,
        origin=str(path),
        encoding=decoded.encoding,
        metadata=normalize_metadata(metadata),
    )


def front_matter(source: str) -> tuple[str, dict[str, str]]:
    r"""``(body, fields)``: the Markdown after a leading ``---`` block, and that block's ``key: value`` lines.

    >>> front_matter("---\ndate: 2026-01-16\n---\n# 标题")
    ('# 标题', {'date': '2026-01-16'})
    """
    match = _FRONT_MATTER.match(source)
    if not match:
        return source, {}
    fields = {}
    for line in match["body"].splitlines():
        found = _FIELD.match(line)
        if found and found["value"]:
            fields[found["key"]] = found["value"].strip("'\"")
    return source[match.end() :], fields


def markdown_to_text(source: str) -> tuple[str, str]:
    """``(text, title)``: each block (heading, paragraph, list item, quote line) a paragraph, no markup.

    >>> markdown_to_text("# 标题 **一**")
    ('标题 一', '标题 一')
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    paragraphs: list[str] = []
    title = ""
    pending_heading = False
    for token in tokens:
        if token.type == "heading_open":
            pending_heading = True
        if token.type == "inline":
            block = _inline_text(token.children or [])
            if block:
                paragraphs.append(block)
                if pending_heading and not title:
                    title = block
            pending_heading = False
        elif token.type in ("fence", "code_block"):
            paragraphs.extend(line for line in token.content.splitlines() if line.strip())
        elif token.type == "html_block":
            stripped = _TAG.sub("", _RAW.sub("", token.content)).strip()
            if stripped:
                paragraphs.append(stripped)
    return "\n\n".join(paragraphs), title


def _inline_text(children: list[Any]) -> str:
    parts: list[str] = []
    inside = 0  # within an inline <script>…</script>: its text is not the article's
    for child in children:
        if child.type == "html_inline":
            if _RAW_OPEN.match(child.content):
                inside += 1
            elif _RAW_CLOSE.match(child.content):
                inside = max(0, inside - 1)
        if inside:
            continue
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(_BREAK)
        elif child.type == "image":
            parts.append(child.content)  # its alt text
    text = "".join(parts).strip()
    # A line break inside a paragraph is wrapping: nothing between CJK characters, a space elsewhere.
    return _WRAP_CJK.sub("", text).replace(_BREAK, " ")
