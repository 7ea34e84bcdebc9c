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

from semsearch.readers.common import decode_file, normalize_metadata
from semsearch.records import SOURCE_KEY, Document, Skipped
from semsearch.text.dates import DATE_KEY, normalize_date

_TAG = re.compile(r"<[^>]+>")
_BREAK = "\x00"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FIELD = re.compile(r"^\s*(?P<key>[\w\u4e00-\u9fff-]+)\s*:\s*(?P<value>.*?)\s*$")
# 发布时间：2026-01-16 08:00 | 来源：新华社 | 作者：李华 — in the first blocks of a page
_LINE_FIELDS = {"发布时间": DATE_KEY, "发布日期": DATE_KEY, "日期": DATE_KEY, "时间": DATE_KEY}
_LINE_FIELDS |= {"来源": SOURCE_KEY, "作者": "author"}
_LABELLED = re.compile(
    r"(?P<label>" + "|".join(_LINE_FIELDS) + r")\s*[:：]\s*"
    r"(?P<value>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?|[^\s|｜丨/，,]+)"
)
HEAD_BLOCKS = 5  # date and outlet lines are looked for in this many first blocks
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


def labelled_fields(text: str) -> dict[str, str]:
    r"""Date, outlet and author from labelled lines among the first blocks (``发布时间：2026-01-16``).

    >>> labelled_fields("标题\n\n发布时间：2026-01-16 来源：新华社\n\n正文")
    {'date': '2026-01-16', 'source': '新华社'}
    """
    fields: dict[str, str] = {}
    for block in text.split("\n\n")[:HEAD_BLOCKS]:
        if len(block) > 80:  # a paragraph of the story, not a dateline
            continue
        for found in _LABELLED.finditer(block):
            key, value = _LINE_FIELDS[found["label"]], found["value"].strip()
            if key == DATE_KEY:
                value = normalize_date(value) or ""
            if value:
                fields.setdefault(key, value)
    return fields


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
            stripped = _TAG.sub("", token.content).strip()
            if stripped:
                paragraphs.append(stripped)
    return "\n\n".join(paragraphs), title


def _inline_text(children: list[Any]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(_BREAK)
        elif child.type == "image":
            parts.append(child.content)  # its alt text
    text = "".join(parts).strip()
    # A line break inside a paragraph is wrapping: nothing between CJK characters, a space elsewhere.
    return _WRAP_CJK.sub("", text).replace(_BREAK, " ")
