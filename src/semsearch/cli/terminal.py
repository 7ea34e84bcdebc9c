r"""Text from an index made safe to print on a terminal.

Titles, ids and chunk texts come from whoever wrote the sources: an escape sequence in them could
set the terminal's title, clear the screen or hide text, and a bidirectional override could make
one file name read as another. The terminal view shows such characters as visible escapes
(``\x1b``, ``\u202e``); ``--json`` output stays exact, with such characters as JSON escapes.

Every line the command prints goes through :func:`say` or :func:`say_json` (the one place text
reaches the terminal); the characters are defined once, in :mod:`semsearch.text.controls`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from semsearch.text.controls import is_acting, json_safe


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
        elif is_acting(ch):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def say(text: object = "", *, file: TextIO | None = None, styled: bool = False) -> None:
    """Print ``text`` as one or more lines, every control and bidirectional character shown as an escape.

    ``styled``: ``text`` holds colour codes of its own, its data already passed through :func:`safe`.
    """
    line = str(text) if styled else safe(text, keep_newlines=True)
    print(line, file=file if file is not None else sys.stdout)


def say_json(data: Any, *, file: TextIO | None = None, **options: Any) -> None:
    """Print ``data`` as JSON (``options`` as :func:`json.dumps` takes them), acting characters escaped."""
    say(json_safe(json.dumps(data, ensure_ascii=False, **options)), file=file)
