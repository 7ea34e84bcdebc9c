"""The lexical side of a segmented index: BM25 by tantivy over semsearch's own analysed terms.

Analysis stays semsearch's (:class:`~semsearch.text.analyzer.Analyzer`: script-insensitive jieba words
and CJK bigrams): each chunk's terms are handed to tantivy joined by spaces and split by its
whitespace tokenizer, so tantivy only stores, scores and searches them. tantivy brings what a
growing index needs: immutable segments merged in the background, a small buffer per commit,
memory-mapped files, BM25 with block-max WAND, and fast fields (``day``) for date filters. Its BM25 is
Lucene's, multiplied by ``k1 + 1``; scores are divided by it so they read as ``bm25s`` scores did.
A filtered search over a large index is split MaxScore-style (rare terms required, common ones scored
only on their chunks) when a bound shows the split finds the same hits (:meth:`TantivyBM25._split_best`).

Every document carries the chunk's ``row`` (the number every part shares), its chunk id, its day and
the ``gen`` (generation) that added it. Removing a chunk is not a tantivy delete: a reader of an older
generation may still need it. It is excluded from searches by row until a later commit purges it
(:meth:`TantivyBM25.purge`); a generation no manifest names is undone by :meth:`TantivyBM25.roll_back`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np

from semsearch.errors import IndexCorruptError, InputError
from semsearch.text.analyzer import Analyzer

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # tantivy's BM25 parameters (fixed in tantivy): an index asking for others is refused
WRITER_HEAP = 64_000_000  # bytes tantivy buffers before it writes a segment by itself (a change's writer)
# A build's writer: a segment per full heap, and tantivy merges only eight of one size, so the 64 MB heap
# left 9 segments at 1M chunks (one of 527k, seven of 66k); 512 MB holds ~500k chunks' terms.
BUILD_WRITER_HEAP = 512_000_000
TERM_SET_LIMIT = 20_000  # a filter allowing more rows than this is applied after the search, deepening it
# A filtered search first requires one of the query's rarer terms and scores the common ones (in more than
# this share of the chunks) only on those chunks (TantivyBM25._split_best). At 1M chunks, 300 queries with a
# one-year filter, p50/p95 ms: whole 8.9/15.0; share 0.03 5.3/20.5, 0.05 5.6/17.7, 0.1 7.7/18.4, 0.2 8.4/17.5,
# two tries (0.03, then 0.2) 5.1/21.2: 0.05 keeps most of the gain for the least added to the slowest queries.
SPLIT_SHARE = 0.05
# Below this many chunks the split gains nothing on average: at 100k, mean 1.54 against 1.53 ms whole
# (p50 1.33/1.55, p95 3.20/2.35); at 1M, mean 7.68 against 8.65 (p50 6.26/8.97, p95 18.8/15.0).
SPLIT_MIN_CHUNKS = 200_000


def _tantivy() -> Any:
    import tantivy

    return tantivy


F = TypeVar("F", bound=Callable[..., Any])


def _reads_damage(method: F) -> F:
    """Make what tantivy raises on damaged files one IndexCorruptError naming the folder.

    Its errors, and the Rust panics pyo3 turns into a BaseException (PanicException).
    """

    @functools.wraps(method)
    def read(self: TantivyBM25, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (ValueError, OSError) as exc:
            raise IndexCorruptError(f"{self.path} cannot be read ({exc}); run `semsearch verify`") from None
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            raise IndexCorruptError(f"{self.path} is damaged ({exc}); run `semsearch verify`") from None

    return read  # type: ignore[return-value]


def schema() -> Any:
    """The schema of the BM25 index: terms (whitespace-split, frequencies), row, chunk id, day, generation."""
    tantivy = _tantivy()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    builder.add_unsigned_field("row", indexed=True, fast=True)
    builder.add_integer_field("chunk", fast=True)
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_unsigned_field("gen", indexed=True, fast=True)
    return builder.build()


@dataclass(frozen=True)
class LexicalFilter:
    """What a BM25 search may return: rows excluded, a day range, rows allowed (any may be None)."""

    excluded: np.ndarray | None = None  # rows removed but not yet purged
    days: tuple[int, int] | None = None  # inclusive day range
    rows: np.ndarray | None = None  # sorted rows a metadata filter allows
    max_gen: int | None = None  # documents of a later generation (a writer's, not yet published) are hidden


class Split(NamedTuple):
    """A query's terms for a MaxScore-style search: rare ones, common ones, and what common ones can add."""

    rare: tuple[str, ...]
    common: tuple[str, ...]
    bound: float  # no chunk scores more than this (tantivy's scale) on the common terms alone


