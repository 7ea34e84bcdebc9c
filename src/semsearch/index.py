"""The Index users hold: build it from sources, save and load it, search it.

>>> Index.build(["seeds/"]).save("indexes/seeds")      # bundled multilingual model, exact search
>>> hits = Index.load("indexes/seeds").search("乡村振兴", k=5)

A thread-safe facade (searches share it; a change is applied alone, seen whole or not at all) over
build, search, changes, manifest and index_dir, holding the parts of :mod:`~semsearch.backend`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from .backend import Parts, Storage
from .build import new_index
from .cache import EmbeddingCache
from .changes import apply_change, check_known, current_manifest, plan_change
from .dedup import Duplicate
from .defaults import DEFAULT_BATCH_SIZE
from .embedding import EmbedOptions, ProgressCallback
from .encoders import Encoder, EncoderSlot, embed_queries, load_encoder
from .errors import InputError
from .fast_encoder import threads_setting
from .filters import parse_where
from .fusion import FusionConfig
from .index_dir import IndexDirectory
from .ingest import FieldNames, IngestReport, Skipped, Source, read_sources
from .locations import Location, location_of, same_location, storage_for
from .locks import ReadWriteLock
from .manifest import Manifest
from .reading import StoredDocuments, Where
from .records import ChangeReport, Document, Hit
from .script import LEGACY_EMBED_SCRIPT, EmbedScript, check_embed_script, embedding_texts
from .search import DEFAULT_MODE, FilterTable, Mode, Searcher, SearchOptions, prepare_queries
from .vector_index import SearchParams, VectorIndex


class Index(StoredDocuments):
    """A searchable index of cleaned, chunked, embedded articles. Build or load it; don't construct it.

    Reading documents back (``context``, ``documents``, ``export_rows``, ``chunks``, ``document``,
    ``doc_ids``, ``dropped``, ``info``, ``len``) is :class:`~semsearch.reading.StoredDocuments`.
    """

    def __init__(
        self,
        *,
        manifest: Manifest,
        parts: Parts,
        encoder: Encoder | None = None,
        path: Location | None = None,
        skipped: Sequence[Skipped] = (),
        duplicates: Sequence[Duplicate] = (),
        storage: Storage | None = None,
        threads: int | None = None,
        device: str | None = None,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.skipped: list[Skipped] = list(skipped)
        self.duplicates: list[Duplicate] = list(duplicates)  # found by this object's build or changes
        self.fusion: FusionConfig = manifest.fusion
        self._filters: FilterTable | None = None  # read on the first filtered search, dropped by a change
        self._parts = parts
        self._storage: Storage = storage or IndexDirectory()
        self._model = EncoderSlot(encoder, threads, device)  # threads checked there
        self._write_lock = threading.RLock()  # one change at a time
        self._rw = ReadWriteLock()  # searches share it; applying a change takes it alone
        if isinstance(parts.vectors, VectorIndex):  # FAISS's threads for batches of queries
            parts.vectors.threads = threads_setting(threads)

    build = classmethod(new_index)  # Index.build(sources, ...): semsearch.build.new_index

    def add(
        self,
        sources: Source | Iterable[Source],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
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
        check_known(self._parts, [d.doc_id for d in docs], "update")
        return self.add(docs, **options)

    def remove(self, doc_ids: Iterable[str]) -> ChangeReport:
        """Remove documents by id (InputError, changing nothing, if one is unknown); call :meth:`save`."""
        ids = list(dict.fromkeys([doc_ids] if isinstance(doc_ids, str) else doc_ids))
        check_known(self._parts, ids, "remove")
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
        ``device`` as for :meth:`build` (where the model runs when it is loaded).
        """
        where = location_of(path)
        storage = storage_for(where)
        manifest, parts = storage.load(where, verify=verify)  # type: ignore[arg-type]
        given = None if model is None else load_encoder(model, threads=threads, device=device)
        encoder = None if given is None else manifest.check_encoder(given, where)
        return cls(
            manifest=manifest,
            parts=parts,
            encoder=encoder,
            path=where,
            storage=storage,
            threads=threads,
            device=device,
        )

    @property
    def encoder(self) -> Encoder:
        """The index's encoder, loaded on first use from the manifest's description."""
        return self._model.get(self.manifest, self.path)

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
        both sides: ``{"source": "新华社"}``, ``{"date": {"$gte": "2024-01-01"}}``… (the Chroma/MongoDB
        convention; keys, operators: :data:`semsearch.reading.Where`).
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

    def __repr__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"<semsearch.Index{where}: {len(self)} chunks, {self.manifest.encoder_identity}>"
