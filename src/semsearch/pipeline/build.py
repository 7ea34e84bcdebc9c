"""Building: sources → documents → cleaned → chunks → vectors → a new index, batch by batch.

Sources are read, cleaned and chunked one document at a time; whenever the engine's batch is full
(:attr:`~semsearch.storage.base.Engine.batch_chunks`), its chunks are embedded and handed to the
engine as one :class:`~semsearch.records.WriteBatch`. The same code builds a directory index (kept in
memory until saved) and an index written straight into Milvus: the location decides the engine.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from semsearch.defaults import (
    BM25_B,
    BM25_K1,
    DEFAULT_INDEX_TYPE,
    DEFAULT_MIN_CHARS,
    DEFAULT_TOKENIZER,
    VERSION,
)
from semsearch.encoders.base import Encoder
from semsearch.encoders.embedding import EmbedOptions, embed_chunks
from semsearch.errors import EmptyCorpusError
from semsearch.pipeline.prepare import (
    Prepared,
    chunking_config,
    documents_of,
    empty_corpus_message,
    prepare_all,
    stored_deduplicator,
)
from semsearch.readers.ingest import FieldNames, IngestReport, Source, iter_sources
from semsearch.records import FusionConfig, Skipped, WriteBatch
from semsearch.search.fusion import default_fusion
from semsearch.storage.base import Engine, IndexSpec
from semsearch.storage.locations import Location, storage_for
from semsearch.storage.manifest import ChunkingRecord, Manifest
from semsearch.text.analyzer import Analyzer
from semsearch.text.clean import CLEANER_VERSION, DEFAULT_HEADING_MAX_CHARS
from semsearch.text.dedup import DedupConfig, Deduplicator, Duplicate
from semsearch.text.scripts import check_embed_script
from semsearch.text.titles import DEFAULT_TITLE_MODE, TitleMode, check_title_mode, indexed_texts


@dataclass(frozen=True)
class BuildOptions:
    """How a new index is built (see :meth:`semsearch.Index.build` for each option)."""

    index_type: str = DEFAULT_INDEX_TYPE
    max_tokens: int | None = None
    min_chars: int = DEFAULT_MIN_CHARS
    user_dict: str | os.PathLike[str] | None = None
    tokenizer: str = DEFAULT_TOKENIZER
    fusion: FusionConfig | None = None
    embedding: EmbedOptions = field(default_factory=EmbedOptions)
    fields: FieldNames | None = None
    dedup: DedupConfig | None = None
    titles: TitleMode = DEFAULT_TITLE_MODE


@dataclass(frozen=True)
class Built:
    """A new index's manifest and engine, and what was skipped or found repeating on the way."""

    manifest: Manifest
    engine: Engine
    skipped: tuple[Skipped, ...]
    duplicates: tuple[Duplicate, ...] = ()


def build_index(
    sources: Source | Iterable[Source],
    encoder: Encoder,
    options: BuildOptions,
    target: Location | None = None,
    *,
    threads: int | None = None,
) -> Built:
    """Read, clean, chunk, embed and index ``sources`` into a new engine (at ``target``, committed there).

    ``target`` None builds a directory index in memory, to save with ``save()``. Raises
    :class:`EmptyCorpusError` (naming ``sources`` and why each was skipped) if nothing is left.
    """
    started = time.perf_counter()
    check_embed_script(options.embedding.script)
    titles = check_title_mode(options.titles)
    analyzer = Analyzer.from_user_dict(
        None if options.user_dict is None else Path(options.user_dict), mode=options.tokenizer
    )
    config = chunking_config(encoder, options.max_tokens, options.min_chars)
    deduplicator = Deduplicator(options.dedup) if options.dedup is not None else None
    spec = IndexSpec(encoder.dimension, options.index_type, analyzer, titles, options.dedup, BM25_K1, BM25_B)
    engine = storage_for(target).create(target, spec, threads=threads)
    report = IngestReport()  # what was skipped while reading; the documents themselves are streamed
    skipped: list[Skipped] = []
    duplicates: list[Duplicate] = []
    waiting: list[Prepared] = []
    waiting_chunks = stored = 0
    for doc in documents_of(iter_sources(sources, fields=options.fields), report):
        prepared = prepare_all([doc], encoder, config, deduplicator, titles)
        skipped += prepared.skipped
        duplicates += prepared.found()
        waiting.append(prepared)
        waiting_chunks += sum(len(entry.chunks) for entry in prepared.documents)
        if engine.batch_chunks is not None and waiting_chunks >= engine.batch_chunks:
            stored += _write(engine, waiting, encoder, options.embedding, titles)
            waiting, waiting_chunks = [], 0
            deduplicator = _looking_up_stored(engine, deduplicator)
    stored += _write(engine, waiting, encoder, options.embedding, titles)
    if not stored:
        raise EmptyCorpusError(empty_corpus_message(sources, report, skipped))
    parts = engine.parts
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    all_skipped = (*report.skipped, *skipped)
    manifest = Manifest(
        semsearch_version=VERSION,
        created_at=now,
        updated_at=now,
        encoder={**encoder.spec(), "identity": encoder.identity, "embed_script": options.embedding.script},
        dimension=encoder.dimension,
        index_type=options.index_type,
        faiss_class=parts.vectors.describe(),
        search_params=dataclasses.replace(parts.vectors.params),
        lexical=parts.lexical.spec(),
        fusion=options.fusion or default_fusion(encoder.identity),
        chunking=ChunkingRecord(
            max_tokens=config.max_tokens,
            min_chars=config.min_chars,
            heading_max_chars=DEFAULT_HEADING_MAX_CHARS,
            cleaner_version=CLEANER_VERSION,
            titles=titles,
        ),
        counts=parts.chunks.counts().with_skipped(len(all_skipped)),
        build_seconds=round(time.perf_counter() - started, 3),
        dedup=dataclasses.asdict(options.dedup) if options.dedup is not None else None,
    )
    if target is not None:
        manifest = engine.commit(manifest)  # the manifest last: the build is whole
    return Built(manifest, engine, all_skipped, tuple(duplicates))


def _looking_up_stored(engine: Engine, deduplicator: Deduplicator | None) -> Deduplicator | None:
    """After a batch is written: a Deduplicator holding nothing, which finds earlier documents in the store.

    An engine that keeps LSH band keys answers each new document's candidates from disk (as changes
    do), so a build holds the signatures of one batch, not of the whole corpus (~8 KB per story).
    An engine without band keys keeps ``deduplicator`` as it is.
    """
    if deduplicator is None:
        return None
    stored = stored_deduplicator(engine.parts.chunks, deduplicator.config)
    return deduplicator if stored is None else stored  # (an empty Deduplicator is falsy: it has a len)


def _write(
    engine: Engine, waiting: list[Prepared], encoder: Encoder, embedding: EmbedOptions, titles: TitleMode
) -> int:
    """Embed the waiting documents' chunks and hand them to the engine as one batch; the chunks written."""
    documents = [entry for prepared in waiting for entry in prepared.documents]
    found = [d for prepared in waiting for d in prepared.duplicates]
    if not documents and not found:
        return 0
    texts = indexed_texts(documents, titles)
    batch = WriteBatch(
        documents=tuple(documents),
        vectors=embed_chunks(encoder, texts, embedding),
        texts=tuple(texts),
        fingerprints=tuple(f for prepared in waiting for f in prepared.fingerprints),
        duplicates=tuple(found),
    )
    engine.apply(batch)
    return len(batch.chunk_ids)
