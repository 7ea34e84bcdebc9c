"""Feedback from the dense side: the query vector moved toward its best passages, then searched again.

An English question over Chinese text finds nothing real on the lexical side, and the multilingual model
places it only roughly among the Chinese passages. The passages it finds first are Chinese, though, and
the mean of their vectors, added to the query's (Rocchio's formula with no negative part), pulls the
second search toward their neighbourhood. Hybrid search does this by default only for a query the
lexical side is silent on (``feedback="auto"``); ``"on"`` does it for every query.

Chosen on CMRC 2018 trial (``benchmarks/crosslingual.py``, ``results/crosslingual-latest.json``): the
top 5 passages at weight 0.25. A lexical feedback (the salient Chinese terms of those passages as an
expanded BM25 query) was tried too and lost R@1 on English questions; see benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from semsearch.defaults import Feedback


def applies(setting: Feedback, lexical_speaks: bool) -> bool:
    """Whether a hybrid search re-queries the dense side: "on" always, "auto" when the lexical side is silent."""
    return setting == "on" or (setting == "auto" and not lexical_speaks)


def rocchio(query: np.ndarray, passages: np.ndarray, weight: float) -> np.ndarray:
    """``query + weight × mean(passages)``, back to unit length; the query as it is when there are no passages.

    >>> rocchio(np.array([1.0, 0.0]), np.array([[0.0, 1.0]]), 1.0).round(3)
    array([0.707, 0.707])
    """
    if not len(passages) or weight == 0:
        return query
    moved = np.asarray(query, dtype=np.float64) + weight * np.asarray(passages, dtype=np.float64).mean(axis=0)
    norm = np.linalg.norm(moved)
    return (moved / norm).astype(np.float32) if norm > 0 else query
