"""Indexes saved in on-disk format 1, the files-per-generation layout releases before segments wrote.

New indexes are segmented (format 2); format 1 indexes keep loading and changing with their own engine,
so the tests of that engine's files (FAISS, bm25s, SQLite, checksums) need an index in format 1.
"""

from __future__ import annotations

from pathlib import Path

from semsearch.index import Index
from semsearch.storage.copy import copy_into, spec_of
from semsearch.storage.local.documents import ChunkStore
from semsearch.storage.local.engine import LocalEngine
from semsearch.storage.locations import DirectoryLocation
from semsearch.storage.manifest_schema import FILES_FORMAT


def save_format1(index: Index, path: Path) -> Path:
    """A copy of ``index`` saved at ``path`` in format 1 (FAISS, bm25s and SQLite files)."""
    parts = index.searcher().parts
    engine = LocalEngine(ChunkStore.new(), None, None, spec=spec_of(parts, index.manifest))
    copy_into(parts, index.manifest, engine)
    copied = engine.parts
    manifest = index.manifest.replace(
        generation=None,
        files={},
        layout={},
        format_version=FILES_FORMAT,
        lexical=copied.lexical.spec(),
        faiss_class=copied.vectors.describe(),
        counts=copied.chunks.counts().with_skipped(index.manifest.counts.skipped_sources),
    )
    engine.commit(manifest, DirectoryLocation(path))
    return path
