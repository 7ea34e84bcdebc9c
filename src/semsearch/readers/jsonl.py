"""JSON Lines feeds (``.jsonl``, ``.ndjson``, gzipped or not): one article per line, read line by line.

Each line is an object with the article's text (``text``, ``content``… or the field named), optional
title and id; other keys are metadata. A bad line is skipped with its number, never the whole file.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from semsearch.readers.common import (
    FieldNames,
    UndecodableError,
    decode_bytes,
    is_valid_unicode,
    record_to_document,
)
from semsearch.records import Document, Skipped


def read_jsonl(path: Path, stem: str, handle: IO[bytes], fields: FieldNames) -> Iterator[Document | Skipped]:
    """Documents from an open binary JSONL file, streamed: memory holds one line at a time."""
    stream: IO[bytes] = gzip.GzipFile(fileobj=handle) if path.name.lower().endswith(".gz") else handle  # type: ignore[assignment]
    number = 0
    try:
        for number, raw in enumerate(stream, start=1):
            item = _read_line(raw, f"{path}:{number}", f"{stem}:{number}", fields)
            if item is not None:
                yield item
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield Skipped(f"{path}:{number + 1}", f"cannot be read from here on ({exc})")


def _read_line(raw: bytes, where: str, fallback_id: str, fields: FieldNames) -> Document | Skipped | None:
    if not raw.strip():
        return None
    try:
        line, _ = decode_bytes(raw, where)
        record = json.loads(line)
    except (UndecodableError, json.JSONDecodeError, RecursionError) as exc:
        return Skipped(where, f"invalid JSON line ({exc})")
    if not isinstance(record, dict):
        return Skipped(where, "a JSON line must be an object with at least a text field")
    if not is_valid_unicode(record):
        return Skipped(where, "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode text")
    return record_to_document(record, where, fallback_id, fields, what="line")
