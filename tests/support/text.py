"""Checks on cleaned text that several test files make."""

from __future__ import annotations

import unicodedata


def visible(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def assert_nothing_lost_but_reported(raw: str, result) -> None:
    """Every visible character of the raw text is kept (in order) or listed as dropped."""
    kept = visible(result.text)
    dropped = visible("".join(d.text for d in result.dropped))
    source = visible(raw)
    assert len(kept) + len(dropped) == len(source)
    it = iter(source)
    assert all(ch in it for ch in kept), "cleaned text is not a subsequence of the raw text"
    assert sorted(kept + dropped) == sorted(source)
