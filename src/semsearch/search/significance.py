"""Is a difference in retrieval quality real? Bootstrap intervals over queries, paired for two settings.

A metric averaged over a set of questions is an estimate; resampling the questions with replacement
(10,000 times by default) gives its 95 % interval. Two settings judged on the same questions are
compared pairwise: the interval of the mean per-query difference. A difference whose interval holds
0 is a tie; a setting is better only when the whole interval is on its side.

>>> interval(per_query(run, judgments.relevant)["MRR@10"])
Interval(mean=0.9925, low=0.9902, high=0.9949)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from semsearch.errors import InputError

RESAMPLES = 10_000
LEVEL = 0.95
_BLOCK = 500  # resamples drawn at a time: (block, queries) indices stay a few tens of MB


class Interval(NamedTuple):
    """A mean and its bootstrap interval."""

    mean: float
    low: float
    high: float


class Comparison(NamedTuple):
    """The mean per-query difference ``b − a``, its paired bootstrap interval and the verdict."""

    difference: float
    low: float
    high: float
    verdict: Literal["a", "b", "tie"]  # which is better, or a tie (the interval holds 0)


def interval(
    values: Sequence[float], *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Interval:
    """The mean of per-query ``values`` and its percentile bootstrap interval."""
    data = _array(values, "values")
    means = _resampled_means(data, resamples, seed)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(data.mean()), float(low), float(high))


def paired(
    a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Comparison:
    """Compare two settings' per-query values on the same queries (same order): ``b − a`` and its interval."""
    first, second = _array(a, "a"), _array(b, "b")
    if len(first) != len(second):
        raise InputError(
            f"a paired comparison needs the same queries: {len(first)} values against {len(second)}"
        )
    difference = second - first
    means = _resampled_means(difference, resamples, seed)
    low, high = (float(x) for x in np.quantile(means, [(1 - level) / 2, (1 + level) / 2]))
    verdict: Literal["a", "b", "tie"] = "b" if low > 0 else "a" if high < 0 else "tie"
    return Comparison(float(difference.mean()), low, high, verdict)


def _array(values: Sequence[float], name: str) -> np.ndarray:
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or not len(data):
        raise InputError(f"{name}: give one value per query (at least one)")
    return data


def _resampled_means(data: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for first in range(0, resamples, _BLOCK):
        count = min(_BLOCK, resamples - first)
        picks = rng.integers(0, len(data), size=(count, len(data)))
        means[first : first + count] = data[picks].mean(axis=1)
    return means
