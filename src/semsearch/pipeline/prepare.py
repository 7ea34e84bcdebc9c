"""Preparing documents: clean, find near-duplicates, pick a title, chunk to the model's window.

:func:`prepare_all` gives one frozen :class:`~semsearch.records.PreparedDocument` per document kept,
which both a new index (:mod:`semsearch.pipeline.build`) and a change (:mod:`semsearch.pipeline.changes`)
embed and store; :func:`semsearch.text.titles.indexed_texts` is the text each chunk is embedded and tokenised as.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from semsearch.defaults import MIN_DOCUMENT_CHARS, on_off
from semsearch.encoders.base import Encoder
from semsearch.errors import InputError
from semsearch.readers.ingest import IngestReport
from semsearch.records import CleanText, Document, DuplicateOf, Fingerprint, PreparedDocument, Skipped
from semsearch.text.chunk import ChunkingConfig, chunk_document
from semsearch.text.clean import clean_text, first_sentence
from semsearch.text.dedup import DedupConfig, Deduplicator, Duplicate
from semsearch.text.titles import LEGACY_TITLE_MODE, TitleMode, title_prefix

if TYPE_CHECKING:
    from semsearch.storage.base import DocumentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare_all` makes of some documents: kept, skipped, repeating another.

    ``fingerprints``: the near-duplicate signature of each document kept, when duplicates are looked for.
    """

    documents: list[PreparedDocument]
    skipped: list[Skipped]
    duplicates: list[DuplicateOf]
    fingerprints: list[Fingerprint]

    def found(self) -> list[Duplicate]:
        """The duplicates found, as :attr:`semsearch.Index.duplicates` lists them."""
        return [Duplicate(d.document.doc_id, d.of, d.similarity) for d in self.duplicates]


def documents_of(items: Iterable[Document | Skipped], report: IngestReport) -> Iterator[Document]:
    """The documents among ``items``; what was skipped is collected in ``report``."""
    for item in items:
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            yield item


def chunking_config(encoder: Encoder, max_tokens: int | None, min_chars: int) -> ChunkingConfig:
    """Chunks of at most ``max_tokens`` (default: the model's window); larger than the window is an error."""
    config = ChunkingConfig(
        max_tokens=encoder.max_tokens if max_tokens is None else max_tokens, min_chars=min_chars
    )
    if config.max_tokens > encoder.max_tokens:
        raise InputError(
            f"max_tokens={config.max_tokens} is larger than the window of {encoder.identity} "
            f"({encoder.max_tokens} tokens); chunks that long would be truncated"
        )
    return config


def prepare(
    documents: Sequence[Document], encoder: Encoder, config: ChunkingConfig
) -> tuple[list[PreparedDocument], list[Skipped]]:
    """Clean and chunk documents; those with no text left are skipped (with a warning)."""
    prepared = prepare_all(documents, encoder, config)
    return prepared.documents, prepared.skipped


def prepare_all(
    documents: Sequence[Document],
    encoder: Encoder,
    config: ChunkingConfig,
    deduplicator: Deduplicator | None = None,
    titles: TitleMode = LEGACY_TITLE_MODE,
) -> Prepared:
    """:func:`prepare`, finding near-duplicates and leaving room for titles: kept, skipped, duplicates.

    With a ``deduplicator``, a document repeating one kept before (in this batch or in the index) is
    not chunked: it is returned among the duplicates, with the id of the one it repeats. With
    ``titles`` other than "none", chunks leave room in the window for the title embedded with them.
    """
    prepared: list[PreparedDocument] = []
    skipped: list[Skipped] = []
    duplicates: list[DuplicateOf] = []
    for doc in documents:
        clean = clean_text(doc.text)
        reason = too_short(clean)
        if reason:
            skipped.append(Skipped(doc.origin or doc.doc_id, reason))
            log.warning("skipped %s: %s", doc.origin or doc.doc_id, reason)
            continue
        if deduplicator is not None:
            found = deduplicator.check(doc.doc_id, clean.text)
            if found is not None:
                log.info(
                    "%s repeats %s (similarity %.2f): recorded as its duplicate",
                    doc.doc_id,
                    found.of,
                    found.similarity,
                )
                duplicates.append(DuplicateOf(doc, found.of, found.similarity))
                continue
        title, title_source = pick_title(doc, clean)
        prefix = title_prefix(title, title_source, titles)
        fitted = config
        if prefix:  # the title is embedded with each chunk: leave room for it in the window
            room = max(8, config.max_tokens - encoder.count_tokens(prefix) - 2)
            fitted = ChunkingConfig(max_tokens=room, min_chars=config.min_chars)
        doc_chunks = chunk_document(
            doc.doc_id, clean, count_tokens=encoder.count_tokens, config=fitted, title=title
        )
        prepared.append(PreparedDocument(doc, clean, title, title_source, tuple(doc_chunks)))
    fingerprints = (
        [Fingerprint(e.document.doc_id, *deduplicator.fingerprint(e.document.doc_id)) for e in prepared]
        if deduplicator is not None
        else []
    )
    return Prepared(prepared, skipped, duplicates, fingerprints)


def too_short(clean: CleanText) -> str:
    """Why a cleaned document is not indexed ("" when it is): no text left, or too little to be a story.

    >>> too_short(clean_text("undefined"))
    'only 9 characters after cleaning (fewer than 10): not an article'
    """
    if not clean.paragraphs:
        return "no text left after cleaning"
    length = len("".join(clean.text.split()))
    if length < MIN_DOCUMENT_CHARS:
        return f"only {length} characters after cleaning (fewer than {MIN_DOCUMENT_CHARS}): not an article"
    return ""


def stored_deduplicator(
    chunks: DocumentStore, config: DedupConfig, hidden: Collection[str] = ()
) -> Deduplicator | None:
    """A Deduplicator holding nothing that looks up each new document's stored candidates in ``chunks``.

    Candidates are found by their LSH band keys (``hidden`` ones ignored); None if that store keeps none.
    """
    if chunks.similar_signatures([]) is None:
        return None
    return Deduplicator(config, stored=lambda keys: chunks.similar_signatures(keys) or [], hidden=hidden)


def dedup_config(dedup: DedupConfig | bool | None) -> DedupConfig | None:
    """The DedupConfig ``dedup`` asks for: True the default, False or None none."""
    return on_off(dedup, DedupConfig, "dedup")


def pick_title(doc: Document, clean: CleanText) -> tuple[str, str]:
    """The document's title and where it came from: the source, a headline found, or the first sentence."""
    if doc.title.strip():
        return doc.title.strip(), "source"
    if clean.title:
        return clean.title, "headline"
    return first_sentence(clean), "first sentence"


def empty_corpus_message(sources: object, report: IngestReport, skipped: Sequence[Skipped]) -> str:
    """Why nothing could be indexed from ``sources``: no documents at all, or every one skipped and why."""
    names = sources if isinstance(sources, (str, os.PathLike)) else ", ".join(map(str, sources))  # type: ignore[call-overload]
    reasons = [*report.skipped, *skipped]
    detail = "; ".join(f"{s.origin}: {s.reason}" for s in reasons[:5])
    more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
    if not reasons:
        return (
            f"no .txt or .jsonl documents found in {names}; point semsearch at files or folders of articles"
        )
    return f"nothing to index in {names}: every source was skipped — {detail}{more}"
