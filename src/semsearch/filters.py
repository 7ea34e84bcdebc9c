"""Metadata filters in the convention users know from Chroma and MongoDB, parsed into a typed predicate.

>>> where = parse_where({"source": {"$in": ["新华社", "人民日报"]}, "date": {"$gte": "2024-01-01"}})
>>> where.matches({"source": "新华社", "date": "2024-03-08"})
True

A filter is a mapping of key → value (equality) or key → ``{operator: value, …}`` (all must hold), or
``{"$and": [filter, …]}`` / ``{"$or": [filter, …]}``. Keys are a document's metadata keys (``source`` is
the outlet, ``date`` the day…) plus ``doc_id``, ``origin`` (the file it came from) and ``title``; a key
no document has is an error listing the keys there are (:func:`check_keys`). Operators: ``$eq $ne $gt $gte $lt $lte $in $nin``. As in MongoDB,
a list value matches when any element does, ``$ne``/``$nin`` hold for a missing key, and ``$gt``… compare
numbers with numbers and strings with strings only. Values under ``date`` are read as dates
(``2024/6/5`` means ``2024-06-05``). Anything malformed is an :class:`~semsearch.InputError` naming it.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from semsearch.dates import DATE_KEY, next_day, normalize_date, previous_day
from semsearch.errors import InputError

Operator = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]
OPERATORS: tuple[str, ...] = get_args(Operator)
LOGICAL = ("$and", "$or")
DOCUMENT_KEYS = ("doc_id", "origin", "title")  # the document's own fields; every other key is metadata
Scalar = str | int | float | bool | None
MAX_DEPTH = 32  # levels of $and/$or: deeper is a mistake, and Python's recursion would give out at ~1000
MAX_CONDITIONS = 10_000  # values in one filter, over all its conditions and $in lists
MAX_INT_BITS = 63  # integers as Milvus and SQLite hold them: beyond is not a value metadata can have
RANGE_OPERATORS = ("$gt", "$gte", "$lt", "$lte")
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 3, 80, 80


@dataclass(frozen=True)
class Condition:
    """``key`` compared with ``value`` by ``op`` (for ``$in``/``$nin``, ``value`` is a tuple)."""

    key: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether a document's fields (doc_id, source, title and metadata keys) satisfy this."""
        present = self.key in record
        found = record.get(self.key)
        values = list(found) if isinstance(found, (list, tuple)) else [found]
        if self.op == "$ne":
            return not present or not any(_equal(v, self.value) for v in values)
        if self.op == "$nin":
            return not present or not any(_equal(v, w) for v in values for w in self.value)  # type: ignore[union-attr]
        if not present:
            return self.op == "$eq" and self.value is None
        if self.op == "$eq":
            return any(_equal(v, self.value) for v in values)
        if self.op == "$in":
            return any(_equal(v, w) for v in values for w in self.value)  # type: ignore[union-attr]
        return any(_compare(v, self.op, self.value) for v in values)


