"""The values that cross module lines: documents in, chunks in the middle, hits out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import InputError

if TYPE_CHECKING:
    from .clean import CleanText, Dropped
    from .ingest import Skipped


def check_text(value: object, what: str) -> str:
    r"""``value`` if it is a string that UTF-8 can encode, else an InputError naming ``what``.

    Lone surrogates (``"\ud800"`` in JSON, or bytes that were not UTF-8 in argv) cannot be encoded:
    tokenizers and SQLite fail on them deep inside, so they are refused where they come in.
    """
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {type(value).__name__} {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end]
        raise InputError(
            f"{what} is not valid Unicode text: it holds a lone surrogate {bad!r} at character {exc.start} "
            "(often bytes that were not UTF-8); fix the text or its encoding"
        ) from None
    return value


@dataclass(frozen=True)
class Document:
    """One article as read from a source, before cleaning.

    ``text`` is the decoded text exactly as written; cleaning never changes it.
    ``title`` is the title given by the source (a JSONL ``title`` field), or "" when the
    cleaner should look for a headline in the text.
    """

    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    encoding: str = "utf-8"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_text(self.doc_id, "Document doc_id")
        if not self.doc_id.strip():
            raise InputError(
                f"Document has an empty doc_id (text starts {str(self.text)[:30]!r}); give it an id"
            )
        check_text(self.text, f"Document {self.doc_id!r}: text")
        for name in ("title", "source", "encoding"):
            check_text(getattr(self, name), f"Document {self.doc_id!r}: {name}")
        if not isinstance(self.metadata, Mapping):
            raise InputError(
                f"Document {self.doc_id!r}: metadata must be a mapping (a dict), not {type(self.metadata).__name__}"
            )

    @property
    def content_hash(self) -> str:
        """A hash of everything that changes what the document is indexed as."""
        payload = json.dumps(
            [self.text, self.title, dict(self.metadata)], ensure_ascii=False, sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a cleaned document: one paragraph, or a sentence-aligned part of one.

    ``text == clean_text[start:end]`` of the document's cleaned text. ``paragraph`` is the
    1-based number of the first paragraph the chunk covers; ``piece`` is 1-based within a
    paragraph that had to be split to fit the encoder's window (``pieces`` in all).
    """

    chunk_id: int
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    paragraph: int
    piece: int = 1
    pieces: int = 1
    n_tokens: int = 0
    title: str = ""


@dataclass(frozen=True)
class PreparedDocument:
    """A document cleaned and chunked, ready to embed and store: the build's record of one document.

    ``title_source`` says where ``title`` came from: "source", "headline" or "first sentence".
    """

    document: Document
    clean: CleanText
    title: str
    title_source: str
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class ChunkRow:
    """A stored chunk with its document's title and source: what a search turns into a :class:`Hit`."""

    chunk_id: int
    doc_id: str
    ordinal: int
    paragraph: int
    piece: int
    pieces: int
    start: int
    end: int
    n_tokens: int
    text: str
    title: str
    source: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDocument:
    """A document as the chunk store keeps it: raw and cleaned text, metadata, what the cleaner dropped."""

    doc_id: str
    title: str
    title_source: str
    source: str
    encoding: str
    content_hash: str
    raw_text: str
    clean_text: str
    metadata: Mapping[str, Any]
    dropped: list[Dropped]

    def to_dict(self) -> dict[str, Any]:
        """The record as a dict (what :meth:`Index.document` returns)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class Scored(NamedTuple):
    """One chunk of a ranking: its id and its score on that side's scale (cosine, BM25, fused)."""

    chunk_id: int
    score: float


@dataclass(frozen=True)
class Highlight:
    """A query term found in a hit's text: ``hit.text[start:end]`` matched ``term``."""

    term: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """One search result, best first. ``score`` is the ranking score of the search mode used.

    ``highlights`` (where the query's terms occur in ``text``) are found on first use, so searches
    whose hits nobody reads (evaluation, tuning, benchmarks) never pay for them.
    """

    score: float
    text: str
    doc_id: str
    title: str
    chunk_id: int
    paragraph: int
    piece: int
    pieces: int
    start: int
    end: int
    source: str
    rank: int
    scores: Mapping[str, float] = field(default_factory=dict)
    highlighter: Callable[[], tuple[Highlight, ...]] | None = field(default=None, repr=False, compare=False)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    duplicates: tuple[Mapping[str, Any], ...] = ()  # the same article also published as (doc_id, source…)

    @cached_property
    def highlights(self) -> tuple[Highlight, ...]:
        """The query's terms found in ``text``, as spans of the text as written, by position."""
        return self.highlighter() if self.highlighter is not None else ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``semsearch query --json``)."""
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": self.doc_id,
            "title": self.title,
            "chunk_id": self.chunk_id,
            "paragraph": self.paragraph,
            "piece": self.piece,
            "pieces": self.pieces,
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "text": self.text,
            "highlights": [{"term": h.term, "start": h.start, "end": h.end} for h in self.highlights],
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "metadata": dict(self.metadata),
            "duplicates": [dict(d) for d in self.duplicates],
        }


@dataclass(frozen=True)
class ContextParagraph:
    """A paragraph of a hit's cleaned document: its 1-based number, its text, its span, and whether the hit covers it."""

    paragraph: int
    text: str
    start: int
    end: int
    in_hit: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``semsearch query --context N --json``)."""
        return {
            "paragraph": self.paragraph,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "in_hit": self.in_hit,
        }


@dataclass(frozen=True)
class ChangeReport:
    """What :meth:`Index.add`, :meth:`Index.update` or :meth:`Index.remove` changed.

    ``embedded`` counts the chunk texts that had to be embedded (not found in the embedding cache):
    the expensive part of a change.
    """

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0
    duplicates: tuple[str, ...] = ()  # ids not indexed: each repeats a stored document (Index.duplicates)
    skipped: tuple[Skipped, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the index differs from before."""
        return bool(self.added or self.updated or self.removed or self.duplicates)

    def summary(self) -> str:
        """One line for people: counts of each kind of change."""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed{skipped}; {self.chunks_added} chunks in ({self.embedded} embedded), "
            f"{self.chunks_removed} out"
            + (
                f"; {len(self.duplicates)} duplicates of stored documents, not indexed"
                if self.duplicates
                else ""
            )
        )
