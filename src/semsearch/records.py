"""The values that cross module lines: documents in, chunks in the middle, hits out.

Every type that crosses a seam lives here, so a stage imports its neighbours' records and not their
code: sources give :class:`Document` (or :class:`Skipped`), cleaning :class:`CleanText`, chunking
:class:`Chunk`, preparation :class:`PreparedDocument`; a change reaches an engine as one
:class:`WriteBatch`; an engine answers with :class:`ChunkRow`, :class:`StoredDocument`,
:class:`DocumentSummary`, :class:`DuplicateRecord`, :class:`Fingerprint`, :class:`Scored` and
:class:`VectorHits`; a search gives :class:`Hit` (or, grouped by story, :class:`StoryHit`), coverage counts
:class:`Facets`; a change or a sync reports :class:`ChangeReport`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from semsearch.dates import DATE_KEY, normalize_date
from semsearch.defaults import (
    DEFAULT_EF_SEARCH,
    DEFAULT_FEEDBACK,
    DEFAULT_FEEDBACK_DOCS,
    DEFAULT_FEEDBACK_WEIGHT,
    DEFAULT_MIN_COVERAGE,
    DEFAULT_NORM,
    DEFAULT_NPROBE,
    FEEDBACKS,
    LEGACY_NORM,
    METHODS,
    NORMS,
    Feedback,
    Method,
    Norm,
)
from semsearch.errors import InputError

SOURCE_KEY = "source"  # the metadata key naming the outlet (新华社, 人民网…); the file is ``origin``

if TYPE_CHECKING:
    import numpy as np

MAX_ID_BYTES = 8192
"""The longest document id (UTF-8 bytes), on every engine alike: Milvus keeps ids in fields of this size."""


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


def outlet(metadata: Mapping[str, Any]) -> str:
    """The outlet a document's metadata names under ``source`` (the publisher: 新华社…), or ""."""
    value = metadata.get(SOURCE_KEY)
    return value if isinstance(value, str) else ""


def day_of_metadata(metadata: Mapping[str, Any]) -> str | None:
    """The ``date`` of a document's metadata as ``YYYY-MM-DD``, or None when it has none that reads as a day."""
    value = metadata.get(DATE_KEY)
    return normalize_date(value) if value is not None else None


def check_doc_id(doc_id: object, what: str = "a document") -> str:
    """``doc_id`` if it is a usable document id: text, not blank, at most :data:`MAX_ID_BYTES` bytes.

    Every character but a lone surrogate is allowed (quotes, backslashes, control characters): both
    engines store and find such ids alike. The same check refuses an id up front on both.
    """
    text = check_text(doc_id, f"{what}: doc_id")
    if not text.strip():
        raise InputError(f"{what} has an empty doc_id; give it an id")
    size = len(text.encode("utf-8"))
    if size > MAX_ID_BYTES:
        raise InputError(
            f"{what} has a doc_id of {size} bytes ({text[:40]!r}…); ids may be at most {MAX_ID_BYTES} "
            "bytes of UTF-8: give it a shorter one"
        )
    return text


