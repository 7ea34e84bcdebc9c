"""The Index users hold: build it from sources, save and load it, search it.

>>> Index.build(["seeds/"]).save("indexes/seeds")      # bundled multilingual model, exact search
>>> hits = Index.load("indexes/seeds").search("乡村振兴", k=5)

A thread-safe facade (searches share it; a change is applied alone, seen whole or not at all) over
build, search, changes, manifest and index_dir, holding the parts of :mod:`~semsearch.backend`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .backend import Parts, Storage
from .build import EmbedOptions, ProgressCallback, build_index, dedup_config
from .cache import EmbeddingCache
from .changes import apply_change, check_known, current_manifest, plan_change
from .chunk import DEFAULT_MIN_CHARS
from .clean import Dropped
from .dedup import DedupConfig, Duplicate
from .encoders import Encoder, embed_queries, encoder_from_spec, load_encoder
from .errors import InputError
from .fast_encoder import THREADS_ENV, check_threads
from .filters import Filter, parse_where
from .fusion import FusionConfig
from .index_dir import IndexDirectory
from .ingest import FieldNames, IngestReport, Skipped, Source, read_sources
from .locations import EXECUTORS, Executor, Location, location_of, same_location, storage_for
from .locks import ReadWriteLock
from .manifest import Manifest
from .records import ChangeReport, Chunk, ContextParagraph, Document, Hit
from .script import (
    DEFAULT_EMBED_SCRIPT,
    LEGACY_EMBED_SCRIPT,
    EmbedScript,
    check_embed_script,
    embedding_texts,
)
from .search import DEFAULT_MODE, FilterTable, Mode, Searcher, SearchOptions, prepare_queries
from .titles import DEFAULT_TITLE_MODE, TitleMode
from .vector_index import DEFAULT_INDEX_TYPE, SearchParams, VectorIndex

Where = Mapping[str, Any] | Filter | None  # a metadata filter (semsearch.filters)


class Index:
    """A searchable index of cleaned, chunked, embedded articles. Build or load it; don't construct it."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        parts: Parts,
        encoder: Encoder | None = None,
        path: Location | None = None,
        skipped: Sequence[Skipped] = (),
        storage: Storage | None = None,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.skipped: list[Skipped] = list(skipped)
        self.duplicates: list[Duplicate] = []  # found by this object's build or changes
        self.fusion: FusionConfig = manifest.fusion
        self._filters: FilterTable | None = None  # read on the first filtered search, dropped by a change
        self._parts = parts
        self._storage: Storage = storage or IndexDirectory()
        self._encoder = encoder
        self._threads: int | None = None
        self._device: str | None = None
        self._encoder_lock = threading.Lock()
        self._write_lock = threading.RLock()  # one change at a time
        self._rw = ReadWriteLock()  # searches share it; applying a change takes it alone

    @classmethod
    def build(
        cls,
        sources: Source | Iterable[Source],
        *,
        model: str | os.PathLike[str] | Encoder | None = None,
        index_type: str = DEFAULT_INDEX_TYPE,
        max_tokens: int | None = None,
        min_chars: int = DEFAULT_MIN_CHARS,
        batch_size: int = 16,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
        user_dict: str | os.PathLike[str] | None = None,
        tokenizer: str = "search",
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
        if executor not in EXECUTORS:
            raise InputError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
        if ray_address is not None and executor != "ray":
            raise InputError("ray_address is for executor='ray'; pass both, or neither")
        where = None if engine is None else location_of(engine)
        if engine is not None and not isinstance(where, str):
            raise InputError(
                f"engine {engine!r} is not a Milvus location: use milvus://HOST:PORT#NAME or "
                "milvus-lite:PATH.db#NAME (a directory index is built in memory and saved with save())"
            )
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
            engine=None if where is None else str(where),
        )
        index = cls(
            manifest=built.manifest,
            parts=built.parts,
            encoder=built.encoder,
            skipped=built.skipped,
            path=where,
            storage=None if where is None else storage_for(where),
        )
        index.duplicates = list(built.duplicates)
        index._set_threads(threads, device)
        return index

    def add(
        self,
        sources: Source | Iterable[Source],
        *,
        batch_size: int = 16,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
        fields: FieldNames | None = None,
    ) -> ChangeReport:
        """Add new documents and replace changed ones (matched by id, compared by content hash); call :meth:`save`.

        Only new or changed documents are cleaned, chunked and embedded (cached chunk texts are not). A
        document repeating one stored is recorded as its duplicate, not indexed (``ChangeReport.duplicates``).
        """
        return self._change(
            read_sources(sources, fields=fields),
            (),
            EmbedOptions(batch_size, cache, progress, self.embed_script),
        )

    def update(self, documents: Iterable[Document], **options: Any) -> ChangeReport:
        """Replace documents by new versions (see :meth:`add`); InputError, changing nothing, if one is unknown."""
        docs = list(documents)
        message = "cannot update documents not in the index: {}; use add()"
        check_known(self._parts, [d.doc_id for d in docs], message)
        return self.add(docs, **options)

    def remove(self, doc_ids: Iterable[str]) -> ChangeReport:
        """Remove documents by id (InputError, changing nothing, if one is unknown); call :meth:`save`."""
        ids = list(dict.fromkeys([doc_ids] if isinstance(doc_ids, str) else doc_ids))
        check_known(
            self._parts,
            ids,
            "no document {} in this index; list the ids with `semsearch docs -i INDEX` (index.doc_ids() in Python)",
            quote=True,
        )
        return self._change(IngestReport(documents=[], skipped=[]), ids, EmbedOptions())

    def _change(self, report: IngestReport, removals: Sequence[str], embedding: EmbedOptions) -> ChangeReport:
        with self._write_lock:
            plan = plan_change(self._parts, self.manifest, report, removals, lambda: self.encoder, embedding)
            # Everything that can fail has run: now change the index (all in memory until save()).
            with self._rw.writing():
                self._parts, self.manifest, change = apply_change(self._parts, self.manifest, plan)
                self.skipped.extend(plan.skipped)
                self.duplicates.extend(found for _, found in plan.duplicates)
                self._filters = None
            return change

    def save(self, path: str | os.PathLike[str] | None = None) -> Location:
        """Write the index to ``path`` (default: where it was loaded from), atomically: a crash leaves the old one.

        ``path``: a directory, or a Milvus location (a local index is copied in; an index in Milvus
        already holds its changes, and saving writes its manifest). Saving a directory back where it
        was loaded from raises IndexChangedError if another writer saved there since.
        """
        target = location_of(path) if path is not None else self.path
        if target is None:
            raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
        with self._write_lock, self._rw.reading():  # saves take turns: each sees the one before
            manifest = current_manifest(self.manifest, self._parts, self.fusion)
            here = same_location(self.path, target)
            expect = self.manifest.generation if here else None
            storage = self._storage if here else storage_for(target)
            self.manifest = storage.save(target, manifest, self._parts, expect_generation=expect)  # type: ignore[arg-type]
            self.path, self._storage = target, storage
        return target

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str | os.PathLike[str] | Encoder | None = None,
        verify: bool = True,
        threads: int | None = None,
        device: str | None = None,
    ) -> Index:
        """Open a saved index, checking its manifest and files (``verify=False``: sizes only, no SHA-256).

        Its model is loaded on the first dense search; ``model`` gives another copy of the same model
        (say, a local path), and a different model raises IndexMismatchError. ``threads`` and
        ``device`` as for :meth:`build`.
        """
        where = location_of(path)
        storage = storage_for(where)
        manifest, parts = storage.load(where, verify=verify)  # type: ignore[arg-type]
        encoder = (
            None
            if model is None
            else manifest.check_encoder(load_encoder(model, threads=threads, device=device), where)
        )
        index = cls(manifest=manifest, parts=parts, encoder=encoder, path=where, storage=storage)
        index._set_threads(threads, device)
        return index

    def _set_threads(self, threads: int | None, device: str | None) -> None:
        """Where and with how many threads the model runs when loaded later, and FAISS's batch threads."""
        self._threads = None if threads is None else check_threads(threads)
        self._device = device
        env = os.environ.get(THREADS_ENV, "").strip()
        faiss_threads = self._threads or (check_threads(env, THREADS_ENV) if env else None)
        if isinstance(self._parts.vectors, VectorIndex):
            self._parts.vectors.threads = faiss_threads

    @property
    def encoder(self) -> Encoder:
        """The index's encoder, loaded on first use from the manifest's description."""
        if self._encoder is None:
            with self._encoder_lock:
                if self._encoder is None:
                    inside = (
                        self.path if isinstance(self.path, Path) else None
                    )  # model folders in it are refused
                    encoder = encoder_from_spec(
                        dict(self.manifest.encoder), inside, threads=self._threads, device=self._device
                    )
                    self._encoder = self.manifest.check_encoder(encoder, self.path, given=False)
        return self._encoder

    @property
    def search_params(self) -> SearchParams:
        """HNSW's ``ef_search`` and IVF's ``nprobe`` for this index's dense side (saved with it)."""
        return self._parts.vectors.params

    @search_params.setter
    def search_params(self, params: SearchParams) -> None:
        self._parts.vectors.params = params

    def searcher(self) -> Searcher:
        """The index's ranking, for evaluation and benchmarks (don't change the index while you use it)."""
        script = self.embed_script
        return Searcher(
            self._parts,
            self.fusion,
            lambda texts: embed_queries(self.encoder, embedding_texts(texts, script)),
        )

    @property
    def embed_script(self) -> EmbedScript:
        """What the encoder is given: text converted to "simplified", or "as-written" (older indexes)."""
        return check_embed_script(self.manifest.encoder.get("embed_script", LEGACY_EMBED_SCRIPT))

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first (modes and scores: :class:`~semsearch.search.SearchOptions`).

        ``Hit.scores`` holds each side's score and rank, ``Hit.highlights`` where the query's words
        occur, ``Hit.metadata`` the document's metadata. An empty or whitespace-only query raises
        :class:`EmptyQueryError`. ``where`` keeps only matching documents, before the top-``k`` cut on
        both sides, in the Chroma/MongoDB convention: ``{"source": "新华社"}``, ``{"date": {"$gte":
        "2024-01-01", "$lt": "2024-07-01"}}``, ``$in $nin $ne $gt $gte $lt $lte``, ``$and``/``$or``; keys
        are metadata keys plus ``doc_id``, ``source`` and ``title`` (:mod:`semsearch.filters`).
        """
        return self.search_batch(
            [query], k, mode=mode, min_score=min_score, max_per_doc=max_per_doc, where=where
        )[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (queries are embedded together); one list per query."""
        texts = prepare_queries(queries)
        options = SearchOptions(k=k, mode=mode, min_score=min_score, max_per_doc=max_per_doc)
        condition = parse_where(where)
        with self._rw.reading():
            allowed = None if condition is None else self._filter_table().allowed(condition)
            return self.searcher().search(texts, options, allowed=allowed)

    def _filter_table(self) -> FilterTable:
        table = self._filters
        if table is None:
            table = self._filters = FilterTable(self._parts.chunks)
        return table

    def context(self, hit: Hit, before: int = 1, after: int = 1) -> list[ContextParagraph]:
        """The hit's paragraphs with ``before`` paragraphs before and ``after`` after, from its stored document.

        Paragraphs are those of the cleaned text (``index.document(doc_id)["clean_text"]``), numbered as
        ``Hit.paragraph`` (``ContextParagraph.in_hit`` marks the hit's own). Raises InputError if the
        hit's document is no longer in the index, or changed since.
        """
        for name, value in (("before", before), ("after", after)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, not {value!r}")
        if not isinstance(hit, Hit):
            raise InputError(f"context() takes a Hit from search(), not {type(hit).__name__}")
        with self._rw.reading():
            record = self._parts.chunks.document(hit.doc_id)
        if record is None:
            raise InputError(f"document {hit.doc_id!r} of this hit is no longer in the index; search again")
        spans, at = [], 0
        for line in record.clean_text.split("\n"):
            spans.append((at, at + len(line), line))
            at += len(line) + 1
        covered = [i for i, (start, end, _) in enumerate(spans) if start < hit.end and end > hit.start]
        if not covered:
            raise InputError(f"document {hit.doc_id!r} changed since this hit was found; search again")
        first, last = max(0, covered[0] - before), min(len(spans) - 1, covered[-1] + after)
        return [
            ContextParagraph(i + 1, text, start, end, covered[0] <= i <= covered[-1])
            for i, (start, end, text) in enumerate(spans[first : last + 1], start=first)
        ]

    def documents(self, where: Where = None) -> list[dict[str, Any]]:
        """Every document (or those matching ``where``): doc_id, title, source, date, chunks, metadata."""
        condition = parse_where(where)
        with self._rw.reading():
            summaries = self._parts.chunks.document_summaries()
        out = []
        for summary in summaries:
            record = {"title": summary["title"], "source": summary["source"], **summary["metadata"]}
            record["doc_id"] = summary["doc_id"]
            if condition is None or condition.matches(record):
                out.append({**summary, "date": summary["metadata"].get("date")})
        return out

    def export_rows(self, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """Every chunk as a flat record (ids, place, text, title, source, metadata; ``vector`` if asked)."""
        with self._rw.reading():
            rows = list(self._parts.chunks.iter_chunk_rows())
            found = (
                self._parts.vectors.reconstruct([r["chunk_id"] for r in rows]) if vectors and rows else None
            )
        for number, row in enumerate(rows):
            if found is not None:
                row["vector"] = found[number].tolist()
            yield row

    def __len__(self) -> int:
        return len(self._parts.vectors)

    def __repr__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"<semsearch.Index{where}: {len(self)} chunks, {self.manifest.encoder_identity}>"

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        return self._parts.chunks.iter_chunks()

    def document(self, doc_id: str) -> dict[str, Any]:
        """A stored document: title, source, raw and cleaned text, metadata, and what the cleaner dropped."""
        record = self._parts.chunks.document(doc_id)
        if record is None:
            raise InputError(f"no document {doc_id!r} in this index")
        return record.to_dict()

    def doc_ids(self) -> list[str]:
        """The ids of all indexed documents, sorted."""
        return self._parts.chunks.doc_ids()

    def dropped(self) -> dict[str, list[Dropped]]:
        """What the cleaner removed from each document (document id → drops), for ``--explain``."""
        return {doc_id: self.document(doc_id)["dropped"] for doc_id in self.doc_ids()}

    def info(self) -> dict[str, Any]:
        """The manifest plus the index's location and size on disk."""
        return self.manifest.info(self.path)
