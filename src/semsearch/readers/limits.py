"""What one source file may cost to read: caps against decompression and XML bombs.

A 1 MB ``.jsonl.gz`` can unpack to a gigabyte on one line or to a billion blank lines, and a 168 KB
``.docx`` to 58 MB of tiny XML elements. Past a cap the line, or the rest of the file, is skipped
with the reason in the skip report (``--explain``) and the build goes on. The caps are read when a
file is read, so a program that trusts its files can raise one: ``limits.MAX_LINE_BYTES = 2**26``.
"""

from __future__ import annotations

from semsearch.errors import InputError

# Bytes a compressed file (.jsonl.gz) or one part of a .docx may unpack to.
MAX_UNPACKED_BYTES = 2**30
# Bytes of one JSON Lines record (its newline not counted); a longer line is skipped.
MAX_LINE_BYTES = 16 * 2**20
# Blank lines one JSON Lines file may hold; past them the rest of the file is skipped.
MAX_BLANK_LINES = 1_000_000
# Lines of one JSON Lines file that may be skipped (invalid, no text, too long); past them the rest is.
MAX_SKIPPED_LINES = 10_000
# XML elements one part of a .docx may hold: a long report holds a few hundred thousand, and each
# costs ~5 µs of parsing (2 cores, loaded), so the cap bounds a bomb to seconds.
MAX_XML_ELEMENTS = 1_000_000


class TooLargeError(InputError):
    """A file past one of these caps; its message is the reason given in the skip report."""


def too_large(what: str, name: str) -> TooLargeError:
    """The error for ``what`` (the reason, with the cap's value), naming the cap ``name`` to raise."""
    return TooLargeError(f"{what} (semsearch.readers.limits.{name})")
