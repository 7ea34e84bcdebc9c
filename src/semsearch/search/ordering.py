"""The order of results: by relevance, newest first, or relevance with a preference for recent stories.

"The latest on X" is the newest of what is about X: a search asked for ``sort="date"`` or a
``recency`` half-life takes the :data:`~semsearch.defaults.RERANK_DEPTH` most relevant results
(stories when grouped; at least ``k``), then

- ``sort="date"``: orders them newest first (ties by relevance; undated ones last);
- ``recency="30d"``: multiplies each score by ``0.5 ** (age / half_life)``, where age is in days
  before the newest result (so an archive ranks the same whatever day it is searched on): a story a
  half-life older than the newest counts half as much. The multiplicative decay is Elasticsearch's
  ``exp`` decay function with ``boost_mode: multiply`` (a negative score is divided instead, so age
  always lowers it). Undated results get the oldest result's factor.

Filters apply before either, so a filtered search still returns ``k`` results when ``k`` match.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from semsearch.defaults import SORTS, Sort
from semsearch.errors import InputError
from semsearch.records import Hit, StoryHit

R = TypeVar("R", Hit, StoryHit)
HalfLife = str | int | float | _dt.timedelta | None
_UNITS = {"h": 1 / 24, "d": 1.0, "w": 7.0, "m": 30.0, "y": 365.0}
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdwmy]?)\s*$", re.IGNORECASE)


def check_sort(sort: object) -> Sort:
    """``sort`` if it is one of :data:`~semsearch.defaults.SORTS`, else an InputError naming them."""
    if sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(map(repr, SORTS))}, not {sort!r}")
    return sort


def half_life_days(value: HalfLife) -> float | None:
    """A recency half-life in days: ``"30d"``, ``"12h"``, ``"2w"``, ``"6m"`` (30-day months), ``"1y"``, a number of days or a timedelta.

    >>> half_life_days("2w"), half_life_days(30), half_life_days(None)
    (14.0, 30.0, None)
    """
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        days = value.total_seconds() / 86400
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        days = float(value)
    elif isinstance(value, str) and (match := _SPEC.match(value)):
        days = float(match.group(1)) * _UNITS[(match.group(2) or "d").lower()]
    else:
        raise InputError(
            f"recency must be a half-life such as '30d', '12h', '2w', '6m', '1y' or a number of days, not {value!r}"
        )
    if not math.isfinite(days) or days <= 0:
        raise InputError(f"a recency half-life must be a positive time, not {value!r}")
    return days


def reorder(results: Sequence[R], sort: Sort, half_life: float | None, k: int) -> list[R]:
    """The ``k`` first of ``results`` (best first) reordered by date or reweighted by recency, ranks renumbered."""
    ordered = list(results)
    if half_life is not None:
        ordered = _by_recency(ordered, half_life)
    if sort == "date":
        ordered = _by_date(ordered)
    return [dataclasses.replace(r, rank=rank) for rank, r in enumerate(ordered[:k], start=1)]


def _day_number(result: Hit | StoryHit) -> int | None:
    day = result.date
    return None if day is None else _dt.date.fromisoformat(day).toordinal()


def _by_date(results: list[R]) -> list[R]:
    position = {id(r): i for i, r in enumerate(results)}

    def key(result: Any) -> tuple[int, int, int]:
        day = _day_number(result)
        return (day is None, -(day or 0), position[id(result)])

    return sorted(results, key=key)


def _by_recency(results: list[R], half_life: float) -> list[R]:
    days = [_day_number(r) for r in results]
    known = [d for d in days if d is not None]
    if not known:
        return results
    newest, oldest = max(known), min(known)
    weighted = []
    for position, (result, day) in enumerate(zip(results, days)):
        factor = 0.5 ** ((newest - (oldest if day is None else day)) / half_life)
        # An older result always loses: a negative score (a z-scored fusion) is divided, not multiplied.
        score = result.score * factor if result.score >= 0 else result.score / factor
        scores = {**result.scores, "relevance": float(result.score), "recency": factor}
        weighted.append((score, position, dataclasses.replace(result, score=score, scores=scores)))
    weighted.sort(key=lambda item: (-item[0], item[1]))
    return [item[2] for item in weighted]
