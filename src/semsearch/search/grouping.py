"""Story-level results: a search's passages grouped by the story (document) they belong to.

A newsroom reads stories, not paragraphs: one story often holds several of a query's best passages.
:func:`group_hits` turns a best-first list of passages into one :class:`~semsearch.records.StoryHit`
per story, with its passages, scored by :func:`story_score`.

How a story's score combines its passages' is :func:`story_score`: ``"max"`` (the story's best
passage; the default), ``"sum"`` (every passage found adds) or ``"decay"`` (the best, plus the second
over 2, the third over 3…). Measured on CMRC 2018 trial (``python -m benchmarks.newsroom
--stories-index …``, 1,000 questions, hybrid, 20 stories of up to 3 passages re-ranked): ``max`` R@1
0.9890 / MRR@10 0.9936, ``sum`` and ``decay`` R@1 0.2070 / MRR@10 0.3464. Fused scores sit near 1
(normalised to the best), so adding passages rewards a story's length, not its relevance. With
``"max"`` a grouped search ranks stories as a search with one hit per document does in dense and
lexical mode; in hybrid it reads each side as deep as the passage search of the same ``k``
(:func:`~semsearch.search.searcher.first_depth`: fused scores depend on that depth), so its stories
are that list's stories, each once (the 新闻联播 known-item check, clause questions: R@1 0.848 for
``search(k=10, group="document")`` against 0.850 for the top-10 passage list, a tie; 0.830 when it
read k × 4 per side, a loss whose 95 % interval excluded 0; CMRC 2018 dev: every difference a tie;
``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from semsearch.records import Hit, StoryHit

StoryScore = Literal["max", "sum", "decay"]
STORY_SCORES: tuple[StoryScore, ...] = get_args(StoryScore)
DEFAULT_STORY_SCORE: StoryScore = "max"


def story_score(scores: Sequence[float], method: StoryScore = DEFAULT_STORY_SCORE) -> float:
    """A story's score from its passages' scores (best first).

    >>> story_score([0.9, 0.6], "max"), story_score([0.9, 0.6], "sum"), story_score([0.9, 0.6], "decay")
    (0.9, 1.5, 1.2)
    """
    if not scores:
        return 0.0
    if method == "max":
        return float(scores[0])
    if method == "sum":
        return float(sum(scores))
    return float(sum(score / rank for rank, score in enumerate(scores, start=1)))


def group_hits(hits: Sequence[Hit], k: int, method: StoryScore = DEFAULT_STORY_SCORE) -> list[StoryHit]:
    """The ``k`` best stories among best-first ``hits``, each with its passages (best first), best story first.

    Stories are ordered by :func:`story_score` (ties keep the order of their best passages).
    """
    passages: dict[str, list[Hit]] = {}
    for hit in hits:
        passages.setdefault(hit.doc_id, []).append(hit)
    scored = [
        (story_score([h.score for h in found], method), position, found)
        for position, found in enumerate(passages.values())
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    stories = []
    for rank, (score, _, found) in enumerate(scored[:k], start=1):
        best = found[0]
        stories.append(
            StoryHit(
                rank=rank,
                score=score,
                doc_id=best.doc_id,
                title=best.title,
                origin=best.origin,
                passages=tuple(found),
                scores={"best": best.score, "passages": float(len(found))},
                metadata=best.metadata,
                duplicates=best.duplicates,
            )
        )
    return stories
