"""Changing an index: plan a change (what is new, changed, unchanged or removed; clean, chunk, embed it), then apply it.

Planning does everything that can fail or take long (reading the model, embedding) without touching
the index and ends in one :class:`~semsearch.records.WriteBatch`; applying hands that batch to the
engine, so the index holds its lock briefly and a failed plan leaves it as it was.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from semsearch.encoders.base import Encoder
from semsearch.encoders.embedding import EmbedOptions, embed_chunks
from semsearch.errors import UnknownDocumentError
from semsearch.pipeline.prepare import prepare_all, stored_deduplicator
from semsearch.readers.ingest import IngestReport
from semsearch.records import ChangeReport, Document, DuplicateOf, FusionConfig, Skipped, WriteBatch
from semsearch.storage.base import DocumentStore, Parts
from semsearch.storage.manifest import Manifest
from semsearch.text.dedup import DedupConfig, Deduplicator, Duplicate
from semsearch.text.titles import indexed_texts


@dataclass(frozen=True)
class ChangePlan:
    """A change ready to apply: documents sorted by what happens to them, and the batch that does it.

    ``embedded`` counts the chunk texts the encoder had to embed (not found in the cache).
    """

    added: tuple[Document, ...] = ()
    updated: tuple[Document, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    batch: WriteBatch = WriteBatch()
    embedded: int = 0
    promoted: tuple[str, ...] = ()  # folded duplicates indexed in place of a removed kept document

    @property
    def duplicates(self) -> list[Duplicate]:
        """Documents not indexed because each repeats a stored one."""
        return [Duplicate(d.document.doc_id, d.of, d.similarity) for d in self.batch.duplicates]


def check_known(chunks: DocumentStore, doc_ids: Sequence[str], change: Literal["update", "remove"]) -> None:
    """Raise InputError naming up to five of ``doc_ids`` that are not in the index (so nothing is changed)."""
    known = set(chunks.content_hashes(doc_ids))
    if change == "remove":  # a folded near-duplicate is removed by its own id too
        known |= chunks.duplicate_ids([d for d in doc_ids if d not in known])
    unknown = [d for d in doc_ids if d not in known]
    if unknown and change == "update":
        raise UnknownDocumentError(
            f"cannot update documents not in the index: {', '.join(unknown[:5])}; use add()"
        )
    if unknown:
        raise UnknownDocumentError(
            f"no document {', '.join(map(repr, unknown[:5]))} in this index; list the ids with "
            "`semsearch docs -i INDEX` (index.doc_ids() in Python)"
        )


def plan_change(
    parts: Parts,
    manifest: Manifest,
    report: IngestReport,
    removals: Sequence[str],
    encoder: Callable[[], Encoder],
    embedding: EmbedOptions,
) -> ChangePlan:
    """Sort ``report``'s documents into added, updated and unchanged (by content hash) and prepare the new ones.

    ``encoder`` is called only if some document is new or changed (a removal never loads the model).
    """
    promoted = _promoted(parts.chunks, removals, {d.doc_id for d in report.documents})
    documents = [*report.documents, *promoted]
    hashes = parts.chunks.content_hashes([d.doc_id for d in documents])
    added, updated, unchanged = [], [], []
    for doc in documents:
        if doc.doc_id not in hashes:
            added.append(doc)
        elif hashes[doc.doc_id] != doc.content_hash:
            updated.append(doc)
        else:
            unchanged.append(doc.doc_id)
    plan = ChangePlan(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        removed=tuple(removals),
        skipped=tuple(report.skipped),
        promoted=tuple(d.doc_id for d in promoted),
        batch=WriteBatch(
            removed=tuple(removals), vectors=np.zeros((0, manifest.dimension), dtype=np.float32)
        ),
    )
    if not (added or updated):
        return plan
    model = encoder()
    titles = manifest.chunking.titles
    deduplicator = _deduplicator(parts, manifest, exclude={d.doc_id for d in updated} | set(removals))
    prepared = prepare_all([*added, *updated], model, manifest.chunking.config(), deduplicator, titles)  # type: ignore[arg-type]
    # A document already recorded as the same duplicate of the same stored one is unchanged: a sync
    # reads it again at every pass and must not rewrite the index for it.
    known = _recorded(parts, prepared.duplicates)
    prepared = dataclasses.replace(
        prepared, duplicates=[d for d in prepared.duplicates if d.document.doc_id not in known]
    )
    unchanged += sorted(known)
    plan = dataclasses.replace(plan, unchanged=tuple(unchanged))
    added = [d for d in added if d.doc_id not in known]
    repeated = {d.document.doc_id for d in prepared.duplicates}
    # A document that cleans to nothing is skipped, not added; as an update it would delete the
    # indexed version, so that version is kept (and the report says so).
    kept = {entry.document.doc_id for entry in prepared.documents} | repeated
    emptied = {d.origin or d.doc_id for d in updated if d.doc_id not in kept}
    skipped = [
        Skipped(s.origin, f"{s.reason}; the indexed version is kept" if s.origin in emptied else s.reason)
        for s in prepared.skipped
    ]
    updated_kept = tuple(d for d in updated if d.doc_id not in repeated and d.doc_id in kept)
    texts = indexed_texts(prepared.documents, titles)  # type: ignore[arg-type]
    stats = {"embedded": 0}
    vectors = (
        embed_chunks(model, texts, embedding, stats)
        if texts
        else np.zeros((0, manifest.dimension), dtype=np.float32)
    )
    promoted_ids = set(plan.promoted)
    return dataclasses.replace(
        plan,
        added=tuple(
            d for d in added if d.doc_id not in repeated and d.doc_id in kept and d.doc_id not in promoted_ids
        ),
        updated=updated_kept,
        skipped=(*plan.skipped, *skipped),
        batch=WriteBatch(
            removed=(*removals, *(d.doc_id for d in updated_kept)),
            documents=tuple(prepared.documents),
            vectors=vectors,
            texts=tuple(texts),
            fingerprints=tuple(prepared.fingerprints),
            duplicates=tuple(prepared.duplicates),
        ),
        embedded=stats["embedded"],
    )


def _recorded(parts: Parts, duplicates: Sequence[DuplicateOf]) -> set[str]:
    """The ids among ``duplicates`` recorded already, as duplicates of the same document with the same record."""
    stored = parts.chunks.duplicates_of({d.of for d in duplicates})
    found = set()
    for duplicate in duplicates:
        doc = duplicate.document
        for record in stored.get(duplicate.of, []):
            if (record.doc_id, record.title, dict(record.metadata)) == (
                doc.doc_id,
                doc.title,
                dict(doc.metadata),
            ):
                found.add(doc.doc_id)
    return found


def _promoted(chunks: DocumentStore, removals: Sequence[str], given: set[str]) -> list[Document]:
    """The folded near-duplicates of removed kept documents, as documents to index in their place.

    A document that was added stays findable until it is removed by its own id: when the copy it was
    folded into goes, it is indexed itself, under its own id, title, origin and metadata. Its own text
    was never stored, so it gets the kept copy's (they were near-duplicates); a change that brings its
    own text (``given``) or removes it too leaves it to that.
    """
    removing = set(removals)
    out: list[Document] = []
    for kept, records in chunks.duplicates_of(removals).items():
        waiting = [r for r in records if r.doc_id not in removing and r.doc_id not in given]
        stored = chunks.document(kept) if waiting else None
        if stored is None:
            continue
        for record in waiting:
            out.append(
                Document(
                    record.doc_id,
                    stored.raw_text,
                    title=record.title,
                    origin=record.origin,
                    metadata=dict(record.metadata),
                )
            )
    return out


def _deduplicator(parts: Parts, manifest: Manifest, exclude: set[str]) -> Deduplicator | None:
    """A Deduplicator knowing the stored documents (but ``exclude``); None if the index keeps every copy.

    A store that keeps LSH band keys is asked for each new document's candidates only; from any
    other, every stored signature is read once.
    """
    if not manifest.dedup:
        return None
    config = DedupConfig(**manifest.dedup)
    stored = stored_deduplicator(parts.chunks, config, hidden=exclude)
    if stored is not None:
        return stored
    deduplicator = Deduplicator(config)
    for found in parts.chunks.signatures():
        if found.doc_id not in exclude:
            deduplicator.keep_fingerprint(*found)
    return deduplicator


def report_of(plan: ChangePlan, removed_chunks: Sequence[int]) -> ChangeReport:
    """What a change did, once the engine applied its batch (``removed_chunks``: the chunk ids it removed)."""
    indexed = {entry.document.doc_id for entry in plan.batch.documents}
    return ChangeReport(
        added=tuple(d.doc_id for d in plan.added),
        updated=tuple(d.doc_id for d in plan.updated),
        unchanged=plan.unchanged,
        removed=plan.removed,
        chunks_added=len(plan.batch.chunk_ids),
        chunks_removed=len(removed_chunks),
        embedded=plan.embedded,
        duplicates=tuple(d.document.doc_id for d in plan.batch.duplicates),
        skipped=plan.skipped,
        promoted=tuple(d for d in plan.promoted if d in indexed),
    )


def current_manifest(
    manifest: Manifest, parts: Parts, fusion: FusionConfig, *, touched: bool = False
) -> Manifest:
    """The manifest brought up to date with the parts (counts, search knobs, lexical spec) and ``fusion``.

    ``touched``: the index changed, so ``updated_at`` is now.
    """
    changes = {}
    if touched:
        changes["updated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return manifest.replace(
        counts=parts.chunks.counts().with_skipped(manifest.counts.skipped_sources),
        search_params=dataclasses.replace(parts.vectors.params),
        lexical=parts.lexical.spec(),
        fusion=fusion,
        **changes,
    )
