"""Cut a cleaned document into chunks: one paragraph each, fitted to the encoder's window.

A heading (or the title) joins the paragraph it introduces; a fragment shorter than ``min_chars``
merges with a neighbour when the two fit together; a paragraph longer than the window, measured in
the encoder's own tokens, is split at sentence ends (then clause ends) into balanced pieces. Only
when a single clause is longer than the window is it cut inside, and that is logged, never silent.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from semsearch.defaults import DEFAULT_MIN_CHARS
from semsearch.errors import InputError
from semsearch.records import Chunk, CleanText
from semsearch.text.clean import CHUNK_BREAKS

log = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(f"[{CHUNK_BREAKS}]+[”’」』）)\"']*|\n")
_CLAUSE_END = re.compile(r"[，,、：:]")
# A window of this many characters per token of the budget holds more tokens than the budget in any
# real text (a token of the bundled model's vocabulary covers at most a few characters of Chinese and
# rarely over 8 of anything): probing such a prefix first spares tokenising a paragraph of megabytes.
_PROBE_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are cut; recorded in the index manifest so a rebuild can repeat it."""

    max_tokens: int
    min_chars: int = DEFAULT_MIN_CHARS

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 8:
            raise InputError(f"max_tokens must be an integer of at least 8, not {self.max_tokens!r}")
        if isinstance(self.min_chars, bool) or not isinstance(self.min_chars, int) or self.min_chars < 0:
            raise InputError(f"min_chars must be a non-negative integer, not {self.min_chars!r}")


@dataclass
class _Unit:
    start: int
    end: int
    paragraph: int


def chunk_id_for(doc_id: str, ordinal: int) -> int:
    """A stable, positive 64-bit id for the ``ordinal``-th chunk of ``doc_id``."""
    digest = hashlib.blake2b(f"{doc_id}\x1f{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def chunk_document(
    doc_id: str,
    clean: CleanText,
    *,
    count_tokens: TokenCounter,
    config: ChunkingConfig,
    title: str = "",
) -> list[Chunk]:
    """Chunks of one cleaned document, in reading order; ``chunk.text == clean.text[start:end]``."""
    text = clean.text
    units = _merge_tiny(_units(clean), text, count_tokens, config)
    chunks: list[Chunk] = []
    for unit in units:
        spans = _fit(text, unit.start, unit.end, count_tokens, config.max_tokens, doc_id)
        for piece, (start, end) in enumerate(spans, start=1):
            ordinal = len(chunks)
            piece_text = text[start:end]
            chunks.append(
                Chunk(
                    chunk_id=chunk_id_for(doc_id, ordinal),
                    doc_id=doc_id,
                    ordinal=ordinal,
                    text=piece_text,
                    start=start,
                    end=end,
                    paragraph=unit.paragraph,
                    piece=piece,
                    pieces=len(spans),
                    n_tokens=count_tokens(piece_text),
                    title=title,
                )
            )
    return chunks


def _units(clean: CleanText) -> list[_Unit]:
    """Paragraphs, with each run of headings (or the title) joined to the paragraph after it."""
    units: list[_Unit] = []
    pending: tuple[int, int] | None = None  # (start, paragraph number) of waiting headings
    for number, para in enumerate(clean.paragraphs, start=1):
        if para.kind in ("title", "heading"):
            if pending is None:
                pending = (para.start, number)
            continue
        start, first = pending if pending is not None else (para.start, number)
        units.append(_Unit(start, para.end, first))
        pending = None
    if pending is not None:
        units.append(_Unit(pending[0], clean.paragraphs[-1].end, pending[1]))
    return units


def _merge_tiny(
    units: list[_Unit], text: str, count_tokens: TokenCounter, config: ChunkingConfig
) -> list[_Unit]:
    """Merge a unit shorter than ``min_chars`` into the next unit, else the previous, if they fit."""
    out: list[_Unit] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if unit.end - unit.start < config.min_chars:
            if i + 1 < len(units) and _fits(
                text, unit.start, units[i + 1].end, count_tokens, config.max_tokens
            ):
                units[i + 1] = _Unit(unit.start, units[i + 1].end, unit.paragraph)
                i += 1
                continue
            if out and _fits(text, out[-1].start, unit.end, count_tokens, config.max_tokens):
                out[-1] = _Unit(out[-1].start, unit.end, out[-1].paragraph)
                i += 1
                continue
        out.append(unit)
        i += 1
    return out


def _fit(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int, doc_id: str
) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into contiguous, trimmed spans that each fit ``max_tokens``."""
    if _fits(text, start, end, count_tokens, max_tokens):
        return [(start, end)]
    for boundary in (_SENTENCE_END, _CLAUSE_END):
        segments = _segments(text, start, end, boundary)
        if len(segments) > 1:
            return [
                span
                for a, b in _pack(text, segments, count_tokens, max_tokens)
                for span in _fit(text, a, b, count_tokens, max_tokens, doc_id)
            ]
    log.warning(
        "%s: a clause of %d characters is longer than the encoder's window of %d tokens; "
        "cutting it inside the clause",
        doc_id,
        end - start,
        max_tokens,
    )
    return _hard_split(text, start, end, count_tokens, max_tokens)


def _fits(text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int) -> bool:
    """Whether ``text[start:end]`` fits ``max_tokens``, without tokenising a huge span whole.

    A prefix already over the budget (with a margin for the tokens at its cut) answers no: chunking a
    4 MiB single-line file no longer raises peak memory (it added 260 MiB, tokenising it whole).
    """
    probe = start + max_tokens * _PROBE_CHARS_PER_TOKEN
    if probe < end and count_tokens(text[start:probe]) > max_tokens + 2:
        return False
    return count_tokens(text[start:end]) <= max_tokens


def _segments(text: str, start: int, end: int, boundary: re.Pattern[str]) -> list[tuple[int, int]]:
    cuts = [start] + [m.end() + start for m in boundary.finditer(text[start:end])] + [end]
    spans = [_trim(text, a, b) for a, b in zip(cuts, cuts[1:])]
    return [(a, b) for a, b in spans if b > a]


def _pack(
    text: str, segments: list[tuple[int, int]], count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Greedy packing of segments into about equal pieces that each fit the window."""
    overhead = count_tokens("")
    budget = max_tokens - overhead
    sizes = [max(count_tokens(text[a:b]) - overhead, 1) for a, b in segments]
    target = sum(sizes) / math.ceil(sum(sizes) / budget)
    pieces: list[tuple[int, int]] = []
    first, acc = 0, 0
    for i, size in enumerate(sizes):
        if i > first and (acc + size > budget or acc >= target):
            pieces.append((segments[first][0], segments[i - 1][1]))
            first, acc = i, 0
        acc += size
    pieces.append((segments[first][0], segments[-1][1]))
    if len(pieces) == 1:  # token counts are not quite additive; halve rather than loop forever
        half = len(segments) // 2
        pieces = [(segments[0][0], segments[half - 1][1]), (segments[half][0], segments[-1][1])]
    return pieces


def _hard_split(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while start < end:
        # Search a window a few times the budget wide (grown while it all fits), not the whole rest:
        # tokenising a 2 MB line for every probe would make one huge line take minutes.
        width = 4 * max_tokens
        while start + width < end and count_tokens(text[start : start + width]) <= max_tokens:
            width *= 2
        lo, hi = start + 1, min(end, start + width)
        while lo < hi:  # longest prefix that fits
            mid = (lo + hi + 1) // 2
            if count_tokens(text[start:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        spans.append(_trim(text, start, lo))
        start = lo
    return [(a, b) for a, b in spans if b > a]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