@dataclass
class _Reader:
    """The searcher of one reload and each term's best score in it (the splits' bounds)."""

    searcher: Any
    best_scores: dict[str, float]


class TantivyBM25:
    """BM25 over the analyser's terms of every chunk, in a tantivy index directory."""

    def __init__(
        self, path: Path, analyzer: Analyzer, index: Any, *, writable: bool, heap: int = WRITER_HEAP
    ) -> None:
        self.path = path
        self.heap = heap  # the writer's indexing buffer, bytes
        self.analyzer = analyzer
        self._index = index
        self._schema = index.schema
        self.writable = writable
        self._writer: Any = None
        self._lock = threading.Lock()
        self._deferred = False  # documents added by a build wait uncommitted in the writer (see commit_later)
        self._reader: _Reader | None = None  # the searcher of the last reload, with its terms' best scores
        self._reader_lock = threading.Lock()

    @classmethod
    def create(cls, path: Path, analyzer: Analyzer) -> TantivyBM25:
        """A new, empty index in the new folder ``path`` (a build's: its writer buffers more)."""
        path.mkdir()
        index = _tantivy().Index(schema(), path=str(path), reuse=False)
        return cls(path, analyzer, index, writable=True, heap=BUILD_WRITER_HEAP)

    @classmethod
    def open(cls, path: Path, analyzer: Analyzer, *, writable: bool) -> TantivyBM25:
        """Open the index at ``path``; IndexCorruptError if tantivy cannot read it."""
        tantivy = _tantivy()
        if not path.is_dir() or path.is_symlink():
            raise IndexCorruptError(f"{path} is missing or not a folder; run `semsearch verify`")
        try:
            index = tantivy.Index.open(str(path))
        except BaseException as exc:  # ValueError, OSError, or a Rust panic (a BaseException from pyo3)
            if not isinstance(exc, (ValueError, OSError)) and type(exc).__name__ != "PanicException":
                raise
            raise IndexCorruptError(
                f"{path} is not a readable BM25 index ({exc}); run `semsearch verify`"
            ) from None
        if not _has_fields(index.schema):
            raise IndexCorruptError(f"{path} is not a BM25 index semsearch wrote; run `semsearch verify`")
        index.config_reader(reload_policy="Manual")
        return cls(path, analyzer, index, writable=writable)

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats."""
        return list(dict.fromkeys(self.analyzer.tokens(query)))

    def _searcher(self) -> Any:
        """A searcher of everything added: a build's deferred documents are committed first."""
        return self._current().searcher

    def _current(self) -> _Reader:
        """The searcher of everything added (a build's deferred documents are committed first), with its cache."""
        if self._deferred:
            self.commit()
        reader = self._reader
        if reader is None:
            with self._reader_lock:  # one searcher per reload, made and dropped under one lock
                if self._reader is None:
                    self._reader = _Reader(self._index.searcher(), {})
                reader = self._reader
        return reader

    def _reload(self) -> None:
        """Let searches see the last commit (the reader is ``Manual``); the cached best scores go with the old one."""
        with self._reader_lock:
            self._index.reload()
            self._reader = None

    @_reads_damage
    def num_docs(self) -> int:
        """Documents tantivy holds (removed ones not yet purged included)."""
        return int(self._searcher().num_docs)

    @_reads_damage
    def has_after(self, generation: int) -> bool:
        """Whether a document of a generation after ``generation`` is here (a writer's, not published yet).

        Read from the terms of the ``gen`` field, so it costs what the matching documents cost, not the index.
        What this writer deferred is of its own generations, not later ones: it is not committed for this.
        """
        tantivy = _tantivy()
        query = tantivy.Query.range_query(
            self._schema, "gen", tantivy.FieldType.Unsigned, generation + 1, None, use_inverted_index=True
        )
        return bool(self._index.searcher().search(query, 1, count=False).hits)

    @_reads_damage
    def all_rows(self) -> np.ndarray:
        """Every row a document holds, sorted (``verify``: O(index))."""
        tantivy = _tantivy()
        searcher = self._searcher()
        total = int(searcher.num_docs)
        if not total:
            return np.zeros(0, dtype=np.int64)
        result = searcher.search(tantivy.Query.all_query(), total, count=False)
        rows = searcher.fast_field_values("row", [address for _, address in result.hits])
        if None in rows:
            raise IndexCorruptError(f"{self.path}: a document lacks its row; run `semsearch verify`")
        return np.sort(np.asarray(rows, dtype=np.int64))

    # -------------------------------------------------------------- searching

    @_reads_damage
    def search(self, query: str, depth: int, where: LexicalFilter) -> list[tuple[int, int, float]]:
        """The ``depth`` best (row, chunk id, BM25) sharing a term with ``query``, best first."""
        terms = self.query_terms(query)
        if not terms or depth < 1:
            return []
        clauses, post = self._clauses(where)
        reader = self._current()
        searcher = reader.searcher
        split = self._split(reader, terms) if clauses else None
        wanted = depth
        while True:
            found = self._best(searcher, terms, split, clauses, wanted)
            addresses = [address for _, address in found]
            rows_found = searcher.fast_field_values("row", addresses)
            chunks = searcher.fast_field_values("chunk", addresses)
            if None in rows_found or None in chunks:
                raise IndexCorruptError(
                    f"{self.path}: a document lacks its row or chunk id; run `semsearch verify`"
                )
            hits = [(int(r), int(c), float(s) / (K1 + 1)) for (s, _), r, c in zip(found, rows_found, chunks)]
            if post is None:
                return hits
            kept = [h for h in hits if _contains(post, h[0])]
            if len(kept) >= depth or len(hits) < wanted:
                return kept[:depth]
            wanted *= 4

    def _clauses(self, where: LexicalFilter) -> tuple[list[tuple[Any, Any]], np.ndarray | None]:
        """The filter as tantivy clauses beside the terms, and the rows to keep after the search (or None)."""
        tantivy = _tantivy()
        clauses: list[tuple[Any, Any]] = []
        if where.days is not None:
            clauses.append((tantivy.Occur.Must, self._range("day", *where.days)))
        if where.max_gen is not None:
            clauses.append((tantivy.Occur.Must, self._range("gen", None, where.max_gen)))
        if where.excluded is not None and len(where.excluded):
            excluded = [int(r) for r in where.excluded]
            clauses.append(
                (tantivy.Occur.MustNot, tantivy.Query.term_set_query(self._schema, "row", excluded))
            )
        post = None
        if where.rows is not None:
            if len(where.rows) <= TERM_SET_LIMIT:
                rows = [int(r) for r in where.rows]
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self._schema, "row", rows)))
            else:
                post = where.rows
        return clauses, post

    def _best(
        self,
        searcher: Any,
        terms: list[str],
        split: Split | None,
        clauses: list[tuple[Any, Any]],
        wanted: int,
    ) -> list[tuple[float, Any]]:
        """The ``wanted`` best (score, address) of the disjunction of ``terms`` under ``clauses``.

        The split's answer if it is the answer (:meth:`_split_best`), else the whole disjunction's.
        """
        if split is not None:
            hits = self._split_best(searcher, split, clauses, wanted)
            if hits is not None:
                return hits
        tantivy = _tantivy()
        # The terms alone are a plain disjunction, which tantivy prunes with block-max WAND; wrapped as a
        # required clause beside filters it scores every matching chunk (top 100 of 1M chunks: 7.3 against
        # 10.5 ms median, the same hits).
        disjunction = self._any_of(terms)
        query = (
            tantivy.Query.boolean_query([(tantivy.Occur.Must, disjunction), *clauses])
            if clauses
            else disjunction
        )
        return list(searcher.search(query, wanted, count=False).hits)

    def _split_best(
        self, searcher: Any, split: Split, clauses: list[tuple[Any, Any]], wanted: int
    ) -> list[tuple[float, Any]] | None:
        """The ``wanted`` best chunks holding a rare term, scored on every term, if they are the best of all.

        They are when ``wanted`` of them score at least ``split.bound``: a chunk holding common terms only
        scores less. A filtered disjunction scores every chunk it matches (no pruning); this scores only
        the chunks holding a rare term (see SPLIT_SHARE; the same hits on all 300 queries).
        """
        tantivy = _tantivy()
        optional = [(tantivy.Occur.Should, self._term(t)) for t in split.common]
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, self._any_of(split.rare)), *optional, *clauses]
        )
        hits = list(searcher.search(query, wanted, count=False).hits)
        return hits if len(hits) == wanted and hits[-1][0] >= split.bound else None

    def _split(self, reader: _Reader, terms: list[str]) -> Split | None:
        """The query's terms parted into rare and common ones (in over SPLIT_SHARE of the chunks), or None.

        The bound is the sum of the common terms' best scores in the whole index (a chunk's score for a
        term is at most that), each read once per reload by a top-1 search: tantivy's own scores,
        whatever its statistics count. None when either part would be empty, or the index is small.
        """
        searcher = reader.searcher
        total = int(searcher.num_docs)
        if total < SPLIT_MIN_CHUNKS:
            return None
        frequencies = [int(searcher.doc_freq("terms", t)) for t in terms]
        common = [t for t, f in zip(terms, frequencies) if f > SPLIT_SHARE * total]
        rare = [t for t, f in zip(terms, frequencies) if 0 < f <= SPLIT_SHARE * total]
        if not common or not rare:
            return None
        bound = sum(self._best_score(reader, t) for t in common)
        # tantivy sums float32 scores: a margin far above their rounding keeps the test on the safe side
        return Split(tuple(rare), tuple(common), bound * (1 + 1e-5) + 1e-6)

    def _best_score(self, reader: _Reader, term: str) -> float:
        """The best score of any chunk for ``term`` alone (tantivy's scale), cached until the next reload."""
        best = reader.best_scores.get(term)
        if best is None:
            top = reader.searcher.search(self._term(term), 1, count=False).hits
            best = reader.best_scores[term] = float(top[0][0]) if top else 0.0
        return best

    def _term(self, term: str) -> Any:
        return _tantivy().Query.term_query(self._schema, "terms", term, index_option="freq")

    def _any_of(self, terms: Sequence[str]) -> Any:
        """The disjunction of ``terms``: a chunk matches with one of them and scores the sum of theirs."""
        tantivy = _tantivy()
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, self._term(t)) for t in terms])

    @_reads_damage
    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many documents each of ``terms`` occurs, as tantivy counts them (removed ones not yet purged too)."""
        searcher = self._searcher()
        return [int(searcher.doc_freq("terms", term)) for term in terms]

    def _range(self, field: str, low: int | None, high: int | None) -> Any:
        tantivy = _tantivy()
        kind = tantivy.FieldType.Unsigned if field in ("gen", "row") else tantivy.FieldType.Integer
        return tantivy.Query.const_score_query(
            tantivy.Query.range_query(self._schema, field, kind, low, high), 0.0
        )

    # -------------------------------------------------------------- writing

    def _get_writer(self) -> Any:
        if not self.writable:
            raise InputError(f"{self.path} was opened for reading only")
        if self._writer is None:
            writer = self._index.writer(heap_size=self.heap, num_threads=1)
            # Files no meta.json names: a writer killed between writing them and its meta swap. Tantivy
            # names files by opstamp, so this writer's first commit could want one of them (and fail).
            writer.garbage_collect_files()
            self._writer = writer
        return self._writer

    def add(
        self,
        rows: Sequence[int],
        chunk_ids: Sequence[int],
        texts: Sequence[str],
        days: Sequence[int],
        generation: int,
    ) -> None:
        """Add chunks (their indexed texts analysed here); visible once :meth:`commit` returns."""
        tantivy = _tantivy()
        with self._lock:
            writer = self._get_writer()
            for row, chunk_id, text, day in zip(rows, chunk_ids, texts, days):
                doc = tantivy.Document()
                doc.add_text("terms", " ".join(self.analyzer.terms_of(text)))
                doc.add_unsigned("row", int(row))
                doc.add_integer("chunk", int(chunk_id))
                doc.add_integer("day", int(day))
                doc.add_unsigned("gen", int(generation))
                writer.add_document(doc)

    def purge(self, rows: Sequence[int]) -> None:
        """Delete chunks for good (rows removed by a published generation); visible after :meth:`commit`."""
        if not len(rows):
            return
        tantivy = _tantivy()
        with self._lock:
            writer = self._get_writer()
            for first in range(0, len(rows), 10_000):
                part = [int(r) for r in rows[first : first + 10_000]]
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, "row", part))

    def roll_back(self, past: int) -> None:
        """Delete every document of a generation after ``past`` (a writer stopped before publishing it)."""
        with self._lock:
            if self._writer is not None:
                if self._deferred:  # earlier generations wait in the writer too: keep them, delete by query
                    self._writer.commit()
                    self._deferred = False
                    self._reload()
                else:
                    self._writer.rollback()  # what was added but never committed (a commit that failed)
        if not self.has_after(past):
            return  # nothing committed to undo: no commit (it would rewrite tantivy's files for nothing)
        with self._lock:
            writer = self._get_writer()
            writer.delete_documents_by_query(self._range("gen", past + 1, None))
        self.commit()

    def commit(self) -> None:
        """Make what was added and purged durable and visible to this index's searches."""
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
            self._deferred = False
        self._reload()

    def commit_later(self) -> None:
        """Leave what was added uncommitted until a read or :meth:`close` needs it (a build's batches).

        Each commit makes a tantivy segment and tantivy merges only eight of one size at a time, so a
        build committing every batch left 12 segments at 1M chunks; one search visits every segment,
        and a disjunction over one segment ran 1.8× faster than over 11 (300k chunks, same documents).
        Uncommitted, the writer flushes a segment only when its heap is full.
        """
        with self._lock:
            self._deferred = self._writer is not None

    def close(self) -> None:
        """Commit what a build deferred, let the writer's merges finish and release it."""
        if self._deferred:
            self.commit()
        with self._lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.wait_merging_threads()

    def spec(self) -> dict[str, Any]:
        """The manifest's record of this lexical side."""
        return {**self.analyzer.spec(), "scorer": "tantivy/bm25", "k1": K1, "b": B}


def _contains(sorted_rows: np.ndarray, row: int) -> bool:
    at = int(np.searchsorted(sorted_rows, row))
    return at < len(sorted_rows) and int(sorted_rows[at]) == row


def _has_fields(tantivy_schema: Any) -> bool:
    """Whether a tantivy schema has the fields semsearch writes (a query on a missing field raises)."""
    tantivy = _tantivy()
    try:
        tantivy.Query.term_query(tantivy_schema, "terms", "x", index_option="freq")
        tantivy.Query.range_query(tantivy_schema, "row", tantivy.FieldType.Unsigned, 0, 1)
        tantivy.Query.range_query(tantivy_schema, "gen", tantivy.FieldType.Unsigned, 0, 1)
        tantivy.Query.range_query(tantivy_schema, "day", tantivy.FieldType.Integer, 0, 1)
    except ValueError:
        return False
    return True
