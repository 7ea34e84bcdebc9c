r"""Text from an index made safe to print on a terminal.

Titles, ids and chunk texts come from whoever wrote the sources: an escape sequence in them could
set the terminal's title, clear the screen or hide text, and a bidirectional override could make
one file name read as another. The terminal view shows such characters as visible escapes
(``\x1b``, ``\u202e``); ``--json`` output stays exact.
"""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates (the "Trojan Source" characters) and marks.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, *, keep_newlines: bool = False) -> str:
    r"""``text`` with control and bidirectional-formatting characters shown as ``\xNN``/``\uNNNN``.

    Tabs become spaces; newlines are kept when ``keep_newlines`` (multi-line text), else escaped.

    >>> print(safe("title\x1b]0;pwned\x07"))
    title\x1b]0;pwned\x07
    """
    out = []
    for ch in str(text):
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)
