"""Ranking, model-free: query checks, candidates from each side, fusion, depth growth, filters, hits.

A :class:`Searcher` ranks over an index's :class:`~semsearch.storage.base.Parts` with a fusion setting
and a function that embeds queries (called only when a mode needs the dense side, so a lexical
search never loads the model). :meth:`semsearch.Index.searcher` gives one; evaluation, tuning and
the benchmarks use it instead of reaching into the index.

>>> searcher = index.searcher()
>>> searcher.search(["乡村振兴"], SearchOptions(k=5, mode="lexical"))[0][0].doc_id
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from semsearch.defaults import (
    DEFAULT_MODE,
    FEEDBACKS,
    GROUPS,
    MODES,
    PASSAGES_PER_STORY,
    Feedback,
    Group,
    Mode,
)
from semsearch.errors import EmptyQueryError, IndexCorruptError, InputError
from semsearch.records import (
    ChunkRow,
    DuplicateRecord,
    FusionConfig,
    Highlight,
    Hit,
    Scored,
    StoryHit,
    check_text,
)
from semsearch.search import feedback as dense_feedback
from semsearch.search.fusion import coverage, fuse, lexical_speaks
from semsearch.search.grouping import group_hits
from semsearch.storage.base import LexicalSide, Parts, Selection

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000
# Filters (metadata ``where=``, …): the chunk ids, among those given, a search may return.
ChunkFilter = Callable[[Sequence[int]], set[int]]


class Candidate(NamedTuple):
    """A ranked chunk: its id, the mode's score, and each side's score and rank (``dense_rank``, …)."""

    chunk_id: int
    score: float
    scores: dict[str, float]


class SideRankings(NamedTuple):
    """One query's dense and lexical rankings, before fusion (what :func:`~semsearch.search.evaluation.tune_fusion` fuses).

    ``speaks``: whether hybrid search fuses the lexical side for this query (its terms' coverage).
    """

    dense: list[Scored]
    lexical: list[Scored]
    speaks: bool = True


class QueryPlan(NamedTuple):
    """How hybrid search treats one query: whether the lexical side speaks, the vector the dense side searches with."""

    speaks: bool
    vector: np.ndarray | None


@dataclass(frozen=True)
class SearchOptions:
    """How to search: ``k`` hits in ``mode``, at least ``min_score``, at most ``max_per_doc`` per document.

    ``group="document"``: ``k`` stories (documents) instead of ``k`` chunks, each with up to
    ``max_per_doc`` (default :data:`~semsearch.defaults.PASSAGES_PER_STORY`) of its best passages.

    ``mode``: "hybrid" (default) fuses the dense (embedding) and lexical (BM25 over jieba words,
    Traditional/Simplified-insensitive) rankings; "dense" and "lexical" use one side. A hit's score is
    the mode's own: cosine similarity (dense), BM25 (lexical) or the fused score (hybrid; see
    :class:`~semsearch.search.fusion.FusionConfig`); ``min_score`` is on that scale. ``k`` larger than the
    index returns every chunk (in lexical mode: every chunk sharing a word with the query).
    ``feedback`` (hybrid only): "off", "auto" or "on" instead of the index's ``fusion.feedback``
    (:mod:`semsearch.search.feedback`).
    """

    k: int = 10
    mode: Mode = DEFAULT_MODE
    min_score: float | None = None
    max_per_doc: int | None = None
    feedback: Feedback | None = None
    group: Group | None = None

    def __post_init__(self) -> None:
        k, min_score, max_per_doc = self.k, self.min_score, self.max_per_doc
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, not {k!r}")
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if min_score is not None and (
            isinstance(min_score, bool)
            or not isinstance(min_score, (int, float, np.integer, np.floating))
            or math.isnan(min_score)
        ):
            raise InputError(f"min_score must be a number (not NaN or a bool), not {min_score!r}")
        if max_per_doc is not None and (
            isinstance(max_per_doc, bool) or not isinstance(max_per_doc, int) or max_per_doc < 1
        ):
            raise InputError(f"max_per_doc must be a positive integer, not {max_per_doc!r}")
        if self.feedback is not None:
            if self.feedback not in FEEDBACKS:
                raise InputError(f"feedback must be one of {', '.join(FEEDBACKS)}, not {self.feedback!r}")
            if self.mode != "hybrid":
                raise InputError(
                    f"feedback applies to hybrid search, not {self.mode} mode; use mode='hybrid' or leave feedback out"
                )
        if self.group is not None and self.group not in GROUPS:
            raise InputError(
                f"group must be None (one result per passage) or {', '.join(map(repr, GROUPS))}, not {self.group!r}"
            )

    @property
    def per_doc(self) -> int | None:
        """At most this many chunks of one document are kept (grouped: the passages shown per story)."""
        if self.group is not None:
            return self.max_per_doc or PASSAGES_PER_STORY
        return self.max_per_doc

    @property
    def wanted(self) -> int:
        """How many candidates each side is asked for at first, so that ``k`` usually survive the filters."""
        per_doc = self.per_doc
        return self.k if per_doc is None else self.k * max(2, per_doc + 1)


def first_depth(options: SearchOptions, fusion_depth: int) -> int:
    """How many candidates each side is asked for first (:func:`deepen` goes deeper when too few survive).

    Hybrid scores depend on that depth (a chunk one side did not list scores that side's lowest listed
    score), so a grouped hybrid search reads the sides exactly as deep as the passage search of the same
    ``k``: its stories are that search's, each once, unless too few stories send it deeper. Reading
    ``k × 4`` for the passages it shows per story cost 0.020 R@1 [0.008, 0.034] on a 新闻联播 check.
    """
    if options.mode != "hybrid":
        return options.wanted
    if options.group is not None:
        return max(options.k, fusion_depth)
    return max(options.wanted, fusion_depth)


def prepare_query(query: object, position: int = 0) -> str:
    """A query stripped of control characters and outer whitespace; empty ones are an error.

    Queries longer than :data:`MAX_QUERY_CHARS` are cut there (logged): no model reads further.
    """
    if not isinstance(query, str):
        raise InputError(f"query {position + 1} is a {type(query).__name__}, not a string")
    check_text(query, f"query {position + 1}")
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


def prepare_queries(queries: Sequence[str]) -> list[str]:
    """:func:`prepare_query` for each of a list of queries (a bare string is an error)."""
    if isinstance(queries, str):
        raise InputError("search_batch takes a list of queries; use search() for one query")
    return [prepare_query(q, i) for i, q in enumerate(queries)]


@dataclass(frozen=True)
class Searcher:
    """Ranks an index's parts. ``embed`` turns prepared queries into normalised query vectors."""

    parts: Parts
    fusion: FusionConfig
    embed: Callable[[Sequence[str]], np.ndarray]

    def search(
        self,
        queries: Sequence[str],
        options: SearchOptions,
        keep: ChunkFilter | None = None,
        allowed: Selection | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[list[Hit]]:
        """The best hits of each query, best first: checked, ranked, then hydrated into :class:`Hit`.

        ``allowed``: the chunks a metadata filter lets through (DocumentStore.select); each side searches only among
        them, before its top-k cut. ``vectors``: the dense side's query vectors, when not the queries' own
        embeddings (``similar`` searches with a story's passages).
        """
        texts = prepare_queries(queries)
        if not texts:
            return []
        if allowed is not None and not len(allowed):
            return [[] for _ in texts]
        return self.hits(texts, self.rank(texts, options, keep, allowed, vectors))

    def stories(
        self,
        queries: Sequence[str],
        options: SearchOptions,
        keep: ChunkFilter | None = None,
        allowed: Selection | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[list[StoryHit]]:
        """:meth:`search` grouped by story: the ``options.k`` best documents of each query, with their passages."""
        if options.group is None:
            options = dataclasses.replace(options, group="document")
        return [group_hits(hits, options.k) for hits in self.search(queries, options, keep, allowed, vectors)]

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """The vectors the dense side searches with (queries prepared, embedded, normalised)."""
        return self.embed(prepare_queries(queries))

    def sides(
        self, queries: Sequence[str], depth: int, vectors: np.ndarray | None = None
    ) -> list[SideRankings]:
        """Each query's ``depth`` best chunks on each side, unfused (one embedding call for all, unless given), no feedback."""
        texts = prepare_queries(queries)
        dense = self.parts.vectors.search(self.embed(texts) if vectors is None else vectors, depth)
        return [
            SideRankings(dense.ranking(i), self.parts.lexical.search(t, depth), self.speaks(t))
            for i, t in enumerate(texts)
        ]

    def speaks(self, text: str) -> bool:
        """Whether the lexical side has something to say on a prepared query: enough of its terms occur in the corpus."""
        lexical = self.parts.lexical
        return lexical_speaks(coverage(lexical.document_frequencies(lexical.query_terms(text))), self.fusion)

    def plan(
        self,
        text: str,
        vector: np.ndarray,
        feedback: Feedback | None = None,
        allowed: Selection | None = None,
        keep: ChunkFilter | None = None,
    ) -> QueryPlan:
        """How hybrid search treats a prepared query: the lexical side fused or not, feedback applied or not.

        Feedback passages are the dense side's best among ``allowed`` (and ``keep``), so a filter holds for them too.
        """
        config = self.fusion
        setting = feedback or config.feedback
        # With no coverage threshold the side is silent only when no term matches, and then finds nothing anyway.
        speaks = self.speaks(text) if config.min_coverage > 0 or setting == "auto" else True
        if dense_feedback.applies(setting, speaks):
            best = [c for c, _ in self.parts.vectors.search(vector, config.feedback_docs, allowed).ranking(0)]
            if keep is not None:
                kept = keep(best)
                best = [c for c in best if c in kept]
            if best:
                passages = self.parts.vectors.reconstruct(best)
                vector = dense_feedback.rocchio(vector[0], passages, config.feedback_weight)[None, :]
        return QueryPlan(speaks, vector)

    def candidates(
        self,
        mode: Mode,
        text: str,
        vector: np.ndarray | None,
        depth: int,
        allowed: Selection | None = None,
        speaks: bool = True,
    ) -> list[Candidate]:
        """Up to ``depth`` best chunks of each side the mode uses (among ``allowed``), fused in hybrid mode, best first.

        ``speaks=False``: the lexical side has nothing to say on the query (:meth:`plan`); hybrid gives the dense ranking.
        """
        dense: list[Scored] = []
        if mode != "lexical":
            dense = self.parts.vectors.search(vector, depth, allowed).ranking(0)  # type: ignore[arg-type]
            if mode == "dense":
                return ranked_side(dense, "dense")
        lexical = self.parts.lexical.search(text, depth, allowed) if speaks else []
        if mode == "lexical":
            return ranked_side(lexical, "lexical")
        return [Candidate._make(c) for c in fuse(dense, lexical, self.fusion, depth)]

    def rank(
        self,
        texts: Sequence[str],
        options: SearchOptions,
        keep: ChunkFilter | None = None,
        allowed: Selection | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[list[Candidate]]:
        """The ``options.k`` best candidates of each prepared query (grouped: those of the ``k`` best documents).

        Each side is asked for enough candidates to fill ``k`` after ``min_score``, ``max_per_doc`` and
        ``keep`` drop some; if they drop too many, the depth grows fourfold until ``k`` are found or
        the sides have nothing more to give (:func:`deepen`).
        """
        total = len(self.parts.vectors) if allowed is None else len(allowed)
        if len(self.parts.vectors) == 0:  # every document was removed: a valid index that finds nothing
            return [[] for _ in texts]
        mode = options.mode
        if vectors is None and mode != "lexical":
            vectors = self.embed(texts)
        start = first_depth(options, self.fusion.depth)
        out: list[list[Candidate]] = []
        for row, text in enumerate(texts):
            vector = vectors[row : row + 1] if vectors is not None else None
            speaks = True
            if mode == "hybrid":
                speaks, vector = self.plan(text, vector, options.feedback, allowed, keep)  # type: ignore[arg-type]
            out.append(
                deepen(
                    lambda depth, text=text, vector=vector, speaks=speaks: self.candidates(  # type: ignore[misc]
                        mode, text, vector, depth, allowed, speaks
                    ),
                    lambda ranked: self.select(ranked, options, keep),
                    options,
                    start,
                    total,
                    None if options.group is None else (lambda picked: self.found(picked, options)),
                )
            )
        return out

    def select(
        self,
        ranked: list[Candidate],
        options: SearchOptions,
        keep: ChunkFilter | None = None,
        owner: Callable[[Sequence[int]], Mapping[int, str]] | None = None,
    ) -> list[Candidate]:
        """The top ``k`` of ``ranked`` after the filters, best first: the one place hits are dropped.

        Grouped, the chunks of the ``k`` best documents (by their best chunk), up to ``per_doc`` each.
        ``owner``: chunk id → document id (default: the document store's).
        """
        if options.min_score is not None:
            ranked = [c for c in ranked if c.score >= options.min_score]
        if keep is not None:
            allowed = keep([c.chunk_id for c in ranked])
            ranked = [c for c in ranked if c.chunk_id in allowed]
        per_doc_limit = options.per_doc
        if per_doc_limit is None:
            return ranked[: options.k]
        docs = (owner or self.parts.chunks.doc_of)([c.chunk_id for c in ranked])
        per_doc: dict[str, int] = {}
        picked = []
        for candidate in ranked:
            doc = docs[candidate.chunk_id]
            if options.group is not None and doc not in per_doc and len(per_doc) == options.k:
                continue  # grouped: the k documents are chosen; only their further passages count
            if per_doc.get(doc, 0) < per_doc_limit:
                per_doc[doc] = per_doc.get(doc, 0) + 1
                picked.append(candidate)
                if options.group is None and len(picked) == options.k:
                    break
        return picked

    def found(self, picked: Sequence[Candidate], options: SearchOptions) -> int:
        """How many results ``picked`` makes: chunks, or documents when grouped."""
        if options.group is None:
            return len(picked)
        return len(set(self.parts.chunks.doc_of([c.chunk_id for c in picked]).values()))

    def hits(self, texts: Sequence[str], ranked: Sequence[list[Candidate]]) -> list[list[Hit]]:
        """Ranked candidates of each query turned into :class:`Hit` records (highlights found when read)."""
        rows = self.parts.chunks.rows([c.chunk_id for hits in ranked for c in hits])
        missing = [c.chunk_id for hits in ranked for c in hits if c.chunk_id not in rows]
        if missing:
            raise IndexCorruptError(
                f"chunk {missing[0]} was found by a search but is not in the document store; the index is damaged: "
                "run `semsearch verify`, then rebuild it"
            )
        duplicates = self.parts.chunks.duplicates_of({row.doc_id for row in rows.values()})
        out = []
        for text, candidates in zip(texts, ranked):
            highlighter = Highlighter(self.parts.lexical, text)
            out.append(
                [
                    to_hit(
                        rows[c.chunk_id],
                        c,
                        rank,
                        functools.partial(highlighter, rows[c.chunk_id].text),
                        duplicates.get(rows[c.chunk_id].doc_id, ()),
                    )
                    for rank, c in enumerate(candidates, start=1)
                ]
            )
        return out


def ranked_side(ranking: Sequence[Scored], side: str) -> list[Candidate]:
    """One side's ranking as candidates scored on that side's scale."""
    return [Candidate(c, s, {side: s, f"{side}_rank": r}) for r, (c, s) in enumerate(ranking, 1)]


def deepen(
    ranked_at: Callable[[int], list[Candidate]],
    select: Callable[[list[Candidate]], list[Candidate]],
    options: SearchOptions,
    start: int,
    total: int,
    count: Callable[[list[Candidate]], int] | None = None,
) -> list[Candidate]:
    """Candidates at depth ``start`` (at most ``total``), made four times deeper until ``select`` keeps ``k``.

    The one loop both a search and :func:`~semsearch.search.evaluation.tune_fusion` run, so tuning
    measures exactly what a search returns. ``count``: how many results a selection makes (default:
    its length; grouped searches count documents).
    """
    depth = min(total, start)
    count = count or len
    while True:
        ranked = ranked_at(depth)
        picked = select(ranked)
        exhausted = (
            depth >= total
            or len(ranked) < depth
            or (options.min_score is not None and ranked and ranked[-1].score < options.min_score)
        )
        if exhausted or count(picked) >= options.k:
            return picked
        depth = min(total, depth * 4)


class Highlighter:
    """Highlights for one query's hits, found only when a hit's ``highlights`` is read (its terms once)."""

    def __init__(self, lexical: LexicalSide, query: str) -> None:
        self._lexical, self._query = lexical, query
        self._terms: list[str] | None = None

    def __call__(self, text: str) -> tuple[Highlight, ...]:
        """Where the query's terms occur in ``text``."""
        if self._terms is None:
            self._terms = self._lexical.query_terms(self._query)
        return self._lexical.analyzer.highlights(self._terms, text)


def to_hit(
    row: ChunkRow,
    candidate: Candidate,
    rank: int,
    highlighter: Callable[[], tuple[Highlight, ...]],
    duplicates: Sequence[DuplicateRecord] = (),
) -> Hit:
    """A stored chunk row as a search result (with its document's metadata and recorded duplicates)."""
    return Hit(
        score=candidate.score,
        text=row.text,
        doc_id=row.doc_id,
        title=row.title,
        chunk_id=row.chunk_id,
        paragraph=row.paragraph,
        piece=row.piece,
        pieces=row.pieces,
        start=row.start,
        end=row.end,
        origin=row.origin,
        rank=rank,
        scores=candidate.scores,
        highlighter=highlighter,
        metadata=row.metadata,
        duplicates=tuple(d.to_dict() for d in duplicates),
    )
