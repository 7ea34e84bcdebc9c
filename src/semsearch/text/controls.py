r"""Characters that act on a terminal instead of showing: the one definition, for the CLI and exports.

Control characters (C0, DEL, C1 such as U+009B, the one-byte CSI) can set a terminal's title, clear the
screen or hide text; bidirectional embeddings, overrides and isolates (the "Trojan Source" characters)
can make one file name read as another. Text from sources may hold any of them.
"""

from __future__ import annotations

import re

# Bidirectional embeddings, overrides and isolates, and the marks.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ACTING = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(BIDI)) + "]")
# What json.dumps leaves raw: it escapes U+0000-U+001F inside strings, and a raw newline is its layout.
_RAW_IN_JSON = re.compile("[\x7f-\x9f" + "".join(sorted(BIDI)) + "]")


def is_acting(ch: str) -> bool:
    """Whether ``ch`` is a control or bidirectional-formatting character."""
    return _ACTING.match(ch) is not None


def json_safe(text: str) -> str:
    r"""JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every such character as ``\uXXXX``.

    The JSON reads back to exactly the same values (they can only occur inside strings), yet shows
    nothing that acts on a terminal. ``json.dumps`` escapes only U+0000-U+001F.

    >>> json_safe('{"t": "a\u202eb\x9b"}')
    '{"t": "a\\u202eb\\u009b"}'
    """
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
