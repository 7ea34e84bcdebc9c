"""Copying an index into another engine (a directory index saved into Milvus, or the other way).

The source's stored documents, chunks, vectors, near-duplicate signatures and recorded duplicates are
read through the storage seam's read side and written into a new engine at the target as
:class:`~semsearch.records.WriteBatch` batches; nothing is embedded again.
"""

from __future__ import annotations

from collections.abc import Iterator

from semsearch.defaults import BM25_B, BM25_K1
from semsearch.errors import IndexCorruptError
from semsearch.records import (
    Chunk,
    CleanText,
    Document,
    DuplicateOf,
    PreparedDocument,
    StoredDocument,
    WriteBatch,
)
from semsearch.storage.base import Engine, IndexSpec, Parts
from semsearch.storage.locations import Location, storage_for
from semsearch.storage.manifest import Manifest
from semsearch.text.dedup import DedupConfig
from semsearch.text.titles import check_title_mode, indexed_texts

COPY_BATCH_CHUNKS = 4096  # chunks read and written at a time when the target engine takes any number


def spec_of(
    parts: Parts, manifest: Manifest, *, k1: float | None = None, b: float | None = None
) -> IndexSpec:
    """What a new engine holding this index is created with (``k1``/``b``: the target's own BM25, if fixed)."""
    return IndexSpec(
        dimension=manifest.dimension,
        index_type=manifest.index_type,
        analyzer=parts.lexical.analyzer,
        titles=check_title_mode(manifest.chunking.titles),
        dedup=DedupConfig(**manifest.dedup) if manifest.dedup else None,
        k1=float(manifest.lexical.get("k1", BM25_K1)) if k1 is None else k1,
        b=float(manifest.lexical.get("b", BM25_B)) if b is None else b,
    )


def copy_index(parts: Parts, manifest: Manifest, target: Location) -> tuple[Manifest, Engine]:
    """Write the index held in ``parts`` into a new engine at ``target``; the manifest as committed there."""
    engine = storage_for(target).create(target, spec_of(parts, manifest))
    copy_into(parts, manifest, engine)
    copied = engine.parts
    manifest = manifest.replace(
        generation=None,
        files={},
        layout={},
        lexical=copied.lexical.spec(),
        faiss_class=copied.vectors.describe(),
        counts=copied.chunks.counts().with_skipped(manifest.counts.skipped_sources),
    )
    return engine.commit(manifest, target), engine


def copy_into(parts: Parts, manifest: Manifest, engine: Engine) -> None:
    """Write every document of ``parts`` (chunks, vectors, signatures, duplicates) into ``engine``, batch by batch."""
    titles = check_title_mode(manifest.chunking.titles)
    signatures = {f.doc_id: f for f in parts.chunks.signatures()}
    size = engine.batch_chunks or COPY_BATCH_CHUNKS
    for documents in _batches(parts, size):
        ids = [c.chunk_id for entry in documents for c in entry.chunks]
        doc_ids = [entry.document.doc_id for entry in documents]
        found = parts.chunks.duplicates_of(doc_ids)
        duplicates = tuple(
            DuplicateOf(
                Document(r.doc_id, " ", r.title, r.origin, metadata=r.metadata), r.of_doc_id, r.similarity
            )
            for doc_id in doc_ids
            for r in found.get(doc_id, ())
        )
        engine.apply(
            WriteBatch(
                documents=tuple(documents),
                vectors=parts.vectors.reconstruct(ids),
                texts=tuple(indexed_texts(documents, titles)),
                fingerprints=tuple(signatures[d] for d in doc_ids if d in signatures),
                duplicates=duplicates,
            )
        )


def _batches(parts: Parts, size: int) -> Iterator[list[PreparedDocument]]:
    """The stored documents, as prepared documents, in batches of about ``size`` chunks."""
    batch: list[PreparedDocument] = []
    chunks: list[Chunk] = []
    count = 0
    for chunk in parts.chunks.iter_chunks():
        if chunks and chunk.doc_id != chunks[0].doc_id:
            batch.append(_prepared(parts, chunks))
            count += len(chunks)
            chunks = []
            if count >= size:
                yield batch
                batch, count = [], 0
        chunks.append(chunk)
    if chunks:
        batch.append(_prepared(parts, chunks))
    if batch:
        yield batch


def _prepared(parts: Parts, chunks: list[Chunk]) -> PreparedDocument:
    """A stored document and its chunks as the prepared document they were stored from."""
    stored = parts.chunks.document(chunks[0].doc_id)
    if stored is None:
        raise IndexCorruptError(
            f"chunks of document {chunks[0].doc_id!r} but no document record; rebuild the index"
        )
    return prepared_from(stored, chunks)


def prepared_from(stored: StoredDocument, chunks: list[Chunk]) -> PreparedDocument:
    """A stored document as a :class:`PreparedDocument` again (its cleaned text and drops, its chunks)."""
    document = Document(
        doc_id=stored.doc_id,
        text=stored.raw_text,
        title=stored.title if stored.title_source == "source" else "",
        origin=stored.origin,
        encoding=stored.encoding,
        metadata=dict(stored.metadata),
    )
    clean = CleanText(text=stored.clean_text, paragraphs=(), title="", dropped=tuple(stored.dropped))
    return PreparedDocument(document, clean, stored.title, stored.title_source, tuple(chunks))
