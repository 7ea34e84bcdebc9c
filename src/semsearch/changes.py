"""Changing an index: plan a change (what is new, changed, unchanged or removed; clean, chunk, embed it), then apply it.

Planning does everything that can fail or take long (reading the model, embedding) without touching
the index; applying only moves records between the parts, so the index holds its lock briefly and
a failed change leaves it as it was.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .backend import Parts
from .build import indexed_texts, prepare_all
from .dedup import DedupConfig, Deduplicator, Duplicate
from .embedding import EmbedOptions, embed_chunks
from .encoders import Encoder
from .errors import InputError
from .fusion import FusionConfig
from .ingest import IngestReport, Skipped
from .manifest import Manifest
from .records import ChangeReport, Chunk, Document, PreparedDocument


@dataclass(frozen=True)
class ChangePlan:
    """A change ready to apply: documents sorted by what happens to them, prepared and embedded.

    ``vectors`` holds one row per chunk of ``prepared``, in order; ``embedded`` counts the chunk
    texts the encoder had to embed (not found in the cache).
    """

    added: tuple[Document, ...] = ()
    updated: tuple[Document, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    prepared: tuple[PreparedDocument, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    vectors: np.ndarray | None = None
    embedded: int = 0
    texts: tuple[str, ...] = ()  # what each chunk of ``prepared`` is embedded and tokenised as
    duplicates: tuple[tuple[Document, Duplicate], ...] = ()  # not indexed: each repeats a stored document
    fingerprints: tuple[tuple[str, bytes, list[str]], ...] = ()  # MinHash of each prepared document, to store

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks the change adds, in order."""
        return [c for entry in self.prepared for c in entry.chunks]


def check_known(parts: Parts, doc_ids: Sequence[str], change: Literal["update", "remove"]) -> None:
    """Raise InputError naming up to five of ``doc_ids`` that are not in the index (so nothing is changed)."""
    known = set(parts.chunks.content_hashes(doc_ids))
    unknown = [d for d in doc_ids if d not in known]
    if unknown and change == "update":
        raise InputError(f"cannot update documents not in the index: {', '.join(unknown[:5])}; use add()")
    if unknown:
        raise InputError(
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
    hashes = parts.chunks.content_hashes([d.doc_id for d in report.documents])
    added, updated, unchanged = [], [], []
    for doc in report.documents:
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
        vectors=np.zeros((0, manifest.dimension), dtype=np.float32),
    )
    if not (added or updated):
        return plan
    model = encoder()
    titles = manifest.chunking.titles
    deduplicator = _deduplicator(parts, manifest, exclude={d.doc_id for d in updated} | set(removals))
    prepared = prepare_all([*added, *updated], model, manifest.chunking.config(), deduplicator, titles)  # type: ignore[arg-type]
    repeated = {doc.doc_id for doc, _ in prepared.duplicates}
    # A document that cleans to nothing is skipped, not added; as an update it would delete the
    # indexed version, so that version is kept (and the report says so).
    kept = {entry.document.doc_id for entry in prepared.documents} | repeated
    emptied = {d.source or d.doc_id for d in updated if d.doc_id not in kept}
    skipped = [
        Skipped(s.source, f"{s.reason}; the indexed version is kept" if s.source in emptied else s.reason)
        for s in prepared.skipped
    ]
    plan = dataclasses.replace(
        plan,
        added=tuple(d for d in added if d.doc_id not in repeated and d.doc_id in kept),
        updated=tuple(d for d in updated if d.doc_id not in repeated and d.doc_id in kept),
        prepared=tuple(prepared.documents),
        skipped=(*plan.skipped, *skipped),
        duplicates=tuple(prepared.duplicates),
        texts=tuple(indexed_texts(prepared.documents, titles)),  # type: ignore[arg-type]
        fingerprints=tuple(
            (e.document.doc_id, *deduplicator.fingerprint(e.document.doc_id)) for e in prepared.documents
        )
        if deduplicator is not None
        else (),
    )
    if not plan.chunks:
        return plan
    stats = {"embedded": 0}
    vectors = embed_chunks(model, plan.texts, embedding, stats)
    return dataclasses.replace(plan, vectors=vectors, embedded=stats["embedded"])


def _deduplicator(parts: Parts, manifest: Manifest, exclude: set[str]) -> Deduplicator | None:
    """A Deduplicator knowing the stored documents (but ``exclude``); None if the index keeps every copy.

    A store that keeps LSH band keys is asked for each new document's candidates only; from any
    other, every stored signature is read once.
    """
    if not manifest.dedup:
        return None
    config = DedupConfig(**manifest.dedup)
    if parts.chunks.similar_signatures([]) is not None:
        return Deduplicator(
            config, stored=lambda keys: parts.chunks.similar_signatures(keys) or [], hidden=exclude
        )
    deduplicator = Deduplicator(config)
    for doc_id, minhash, numbers in parts.chunks.signatures():
        if doc_id not in exclude:
            deduplicator.keep_fingerprint(doc_id, minhash, numbers)
    return deduplicator


def apply_change(parts: Parts, manifest: Manifest, plan: ChangePlan) -> tuple[Parts, Manifest, ChangeReport]:
    """Apply ``plan`` to ``parts``: the parts and manifest to use from now on, and what changed.

    Changes the vectors and chunk store in place; the caller holds the index's write lock.
    """
    chunks = plan.chunks
    gone = [*plan.removed, *(d.doc_id for d in plan.updated)]
    removed_ids = parts.chunks.remove(gone)
    for entry in plan.prepared:
        parts.chunks.add(entry)
    for doc_id, minhash, numbers in plan.fingerprints:
        parts.chunks.add_signature(doc_id, minhash, numbers)
    for doc, found in plan.duplicates:
        parts.chunks.add_duplicate(doc, found.of, found.similarity)
    ids = np.fromiter((c.chunk_id for c in chunks), dtype=np.int64, count=len(chunks))
    parts.vectors.delete(removed_ids)
    if len(ids):
        parts.vectors.add(plan.vectors, ids)  # type: ignore[arg-type]
    lexical = parts.lexical.changed(removed_ids, ids.tolist(), list(plan.texts))
    change = ChangeReport(
        added=tuple(d.doc_id for d in plan.added),
        updated=tuple(d.doc_id for d in plan.updated),
        unchanged=plan.unchanged,
        removed=plan.removed,
        chunks_added=len(chunks),
        chunks_removed=len(removed_ids),
        embedded=plan.embedded,
        duplicates=tuple(doc.doc_id for doc, _ in plan.duplicates),
        skipped=plan.skipped,
    )
    if change.changed:
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        counts = parts.chunks.counts().with_skipped(manifest.counts.skipped_sources)
        manifest = manifest.replace(updated_at=now, counts=counts)
    return dataclasses.replace(parts, lexical=lexical), manifest, change


def current_manifest(manifest: Manifest, parts: Parts, fusion: FusionConfig) -> Manifest:
    """The manifest brought up to date with the parts (counts, search knobs, lexical spec) and ``fusion``, to save."""
    return manifest.replace(
        counts=parts.chunks.counts().with_skipped(manifest.counts.skipped_sources),
        search_params=dataclasses.replace(parts.vectors.params),
        lexical=parts.lexical.spec(),
        fusion=fusion,
    )
