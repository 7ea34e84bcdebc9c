"""The Index users hold: build it from sources, save and load it, search it.

>>> index = Index.build(["seeds/"])              # bundled multilingual model, exact search
>>> index.save("indexes/seeds")
>>> index = Index.load("indexes/seeds")
>>> hits = index.search("乡村振兴", k=5)

An Index is safe to share between threads: any number may search at once, and ``add``, ``update``
and ``remove`` take it alone only while the change is applied, so a search sees the index before or
after a change, never half-way. Across processes, a writer lock beside the saved index serialises
writers (see :mod:`semsearch.store`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .cache import EmbeddingCache
from .chunk import DEFAULT_MIN_CHARS, ChunkingConfig, chunk_document
from .chunk_store import ChunkStore
from .clean import CLEANER_VERSION, DEFAULT_HEADING_MAX_CHARS, CleanText, Dropped, clean_text, first_sentence
from .encoders import Encoder, embed_passages, embed_queries, encoder_from_spec, load_encoder
from .errors import EmptyCorpusError, EmptyQueryError, IndexCorruptError, InputError
from .fusion import FusionConfig, default_fusion, fuse
from .index_dir import FileWriter, index_file, read_manifest, save_index_dir
from .ingest import IngestReport, Skipped, Source, read_sources
from .lexical import Analyzer, LexicalIndex
from .locks import ReadWriteLock
from .manifest import ChunkingRecord, Counts, Manifest
from .records import ChangeReport, Chunk, ChunkRow, Document, Highlight, Hit, PreparedDocument
from .vector_index import (
    DEFAULT_INDEX_TYPE,
    SearchParams,
    add_vectors,
    describe,
    make_vector_index,
    read_vector_index,
    remove_vectors,
    search_vectors,
    write_vector_index,
)

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "lexical")
DEFAULT_MODE = "hybrid"
MAX_QUERY_CHARS = 2000
ProgressCallback = Callable[[int, int], None]
Candidate = tuple[int, float, dict[str, float]]  # chunk id, score, per-side scores and ranks


class Index:
    """A searchable index of cleaned, chunked, embedded articles. Build or load it; don't construct it."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        vectors: Any,
        store: ChunkStore,
        encoder: Encoder | None = None,
        path: Path | None = None,
        skipped: Sequence[Skipped] = (),
        lexical: LexicalIndex | None = None,
    ) -> None:
        self.manifest = manifest
        self.path = path
        self.skipped: list[Skipped] = list(skipped)
        self._vectors = vectors
        self._store = store
        self._encoder = encoder
        self._encoder_lock = threading.Lock()
        self._write_lock = threading.RLock()  # one change at a time
        self._rw = ReadWriteLock()  # searches share it; applying a change takes it alone
        self._dirty = False
        self.search_params = dataclasses.replace(manifest.search_params)
        self.fusion = manifest.fusion
        if lexical is None:  # an index saved before it had a lexical side: tokenise its chunks now
            chunks = list(store.iter_chunks())
            lexical = LexicalIndex.build(Analyzer(), [c.chunk_id for c in chunks], [c.text for c in chunks])
        self._lexical = lexical

    # ------------------------------------------------------------------ building

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
    ) -> Index:
        """Read, clean, chunk and embed ``sources`` (files, folders, Documents) into a new index.

        ``model``: None for the bundled multilingual-e5-small, a sentence-transformers name or path,
        or an :class:`~semsearch.encoders.Encoder`. ``index_type``: a FAISS factory string.
        ``max_tokens``: the chunk size limit (default: the model's window). ``cache``: reuse
        embeddings of texts embedded before (True: the default cache; or an EmbeddingCache).
        ``user_dict``: a jieba user dictionary (one ``word [freq] [tag]`` per line) for the lexical
        side; ``tokenizer``: jieba "search" or "precise" mode; ``fusion``: how hybrid search fuses
        (default: weighted as tuned for the bundled model, RRF for any other model).
        Raises :class:`EmptyCorpusError` if no source has indexable text.
        """
        started = time.perf_counter()
        analyzer = Analyzer.from_user_dict(user_dict, mode=tokenizer)
        encoder = load_encoder(model)
        fusion = fusion or default_fusion(encoder.identity)
        config = ChunkingConfig(max_tokens=max_tokens or encoder.max_tokens, min_chars=min_chars)
        if config.max_tokens > encoder.max_tokens:
            raise InputError(
                f"max_tokens={config.max_tokens} is larger than the window of {encoder.identity} "
                f"({encoder.max_tokens} tokens); chunks that long would be truncated"
            )
        report = read_sources(sources)
        store = ChunkStore.new()
        chunks, skipped = _chunk_all(report, encoder, config, store)
        if not chunks:
            raise EmptyCorpusError(_empty_corpus_message(sources, report, skipped))
        callback = _progress_callback(progress, len(chunks))
        vectors = embed_passages(
            encoder,
            [c.text for c in chunks],
            batch_size=batch_size,
            cache=_resolve_cache(cache),
            progress=callback,
        )
        ids = np.fromiter((c.chunk_id for c in chunks), dtype=np.int64, count=len(chunks))
        if len(np.unique(ids)) != len(ids):  # 64-bit hash collision: astronomically unlikely, never silent
            raise IndexCorruptError("two chunks received the same 64-bit id; rename one of the documents")
        vector_index = make_vector_index(vectors, ids, index_type)
        lexical = LexicalIndex.build(analyzer, ids.tolist(), [c.text for c in chunks])
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        manifest = Manifest(
            semsearch_version=__version__,
            created_at=now,
            updated_at=now,
            build_seconds=round(time.perf_counter() - started, 3),
            encoder={**encoder.spec(), "identity": encoder.identity},
            dimension=encoder.dimension,
            index_type=index_type,
            faiss_class=describe(vector_index),
            search_params=SearchParams(),
            lexical=lexical.spec(),
            fusion=fusion,
            chunking=ChunkingRecord(
                max_tokens=config.max_tokens,
                min_chars=config.min_chars,
                heading_max_chars=DEFAULT_HEADING_MAX_CHARS,
                cleaner_version=CLEANER_VERSION,
            ),
            counts=dataclasses.replace(store.counts(), skipped_sources=len(report.skipped) + len(skipped)),
        )
        if callable(getattr(callback, "close", None)):
            callback.close()
        return cls(
            manifest=manifest,
            vectors=vector_index,
            store=store,
            encoder=encoder,
            skipped=[*report.skipped, *skipped],
            lexical=lexical,
        )

    # ------------------------------------------------------------------ changing

    def add(
        self,
        sources: Source | Iterable[Source],
        *,
        batch_size: int = 16,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
    ) -> ChangeReport:
        """Add new documents and replace changed ones; unchanged documents cost nothing.

        Documents are matched by id and compared by content hash: only new or changed documents are
        cleaned, chunked and embedded (and chunk texts already in the embedding cache are not
        embedded again). Call :meth:`save` to keep the change.
        """
        return self._change(read_sources(sources), (), batch_size=batch_size, cache=cache, progress=progress)

    def update(self, documents: Iterable[Document], **options: Any) -> ChangeReport:
        """Replace documents already in the index by new versions (see :meth:`add`).

        Raises InputError, changing nothing, if a document's id is not in the index: use :meth:`add`.
        """
        docs = list(documents)
        known = set(self._store.doc_ids())
        unknown = [d.doc_id for d in docs if d.doc_id not in known]
        if unknown:
            raise InputError(f"cannot update documents not in the index: {', '.join(unknown[:5])}; use add()")
        return self.add(docs, **options)

    def remove(self, doc_ids: Iterable[str]) -> ChangeReport:
        """Remove documents by id from the dense and lexical sides and the chunk store.

        Raises InputError, changing nothing, if an id is not in the index. Call :meth:`save` to keep it.
        """
        ids = list(dict.fromkeys([doc_ids] if isinstance(doc_ids, str) else doc_ids))
        known = set(self._store.doc_ids())
        unknown = [d for d in ids if d not in known]
        if unknown:
            raise InputError(
                f"no document {', '.join(map(repr, unknown[:5]))} in this index; see `semsearch info`"
            )
        return self._change(IngestReport(documents=[], skipped=[]), ids)

    def _change(
        self,
        report: IngestReport,
        removals: Sequence[str],
        *,
        batch_size: int = 16,
        cache: EmbeddingCache | bool | None = True,
        progress: bool | ProgressCallback = False,
    ) -> ChangeReport:
        with self._write_lock:
            hashes = self._store.content_hashes()
            added, updated, unchanged = [], [], []
            for doc in report.documents:
                if doc.doc_id not in hashes:
                    added.append(doc)
                elif hashes[doc.doc_id] != doc.content_hash:
                    updated.append(doc)
                else:
                    unchanged.append(doc.doc_id)
            new_docs = added + updated
            encoder = self.encoder if new_docs else None
            prepared: list[PreparedDocument] = []
            skipped: list[Skipped] = []
            if new_docs:
                prepared, skipped = _prepare(new_docs, encoder, self.manifest.chunking.config())
            chunks = [c for entry in prepared for c in entry.chunks]
            stats: dict[str, int] = {"embedded": 0}
            vectors = np.zeros((0, self.manifest.dimension), dtype=np.float32)
            if chunks:
                vectors = embed_passages(
                    encoder,
                    [c.text for c in chunks],
                    batch_size=batch_size,
                    cache=_resolve_cache(cache),
                    progress=_progress_callback(progress, len(chunks)),
                    stats=stats,
                )
            # Everything that can fail has run: now change the index (all in memory until save()).
            with self._rw.writing():
                return self._apply(
                    report, removals, added, updated, unchanged, prepared, skipped, vectors, stats
                )

    def _apply(
        self,
        report: IngestReport,
        removals: Sequence[str],
        added: list[Document],
        updated: list[Document],
        unchanged: list[str],
        prepared: list[PreparedDocument],
        skipped: list[Skipped],
        vectors: np.ndarray,
        stats: dict[str, int],
    ) -> ChangeReport:
        chunks = [c for entry in prepared for c in entry.chunks]
        gone = [*removals, *(d.doc_id for d in updated)]
        removed_ids = self._store.remove(gone)
        for entry in prepared:
            self._store.add(entry)
        ids = np.fromiter((c.chunk_id for c in chunks), dtype=np.int64, count=len(chunks))
        self._vectors = remove_vectors(self._vectors, removed_ids, self.manifest.index_type)
        add_vectors(self._vectors, vectors, ids)
        self._lexical = self._lexical.changed(removed_ids, ids.tolist(), [c.text for c in chunks])
        self.skipped.extend([*report.skipped, *skipped])
        change = ChangeReport(
            added=tuple(d.doc_id for d in added),
            updated=tuple(d.doc_id for d in updated),
            unchanged=tuple(unchanged),
            removed=tuple(removals),
            chunks_added=len(chunks),
            chunks_removed=len(removed_ids),
            embedded=stats["embedded"],
        )
        if change.changed:
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            self.manifest = self.manifest.replace(updated_at=now, counts=self._counts())
            self._dirty = True
        return change

    # ------------------------------------------------------------------ disk

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the index to ``path`` (default: where it was loaded from), atomically.

        Readers see the old or the new index, never a mix; a crash leaves the old one. Saving back to
        where the index was loaded from raises IndexChangedError if another writer saved there since.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise InputError("this index was never saved; pass a path: index.save('indexes/NAME')")
        with self._rw.reading():
            return self._save(target)

    def _save(self, target: Path) -> Path:
        manifest = self.manifest.replace(
            counts=self._counts(),
            search_params=dataclasses.replace(self.search_params),
            lexical=self._lexical.spec(),
            fusion=self.fusion,
        )
        loaded_from_here = self.path is not None and Path(self.path).resolve() == target.resolve()
        self.manifest = save_index_dir(
            target,
            manifest,
            {
                "vectors": FileWriter("faiss", lambda p: write_vector_index(self._vectors, p)),
                "chunks": FileWriter("sqlite", self._store.save_to),
                "lexical": FileWriter("json", self._lexical.write),
                "bm25": FileWriter("bm25s", self._lexical.write_bm25),
            },
            expect_generation=self.manifest.generation if loaded_from_here else None,
        )
        self.path = target
        self._dirty = False
        return target

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str | os.PathLike[str] | Encoder | None = None,
        verify: bool = True,
    ) -> Index:
        """Open a saved index, checking its manifest and files.

        The model it was built with is loaded on the first search. Pass ``model`` to use another
        copy of the same model (say, a local path); a different model raises IndexMismatchError.
        ``verify=False`` skips the SHA-256 check of the files (sizes are always checked).
        """
        path = Path(path)
        for attempt in range(5):
            manifest = read_manifest(path)
            try:
                return cls._open(path, manifest, model=model, verify=verify)
            except IndexCorruptError:
                # A writer may have replaced this generation between our reading the manifest and
                # opening its files: if the manifest moved on, read the new one.
                if attempt == 4 or read_manifest(path).generation == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _open(
        cls,
        path: Path,
        manifest: Manifest,
        *,
        model: str | os.PathLike[str] | Encoder | None,
        verify: bool,
    ) -> Index:
        encoder = None
        if model is not None:
            encoder = load_encoder(model)
            manifest.check_encoder(encoder, path)
        vectors = read_vector_index(index_file(path, manifest, "vectors", verify=verify))
        store = ChunkStore.open(index_file(path, manifest, "chunks", verify=verify))
        counts = store.counts()
        if vectors.d != manifest.dimension:
            raise IndexCorruptError(
                f"{path}: the FAISS file holds {vectors.d}-d vectors but the manifest says {manifest.dimension}-d; "
                "rebuild the index"
            )
        if not (vectors.ntotal == counts.chunks == manifest.counts.chunks):
            raise IndexCorruptError(
                f"{path}: the FAISS file holds {vectors.ntotal} vectors, the chunk store {counts.chunks} chunks "
                f"and the manifest says {manifest.counts.chunks}; rebuild the index"
            )
        lexical = None
        if "lexical" in manifest.files:
            lexical_file = index_file(path, manifest, "lexical", verify=verify)
            bm25 = index_file(path, manifest, "bm25", verify=verify) if "bm25" in manifest.files else None
            lexical = LexicalIndex.read(
                lexical_file, dict(manifest.lexical), bm25, manifest.files["lexical"].sha256
            )
            if len(lexical) != counts.chunks:
                raise IndexCorruptError(
                    f"{lexical_file} covers {len(lexical)} chunks but the index holds {counts.chunks}; "
                    "rebuild the index"
                )
        return cls(
            manifest=manifest, vectors=vectors, store=store, encoder=encoder, path=path, lexical=lexical
        )

    # ------------------------------------------------------------------ searching

    @property
    def encoder(self) -> Encoder:
        """The index's encoder, loaded on first use from the manifest's description."""
        if self._encoder is None:
            with self._encoder_lock:
                if self._encoder is None:
                    encoder = encoder_from_spec(dict(self.manifest.encoder))
                    self.manifest.check_encoder(encoder, self.path)
                    self._encoder = encoder
        return self._encoder

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first.

        ``mode``: "hybrid" (default) fuses the dense (embedding) and lexical (BM25 over jieba
        words, Traditional/Simplified-insensitive) rankings; "dense" and "lexical" use one side.
        ``Hit.score`` is the mode's own score: cosine similarity (dense), BM25 (lexical) or the
        fused score (hybrid; see :class:`~semsearch.fusion.FusionConfig`); ``Hit.scores`` holds
        each side's score and rank, and ``Hit.highlights`` where the query's words occur.
        ``min_score`` drops hits scoring below it (on the mode's scale); ``max_per_doc`` keeps at
        most that many hits from any one document. ``k`` larger than the index returns every chunk
        (in lexical mode: every chunk sharing a word with the query). An empty or
        whitespace-only query raises :class:`EmptyQueryError`.
        """
        return self.search_batch([query], k, mode=mode, min_score=min_score, max_per_doc=max_per_doc)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        mode: str = DEFAULT_MODE,
        min_score: float | None = None,
        max_per_doc: int | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (queries are embedded together); one list per query."""
        if isinstance(queries, str):
            raise InputError("search_batch takes a list of queries; use search() for one query")
        texts = [prepare_query(q, i) for i, q in enumerate(queries)]
        _check_search_args(k, mode, min_score, max_per_doc)
        if not texts:
            return []
        with self._rw.reading():
            ranked = self._rank(texts, k, mode, min_score, max_per_doc)
            rows = self._store.rows([cid for hits in ranked for cid, _, _ in hits])
        out = []
        for text, hits in zip(texts, ranked):
            terms = self._lexical.query_terms(text)
            out.append(
                [
                    self._hit(
                        rows[cid],
                        score,
                        rank,
                        parts,
                        self._lexical.analyzer.highlights(terms, rows[cid].text),
                    )
                    for rank, (cid, score, parts) in enumerate(hits, start=1)
                ]
            )
        return out

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """The query vectors this index searches with (prepared, embedded, normalised)."""
        return embed_queries(self.encoder, [prepare_query(q, i) for i, q in enumerate(queries)])

    def search_vectors(self, vectors: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw FAISS search: (scores, chunk ids) of the ``depth`` nearest chunks per query vector."""
        return search_vectors(self._vectors, vectors, depth, self.search_params)

    def search_lexical(self, query: str, depth: int) -> list[tuple[int, float]]:
        """Raw BM25 search: the ``depth`` best (chunk id, score) pairs sharing a word with ``query``."""
        return self._lexical.search(prepare_query(query), depth)

    def fetch(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Stored rows (text, document, title, place) of chunks by id: the last stage of a search."""
        return self._store.rows(chunk_ids)

    def _candidates(self, mode: str, text: str, vector: np.ndarray | None, depth: int) -> list[Candidate]:
        dense: list[tuple[int, float]] = []
        if mode != "lexical":
            scores, ids = self.search_vectors(vector, depth)
            dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]
            if mode == "dense":
                return [(cid, s, {"dense": s, "dense_rank": r}) for r, (cid, s) in enumerate(dense, start=1)]
        lexical = self._lexical.search(text, depth)
        if mode == "lexical":
            return [
                (cid, s, {"lexical": s, "lexical_rank": r}) for r, (cid, s) in enumerate(lexical, start=1)
            ]
        return fuse(dense, lexical, self.fusion, depth)

    def _rank(
        self, texts: list[str], k: int, mode: str, min_score: float | None, max_per_doc: int | None
    ) -> list[list[Candidate]]:
        total = len(self)
        vectors = embed_queries(self.encoder, texts) if mode != "lexical" else None
        wanted = k if max_per_doc is None else k * max(2, max_per_doc + 1)
        out: list[list[Candidate]] = []
        for row, text in enumerate(texts):
            depth = min(total, max(wanted, self.fusion.depth if mode == "hybrid" else 0))
            while True:
                vector = vectors[row : row + 1] if vectors is not None else None
                ranked = self._candidates(mode, text, vector, depth)
                picked = _select(ranked, k, min_score, max_per_doc, self._store.doc_of)
                exhausted = (
                    depth >= total
                    or len(ranked) < depth
                    or (min_score is not None and ranked and ranked[-1][1] < min_score)
                )
                if len(picked) >= k or exhausted:
                    break
                depth = min(total, depth * 4)
            out.append(picked)
        return out

    @staticmethod
    def _hit(
        row: ChunkRow,
        score: float,
        rank: int,
        parts: dict[str, float],
        highlights: tuple[Highlight, ...],
    ) -> Hit:
        return Hit(
            score=score,
            text=row.text,
            doc_id=row.doc_id,
            title=row.title,
            chunk_id=row.chunk_id,
            paragraph=row.paragraph,
            piece=row.piece,
            pieces=row.pieces,
            start=row.start,
            end=row.end,
            source=row.source,
            rank=rank,
            highlights=highlights,
            scores=parts,
        )

    # ------------------------------------------------------------------ inspection

    def __len__(self) -> int:
        return int(self._vectors.ntotal)

    def __repr__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"<semsearch.Index{where}: {len(self)} chunks, {self.manifest.encoder_identity}>"

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        return self._store.iter_chunks()

    def document(self, doc_id: str) -> dict[str, Any]:
        """A stored document: title, source, raw and cleaned text, metadata, and what the cleaner dropped."""
        record = self._store.document(doc_id)
        if record is None:
            raise InputError(f"no document {doc_id!r} in this index")
        return record.to_dict()

    def doc_ids(self) -> list[str]:
        """The ids of all indexed documents, sorted."""
        return self._store.doc_ids()

    def dropped(self) -> dict[str, list[Dropped]]:
        """What the cleaner removed from each document (document id → drops), for ``--explain``."""
        return {doc_id: self.document(doc_id)["dropped"] for doc_id in self._store.doc_ids()}

    def info(self) -> dict[str, Any]:
        """The manifest plus the index's location and size on disk."""
        info = self.manifest.to_dict()
        if self.path is not None:
            info["path"] = str(self.path)
            info["bytes_on_disk"] = sum(f.bytes for f in self.manifest.files.values())
        return info

    def _counts(self) -> Counts:
        return dataclasses.replace(self._store.counts(), skipped_sources=self.manifest.counts.skipped_sources)


# ---------------------------------------------------------------------- helpers


def prepare_query(query: object, position: int = 0) -> str:
    """A query stripped of control characters and outer whitespace; empty ones are an error.

    Queries longer than :data:`MAX_QUERY_CHARS` are cut there (logged): no model reads further.
    """
    if not isinstance(query, str):
        raise InputError(f"query {position + 1} is a {type(query).__name__}, not a string")
    text = "".join(
        " " if ch.isspace() else "" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in query
    )
    text = " ".join(text.split())
    if not text:
        raise EmptyQueryError(
            f"query {position + 1} is empty (or only whitespace/control characters); give some words to search for"
        )
    if len(text) > MAX_QUERY_CHARS:
        log.warning(
            "query %d is %d characters long; searching with its first %d",
            position + 1,
            len(text),
            MAX_QUERY_CHARS,
        )
        text = text[:MAX_QUERY_CHARS]
    return text


def _check_search_args(k: object, mode: object, min_score: object, max_per_doc: object) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, not {k!r}")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if min_score is not None and not isinstance(min_score, (int, float)):
        raise InputError(f"min_score must be a number, not {min_score!r}")
    if max_per_doc is not None and (
        isinstance(max_per_doc, bool) or not isinstance(max_per_doc, int) or max_per_doc < 1
    ):
        raise InputError(f"max_per_doc must be a positive integer, not {max_per_doc!r}")


def _select(
    hits: list[Candidate],
    k: int,
    min_score: float | None,
    max_per_doc: int | None,
    doc_of: Callable[[Sequence[int]], dict[int, str]],
) -> list[Candidate]:
    if min_score is not None:
        hits = [h for h in hits if h[1] >= min_score]
    if max_per_doc is None:
        return hits[:k]
    docs = doc_of([h[0] for h in hits])
    per_doc: dict[str, int] = {}
    picked = []
    for hit in hits:
        doc = docs[hit[0]]
        if per_doc.get(doc, 0) < max_per_doc:
            per_doc[doc] = per_doc.get(doc, 0) + 1
            picked.append(hit)
            if len(picked) == k:
                break
    return picked


def _prepare(
    documents: Sequence[Document], encoder: Encoder, config: ChunkingConfig
) -> tuple[list[PreparedDocument], list[Skipped]]:
    """Clean and chunk documents; those with no text left are skipped (with a warning)."""
    prepared: list[PreparedDocument] = []
    skipped: list[Skipped] = []
    for doc in documents:
        clean = clean_text(doc.text)
        if not clean.paragraphs:
            skipped.append(Skipped(doc.source or doc.doc_id, "no text left after cleaning"))
            log.warning("skipped %s: no text left after cleaning", doc.source or doc.doc_id)
            continue
        title, title_source = pick_title(doc, clean)
        doc_chunks = chunk_document(
            doc.doc_id, clean, count_tokens=encoder.count_tokens, config=config, title=title
        )
        prepared.append(PreparedDocument(doc, clean, title, title_source, tuple(doc_chunks)))
    return prepared, skipped


def _chunk_all(
    report: IngestReport, encoder: Encoder, config: ChunkingConfig, store: ChunkStore
) -> tuple[list[Chunk], list[Skipped]]:
    prepared, skipped = _prepare(report.documents, encoder, config)
    for entry in prepared:
        store.add(entry)
    return [c for entry in prepared for c in entry.chunks], skipped


def pick_title(doc: Document, clean: CleanText) -> tuple[str, str]:
    """The document's title and where it came from: the source, a headline found, or the first sentence."""
    if doc.title.strip():
        return doc.title.strip(), "source"
    if clean.title:
        return clean.title, "headline"
    return first_sentence(clean), "first sentence"


def _resolve_cache(cache: EmbeddingCache | bool | None) -> EmbeddingCache | None:
    if cache is True:
        return EmbeddingCache()
    if cache is False or cache is None:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    raise InputError(f"cache must be True, False or an EmbeddingCache, not {cache!r}")


def _progress_callback(progress: bool | ProgressCallback, total: int) -> Callable[[int], None] | None:
    if progress is False or progress is None:
        return None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", desc="embedding", leave=False)

        def update(n: int) -> None:
            bar.update(n)

        update.close = bar.close  # type: ignore[attr-defined]
        return update
    done = 0

    def forward(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return forward


def _empty_corpus_message(sources: object, report: IngestReport, skipped: list[Skipped]) -> str:
    names = sources if isinstance(sources, (str, os.PathLike)) else ", ".join(map(str, sources))  # type: ignore[arg-type]
    reasons = [*report.skipped, *skipped]
    detail = "; ".join(f"{s.source}: {s.reason}" for s in reasons[:5])
    more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
    if not reasons:
        return (
            f"no .txt or .jsonl documents found in {names}; point semsearch at files or folders of articles"
        )
    return f"nothing to index in {names}: every source was skipped — {detail}{more}"
