"""Building: sources → documents → cleaned → chunks → vectors → the parts of a new index.

Each stage takes the previous one's output; :func:`prepare` gives one frozen
:class:`~semsearch.records.PreparedDocument` per document (its cleaned text, title and chunks), which
both a new index and a change (:mod:`semsearch.changes`) embed and store.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from . import __version__
from .backend import Parts
from .cache import EmbeddingCache
from .chunk import ChunkingConfig, chunk_document
from .chunk_store import ChunkStore
from .clean import CLEANER_VERSION, DEFAULT_HEADING_MAX_CHARS, CleanText, clean_text, first_sentence
from .dedup import DedupConfig, Deduplicator, Duplicate
from .defaults import DEFAULT_BATCH_SIZE, DEFAULT_INDEX_TYPE, DEFAULT_MIN_CHARS, DEFAULT_TOKENIZER, on_off
from .embedding import EmbedOptions, ProgressCallback, embed_chunks
from .encoders import Encoder, load_encoder
from .errors import EmptyCorpusError, IndexCorruptError, InputError
from .fusion import FusionConfig, default_fusion
from .ingest import FieldNames, IngestReport, Skipped, Source, iter_sources
from .lexical import Analyzer, LexicalIndex
from .locations import Executor, build_target, storage_for
from .manifest import ChunkingRecord, Manifest
from .records import Document, PreparedDocument
from .script import DEFAULT_EMBED_SCRIPT, EmbedScript, check_embed_script
from .titles import (
    DEFAULT_TITLE_MODE,
    LEGACY_TITLE_MODE,
    TitleMode,
    check_title_mode,
    indexed_text,
    title_prefix,
)
from .vector_index import VectorIndex

if TYPE_CHECKING:
    from .index import Index

log = logging.getLogger(__name__)


class ChunkSink(Protocol):
    """Where a build puts prepared documents: a chunk store, or a Milvus build writing batch by batch."""

    def add(self, prepared: PreparedDocument) -> None:
        """Take a cleaned, chunked document."""
        ...

    def add_signature(self, doc_id: str, minhash: bytes, numbers: Sequence[str]) -> None:
        """Keep a kept document's MinHash and numbers."""
        ...

    def add_duplicate(self, doc: Document, of_doc_id: str, similarity: float) -> None:
        """Record ``doc`` as a duplicate of ``of_doc_id``."""
        ...


