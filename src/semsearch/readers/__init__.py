"""Readers: one module per file format, each turning a file into Documents, or Skipped with a reason.

A file's format is chosen by its suffix and, for plain text, by sniffing: an HTML page saved as
``.txt`` is read as HTML. Files of other types are skipped with the reason, never silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from semsearch.readers.common import (
    FieldNames,
    NotRegularFileError,
    UndecodableError,
    decode_bytes,
    open_regular,
    read_regular_bytes,
)
from semsearch.records import Document, Skipped

__all__ = [
    "FORMATS",
    "FieldNames",
    "Format",
    "NotRegularFileError",
    "Skipped",
    "UndecodableError",
    "decode_bytes",
    "format_of",
    "read_file",
    "strip_suffix",
    "unsupported_reason",
]

Format = Literal["text", "markdown", "html", "jsonl", "delimited", "docx"]
FORMATS: dict[str, Format] = {
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".csv": "delimited",
    ".tsv": "delimited",
    ".docx": "docx",
}
# Types people keep articles in that are not read, and what to do instead.
_NOT_READ = {
    ".pdf": "PDF is not read (text extraction from Chinese PDFs is unreliable without heavy tools); "
    "convert it to text first, e.g. `pdftotext FILE.pdf`",
    ".doc": "old binary Word .doc is not read; save it as .docx or .txt",
    ".rtf": "RTF is not read; save it as .txt or .docx",
}


def format_of(path: Path) -> Format | None:
    """The reader for ``path`` by its suffix (case-insensitive), or None."""
    name = path.name.lower()
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix):
            return kind
    return None


def strip_suffix(name: str) -> str:
    """``name`` without a suffix semsearch reads (``a/b.jsonl.gz`` → ``a/b``)."""
    lower = name.lower()
    for suffix in FORMATS:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def unsupported_reason(path: Path) -> str:
    """Why a file of this type is not read: one reason per type, so reasons group in a summary."""
    suffix = path.suffix.lower()
    if suffix in _NOT_READ:
        return _NOT_READ[suffix]
    readable = ", ".join(sorted({s for s in FORMATS if s.count(".") == 1}))
    return f"unsupported file type {suffix or '(no suffix)'}; semsearch reads {readable}"


def read_file(path: Path, doc_id: str, fields: FieldNames) -> Iterator[Document | Skipped]:
    """Documents from one file of a format semsearch reads; what cannot be read is Skipped with why.

    Each document keeps the metadata ``fields`` chooses (:meth:`FieldNames.choose`).
    """
    for item in _read_file(path, doc_id, fields):
        yield fields.choose(item) if isinstance(item, Document) else item


def _read_file(path: Path, doc_id: str, fields: FieldNames) -> Iterator[Document | Skipped]:
    kind = format_of(path)
    if kind is None:
        yield Skipped(str(path), unsupported_reason(path))
        return
    try:
        if kind == "jsonl":
            yield from _read_jsonl(path, doc_id, fields)
            return
        data = read_regular_bytes(path)
    except NotRegularFileError as exc:
        yield Skipped(str(path), str(exc).removeprefix(f"{path}: "))
        return
    except OSError as exc:
        yield Skipped(str(path), f"cannot be read ({exc.strerror or exc})")
        return
    if kind == "text":
        from semsearch.readers.html import looks_like_html

        kind = "html" if looks_like_html(data) else "text"
    if kind == "html":
        from semsearch.readers.html import read_html

        yield from read_html(path, doc_id, data)
    elif kind == "markdown":
        from semsearch.readers.markdown import read_markdown

        yield from read_markdown(path, doc_id, data)
    elif kind == "delimited":
        from semsearch.readers.delimited import read_delimited

        yield from read_delimited(path, doc_id, data, fields)
    elif kind == "docx":
        from semsearch.readers.docx import read_docx

        yield from read_docx(path, doc_id, data)
    else:
        from semsearch.readers.text import read_text

        yield from read_text(path, doc_id, data)


def _read_jsonl(path: Path, stem: str, fields: FieldNames) -> Iterator[Document | Skipped]:
    from semsearch.readers.jsonl import read_jsonl

    with open_regular(path) as handle:
        yield from read_jsonl(path, stem, handle, fields)
