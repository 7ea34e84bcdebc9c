"""Keeping an index in step with folders and feeds: what to read, and which stored documents are gone.

:func:`scan_sources` reads every file under the sources once, leaving aside files modified too
recently (a crawler may still be writing them); :func:`removals_of` names the stored documents that
came from those sources (their ``origin`` lies inside one) and are gone: their file no longer
exists, or was read in full and no longer yields them (a record dropped from a feed). Documents from
a file still being written, or from a file that could not be read at all, are kept as they are.
What is new or changed is decided as for any change (:mod:`semsearch.pipeline.changes`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from semsearch.errors import DuplicateDocumentError, InputError
from semsearch.readers import FieldNames, read_file
from semsearch.readers.ingest import source_files
from semsearch.records import Document, Skipped


@dataclass
class SyncScan:
    """What one pass over the sources found: documents, skips, files left for later, files read in full."""

    roots: list[str]
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    read: set[str] = field(default_factory=set)  # absolute paths of files read in full


def scan_sources(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    fields: FieldNames | None = None,
    settle: float = 0.0,
    now: float | None = None,
) -> SyncScan:
    """Read every file of ``sources`` modified at least ``settle`` seconds before ``now``.

    Raises InputError for a source that does not exist (before anything is read, so a missing
    folder never looks like every document removed) or that is not a path.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    paths = []
    for source in sources:
        if isinstance(source, Document) or not isinstance(source, (str, os.PathLike)):
            raise InputError(
                f"sync reads files and folders, not {type(source).__name__}; add Documents with index.add()"
            )
        paths.append(Path(source))
    if isinstance(settle, bool) or not isinstance(settle, (int, float)) or not settle >= 0:
        raise InputError(f"settle must be a number of seconds (0 or more), not {settle!r}")
    files = [entry for path in paths for entry in source_files(path)]  # InputError for a missing one
    scan = SyncScan(roots=[os.path.abspath(p) for p in paths])
    fields = fields or FieldNames()
    now = time.time() if now is None else now
    seen: dict[str, str] = {}
    for file, doc_id in files:
        try:
            modified = file.stat().st_mtime
        except OSError:
            continue  # gone since the folder was listed: its documents are removed below
        if now - modified < settle:
            scan.waiting.append(str(file))
            continue
        items = list(read_file(file, doc_id, fields))
        whole = [s for s in items if isinstance(s, Skipped) and s.origin == str(file)]
        if not whole:
            scan.read.add(os.path.abspath(file))
        for item in items:
            if isinstance(item, Skipped):
                scan.skipped.append(item)
                continue
            if item.doc_id in seen:
                raise DuplicateDocumentError(
                    f"document id {item.doc_id!r} is given twice: by {seen[item.doc_id]} and by {item.origin}; "
                    "give each document its own id"
                )
            seen[item.doc_id] = item.origin
            scan.documents.append(item)
    return scan


def origin_file(origin: str) -> str:
    """The file of a stored ``origin``: itself, or ``feed.jsonl`` for a record's ``feed.jsonl:7``."""
    head, colon, line = origin.rpartition(":")
    if colon and line.isdigit() and not os.path.exists(origin):
        return head
    return origin


def removals_of(scan: SyncScan, origins: dict[str, str]) -> list[str]:
    """The stored documents (id → origin) that came from the scanned sources and are gone, sorted."""
    produced = {doc.doc_id for doc in scan.documents}
    waiting = {os.path.abspath(f) for f in scan.waiting}
    gone = []
    for doc_id, origin in origins.items():
        if doc_id in produced or not origin:
            continue
        file = os.path.abspath(origin_file(origin))
        if not any(file == root or file.startswith(root.rstrip(os.sep) + os.sep) for root in scan.roots):
            continue  # from elsewhere: another folder, a Document added in Python
        if file in waiting:
            continue
        if not os.path.exists(file) or file in scan.read:
            gone.append(doc_id)
    return sorted(gone)
