"""Coverage counts: how many stories per period (day, month, year) or per metadata value.

:meth:`semsearch.Index.facets` counts either every story a filter lets through (the engine counts:
:meth:`~semsearch.storage.base.DocumentStore.count_values`, days from the date index where it has one)
or the stories a query finds (:func:`story_counts`); :func:`facets_of` turns the counts into a
:class:`~semsearch.records.Facets`: periods in time order with the empty ones between as 0,
other values most frequent first.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from semsearch.dates import DATE_KEY
from semsearch.defaults import DATE_FACETS
from semsearch.errors import InputError
from semsearch.records import FacetCount, Facets, StoryHit, ValueCounts
from semsearch.storage.selection import facet_value


def check_facet(by: object) -> str:
    """``by`` if it names a facet: ``date:day``, ``date:month``, ``date:year`` or a metadata key."""
    if not isinstance(by, str) or not by.strip() or by.startswith("$"):
        raise InputError(
            f"by must be one of {', '.join(DATE_FACETS)} or a metadata key such as 'source', not {by!r}"
        )
    if by.startswith(f"{DATE_KEY}:") and by not in DATE_FACETS:
        raise InputError(f"unknown date facet {by!r}; use one of {', '.join(DATE_FACETS)}")
    return by


def facet_key(by: str) -> str:
    """The metadata key a facet reads (``date`` for the date periods)."""
    return DATE_KEY if by in DATE_FACETS else by


def story_counts(stories: Sequence[StoryHit], key: str) -> ValueCounts:
    """How many of ``stories`` hold each value of ``key`` (a day for ``date``), and how many hold none."""
    counts: dict[str, int] = {}
    missing = 0
    for story in stories:
        fields = {**story.metadata, "title": story.title, "origin": story.origin, "doc_id": story.doc_id}
        values = facet_value(key, fields[key]) if key in fields else []
        if not values:
            missing += 1
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    return ValueCounts(counts, len(stories), missing)


def facets_of(
    counts: ValueCounts,
    by: str,
    *,
    query: str | None = None,
    top: int | None = None,
    min_score: float | None = None,
) -> Facets:
    """The :class:`Facets` record of ``counts``: dates bucketed into ``by``'s periods, others by frequency."""
    if by in DATE_FACETS:
        periods: dict[str, int] = {}
        for day, count in counts.counts.items():
            period = _period(day, by)
            periods[period] = periods.get(period, 0) + count
        ordered = [FacetCount(p, periods.get(p, 0)) for p in _span(sorted(periods), by)]
    else:
        ordered = [
            FacetCount(v, n) for v, n in sorted(counts.counts.items(), key=lambda item: (-item[1], item[0]))
        ]
    return Facets(
        by=by,
        counts=tuple(ordered),
        stories=counts.documents,
        missing=counts.missing,
        query=query,
        top=top,
        min_score=min_score,
    )


def _period(day: str, by: str) -> str:
    return day if by == "date:day" else day[:7] if by == "date:month" else day[:4]


def _span(periods: list[str], by: str) -> list[str]:
    """Every period from the first to the last of ``periods`` (sorted), the empty ones included."""
    if not periods:
        return []
    first, last = periods[0], periods[-1]
    if by == "date:year":
        return [str(year) for year in range(int(first), int(last) + 1)]
    if by == "date:month":
        out, (year, month) = [], (int(first[:4]), int(first[5:7]))
        while f"{year:04d}-{month:02d}" <= last:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    start, end = _dt.date.fromisoformat(first), _dt.date.fromisoformat(last)
    return [(start + _dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
