"""The Index users hold: build it from sources, save and load it, search it.

>>> Index.build(["seeds/"]).save("indexes/seeds")      # bundled multilingual model, exact search
>>> hits = Index.load("indexes/seeds").search("乡村振兴", k=5)

A thread-safe facade (searches share it; a change is applied alone, seen whole or not at all) over
build, search, changes, manifest and index_dir, holding the parts of :mod:`~semsearch.backend`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .backend import Parts, Storage
from .build import EmbedOptions, ProgressCallback, build_index
from .cache import EmbeddingCache
from .changes import apply_change, check_known, current_manifest, plan_change
from .chunk import DEFAULT_MIN_CHARS
from .clean import Dropped
from .encoders import Encoder, embed_queries, encoder_from_spec, load_encoder
from .errors import InputError
from .fusion import FusionConfig
from .index_dir import IndexDirectory
from .ingest import IngestReport, Skipped, Source, read_sources
from .locks import ReadWriteLock
from .manifest import Manifest
from .records import ChangeReport, Chunk, Document, Hit
from .script import (
    DEFAULT_EMBED_SCRIPT,
    LEGACY_EMBED_SCRIPT,
    EmbedScript,
    check_embed_script,
    embedding_texts,
)
from .search import DEFAULT_MODE, Mode, Searcher, SearchOptions, prepare_queries
from .vector_index import DEFAULT_INDEX_TYPE, SearchParams


class Index:
    """A searchable index of cleaned, chunked, embedded articles. Build or load it; don't construct it."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        parts: Parts,
        encoder: Encoder | None = None,
        path: Path | None = None,
        skipped: Sequence[Skipped] = (),
        storage: Storage | None = None,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.skipped: list[Skipped] = list(skipped)
        self.fusion: FusionConfig = manifest.fusion
        self._parts = parts
        self._storage: Storage = storage or IndexDirectory()
        self._encoder = encoder
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
    ) -> Index:
        """Read, clean, chunk and embed ``sources`` (files, folders, Documents) into a new index.

        ``model``: None (the bundled multilingual-e5-small), a sentence-transformers name or path, or an
        :class:`~semsearch.encoders.Encoder`; ``index_type``: a FAISS factory string; ``max_tokens``: the
        chunk size limit (default: the model's window); ``cache``: reuse embeddings (True: the default
        cache); ``user_dict``: a jieba user dictionary (``word [freq] [tag]`` lines); ``tokenizer``: jieba
        "search" or "precise"; ``fusion``: hybrid fusion (default: tuned weighted for the bundled model,
        else RRF); ``embed_script``: "simplified" (default) embeds passages and queries with Traditional
        Chinese converted to Simplified, "as-written" as they are (the stored text never changes).
        Raises :class:`EmptyCorpusError` if no source has indexable text.
        """
        built = build_index(
            sources,
            model=model,
            index_type=index_type,
            max_tokens=max_tokens,
            min_chars=min_chars,
            user_dict=user_dict,
            tokenizer=tokenizer,
            fusion=fusion,
            embedding=EmbedOptions(batch_size, cache, progress, embed_script),
        )
        return cls(manifest=built.manifest, parts=built.parts, encoder=built.encoder, skipped=built.skipped)

    def add(
        self,
        sources: Source | Iterable[Source],
        *,
        batch_size: int = 16,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
    ) -> ChangeReport:
        """Add new documents and replace changed ones (matched by id, compared by content hash); call :meth:`save`.

        Only new or changed documents are cleaned, chunked and embedded (cached chunk texts are not).
        """
        return self._change(
            read_sources(sources), (), EmbedOptions(batch_size, cache, progress, self.embed_script)
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
        check_known(self._parts, ids, "no document {} in this index; see `semsearch info`", quote=True)
        return self._change(IngestReport(documents=[], skipped=[]), ids, EmbedOptions())

    def _change(self, report: IngestReport, removals: Sequence[str], embedding: EmbedOptions) -> ChangeReport:
        with self._write_lock:
            plan = plan_change(self._parts, self.manifest, report, removals, lambda: self.encoder, embedding)
            # Everything that can fail has run: now change the index (all in memory until save()).
            with self._rw.writing():
                self._parts, self.manifest, change = apply_change(self._parts, self.manifest, plan)
                self.skipped.extend(plan.skipped)
            return change

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the index to ``path`` (default: where it was loaded from), atomically: a crash leaves the old one.

        Saving back where it was loaded from raises IndexChangedError if another writer saved there since.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
        with self._rw.reading():
            manifest = current_manifest(self.manifest, self._parts, self.fusion)
            here = self.path is not None and Path(self.path).resolve() == target.resolve()
            expect = self.manifest.generation if here else None
            self.manifest = self._storage.save(target, manifest, self._parts, expect_generation=expect)
            self.path = target
        return target

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str | os.PathLike[str] | Encoder | None = None,
        verify: bool = True,
    ) -> Index:
        """Open a saved index, checking its manifest and files (``verify=False``: sizes only, no SHA-256).

        Its model is loaded on the first dense search; ``model`` gives another copy of the same model
        (say, a local path), and a different model raises IndexMismatchError.
        """
        manifest, parts = IndexDirectory().load(Path(path), verify=verify)
        encoder = None if model is None else manifest.check_encoder(load_encoder(model), path)
        return cls(manifest=manifest, parts=parts, encoder=encoder, path=Path(path))

    @property
    def encoder(self) -> Encoder:
        """The index's encoder, loaded on first use from the manifest's description."""
        if self._encoder is None:
            with self._encoder_lock:
                if self._encoder is None:
                    encoder = encoder_from_spec(dict(self.manifest.encoder))
                    self._encoder = self.manifest.check_encoder(encoder, self.path)
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
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first (modes and scores: :class:`~semsearch.search.SearchOptions`).

        ``Hit.scores`` holds each side's score and rank, ``Hit.highlights`` where the query's words
        occur. An empty or whitespace-only query raises :class:`EmptyQueryError`.
        """
        return self.search_batch([query], k, mode=mode, min_score=min_score, max_per_doc=max_per_doc)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: Mode = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (queries are embedded together); one list per query."""
        texts = prepare_queries(queries)
        options = SearchOptions(k=k, mode=mode, min_score=min_score, max_per_doc=max_per_doc)
        with self._rw.reading():
            return self.searcher().search(texts, options)

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
