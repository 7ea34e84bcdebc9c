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

from semsearch.readers import limits
from semsearch.readers.common import (
    FieldNames,
    UndecodableError,
    decode_bytes,
    is_valid_unicode,
    record_to_document,
)
from semsearch.readers.limits import too_large
from semsearch.records import Document, Skipped

_REST = "too large, the rest of the file is skipped: "


def read_jsonl(path: Path, stem: str, handle: IO[bytes], fields: FieldNames) -> Iterator[Document | Skipped]:
    """Documents from an open binary JSONL file, streamed: memory holds one line, up to its cap, at a time.

    A line over :data:`~semsearch.readers.limits.MAX_LINE_BYTES` is skipped without being held; past
    the caps on blank lines, skipped lines or (gzipped) unpacked bytes, the rest of the file is skipped.
    """
    packed = path.name.lower().endswith(".gz")
    stream: IO[bytes] = gzip.GzipFile(fileobj=handle) if packed else handle  # type: ignore[assignment]
    lines = _Lines(stream, packed)
    blank = skipped = 0
    try:
        for raw in lines:
            where = f"{path}:{lines.number}"
            if raw is None:
                item: Document | Skipped | None = Skipped(
                    where,
                    str(too_large(f"a line longer than {limits.MAX_LINE_BYTES:,} bytes", "MAX_LINE_BYTES")),
                )
            elif not raw.strip():
                blank += 1
                if blank > limits.MAX_BLANK_LINES:
                    raise too_large(
                        f"{_REST}more than {limits.MAX_BLANK_LINES:,} blank lines", "MAX_BLANK_LINES"
                    )
                continue
            else:
                item = _read_line(raw, where, f"{stem}:{lines.number}", fields)
            if isinstance(item, Skipped):
                skipped += 1
                if skipped > limits.MAX_SKIPPED_LINES:
                    raise too_large(
                        f"{_REST}more than {limits.MAX_SKIPPED_LINES:,} lines skipped", "MAX_SKIPPED_LINES"
                    )
            if item is not None:
                yield item
    except limits.TooLargeError as exc:
        yield Skipped(f"{path}:{lines.number}", str(exc))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield Skipped(f"{path}:{lines.number}", f"cannot be read from here on ({exc})")


class _Lines:
    """A file's lines, each read up to its cap (None for a longer one, passed over in capped pieces)."""

    def __init__(self, stream: IO[bytes], packed: bool) -> None:
        self._stream = stream
        self._packed = packed
        self.number = 0  # of the line being read, or last given
        self._unpacked = 0

    def _read(self) -> bytes:
        piece = self._stream.readline(limits.MAX_LINE_BYTES + 1)
        self._unpacked += len(piece)
        if self._packed and self._unpacked > limits.MAX_UNPACKED_BYTES:
            raise too_large(
                f"{_REST}it unpacks to more than {limits.MAX_UNPACKED_BYTES:,} bytes", "MAX_UNPACKED_BYTES"
            )
        return piece

    def __iter__(self) -> Iterator[bytes | None]:
        while True:
            self.number += 1
            if not (raw := self._read()):
                return
            if len(raw) <= limits.MAX_LINE_BYTES or raw.endswith(b"\n"):
                yield raw
                continue
            while (piece := self._read()) and not piece.endswith(b"\n"):
                pass
            yield None


def _read_line(raw: bytes, where: str, fallback_id: str, fields: FieldNames) -> Document | Skipped | None:
    if not raw.strip():
        return None
    try:
        line, _ = decode_bytes(raw, where)
        record = json.loads(line)
    except (
        UndecodableError,
        ValueError,
        RecursionError,
    ) as exc:  # ValueError: JSON, or an int of 4,300+ digits
        return Skipped(where, f"invalid JSON line ({exc})")
    if not isinstance(record, dict):
        return Skipped(where, "a JSON line must be an object with at least a text field")
    if not is_valid_unicode(record):
        return Skipped(where, "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode text")
    return record_to_document(record, where, fallback_id, fields, what="line")
