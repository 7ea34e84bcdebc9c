"""Export an index's chunks with their metadata (and vectors) as JSON Lines or Parquet.

>>> export_chunks(index, "chunks.parquet", format="parquet", vectors=True)

JSON Lines needs nothing more; Parquet needs ``pyarrow`` (``pip install 'semsearch[parquet]'``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, get_args

from semsearch.errors import InputError

if TYPE_CHECKING:
    from semsearch.index import Index

ExportFormat = Literal["jsonl", "parquet"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)


def export_chunks(
    index: Index,
    path: str | os.PathLike[str] | None,
    *,
    format: ExportFormat = "jsonl",
    vectors: bool = False,
) -> int:
    """Write every chunk of ``index`` to ``path`` (JSON Lines to stdout when None); returns the count."""
    if format not in EXPORT_FORMATS:
        raise InputError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {format!r}")
    rows = index.export_rows(vectors=vectors)
    if format == "parquet":
        if path is None:
            raise InputError("a Parquet export needs a file: give -o FILE.parquet")
        return _write_parquet(rows, Path(path))
    if path is None:
        return _write_jsonl(rows, sys.stdout)
    with open(path, "w", encoding="utf-8") as handle:
        return _write_jsonl(rows, handle)


def _write_jsonl(rows: Iterable[dict[str, Any]], handle: TextIO) -> int:
    count = 0
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "Parquet export needs pyarrow: pip install 'semsearch[parquet]' (or export --format jsonl)"
        ) from None
    records = []
    for row in rows:
        # Metadata differs from document to document: kept as one JSON column, readable anywhere.
        records.append({**row, "metadata": json.dumps(row["metadata"], ensure_ascii=False, default=str)})
    table = pa.Table.from_pylist(records)
    pq.write_table(table, path)
    return len(records)
