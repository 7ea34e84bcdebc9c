"""Read sources (files, folders, Documents) into Documents, streamed, with a reason for every skip.

Each file format has its reader in :mod:`semsearch.readers` (text in UTF-8/UTF-16/GB18030/Big5,
Markdown, HTML news pages, JSONL feeds, CSV/TSV tables, .docx). Only regular files are read: a FIFO or
device named like an article is skipped, never waited on. Files of other types in a folder are
skipped and reported, never silently dropped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from semsearch.errors import DuplicateDocumentError, InputError
from semsearch.readers import (
    FORMATS,
    FieldNames,
    UndecodableError,
    decode_bytes,
    format_of,
    read_file,
    strip_suffix,
    unsupported_reason,
)
from semsearch.readers.common import is_valid_unicode, normalize_metadata
from semsearch.records import Document, Skipped

__all__ = [
    "FieldNames",
    "IngestReport",
    "Skipped",
    "Source",
    "UndecodableError",
    "decode_bytes",
    "iter_sources",
    "read_sources",
    "source_files",
]

log = logging.getLogger(__name__)

Source = str | os.PathLike[str] | Document


@dataclass
class IngestReport:
    """What reading the sources produced: the documents, and what was skipped with reasons."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_sources(sources: Source | Iterable[Source], *, fields: FieldNames | None = None) -> IngestReport:
    """Read every source into Documents; folders are walked recursively in sorted order.

    Document ids are stable: a file's path relative to the folder given (without suffix), or its stem
    when the file itself is given; a record's id field (``id``, ``_id``… or ``fields.id``).
    ``fields`` names the text/title/id fields of JSONL and CSV records (default: found by name).
    Raises :class:`InputError` for a path that does not exist or a file type it cannot read, and
    :class:`DuplicateDocumentError` when two sources give the same document id.
    """
    report = IngestReport()
    for item in iter_sources(sources, fields=fields):
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            report.documents.append(item)
    return report


def iter_sources(
    sources: Source | Iterable[Source], *, fields: FieldNames | None = None
) -> Iterator[Document | Skipped]:
    """:func:`read_sources` one item at a time, so a build holds one source document in memory at once.

    Skipped items are logged as warnings as they are met; a duplicate id raises when it is reached.
    """
    if isinstance(sources, (str, os.PathLike, Document)):
        sources = [sources]
    fields = fields or FieldNames()
    seen: dict[str, str] = {}
    for source in sources:
        for item in _read_one_source(source, fields):
            if isinstance(item, Skipped):
                log.warning("skipped %s: %s", item.origin, item.reason)
                yield item
                continue
            if item.doc_id in seen:
                raise DuplicateDocumentError(
                    f"document id {item.doc_id!r} is given twice: by {seen[item.doc_id]} and by "
                    f"{item.origin or '(a Document object)'}; give each document its own id"
                )
            seen[item.doc_id] = item.origin or "(a Document object)"
            yield item


def _read_one_source(source: Source, fields: FieldNames) -> Iterator[Document | Skipped]:
    if isinstance(source, Document):
        yield _checked_document(source)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"cannot read {source!r}: give a file or folder path, or a semsearch.Document")
    for file, doc_id in source_files(Path(source)):
        yield from read_file(file, doc_id, fields)


def source_files(path: Path) -> list[tuple[Path, str]]:
    """The files a source path stands for, each with the document id (or id stem) its documents get.

    A folder: every visible file under it, sorted, id = its path relative to the folder without the
    suffix. A file: itself, id = its name without the suffix. A missing path or a file of a type
    semsearch does not read is an InputError.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        return [(file, strip_suffix(file.relative_to(path).as_posix())) for file in _walk(path)]
    if format_of(path) is None:
        raise InputError(f"{path}: {unsupported_reason(path)}")
    return [(path, strip_suffix(path.name))]


def _walk(folder: Path) -> Iterator[Path]:
    """Every visible non-folder entry under ``folder``, sorted (FIFOs included, to be skipped with why)."""
    entries = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue  # hidden files and folders (.git, .DS_Store) are not articles
        try:
            if path.is_dir():
                continue
        except OSError:
            pass
        entries.append(path)
    return iter(sorted(entries))


def _checked_document(doc: Document) -> Document:
    if not isinstance(doc.doc_id, str) or not doc.doc_id.strip():
        raise InputError(f"Document has an empty doc_id (text starts {str(doc.text)[:30]!r}); give it an id")
    if not is_valid_unicode([doc.doc_id, doc.text, doc.title]):
        raise InputError(
            f"Document {doc.doc_id!r} holds a lone surrogate (e.g. '\\ud800'), which is not valid Unicode text"
        )
    metadata = normalize_metadata(doc.metadata)
    if metadata != dict(doc.metadata):
        from dataclasses import replace

        return replace(doc, metadata=metadata)
    return doc


# Kept for callers of the old names.
TEXT_SUFFIXES = tuple(s for s, kind in FORMATS.items() if kind in ("text", "markdown"))
JSONL_SUFFIXES = tuple(s for s, kind in FORMATS.items() if kind == "jsonl")
