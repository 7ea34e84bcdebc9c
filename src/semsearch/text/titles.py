"""How a document's title reaches the search: the text each chunk is embedded and indexed under.

A title the source gives (a JSONL ``title``, an HTML page's, a Markdown heading, ``Document.title``) is
usually not in the article's text, so without help neither side can match it. With ``"every"`` (the
default, chosen on CMRC 2018 trial: ``benchmarks/titles.py``) each chunk is embedded and tokenised as
``title + newline + chunk text`` ("contextual" chunks); ``"first"`` does so for the first chunk only;
``"none"`` indexes the chunk text alone, as indexes built before titles counted do (their manifest has
no ``titles`` key). A chunk whose text already holds the title, and titles found in the text itself
(a headline, a first sentence), are never added twice. ``Hit.text`` is always the chunk text alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, get_args

from semsearch.errors import InputError

if TYPE_CHECKING:
    from semsearch.records import PreparedDocument

TitleMode = Literal["every", "first", "none"]
TITLE_MODES: tuple[str, ...] = get_args(TitleMode)
DEFAULT_TITLE_MODE: TitleMode = "every"
LEGACY_TITLE_MODE: TitleMode = "none"  # an index whose manifest does not say
MAX_TITLE_CHARS = 100  # a longer "title" is a paragraph: only its start is added


def check_title_mode(mode: object) -> TitleMode:
    """``mode`` if it is one of :data:`TITLE_MODES`; otherwise an InputError naming them."""
    if mode not in TITLE_MODES:
        raise InputError(f"titles must be one of {', '.join(TITLE_MODES)}, not {mode!r}")
    return mode  # type: ignore[return-value]


def title_prefix(title: str, title_source: str, mode: TitleMode) -> str:
    """What is put before a chunk's text for this document ("" when nothing is)."""
    if mode == "none" or title_source != "source":
        return ""
    title = " ".join(title.split())[:MAX_TITLE_CHARS]
    return title


def indexed_text(chunk_text: str, ordinal: int, prefix: str, mode: TitleMode) -> str:
    """The text a chunk is embedded and tokenised as."""
    if not prefix or (mode == "first" and ordinal > 0) or prefix in chunk_text:
        return chunk_text
    return f"{prefix}\n{chunk_text}"


def indexed_texts(prepared: Sequence[PreparedDocument], titles: TitleMode) -> list[str]:
    """The text each prepared chunk is embedded and tokenised as (its title in front), in order."""
    texts: list[str] = []
    for entry in prepared:
        prefix = title_prefix(entry.title, entry.title_source, titles)
        texts.extend(indexed_text(c.text, c.ordinal, prefix, titles) for c in entry.chunks)
    return texts
