r"""Milvus filter expressions built from values: the one place text reaches an expression.

Document ids, terms and band keys are written into Milvus's filter language as string literals, so
text from a source never becomes part of an expression: ``x'] or doc_id not in ['y`` is one id, not
a second condition. Milvus's parameterised filters (``{name}`` templates) are the way a server
offers for this, but milvus-lite does not read them; instead every string becomes a double-quoted
literal escaped the way both read it: ``\\``, ``"``, newline and carriage return escaped, every
other character as it is (milvus-lite knows only the escapes ``\" \' \\ \n \r \t``; Milvus unquotes
with Go's rules, where a raw control character or ``'`` inside double quotes stands for itself).
Integers are written by :func:`int` of the value. pymilvus's own ``get(ids=…)``, ``delete(ids=…)``
and ``query_iterator`` quote string keys without escaping, so semsearch never calls them with text.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from semsearch.records import check_text

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}


def literal(value: str) -> str:
    """``value`` as a double-quoted Milvus string literal that reads back as exactly ``value``."""
    text = check_text(value, "a value in a Milvus filter")
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def number(value: object) -> str:
    """An integer (Python's or numpy's) as a Milvus literal; anything else is a TypeError."""
    if isinstance(value, bool):
        raise TypeError("a Milvus integer literal needs an integer, not a bool")
    return str(operator.index(value))  # type: ignore[arg-type]


def value_literal(value: object) -> str:
    """A string or integer as its Milvus literal."""
    return literal(value) if isinstance(value, str) else number(value)


def one_of(field: str, values: Iterable[object]) -> str:
    """``field in [v, …]`` for string or integer ``values``."""
    return f"{field} in [{', '.join(value_literal(v) for v in values)}]"


def after(field: str, value: object) -> str:
    """``field > value``: the next page of a scan ordered by ``field`` (a primary key)."""
    return f"{field} > {value_literal(value)}"


def both(*conditions: str) -> str:
    """The conditions joined by ``and`` (empty ones left out), each in parentheses."""
    kept = [c for c in conditions if c]
    return " and ".join(f"({c})" for c in kept) if len(kept) > 1 else "".join(kept)
