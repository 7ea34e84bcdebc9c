"""BM25 split in two, so a server can store one half per row and never re-weight old rows on a change.

bm25s's Lucene BM25 of a query ``q`` over a chunk ``d`` is ``Σ_t idf(t) · tfc(t, d)`` with

- ``tfc(t, d) = tf / (tf + k1 · (1 − b + b · |d| / avgdl))``: the *document side*, stored with the row
  as a sparse vector (term id → weight), and
- ``idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))``: the *query side*, computed at query time from the
  document frequencies semsearch keeps (and updates on every add and remove),

so the inner product of the two sparse vectors is exactly bm25s's score. Only ``avgdl`` is frozen
into the stored rows: after a change the rows keep the average length they were weighted with
(:class:`CorpusStats.weighted_avgdl`) until a re-weighting pass (:func:`needs_reweighting`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from semsearch.errors import InputError

DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
# How far the true average length may move from the one rows were weighted with before
# `needs_reweighting` says so (relative). benchmarks/scale_out.py measures what a drift costs.
REWEIGHT_DRIFT = 0.05


@dataclass(frozen=True)
class CorpusStats:
    """What the two halves need about the whole corpus: chunk count, total terms, the frozen avgdl.

    ``weighted_avgdl`` is the average length the stored rows were weighted with (0 before any row).
    """

    chunks: int = 0
    terms: int = 0
    weighted_avgdl: float = 0.0
    k1: float = DEFAULT_K1
    b: float = DEFAULT_B

    def __post_init__(self) -> None:
        if self.chunks < 0 or self.terms < 0:
            raise InputError(
                f"corpus statistics cannot be negative: {self.chunks} chunks, {self.terms} terms"
            )

    @property
    def avgdl(self) -> float:
        """The corpus's average chunk length in terms now (1.0 for an empty corpus)."""
        return self.terms / self.chunks if self.chunks else 1.0

    def changed(self, added: Sequence[int], removed: Sequence[int]) -> CorpusStats:
        """The statistics after adding and removing chunks of the given term counts.

        The first rows ever written freeze the average length they are weighted with.
        """
        chunks = self.chunks + len(added) - len(removed)
        terms = self.terms + sum(added) - sum(removed)
        stats = replace(self, chunks=chunks, terms=terms)
        if self.weighted_avgdl <= 0 and chunks:
            stats = replace(stats, weighted_avgdl=stats.avgdl)
        return stats

    @property
    def drift(self) -> float:
        """Relative difference between today's average length and the one rows were weighted with."""
        if self.weighted_avgdl <= 0:
            return 0.0
        return abs(self.avgdl - self.weighted_avgdl) / self.weighted_avgdl

    def to_dict(self) -> dict[str, float | int]:
        """JSON form, for the index's metadata."""
        return {
            "chunks": self.chunks,
            "terms": self.terms,
            "weighted_avgdl": self.weighted_avgdl,
            "k1": self.k1,
            "b": self.b,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> CorpusStats:
        """Read what :meth:`to_dict` wrote."""
        return cls(
            chunks=int(data["chunks"]),
            terms=int(data["terms"]),
            weighted_avgdl=float(data["weighted_avgdl"]),
            k1=float(data.get("k1", DEFAULT_K1)),
            b=float(data.get("b", DEFAULT_B)),
        )


def document_weights(terms: Sequence[str], stats: CorpusStats) -> dict[str, float]:
    """The document side of one chunk: term → saturated, length-normalised term frequency."""
    if not terms:
        return {}
    avgdl = stats.weighted_avgdl if stats.weighted_avgdl > 0 else float(len(terms))
    norm = stats.k1 * (1 - stats.b + stats.b * len(terms) / avgdl)
    return {term: tf / (tf + norm) for term, tf in Counter(terms).items()}


def idf(df: int, chunks: int) -> float:
    """Lucene's (and bm25s's) inverse document frequency of a term found in ``df`` of ``chunks`` chunks."""
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


def query_weights(terms: Iterable[str], df: Mapping[str, int], chunks: int) -> dict[str, float]:
    """The query side: term → idf, for the query's terms that occur in the corpus (once each)."""
    return {t: idf(df[t], chunks) for t in dict.fromkeys(terms) if df.get(t, 0) > 0}


def document_frequencies(term_lists: Iterable[Sequence[str]]) -> Counter[str]:
    """In how many of the given chunks each term occurs."""
    counts: Counter[str] = Counter()
    for terms in term_lists:
        counts.update(set(terms))
    return counts


def needs_reweighting(stats: CorpusStats, tolerance: float = REWEIGHT_DRIFT) -> bool:
    """Whether today's average length has moved more than ``tolerance`` from the rows' weighting."""
    return stats.drift > tolerance
