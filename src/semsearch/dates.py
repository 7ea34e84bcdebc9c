"""Dates in news metadata, written many ways, normalised to one form: ``YYYY-MM-DD``.

A feed's date may be ISO 8601 (``2024-06-25T08:00:00+08:00``), ``2024/6/25``, ``20240625``,
``2024年6月25日``, an RFC 2822 date from RSS (``Tue, 25 Jun 2024 08:00:00 GMT``) or a Unix timestamp in
seconds or milliseconds. The day is kept as written (no time-zone conversion): a story dated 25 June in
Beijing stays 25 June. Day resolution is what date filters on news need, and ISO days sort as strings.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re
from typing import Any

DATE_KEY = "date"
# Where feeds put an article's date, in the order they are looked for; the first that parses wins.
DATE_FIELDS = (
    "date",
    "pub_date",
    "pubdate",
    "published",
    "published_at",
    "publish_date",
    "publish_time",
    "time",
    "datetime",
    "created_at",
    "日期",
    "发布时间",
    "时间",
)

_YMD = re.compile(
    r"^\s*(?P<y>\d{4})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})\s*日?"
    r"(?:$|[\sT_]|\d{1,2}:)"
)
_COMPACT = re.compile(r"^\s*(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:$|[\sT_]?\d{2}:?\d{2})")
# Plausible Unix timestamps: 1973-03 … 2286-11 in seconds; the same span in milliseconds.
_SECONDS = (1e8, 1e10)
_MILLIS = (1e11, 1e13)


def normalize_date(value: Any) -> str | None:
    """``value`` as ``YYYY-MM-DD``, or None when it is not a date this recognises.

    >>> normalize_date("2024年6月5日 08:00"), normalize_date(1719273600), normalize_date("June")
    ('2024-06-05', '2024-06-25', None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _from_timestamp(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):
        return _from_timestamp(float(text))
    for pattern in (_YMD, _COMPACT):
        match = pattern.match(text)
        if match:
            return _day(int(match["y"]), int(match["m"]), int(match["d"]))
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_day(value: str, what: str) -> str:
    """A user's date (``--since``/``--until``) as ``YYYY-MM-DD``; raises InputError naming ``what``."""
    from semsearch.errors import InputError

    day = normalize_date(value)
    if day is None:
        raise InputError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-25")
    return day


def next_day(day: str) -> str:
    """The ISO day after ``day`` (``YYYY-MM-DD``)."""
    return (_dt.date.fromisoformat(day) + _dt.timedelta(days=1)).isoformat()


def previous_day(day: str) -> str:
    """The ISO day before ``day`` (``YYYY-MM-DD``)."""
    return (_dt.date.fromisoformat(day) - _dt.timedelta(days=1)).isoformat()


def _from_timestamp(number: float) -> str | None:
    if _MILLIS[0] <= number < _MILLIS[1]:
        number /= 1000
    if not _SECONDS[0] <= number < _SECONDS[1]:
        return None
    return _dt.datetime.fromtimestamp(number, tz=_dt.timezone.utc).date().isoformat()


def _day(year: int, month: int, day: int) -> str | None:
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None