@dataclass(frozen=True)
class Built:
    """A new index's manifest and parts, the encoder that embedded it, and the sources skipped on the way."""

    manifest: Manifest
    parts: Parts
    encoder: Encoder
    skipped: tuple[Skipped, ...]
    duplicates: tuple[Duplicate, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` makes of some documents: those kept, those skipped, those repeating another."""

    documents: list[PreparedDocument]
    skipped: list[Skipped]
    duplicates: list[tuple[Document, Duplicate]]


def new_index(
    cls: type[Index],
    sources: Source | Iterable[Source],
    *,
    model: str | os.PathLike[str] | Encoder | None = None,
    index_type: str = DEFAULT_INDEX_TYPE,
    max_tokens: int | None = None,
    min_chars: int = DEFAULT_MIN_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: EmbeddingCache | bool | None = True,
    progress: bool | ProgressCallback = False,
    user_dict: str | os.PathLike[str] | None = None,
    tokenizer: str = DEFAULT_TOKENIZER,
    fusion: FusionConfig | None = None,
    embed_script: EmbedScript = DEFAULT_EMBED_SCRIPT,
    fields: FieldNames | None = None,
    dedup: DedupConfig | bool = True,
    titles: TitleMode = DEFAULT_TITLE_MODE,
    threads: int | None = None,
    device: str | None = None,
    engine: str | None = None,
    executor: Executor = "local",
    ray_address: str | None = None,
) -> Index:
    """Read, clean, chunk and embed ``sources`` (files, folders, Documents) into a new index.

    ``model``: None (the bundled multilingual-e5-small), a sentence-transformers name or path, or an
    :class:`~semsearch.encoders.Encoder`; ``index_type``: a FAISS factory string; ``max_tokens``: the
    chunk size limit (default: the model's window); ``cache``: reuse embeddings (True: the default
    cache); ``user_dict``: a jieba user dictionary (``word [freq] [tag]`` lines); ``tokenizer``: jieba
    "search" or "precise"; ``fusion``: hybrid fusion (default: tuned weighted for the bundled model,
    else RRF); ``embed_script``: "simplified" (default) embeds passages and queries with Traditional
    Chinese converted to Simplified, "as-written" as they are (the stored text never changes);
    ``fields``: which field of a JSONL line or CSV row holds the text, title and id
    (default: found among common names); ``dedup``: index a near-duplicate article once and record
    the others as its duplicates (a DedupConfig, or False to keep every copy); ``titles``: how a
    source's title reaches both sides ("every" chunk, the "first", "none"; :mod:`semsearch.titles`).
    ``progress``: True for a bar, or ``callback(done, total)`` called after each batch with
    characters embedded so far and in all (text length, not a count of chunks, measures the work
    left: the longest chunks are embedded first); ``threads``: CPU threads for the model and FAISS (default
    ``$SEMSEARCH_THREADS``, else every CPU the process may use); ``device``: "cpu", "cuda" or
    "auto" (default: a GPU when there is one); ``engine``: a Milvus location
    (``milvus://HOST:PORT#NAME``, ``milvus-lite:PATH.db#NAME``) to build into, batch by batch (the
    index is then saved there as it is built); ``executor``: "local", or "ray" to embed on the Ray
    cluster at ``ray_address`` (default ``$RAY_ADDRESS``, else a local one; needs ``semsearch[ray]``).
    Raises :class:`EmptyCorpusError` if no source has indexable text.
    """
    where = build_target(engine, executor, ray_address)
    built = build_index(
        sources,
        model=load_encoder(model, threads=threads, device=device),
        index_type=index_type,
        max_tokens=max_tokens,
        min_chars=min_chars,
        user_dict=user_dict,
        tokenizer=tokenizer,
        fusion=fusion,
        embedding=EmbedOptions(
            batch_size,
            cache,
            progress,
            embed_script,
            (ray_address or True) if executor == "ray" else False,
        ),
        fields=fields,
        dedup=dedup_config(dedup),
        titles=titles,
        engine=where,
    )
    return cls(
        manifest=built.manifest,
        parts=built.parts,
        encoder=built.encoder,
        skipped=built.skipped,
        duplicates=built.duplicates,
        path=where,
        storage=None if where is None else storage_for(where),
        threads=threads,
        device=device,
    )


def build_index(
    sources: Source | Iterable[Source],
    *,
    model: str | os.PathLike[str] | Encoder | None,
    index_type: str,
    max_tokens: int | None,
    min_chars: int,
    user_dict: str | os.PathLike[str] | None,
    tokenizer: str,
    fusion: FusionConfig | None,
    embedding: EmbedOptions,
    fields: FieldNames | None = None,
    dedup: DedupConfig | None = None,
    titles: TitleMode = LEGACY_TITLE_MODE,
    engine: str | None = None,
) -> Built:
    """Read, clean, chunk, embed and index ``sources`` (see :meth:`semsearch.Index.build`).

    Sources are read, cleaned, chunked and stored one document at a time, so a build never holds every
    raw and cleaned text at once. ``engine``: a Milvus location to write the index into, batch by batch
    (embedded and written every few thousand chunks; default: in memory, to save as a directory).
    Raises :class:`EmptyCorpusError` (naming ``sources`` and why each was skipped) if nothing is left.
    """
    started = time.perf_counter()
    check_embed_script(embedding.script)
    titles = check_title_mode(titles)
    analyzer = Analyzer.from_user_dict(None if user_dict is None else Path(user_dict), mode=tokenizer)
    encoder = load_encoder(model)
    config = chunking_config(encoder, max_tokens, min_chars)
    deduplicator = Deduplicator(dedup) if dedup is not None else None
    chunking = ChunkingRecord(
        max_tokens=config.max_tokens,
        min_chars=config.min_chars,
        heading_max_chars=DEFAULT_HEADING_MAX_CHARS,
        cleaner_version=CLEANER_VERSION,
        titles=titles,
    )
    milvus, local = None, None
    store: ChunkSink
    if engine is not None:
        from .milvus_build import MilvusBuild

        placeholder = {
            "index_type": index_type,
            "dimension": encoder.dimension,
            "lexical": LexicalIndex.build(analyzer, [], []).spec(),
            "chunking": {"titles": titles},
            "dedup": dataclasses.asdict(dedup) if dedup is not None else None,  # its LSH band keys are kept
        }
        store = milvus = MilvusBuild(
            engine, placeholder, analyzer, titles, lambda texts: embed_chunks(encoder, texts, embedding)
        )
    else:
        store = local = ChunkStore.new()
    report = IngestReport()  # what was skipped while reading; the documents themselves are streamed
    chunks, texts, skipped, duplicates = [], [], [], []
    for doc in _documents(iter_sources(sources, fields=fields), report):
        prepared = prepare_all([doc], encoder, config, deduplicator, titles)
        store_prepared(store, prepared, deduplicator)
        if milvus is None:  # a Milvus build embeds and writes each batch as it fills
            chunks += [c for entry in prepared.documents for c in entry.chunks]
            texts += indexed_texts(prepared.documents, titles)
        skipped += prepared.skipped
        duplicates += [found for _, found in prepared.duplicates]
    if milvus is not None:
        found = milvus.finish()
        if found is None:
            raise EmptyCorpusError(empty_corpus_message(sources, report, skipped))
        parts = found
    else:
        if not chunks or local is None:
            raise EmptyCorpusError(empty_corpus_message(sources, report, skipped))
        vectors = embed_chunks(encoder, texts, embedding)
        ids = np.fromiter((c.chunk_id for c in chunks), dtype=np.int64, count=len(chunks))
        if len(np.unique(ids)) != len(ids):  # 64-bit hash collision: astronomically unlikely, never silent
            raise IndexCorruptError("two chunks received the same 64-bit id; rename one of the documents")
        vector_index = VectorIndex.build(vectors, ids, index_type)
        parts = Parts(vector_index, LexicalIndex.build(analyzer, ids.tolist(), texts), local)
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    all_skipped = (*report.skipped, *skipped)
    manifest = Manifest(
        semsearch_version=__version__,
        created_at=now,
        updated_at=now,
        encoder={**encoder.spec(), "identity": encoder.identity, "embed_script": embedding.script},
        dimension=encoder.dimension,
        index_type=index_type,
        faiss_class=parts.vectors.describe(),
        search_params=dataclasses.replace(parts.vectors.params),
        lexical=parts.lexical.spec(),
        fusion=fusion or default_fusion(encoder.identity),
        chunking=chunking,
        counts=parts.chunks.counts().with_skipped(len(all_skipped)),
        build_seconds=round(time.perf_counter() - started, 3),
        dedup=dataclasses.asdict(dedup) if dedup is not None else None,
    )
    if engine is not None:
        from .milvus_parts import MilvusStorage

        manifest = MilvusStorage().save(engine, manifest, parts)  # the manifest last: the build is whole
    return Built(manifest, parts, encoder, all_skipped, tuple(duplicates))


def _documents(items: Iterable[Document | Skipped], report: IngestReport) -> Iterator[Document]:
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
    duplicates: list[tuple[Document, Duplicate]] = []
    for doc in documents:
        clean = clean_text(doc.text)
        if not clean.paragraphs:
            skipped.append(Skipped(doc.source or doc.doc_id, "no text left after cleaning"))
            log.warning("skipped %s: no text left after cleaning", doc.source or doc.doc_id)
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
                duplicates.append((doc, found))
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
    return Prepared(prepared, skipped, duplicates)


def store_prepared(store: ChunkSink, prepared: Prepared, deduplicator: Deduplicator | None) -> None:
    """Store prepared documents (with their MinHash, for later changes) and the duplicates found."""
    for entry in prepared.documents:
        store.add(entry)
        if deduplicator is not None:
            store.add_signature(entry.document.doc_id, *deduplicator.fingerprint(entry.document.doc_id))
    for doc, found in prepared.duplicates:
        store.add_duplicate(doc, found.of, found.similarity)


def indexed_texts(prepared: Sequence[PreparedDocument], titles: TitleMode) -> list[str]:
    """The text each prepared chunk is embedded and tokenised as (its title in front; see titles.py)."""
    texts: list[str] = []
    for entry in prepared:
        prefix = title_prefix(entry.title, entry.title_source, titles)
        texts.extend(indexed_text(c.text, c.ordinal, prefix, titles) for c in entry.chunks)
    return texts


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
    detail = "; ".join(f"{s.source}: {s.reason}" for s in reasons[:5])
    more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
    if not reasons:
        return (
            f"no .txt or .jsonl documents found in {names}; point semsearch at files or folders of articles"
        )
    return f"nothing to index in {names}: every source was skipped — {detail}{more}"
