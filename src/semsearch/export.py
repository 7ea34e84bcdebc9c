r"""Export an index's chunks with their metadata (and vectors) as JSON Lines or Parquet.

>>> export_chunks(index, "chunks.parquet", format="parquet", vectors=True)

JSON Lines needs nothing more (control and bidirectional characters are written as ``\uXXXX``
escapes: the same values, nothing that acts on a terminal); Parquet needs ``pyarrow``
(``pip install 'semsearch[parquet]'``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, get_args

from semsearch.errors import InputError
from semsearch.text.controls import json_safe

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
    if format == "parquet" and path is None:
        raise InputError("a Parquet export needs a file: give -o FILE.parquet")
    if path is not None:
        _check_outside_indexes(Path(path), index)
    rows = index.export_rows(vectors=vectors)
    if path is None:
        return _write_jsonl(rows, sys.stdout)
    try:
        if format == "parquet":
            return _write_parquet(rows, Path(path))
        with open(path, "w", encoding="utf-8") as handle:
            return _write_jsonl(rows, handle)
    except OSError as exc:  # a folder, a missing folder, a device that refuses writes, a full disk
        reason = exc.strerror or " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(
            f"cannot write the export to {path} ({reason}); choose a file you can write"
        ) from None


def _check_outside_indexes(path: Path, index: Index) -> None:
    """InputError if ``path`` lies inside the exported index or any other semsearch index folder.

    Writing there would overwrite or add to an index's own files (``-o INDEX/manifest.json`` left an
    index that no longer loads).
    """
    target = Path(os.path.abspath(path.expanduser()))
    resolved = target.resolve()
    own = index.path
    folders = [Path(own).resolve()] if isinstance(own, Path) else []
    for candidate in (target, resolved):
        for parent in candidate.parents:
            if any(parent == folder for folder in folders) or _is_index_folder(parent):
                raise InputError(
                    f"{path} is inside the index at {parent}; an export there would overwrite or add to "
                    "its files: write it elsewhere"
                )


def _is_index_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a semsearch index's manifest."""
    from semsearch.storage.local.files import MANIFEST
    from semsearch.storage.manifest_schema import FORMAT_NAME

    manifest = folder / MANIFEST
    try:
        if not manifest.is_file() or manifest.stat().st_size > 1 << 24:
            return False
        with manifest.open("rb") as handle:
            return json.loads(handle.read()).get("format") == FORMAT_NAME
    except (OSError, ValueError, AttributeError):
        return False


def _write_jsonl(rows: Iterable[dict[str, Any]], handle: TextIO) -> int:
    count = 0
    for row in rows:
        handle.write(json_safe(json.dumps(row, ensure_ascii=False, default=str)) + "\n")
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