@dataclass(frozen=True)
class AllOf:
    """Every part holds (``$and``, or several keys in one mapping)."""

    parts: tuple[Filter, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether all parts match ``record``."""
        return all(part.matches(record) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds (``$or``)."""

    parts: tuple[Filter, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether any part matches ``record``."""
        return any(part.matches(record) for part in self.parts)


Filter = Condition | AllOf | AnyOf


def parse_where(where: Mapping[str, Any] | Filter | None) -> Filter | None:
    """A typed filter from a Chroma/Mongo-style mapping; None or ``{}`` mean no filter.

    Raises :class:`InputError` naming the part that is malformed: an unknown operator, ``$in`` without
    a list, a value that is a mapping or list where a single value belongs, an empty ``$and``…
    """
    if where is None or isinstance(where, (Condition, AllOf, AnyOf)):
        return where
    if not isinstance(where, Mapping):
        raise InputError(
            f"where must be a mapping like {{'source': '新华社'}}, not {type(where).__name__}: {_shown(where)}"
        )
    if not where:
        return None
    budget = [MAX_CONDITIONS]
    return _parse(where, "where", 0, budget)


def keys_of(where: Filter | None) -> set[str]:
    """Every key a filter reads."""
    if where is None:
        return set()
    if isinstance(where, Condition):
        return {where.key}
    return set().union(*(keys_of(part) for part in where.parts))


def check_keys(where: Filter | None, metadata_keys: Iterable[str]) -> None:
    """Raise InputError when ``where`` reads a key no document has (a typo would match nothing, silently).

    ``metadata_keys``: every metadata key of the index's documents; the document keys always exist.
    """
    known = set(metadata_keys) | set(DOCUMENT_KEYS)
    unknown = sorted(keys_of(where) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise InputError(
            f"no document has the key {', '.join(map(repr, unknown))}; filter on one of: {listed}"
        )


def _shown(value: object) -> str:
    """``value`` for an error message, cut short (a filter may be nested deep or hold long values)."""
    return _SHOWN.repr(value)


def _parse(where: Mapping[str, Any], path: str, depth: int, budget: list[int]) -> Filter:
    if depth > MAX_DEPTH:
        raise InputError(
            f"{path.split('[')[0]} is nested more than {MAX_DEPTH} levels deep ($and/$or); flatten it: "
            "one $and or $or takes any number of filters"
        )
    if not isinstance(where, Mapping) or not where:
        raise InputError(f"{path} must be a non-empty mapping of keys to values, not {_shown(where)}")
    parts: list[Filter] = []
    for key, value in where.items():
        if not isinstance(key, str) or not key:
            raise InputError(
                f"{path} has a key {_shown(key)}; keys are metadata names, doc_id, origin or title"
            )
        if key in LOGICAL:
            if not isinstance(value, (list, tuple)) or not value:
                raise InputError(f"{path}.{key} takes a non-empty list of filters, not {_shown(value)}")
            inner = tuple(
                _parse(item, f"{path}.{key}[{i}]", depth + 1, budget) for i, item in enumerate(value)
            )
            parts.append(AllOf(inner) if key == "$and" else AnyOf(inner))
        elif key.startswith("$"):
            raise InputError(
                f"{path} has an unknown operator {_shown(key)}; at this level only $and and $or, and under a key "
                f"{', '.join(OPERATORS)}"
            )
        elif isinstance(value, Mapping):
            if not value:
                raise InputError(f"{path}.{key} is an empty mapping; give a value or {{'$op': value}}")
            for op, operand in value.items():
                parts.append(_condition(key, op, operand, f"{path}.{key}", budget))
        else:
            parts.append(_condition(key, "$eq", value, f"{path}.{key}", budget))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _condition(key: str, op: object, operand: object, path: str, budget: list[int]) -> Condition:
    if op not in OPERATORS:
        raise InputError(f"{path} has an unknown operator {_shown(op)}; use one of {', '.join(OPERATORS)}")
    count = len(operand) if op in ("$in", "$nin") and isinstance(operand, (list, tuple)) else 1
    budget[0] -= count
    if budget[0] < 0:
        raise InputError(
            f"{path}: the filter holds more than {MAX_CONDITIONS} values; filter on fewer, or by a "
            "metadata key the documents share"
        )
    if op in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple)):
            raise InputError(f"{path}.{op} takes a list of values, not {_shown(operand)}")
        return Condition(key, op, tuple(_scalar(key, v, f"{path}.{op}") for v in operand))  # type: ignore[arg-type]
    where = f"{path}.{op}" if op != "$eq" else path
    value = _scalar(key, operand, where)
    if op in RANGE_OPERATORS and (value is None or isinstance(value, bool)):
        raise InputError(f"{where} compares with a number or a string, not {_shown(operand)}")
    if op in RANGE_OPERATORS and key == DATE_KEY:
        value = _day(value, where)
    return Condition(key, op, value)  # type: ignore[arg-type]


def _day(value: Scalar, path: str) -> str:
    """A date a range on ``date`` compares with, as ``YYYY-MM-DD`` (what --since and --until take)."""
    day = normalize_date(value)
    if day is None:
        raise InputError(
            f"{path}: {_shown(value)} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-25 (dates are "
            "compared as days)"
        )
    return day


def _scalar(key: str, value: object, path: str) -> Scalar:
    if isinstance(value, float) and math.isnan(value):
        raise InputError(f"{path} is NaN, which equals nothing; give a number")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise InputError(
            f"{path} is an integer outside the 64-bit range ({value.bit_length()} bits); metadata "
            "integers are 64-bit: give a smaller one"
        )
    if value is None or isinstance(value, (str, int, float, bool)):
        if key == DATE_KEY and isinstance(value, str):
            return normalize_date(value) or value
        return value
    raise InputError(
        f"{path} is a {type(value).__name__} ({_shown(value)}); give a string, number, true/false or null"
        + (", or an operator mapping" if isinstance(value, (list, tuple)) else "")
    )


def _equal(found: object, wanted: object) -> bool:
    if isinstance(found, bool) or isinstance(wanted, bool):
        return isinstance(found, bool) and isinstance(wanted, bool) and found == wanted
    return found == wanted


def _compare(found: object, op: str, wanted: object) -> bool:
    numbers = (int, float)
    if isinstance(found, bool) or isinstance(wanted, bool):
        return False
    if not (
        (isinstance(found, numbers) and isinstance(wanted, numbers))
        or (isinstance(found, str) and isinstance(wanted, str))
    ):
        return False
    if op == "$gt":
        return found > wanted  # type: ignore[operator]
    if op == "$gte":
        return found >= wanted  # type: ignore[operator]
    if op == "$lt":
        return found < wanted  # type: ignore[operator]
    return found <= wanted  # type: ignore[operator]


def date_range(where: Filter) -> tuple[str | None, str | None] | None:
    """The inclusive (first day, last day) a filter on ``date`` alone selects (None: open), or None.

    Only a condition or an ``$and`` of conditions on the date key with ``$eq``, ``$gt``, ``$gte``,
    ``$lt`` or ``$lte`` and day values is a range; anything else (other keys, ``$or``, ``$ne``…) is not,
    and is evaluated document by document.
    """
    parts = where.parts if isinstance(where, AllOf) else (where,)
    low: str | None = None
    high: str | None = None
    for part in parts:
        if not isinstance(part, Condition) or part.key != DATE_KEY or not isinstance(part.value, str):
            return None
        day = normalize_date(part.value)
        if day is None or day != part.value:
            return None
        if part.op in ("$eq", "$gte", "$gt"):
            start = day if part.op != "$gt" else next_day(day)
            low = start if low is None else max(low, start)
        if part.op in ("$eq", "$lte", "$lt"):
            end = day if part.op != "$lt" else previous_day(day)
            high = end if high is None else min(high, end)
        if part.op not in ("$eq", "$gte", "$gt", "$lte", "$lt"):
            return None
    return low, high


def matching(records: Sequence[Mapping[str, Any]], where: Filter | None) -> list[int]:
    """Positions of ``records`` that ``where`` matches (all of them without a filter)."""
    if where is None:
        return list(range(len(records)))
    return [i for i, record in enumerate(records) if where.matches(record)]
