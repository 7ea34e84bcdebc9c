"""The Index users hold: build it from sources, save and load it, search it.

>>> Index.build(["seeds/"]).save("indexes/seeds")      # bundled multilingual model, exact search
>>> hits = Index.load("indexes/seeds").search("乡村振兴", k=5)

A thread-safe facade (searches share it; a change is applied alone, seen whole or not at all) over
the pipeline (build, changes), search and an engine behind :mod:`semsearch.storage.base`.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, overload

from semsearch.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FACET,
    DEFAULT_INDEX_TYPE,
    DEFAULT_MIN_CHARS,
    DEFAULT_SORT,
    DEFAULT_TOKENIZER,
    FACET_TOP,
    RERANK_DEPTH,
    SETTLE_SECONDS,
    Feedback,
    Group,
    Mode,
    Sort,
)
from semsearch.encoders.base import Encoder, embed_queries
from semsearch.encoders.cache import EmbeddingCache
from semsearch.encoders.embedding import EmbedOptions, ProgressCallback
from semsearch.encoders.loading import EncoderSlot, load_encoder
from semsearch.encoders.runtime import threads_setting
from semsearch.errors import InputError
from semsearch.filters import DOCUMENT_KEYS, check_keys, parse_where
from semsearch.pipeline.build import BuildOptions, build_index
from semsearch.pipeline.changes import check_known, current_manifest, plan_change, report_of
from semsearch.pipeline.prepare import dedup_config
from semsearch.pipeline.sync import removals_of, scan_sources
from semsearch.readers.ingest import FieldNames, IngestReport, Source, read_sources
from semsearch.reading import StoredDocuments, Where
from semsearch.records import (
    ChangeReport,
    Document,
    Facets,
    FusionConfig,
    Hit,
    SearchParams,
    Skipped,
    StoryHit,
)
from semsearch.search.facets import check_facet, facet_key, facets_of, story_counts
from semsearch.search.ordering import HalfLife, check_sort, half_life_days, reorder
from semsearch.search.searcher import DEFAULT_MODE, Searcher, SearchOptions, prepare_queries
from semsearch.search.similar import similar_query
from semsearch.storage.base import Engine
from semsearch.storage.copy import copy_index
from semsearch.storage.index_types import check_index_type
from semsearch.storage.interrupts import deferred_interrupts
from semsearch.storage.locations import (
    DirectoryLocation,
    Executor,
    Location,
    LocationLike,
    build_target,
    parse_location,
    same_location,
    storage_for,
)
from semsearch.storage.locks import ReadWriteLock
from semsearch.storage.manifest import Manifest
from semsearch.text.dedup import DedupConfig, Duplicate
from semsearch.text.scripts import (
    DEFAULT_EMBED_SCRIPT,
    LEGACY_EMBED_SCRIPT,
    EmbedScript,
    check_embed_script,
    embedding_texts,
)
from semsearch.text.titles import DEFAULT_TITLE_MODE, TitleMode


class Index(StoredDocuments):
    """A searchable index of cleaned, chunked, embedded articles. Build or load it; don't construct it.

    Reading documents back (``context``, ``documents``, ``export_rows``, ``chunks``, ``document``,
    ``doc_ids``, ``dropped``, ``info``, ``len``) is :class:`~semsearch.reading.StoredDocuments`.
    """

    def __init__(
        self,
        *,
        manifest: Manifest,
        engine: Engine,
        encoder: Encoder | None = None,
        skipped: Sequence[Skipped] = (),
        duplicates: Sequence[Duplicate] = (),
        threads: int | None = None,
        device: str | None = None,
    ) -> None:
        self.manifest = manifest
        self.skipped: list[Skipped] = list(skipped)
        self.duplicates: list[Duplicate] = list(duplicates)  # found by this object's build or changes
        self.fusion: FusionConfig = manifest.fusion
        self._engine = engine
        self._model = EncoderSlot(encoder, threads, device)  # threads checked there
        self._write_lock = threading.RLock()  # one change at a time
        self._unsaved = False  # a change applied here and not saved yet (refresh() would lose it)
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
        engine: LocationLike | None = None,
        executor: Executor = "local",
        ray_address: str | None = None,
    ) -> Index:
        """Read, clean, chunk and embed ``sources`` (files, folders, Documents) into a new index.

        ``model``: None (the bundled multilingual-e5-small), a sentence-transformers name or path, or an
        :class:`~semsearch.encoders.base.Encoder`; ``index_type``: a FAISS factory string; ``max_tokens``:
        the chunk size limit (default: the model's window); ``cache``: reuse embeddings (True: the
        default cache); ``user_dict``: a jieba user dictionary (``word [freq] [tag]`` lines);
        ``tokenizer``: jieba "search" or "precise"; ``fusion``: hybrid fusion (default: tuned weighted
        for the bundled model, else RRF); ``embed_script``: "simplified" (default) embeds passages and
        queries with Traditional Chinese converted to Simplified, "as-written" as they are (the stored
        text never changes); ``fields``: which field of a JSONL line or CSV row holds the text, title
        and id (default: found among common names); ``dedup``: index a near-duplicate article once and
        record the others as its duplicates (a DedupConfig, or False to keep every copy); ``titles``: how
        a source's title reaches both sides ("every" chunk, the "first", "none"; :mod:`semsearch.text.titles`).
        ``progress``: True for a bar, or ``callback(done, total)`` called after each batch with
        characters embedded so far and in all (text length, not a count of chunks, measures the work
        left: the longest chunks are embedded first); ``threads``: CPU threads for the model and FAISS
        (default ``$SEMSEARCH_THREADS``, else every CPU the process may use); ``device``: "cpu", "cuda"
        or "auto" (default: a GPU when there is one); ``engine``: a Milvus location
        (``milvus://HOST:PORT#NAME``, ``milvus-lite:PATH.db#NAME``) to build into, batch by batch (the
        index is then saved there as it is built); ``executor``: "local", or "ray" to embed on the Ray
        cluster at ``ray_address`` (default ``$RAY_ADDRESS``, else a local one; needs ``semsearch[ray]``).
        Raises :class:`~semsearch.errors.EmptyCorpusError` if no source has indexable text.
        """
        target = build_target(engine, executor, ray_address)
        embedding = EmbedOptions(
            batch_size, cache, progress, embed_script, (ray_address or True) if executor == "ray" else False
        )
        options = BuildOptions(
            index_type=index_type,
            max_tokens=max_tokens,
            min_chars=min_chars,
            user_dict=user_dict,
            tokenizer=tokenizer,
            fusion=fusion,
            embedding=embedding,
            fields=fields,
            dedup=dedup_config(dedup),
            titles=titles,
        )
        encoder = load_encoder(model, threads=threads, device=device)
        built = build_index(sources, encoder, options, target, threads=threads_setting(threads))
        return cls(
            manifest=built.manifest,
            engine=built.engine,
            encoder=encoder,
            skipped=built.skipped,
            duplicates=built.duplicates,
            threads=threads,
            device=device,
        )

    @property
    def location(self) -> Location | None:
        """Where the index lives (None: built in memory and never saved)."""
        return self._engine.location

    @property
    def path(self) -> Path | str | None:
        """Where the index lives as users wrote it: a Path for a directory, the location text for Milvus."""
        where = self._engine.location
        if where is None:
            return None
        return where.path if isinstance(where, DirectoryLocation) else str(where)

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
        check_known(self._engine.parts.chunks, [d.doc_id for d in docs], "update")
        return self.add(docs, **options)

    def remove(self, doc_ids: Iterable[str]) -> ChangeReport:
        """Remove documents by id (InputError, changing nothing, if one is unknown); call :meth:`save`."""
        ids = list(dict.fromkeys([doc_ids] if isinstance(doc_ids, str) else doc_ids))
        check_known(self._engine.parts.chunks, ids, "remove")
        return self._change(IngestReport(documents=[], skipped=[]), ids, EmbedOptions())

    def sync(
        self,
        sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        fields: FieldNames | None = None,
        settle: float = SETTLE_SECONDS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
    ) -> ChangeReport:
        """Make the index hold what the files and folders ``sources`` hold now; call :meth:`save`.

        New files and records are added, changed ones replaced (compared by content hash), and
        documents that came from these sources (their ``origin`` lies in one of them) but whose file
        is gone, or no longer yields them, are removed; documents from anywhere else are left alone.
        A file modified less than ``settle`` seconds ago is still being written: it and its
        documents wait for the next sync (``ChangeReport.waiting``). A source path that does not
        exist is an InputError and nothing changes (an unmounted folder never empties the index).
        """
        with self._write_lock:
            scan = scan_sources(sources, fields=fields, settle=settle)
            with self._rw.reading():
                origins = self._engine.parts.chunks.origins()
            change = self._change(
                IngestReport(documents=scan.documents, skipped=scan.skipped),
                removals_of(scan, origins),
                EmbedOptions(batch_size, cache, progress, self.embed_script),
            )
        return dataclasses.replace(change, waiting=tuple(scan.waiting))

    def _change(self, report: IngestReport, removals: Sequence[str], embedding: EmbedOptions) -> ChangeReport:
        with self._write_lock:
            plan = plan_change(
                self._engine.parts, self.manifest, report, removals, lambda: self.encoder, embedding
            )
            # Everything that can fail or take long has run: now change the index.
            with self._rw.writing(), deferred_interrupts():  # Ctrl-C: the change is written whole first
                removed = self._engine.apply(plan.batch) if not plan.batch.empty else []
                change = report_of(plan, removed)
                if change.changed:
                    self._unsaved = True
                    self.manifest = current_manifest(
                        self.manifest, self._engine.parts, self.fusion, touched=True
                    )
                self.skipped.extend(plan.skipped)
                gone = {*change.removed, *change.promoted}  # no longer folded: removed, or indexed now
                self.duplicates = [d for d in self.duplicates if d.doc_id not in gone and d.of not in gone]
                self.duplicates.extend(plan.duplicates)
            return change

    def save(self, path: LocationLike | None = None) -> Location:
        """Write the index to ``path`` (default: where it was loaded from), atomically: a crash leaves the old one.

        ``path``: a directory, or a Milvus location (an index elsewhere is copied in; an index in Milvus
        already holds its changes, and saving writes its manifest). Saving a directory back where it
        was loaded from raises IndexChangedError if another writer saved there since.
        """
        target = parse_location(path) if path is not None else self._engine.location
        if target is None:
            raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
        with self._write_lock, self._rw.reading(), deferred_interrupts():  # saves take turns
            manifest = current_manifest(self.manifest, self._engine.parts, self.fusion)
            if self._engine.accepts(target):
                here = same_location(self._engine.location, target)
                expect = self.manifest.generation if here else None
                self.manifest = self._engine.commit(manifest, target, expect_generation=expect)
            else:  # another place, perhaps another kind of engine: copy the index there
                self.manifest, self._engine = copy_index(self._engine.parts, manifest, target)
            self._unsaved = False
        return target

    def refresh(self) -> bool:
        """Move on to what other writers saved since this index was loaded; True if there was something.

        For a long-lived reader (a server, a notebook): a loaded index keeps the generation it loaded, so
        its answers stay consistent, until it is refreshed (or two later saves purge what it still reads,
        when its searches raise IndexChangedError). Cheap when nothing changed (the manifest is read).
        An index with unsaved changes is not refreshed (InputError: save them first); a Milvus index
        always reads the newest data and has nothing to refresh; another model saved at the same place
        raises IndexMismatchError.
        """
        with self._write_lock:
            where = self._engine.location
            if where is None or self._engine.durability == "on-apply":
                return False
            storage = storage_for(where)
            on_disk = storage.peek(where)
            if on_disk is None or on_disk.generation == self.manifest.generation:
                return False
            if self._unsaved:
                raise InputError(
                    f"this index has changes that are not saved, and {where} changed since it was loaded; "
                    "save them first (index.save()), or load the index again to drop them"
                )
            opened = storage.open(where, verify=False, threads=threads_setting(self._model.threads))
            if self._model.encoder is not None:
                opened.manifest.check_encoder(self._model.encoder, where)
            with self._rw.writing():
                old, self._engine, self.manifest = self._engine, opened.engine, opened.manifest
                self.fusion = opened.manifest.fusion
            old.close()
            return True

    def optimize(self, index_type: str | None = None) -> None:
        """Compact the index where it lives, and save it.

        Small segments are merged into one (its approximate index built) and removed chunks purged; an
        index saved in format 1 is upgraded to segments. ``index_type``: another FAISS factory string
        for the dense side (e.g. ``"IVF4096,SQ8"`` once an archive passes a million chunks, or back to
        ``"Flat"``), applied from the stored vectors: nothing is embedded again. A directory index must
        have been saved first; ``semsearch optimize -i INDEX [--index-type TYPE]`` does the same.
        """
        with self._write_lock, self._rw.writing():
            manifest = current_manifest(self.manifest, self._engine.parts, self.fusion)
            if index_type is not None and index_type != manifest.index_type:
                manifest = manifest.replace(index_type=check_index_type(index_type))
            self.manifest, self._engine = self._engine.optimize(manifest)
            self._unsaved = False

    def verify(self) -> list[str]:
        """Check the whole index (every file's size and checksum, the document store in full); the problems found.

        A load checks only what it opens; run this (``semsearch verify -i INDEX``) after a crash or a
        copy you do not trust. An empty list means nothing was found wrong.
        """
        with self._rw.reading():
            return self._engine.verify()

    @classmethod
    def load(
        cls,
        path: LocationLike,
        *,
        model: str | os.PathLike[str] | Encoder | None = None,
        verify: bool = True,
        threads: int | None = None,
        device: str | None = None,
    ) -> Index:
        """Open a saved index, checking its manifest and the sizes of its files.

        ``verify``: also check every file's SHA-256 — in format 1 (files per generation); a segmented
        index (format 2) maps its files and leaves checksums to :meth:`verify`, so a load stays O(1).

        Its model is loaded on the first dense search; ``model`` gives another copy of the same model
        (say, a local path), and a different model raises IndexMismatchError. ``threads`` and
        ``device`` as for :meth:`build` (where the model runs when it is loaded).
        """
        where = parse_location(path)
        manifest, engine = storage_for(where).open(where, verify=verify, threads=threads_setting(threads))
        given = None if model is None else load_encoder(model, threads=threads, device=device)
        encoder = None if given is None else manifest.check_encoder(given, where)
        return cls(manifest=manifest, engine=engine, encoder=encoder, threads=threads, device=device)

    @property
    def encoder(self) -> Encoder:
        """The index's encoder, loaded on first use from the manifest's description."""
        where = self._engine.location
        inside = where.path if isinstance(where, DirectoryLocation) else None
        return self._model.get(
            self.manifest.encoder,
            lambda found: self.manifest.check_encoder(found, where, given=False),
            inside,
        )

    @property
    def search_params(self) -> SearchParams:
        """HNSW's ``ef_search`` and IVF's ``nprobe`` for this index's dense side (saved with it)."""
        return self._engine.parts.vectors.params

    @search_params.setter
    def search_params(self, params: SearchParams) -> None:
        self._engine.parts.vectors.params = params

    def searcher(self) -> Searcher:
        """The index's ranking, for evaluation and benchmarks (don't change the index while you use it)."""
        script = self.embed_script
        return Searcher(
            self._engine.parts,
            self.fusion,
            lambda texts: embed_queries(self.encoder, embedding_texts(texts, script)),
        )

    @property
    def embed_script(self) -> EmbedScript:
        """What the encoder is given: text converted to "simplified", or "as-written" (older indexes)."""
        return check_embed_script(self.manifest.encoder.get("embed_script", LEGACY_EMBED_SCRIPT))

    @overload
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: None = None,
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[Hit]: ...

    @overload
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: Literal["document"],
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[StoryHit]: ...

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: Group | None = None,
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[Hit] | list[StoryHit]:
        """The ``k`` best chunks for ``query``, best first (modes and scores: :class:`~semsearch.search.searcher.SearchOptions`).

        ``Hit.scores`` holds each side's score and rank, ``Hit.highlights`` where the query's words
        occur, ``Hit.metadata`` the document's metadata. An empty or whitespace-only query raises
        :class:`~semsearch.errors.EmptyQueryError`. ``where`` keeps only matching documents, before the
        top-``k`` cut on both sides: ``{"source": "新华社"}``, ``{"date": {"$gte": "2024-01-01"}}``… (the
        Chroma/MongoDB convention; keys, operators: :data:`semsearch.reading.Where`). ``feedback`` (hybrid
        only): "on" re-queries the dense side from its best passages, "auto" only when the query's terms
        mostly do not occur in the index (an English question over Chinese text), "off" never; default:
        the index's ``fusion.feedback`` (:mod:`semsearch.search.feedback`).

        ``group="document"``: the ``k`` best stories instead, each a :class:`~semsearch.records.StoryHit`
        with up to ``max_per_doc`` (default 3) of its best passages (:mod:`semsearch.search.grouping`).
        ``sort="date"``: the newest first among the 100 most relevant results; ``recency="30d"``:
        relevance times 0.5 per half-life of age (:mod:`semsearch.search.ordering`).

        >>> index.search("嫦娥六号", k=5, group="document", sort="date")[0].date
        """
        return self._search_batch(
            [query],
            k,
            mode=mode,
            min_score=min_score,
            max_per_doc=max_per_doc,
            where=where,
            feedback=feedback,
            group=group,
            sort=sort,
            recency=recency,
        )[0]

    @overload
    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: None = None,
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[list[Hit]]: ...

    @overload
    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: Literal["document"],
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[list[StoryHit]]: ...

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
        where: Where = None,
        feedback: Feedback | None = None,
        group: Group | None = None,
        sort: Sort = DEFAULT_SORT,
        recency: HalfLife = None,
    ) -> list[list[Hit]] | list[list[StoryHit]]:
        """:meth:`search` for many queries at once (queries are embedded together); one list per query."""
        return self._search_batch(
            queries,
            k,
            mode=mode,
            min_score=min_score,
            max_per_doc=max_per_doc,
            where=where,
            feedback=feedback,
            group=group,
            sort=sort,
            recency=recency,
        )

    def _search_batch(
        self,
        queries: Sequence[str],
        k: int,
        *,
        mode: Mode,
        min_score: float | None,
        max_per_doc: int | None,
        where: Where,
        feedback: Feedback | None,
        group: Group | None,
        sort: Sort,
        recency: HalfLife,
    ) -> list[list[Any]]:
        texts = prepare_queries(queries)
        sort = check_sort(sort)
        half_life = half_life_days(recency)
        reordered = sort != "relevance" or half_life is not None
        options = SearchOptions(
            k=k, mode=mode, min_score=min_score, max_per_doc=max_per_doc, group=group, feedback=feedback
        )
        if reordered:  # the most relevant results, reordered by date or recency, then cut to k
            options = dataclasses.replace(options, k=max(k, RERANK_DEPTH))
        with self._rw.reading():
            condition = self._condition(where)
            allowed = None if condition is None else self._engine.parts.chunks.select(condition)
            searcher = self.searcher()
            found: list[list[Any]] = (
                searcher.search(texts, options, allowed=allowed)
                if group is None
                else searcher.stories(texts, options, allowed=allowed)
            )
        if reordered:
            found = [reorder(results, sort, half_life, k) for results in found]
        return found

    def similar(
        self,
        doc_id: str,
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        where: Where = None,
        max_per_doc: int | None = None,
    ) -> list[StoryHit]:
        """The ``k`` stories most like the stored story ``doc_id``, best first (itself and its duplicates left out).

        The story's own passages are the query: the mean of their vectors on the dense side, its title
        and opening (:data:`~semsearch.search.similar.SIMILAR_QUERY_CHARS` characters) on the lexical
        side, fused as a search is. ``where`` filters as in :meth:`search`.
        """
        with self._rw.reading():
            query = similar_query(self._engine.parts, doc_id)
            condition = self._condition(where)
            allowed = None if condition is None else self._engine.parts.chunks.select(condition)
            options = SearchOptions(k=k, mode=mode, max_per_doc=max_per_doc, group="document")
            return self.searcher().stories(
                [query.text],
                options,
                keep=query.keep,
                allowed=allowed,
                vectors=query.vector if mode != "lexical" else None,
            )[0]

    def facets(
        self,
        query: str | None = None,
        *,
        by: str = DEFAULT_FACET,
        where: Where = None,
        mode: Mode = DEFAULT_MODE,
        top: int = FACET_TOP,
        min_score: float | None = None,
    ) -> Facets:
        """How many stories there are per month (``by="date:month"``; or ``date:day``, ``date:year``, a metadata key).

        Which stories count: without ``query``, every story ``where`` lets through (all of them
        without a filter); with ``query``, the ``top`` most relevant stories for it (a grouped
        search in ``mode``), only those whose best passage scores at least ``min_score`` when given.
        A story counts once per value (a list of authors counts for each). Date facets come in time
        order with empty periods as 0; others most frequent first.

        >>> [(c.value, c.count) for c in index.facets("嫦娥六号", by="date:month").counts]
        """
        check_facet(by)
        key = facet_key(by)
        with self._rw.reading():
            condition = self._condition(where)
            if key == by and key not in DOCUMENT_KEYS:  # a metadata key: a typo would count none, silently
                check_keys(parse_where({key: {"$ne": None}}), self._engine.parts.chunks.metadata_keys())
            if query is None:
                counts = self._engine.parts.chunks.count_values(key, condition)
                return facets_of(counts, by)
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise InputError(f"top must be a positive number of stories, not {top!r}")
        stories = self.search(query, top, mode=mode, where=where, min_score=min_score, group="document")
        return facets_of(story_counts(stories, key), by, query=query, top=top, min_score=min_score)

    def __repr__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"<semsearch.Index{where}: {len(self)} chunks, {self.manifest.encoder_identity}>"
