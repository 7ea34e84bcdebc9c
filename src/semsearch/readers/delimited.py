"""Tables of articles (``.csv``, ``.tsv``): one article per row, columns found by name or guessed.

The header names the columns. The text, title and id columns are the ones named (``--text-field`` …)
or found among common names; with no text column by name, the column with the longest values is the
text. Every other column is metadata (a date column normalised under ``date``).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from semsearch.readers.common import (
    TEXT_FIELDS,
    FieldNames,
    UndecodableError,
    decode_bytes,
    pick_field,
    record_to_document,
)
from semsearch.records import Document, Skipped

_SNIFF_CHARS = 64 * 1024


def read_delimited(path: Path, stem: str, data: bytes, fields: FieldNames) -> Iterator[Document | Skipped]:
    """Documents from a CSV/TSV file's bytes, one per row; bad rows are skipped with their line number."""
    try:
        text, _ = decode_bytes(data, str(path))
    except UndecodableError as exc:
        yield Skipped(str(path), str(exc).removeprefix(f"{path}: "))
        return
    if not text.strip():
        yield Skipped(str(path), "empty file")
        return
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=_dialect(path, text))
    header = [h for h in (reader.fieldnames or []) if h]
    if fields.text is not None and fields.text not in header:
        yield Skipped(
            str(path), f"no column {fields.text!r} (it has {', '.join(header)}); name the text column"
        )
        return
    if fields.text is None and pick_field(header, None, TEXT_FIELDS) is None:
        fields = FieldNames(
            text=_longest_column(text, reader.dialect, header),  # type: ignore[arg-type]
            title=fields.title,
            id=fields.id,
        )
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=reader.dialect)
    rows = 0
    try:
        for row in reader:
            line = reader.line_num
            rows += 1
            if None in row:
                yield Skipped(f"{path}:{line}", f"row has more cells than the header's {len(header)} columns")
                continue
            record = {k: v for k, v in row.items() if k and v not in (None, "")}
            yield record_to_document(record, f"{path}:{line}", f"{stem}:{line}", fields, what="row")
    except csv.Error as exc:
        yield Skipped(f"{path}:{reader.line_num}", f"not a readable CSV row from here on ({exc})")
    if rows == 0:
        yield Skipped(str(path), "a header but no rows")


def _dialect(path: Path, text: str) -> type[csv.Dialect] | csv.Dialect:
    if path.name.lower().endswith(".tsv"):
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",\t;|")
    except csv.Error:
        return csv.excel


def _longest_column(text: str, dialect: type[csv.Dialect] | csv.Dialect, header: list[str]) -> str:
    totals = dict.fromkeys(header, 0)
    for number, row in enumerate(csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)):
        if number >= 200:
            break
        for key in header:
            totals[key] += len(row.get(key) or "")
    return max(header, key=lambda k: totals[k]) if header else "text"