@dataclass(frozen=True)
class Document:
    """One article as read from a source, before cleaning.

    ``text`` is the decoded text exactly as written; cleaning never changes it.
    ``title`` is the title given by the source (a JSONL ``title`` field), or "" when the
    cleaner should look for a headline in the text. ``origin`` is the file (or ``file:line`` of a
    feed) it was read from; the outlet that published it is ``metadata["source"]`` (:attr:`source`).
    """

    doc_id: str
    text: str
    title: str = ""
    origin: str = ""
    encoding: str = "utf-8"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_doc_id(self.doc_id, f"Document (text starts {str(self.text)[:30]!r})")
        check_text(self.text, f"Document {self.doc_id!r}: text")
        for name in ("title", "origin", "encoding"):
            check_text(getattr(self, name), f"Document {self.doc_id!r}: {name}")
        if not isinstance(self.metadata, Mapping):
            raise InputError(
                f"Document {self.doc_id!r}: metadata must be a mapping (a dict), not {type(self.metadata).__name__}"
            )

    @property
    def source(self) -> str:
        """The outlet that published the document (``metadata["source"]``), or ""."""
        return outlet(self.metadata)

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
    origin: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The outlet that published the chunk's document (``metadata["source"]``), or ""."""
        return outlet(self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """The row as a flat JSON-ready dict (what ``semsearch export`` writes per chunk)."""
        row = {name: getattr(self, name) for name in self.__dataclass_fields__}
        row["source"] = self.source
        row["metadata"] = dict(self.metadata)
        return row


@dataclass(frozen=True)
class StoredDocument:
    """A document as the chunk store keeps it: raw and cleaned text, metadata, what the cleaner dropped."""

    doc_id: str
    title: str
    title_source: str
    origin: str
    encoding: str
    content_hash: str
    raw_text: str
    clean_text: str
    metadata: Mapping[str, Any]
    dropped: list[Dropped]

    @property
    def source(self) -> str:
        """The outlet that published the document (``metadata["source"]``), or ""."""
        return outlet(self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """The record as a dict (what :meth:`Index.document` returns), with the outlet as ``source``."""
        return {**{name: getattr(self, name) for name in self.__dataclass_fields__}, "source": self.source}


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
    origin: str
    rank: int
    scores: Mapping[str, float] = field(default_factory=dict)
    highlighter: Callable[[], tuple[Highlight, ...]] | None = field(default=None, repr=False, compare=False)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    duplicates: tuple[Mapping[str, Any], ...] = ()  # the same article also published as (doc_id, source…)

    @cached_property
    def highlights(self) -> tuple[Highlight, ...]:
        """The query's terms found in ``text``, as spans of the text as written, by position."""
        return self.highlighter() if self.highlighter is not None else ()

    @property
    def source(self) -> str:
        """The outlet that published the hit's document (``metadata["source"]``), or ""; the file is ``origin``."""
        return outlet(self.metadata)

    @property
    def date(self) -> str | None:
        """The document's day (``YYYY-MM-DD``) when its metadata has one."""
        return day_of_metadata(self.metadata)

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
            "origin": self.origin,
            "source": self.source,
            "text": self.text,
            "highlights": [{"term": h.term, "start": h.start, "end": h.end} for h in self.highlights],
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "metadata": dict(self.metadata),
            "duplicates": [dict(d) for d in self.duplicates],
        }


@dataclass(frozen=True)
class StoryHit:
    """One story (document) of a grouped search, best first: its score and its best passages.

    ``score`` combines the scores of the story's passages the search found (how: :mod:`semsearch.search.grouping`);
    ``passages`` are those passages as :class:`Hit`, best first, with their highlights and spans.
    ``scores`` holds the story score's parts (``best``: its best passage's score; ``relevance`` and
    ``recency`` when a recency preference reweighted it).
    """

    rank: int
    score: float
    doc_id: str
    title: str
    origin: str
    passages: tuple[Hit, ...]
    scores: Mapping[str, float] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    duplicates: tuple[Mapping[str, Any], ...] = ()

    @property
    def source(self) -> str:
        """The outlet that published the story (``metadata["source"]``), or ""; the file is ``origin``."""
        return outlet(self.metadata)

    @property
    def date(self) -> str | None:
        """The story's day (``YYYY-MM-DD``) when its metadata has one."""
        return day_of_metadata(self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``semsearch query --group document --json``); passages as :meth:`Hit.to_dict`."""
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": self.doc_id,
            "title": self.title,
            "origin": self.origin,
            "source": self.source,
            "date": self.date,
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "metadata": dict(self.metadata),
            "duplicates": [dict(d) for d in self.duplicates],
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass(frozen=True)
class FacetCount:
    """How many stories have ``value`` (a day, month or year for date facets; a metadata value otherwise)."""

    value: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"value": self.value, "count": self.count}


@dataclass(frozen=True)
class Facets:
    """Counts of stories per value of ``by``: what :meth:`semsearch.Index.facets` and ``semsearch timeline`` give.

    ``counts``: date facets in time order with empty periods between the first and last as 0;
    other keys most frequent first. ``stories``: how many stories were counted; ``missing``: how many
    of them have no value for ``by``. ``query``, ``top`` and ``min_score`` say which stories matched
    (all stories the filter lets through when ``query`` is None).
    """

    by: str
    counts: tuple[FacetCount, ...]
    stories: int
    missing: int = 0
    query: str | None = None
    top: int | None = None
    min_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``semsearch timeline --json``)."""
        return {
            "by": self.by,
            "query": self.query,
            "top": self.top,
            "min_score": self.min_score,
            "stories": self.stories,
            "missing": self.missing,
            "counts": [c.to_dict() for c in self.counts],
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
    waiting: tuple[
        str, ...
    ] = ()  # files a sync left for its next pass: modified moments ago (still being written)
    promoted: tuple[str, ...] = ()  # folded duplicates indexed in place of a removed kept document

    @property
    def changed(self) -> bool:
        """Whether the index differs from before."""
        return bool(self.added or self.updated or self.removed or self.duplicates or self.promoted)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``semsearch add/remove/sync --json``)."""
        return {
            **{
                name: list(getattr(self, name))
                for name in ("added", "updated", "unchanged", "removed", "duplicates", "promoted", "waiting")
            },
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "embedded": self.embedded,
            "skipped": [{"origin": s.origin, "reason": s.reason} for s in self.skipped],
        }

    def summary(self) -> str:
        """One line for people: counts of each kind of change."""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        skipped += f", {len(self.waiting)} files still being written (next pass)" if self.waiting else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed{skipped}; {self.chunks_added} chunks in ({self.embedded} embedded), "
            f"{self.chunks_removed} out"
            + (
                f"; {len(self.duplicates)} duplicates of stored documents, not indexed"
                if self.duplicates
                else ""
            )
            + (
                f"; {len(self.promoted)} folded duplicates indexed in place of removed documents"
                if self.promoted
                else ""
            )
        )


@dataclass(frozen=True)
class Dropped:
    """Text the cleaner removed: ``line`` is 1-based in the original text."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the cleaned text: ``CleanText.text[start:end] == text``.

    ``kind`` is "title" (the article's headline), "heading" (a short line that introduces the
    paragraph after it) or "body". ``line`` is the 1-based line of the original where it starts.
    """

    text: str
    start: int
    end: int
    kind: str
    line: int


@dataclass(frozen=True)
class CleanText:
    """The result of :func:`clean_text`: paragraphs joined by newlines, the headline, the drops."""

    text: str
    paragraphs: tuple[Paragraph, ...]
    title: str
    dropped: tuple[Dropped, ...]


@dataclass(frozen=True)
class Skipped:
    """A file, or one line of a feed (``origin``: ``feed.jsonl:7``), that was not indexed, and why."""

    origin: str
    reason: str


@dataclass(frozen=True)
class Counts:
    """Documents, chunks and model tokens stored, and sources skipped when the index was built."""

    documents: int = 0
    chunks: int = 0
    tokens: int = 0
    skipped_sources: int = 0
    duplicates: int = 0

    def with_skipped(self, skipped_sources: int) -> Counts:
        """These counts with ``skipped_sources`` set (a store counts what it holds, not what was skipped)."""
        return dataclasses.replace(self, skipped_sources=skipped_sources)


@dataclass
class SearchParams:
    """Knobs of approximate indexes: HNSW's ``ef_search`` and IVF's ``nprobe`` (ignored by Flat)."""

    ef_search: int = DEFAULT_EF_SEARCH
    nprobe: int = DEFAULT_NPROBE

    def to_dict(self) -> dict[str, int]:
        """JSON form, for the manifest."""
        return {"ef_search": self.ef_search, "nprobe": self.nprobe}


class VectorHits(NamedTuple):
    """What a vector search found: (queries, k) arrays of scores and chunk ids, best first; id -1 pads."""

    scores: np.ndarray
    ids: np.ndarray

    def ranking(self, row: int) -> list[Scored]:
        """Query ``row``'s hits as a best-first list, padding left out."""
        return [Scored(int(i), float(s)) for s, i in zip(self.scores[row], self.ids[row]) if i >= 0]


class ValueCounts(NamedTuple):
    """What a store counted for a facet: documents per value of a key, documents counted, those without a value."""

    counts: dict[str, int]
    documents: int
    missing: int


class Fingerprint(NamedTuple):
    """A kept document's near-duplicate signature as stored: MinHash values (uint64 bytes) and numbers."""

    doc_id: str
    minhash: bytes
    numbers: list[str]


@dataclass(frozen=True)
class FusionConfig:
    """How hybrid search fuses: method, RRF constant, dense weight, score normalisation, candidate depth.

    ``norm`` (weighted fusion only): "lexical-top" (cosine as is, BM25 over the query's best BM25),
    "top" (each side over its best score), "minmax" (each side onto [0, 1] over its candidates) or
    "zscore" (each side standardised over its candidates).

    ``min_coverage``: the lexical side is fused only for a query at least this share of whose terms
    occur in the corpus; below it the side has nothing to say (an English question over Chinese text
    matches only stray Latin words) and hybrid gives the dense ranking. ``feedback``: re-query the dense
    side with the mean vector of its ``feedback_docs`` best passages added at ``feedback_weight``
    (Rocchio) "on" every query, "auto" only when the lexical side is silent, or "off"
    (:mod:`semsearch.search.feedback`).
    """

    method: Method = "weighted"
    rrf_k: float = 5.0
    weight: float = 0.95
    depth: int = 10
    norm: Norm = DEFAULT_NORM
    min_coverage: float = DEFAULT_MIN_COVERAGE
    feedback: Feedback = DEFAULT_FEEDBACK
    feedback_docs: int = DEFAULT_FEEDBACK_DOCS
    feedback_weight: float = DEFAULT_FEEDBACK_WEIGHT

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown fusion method {self.method!r}; use 'rrf' or 'weighted'")
        for name in ("rrf_k", "weight", "min_coverage", "feedback_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise InputError(f"fusion {name} must be a number, not {value!r}")
        if not self.rrf_k > 0 or math.isinf(self.rrf_k):
            raise InputError(f"rrf_k must be positive, got {self.rrf_k!r}")
        if not 0.0 <= self.weight <= 1.0:
            raise InputError(f"fusion weight must be within [0, 1], got {self.weight!r}")
        if isinstance(self.depth, bool) or not (isinstance(self.depth, int) and self.depth >= 1):
            raise InputError(f"fusion depth must be a positive integer, got {self.depth!r}")
        if self.norm not in NORMS:
            raise InputError(f"unknown fusion norm {self.norm!r}; use one of {', '.join(NORMS)}")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise InputError(
                f"fusion min_coverage must be within [0, 1] (0: always fuse), got {self.min_coverage!r}"
            )
        if self.feedback not in FEEDBACKS:
            raise InputError(f"unknown feedback {self.feedback!r}; use one of {', '.join(FEEDBACKS)}")
        docs = self.feedback_docs
        if isinstance(docs, bool) or not (isinstance(docs, int) and docs >= 1):
            raise InputError(f"feedback_docs must be a positive integer, got {docs!r}")
        if not 0.0 <= self.feedback_weight < math.inf:
            raise InputError(f"feedback_weight must be 0 or more, got {self.feedback_weight!r}")

    @classmethod
    def from_manifest(cls, record: dict[str, Any]) -> FusionConfig:
        """The fusion a manifest records; one without ``norm`` (saved before it existed) keeps lexical-top.

        The query-time settings added since (``min_coverage``, ``feedback``…) take their defaults when absent:
        they change only queries the lexical side has nothing to say on, whatever the index was tuned for.
        """
        return cls(**{"norm": LEGACY_NORM, **record}) if record else cls()

    def to_manifest(self) -> dict[str, Any]:
        """What the manifest records (``norm`` left out when it is lexical-top, as older indexes have it).

        The query-time settings (``min_coverage``, ``feedback``…) are recorded only where they differ from
        the defaults, so an index follows the defaults as :meth:`from_manifest` reads them.
        """
        record = dataclasses.asdict(self)
        if self.norm == LEGACY_NORM:
            del record["norm"]
        for name, default in QUERY_TIME_DEFAULTS.items():
            if record[name] == default:
                del record[name]
        return record

    @classmethod
    def parse(cls, spec: str) -> FusionConfig:
        """A config from ``METHOD[:key=value,...]``, as the CLI takes it.

        >>> FusionConfig.parse("rrf:k=60,depth=20,feedback=off").feedback
        'off'
        """
        method, _, rest = spec.strip().partition(":")
        values: dict[str, float | int | str] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, eq, value = item.partition("=")
            field = _SPEC_KEYS.get(key.strip())
            if not eq or field is None:
                raise InputError(
                    f"cannot read fusion setting {item!r} in {spec!r}; use METHOD[:key=value,...] with keys "
                    "k (RRF constant), weight (dense share, 0-1), norm, depth, coverage (0-1), feedback "
                    "(off, auto, on), feedback_docs and feedback_weight, e.g. rrf:k=60,depth=20"
                )
            if field in ("norm", "feedback"):
                values[field] = value.strip()
                continue
            try:
                values[field] = int(value) if field in ("depth", "feedback_docs") else float(value)
            except ValueError:
                raise InputError(f"fusion setting {key}={value!r} in {spec!r} is not a number") from None
        return cls(method=method.strip(), **values)  # type: ignore[arg-type]


# FusionConfig's settings that act per query rather than on the fusion itself, and their defaults.
QUERY_TIME_DEFAULTS = {
    "min_coverage": DEFAULT_MIN_COVERAGE,
    "feedback": DEFAULT_FEEDBACK,
    "feedback_docs": DEFAULT_FEEDBACK_DOCS,
    "feedback_weight": DEFAULT_FEEDBACK_WEIGHT,
}
_SPEC_KEYS = {
    "k": "rrf_k",
    "rrf_k": "rrf_k",
    "weight": "weight",
    "depth": "depth",
    "norm": "norm",
    "coverage": "min_coverage",
    "min_coverage": "min_coverage",
    "feedback": "feedback",
    "feedback_docs": "feedback_docs",
    "feedback_weight": "feedback_weight",
}


# ---------------------------------------------------------------------- what engines store and give back


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document as listings and filters see it: id, title, origin (its file), metadata, chunk count."""

    doc_id: str
    title: str
    origin: str
    metadata: Mapping[str, Any]
    chunks: int = 0

    @property
    def source(self) -> str:
        """The outlet that published the document (``metadata["source"]``), or ""."""
        return outlet(self.metadata)

    def fields(self) -> dict[str, Any]:
        """What a ``where`` filter reads: the metadata plus ``title``, ``origin`` and ``doc_id``.

        ``source`` is the outlet, a metadata key like any other (a document without one has no
        ``source``); the file a document came from is ``origin``. ``doc_id``, ``origin`` and ``title``
        always name the document's own, whatever its metadata holds under those keys.
        """
        return {**self.metadata, "title": self.title, "origin": self.origin, "doc_id": self.doc_id}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``semsearch docs --json``, :meth:`Index.documents`)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "origin": self.origin,
            "source": self.source,
            "metadata": dict(self.metadata),
            "chunks": self.chunks,
            "date": self.metadata.get(DATE_KEY),
        }


@dataclass(frozen=True)
class DuplicateRecord:
    """A document not indexed because it repeats a stored one: what "also published as" shows."""

    doc_id: str
    of_doc_id: str
    origin: str
    title: str
    similarity: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What ``Hit.duplicates`` holds: doc_id, origin, outlet (``source``), title, similarity, date when known."""
        entry: dict[str, Any] = {
            "doc_id": self.doc_id,
            "origin": self.origin,
            "source": outlet(self.metadata),
            "title": self.title,
            "similarity": self.similarity,
        }
        if self.metadata.get(DATE_KEY) is not None:
            entry["date"] = self.metadata[DATE_KEY]
        return entry


@dataclass(frozen=True)
class DuplicateOf:
    """A document a change or build found repeating the stored document ``of`` (recorded, not indexed)."""

    document: Document
    of: str
    similarity: float

    def record(self) -> DuplicateRecord:
        """The record an engine keeps of it."""
        doc = self.document
        return DuplicateRecord(doc.doc_id, self.of, doc.origin, doc.title, self.similarity, doc.metadata)


@dataclass(frozen=True)
class WriteBatch:
    """One change to an index, applied by an engine as a whole (:meth:`semsearch.storage.base.Engine.apply`).

    ``removed``: ids of stored documents to delete (their chunks, vectors, terms, near-duplicate
    signature and the duplicates recorded for or as them); then ``documents`` are stored, with one
    row of ``vectors`` and one indexed text (what the lexical side analyses: the chunk's text with
    its title in front, see :mod:`semsearch.text.titles`) per chunk, in order; ``fingerprints`` are
    the near-duplicate signatures of documents kept, ``duplicates`` the documents found repeating a
    stored one. A document both removed and stored is an update.
    """

    removed: tuple[str, ...] = ()
    documents: tuple[PreparedDocument, ...] = ()
    vectors: np.ndarray | None = None
    texts: tuple[str, ...] = ()
    fingerprints: tuple[Fingerprint, ...] = ()
    duplicates: tuple[DuplicateOf, ...] = ()

    def __post_init__(self) -> None:
        chunks = sum(len(entry.chunks) for entry in self.documents)
        rows = 0 if self.vectors is None else len(self.vectors)
        if rows != chunks or len(self.texts) != chunks:
            raise InputError(
                f"a write batch needs one vector and one text per chunk: {chunks} chunks, {rows} vectors, "
                f"{len(self.texts)} texts"
            )

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks the batch stores, in order."""
        return [c for entry in self.documents for c in entry.chunks]

    @property
    def chunk_ids(self) -> list[int]:
        """The ids of the chunks the batch stores, in order."""
        return [c.chunk_id for entry in self.documents for c in entry.chunks]

    @property
    def empty(self) -> bool:
        """Whether the batch changes nothing."""
        return not (self.removed or self.documents or self.duplicates)
