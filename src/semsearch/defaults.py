"""Defaults and closed sets of choices that the library and the ``semsearch`` command share, defined once.

Free of heavy imports (no numpy), so the command's parser shows them without slowing ``semsearch --help``.
The modules they belong to import them from here (``semsearch.search.searcher.MODES`` is this ``MODES``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar, get_args

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT_MODE: Mode = "hybrid"
EVALUATED_MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")  # each side alone, then fused

Device = Literal["cpu", "cuda", "auto"]
DEVICES: tuple[Device, ...] = get_args(Device)

TokenizerMode = Literal["search", "precise"]  # jieba's cut_for_search, or its precise cut
TOKENIZER_MODES: tuple[TokenizerMode, ...] = get_args(TokenizerMode)
DEFAULT_TOKENIZER: TokenizerMode = "search"

DEFAULT_INDEX_TYPE = "Flat"  # a FAISS factory string: exact search
DEFAULT_MIN_CHARS = 30  # paragraphs shorter than this are merged with a neighbour
# A whole document with less text than this after cleaning is no story ("undefined", "null", a lone
# caption) and is skipped with the reason. Not min_chars: a 24-character 快讯 is a story.
MIN_DOCUMENT_CHARS = 10
DEFAULT_BATCH_SIZE = 16  # texts per encoder call
BM25_K1 = 1.2  # Lucene's BM25 defaults, on both engines
BM25_B = 0.75
VERSION = "0.2.0"  # semsearch's version (the package's, recorded in every manifest)

T = TypeVar("T")


def on_off(value: T | bool | None, default: Callable[[], T], what: str) -> T | None:
    """An option that is on (True: ``default()``), off (False or None) or given as an object of its type.

    ``default`` is the type itself (a dataclass or class with defaults), so anything else is an
    InputError naming ``what`` and the type.
    """
    if value is True:
        return default()
    if value is False or value is None:
        return None
    if isinstance(value, default):  # type: ignore[arg-type]
        return value
    from semsearch.errors import InputError

    kind = getattr(default, "__name__", "the option's type")
    raise InputError(
        f"{what} must be True, False or a{'n' if kind[0] in 'AEIOU' else ''} {kind}, not {value!r}"
    )


Method = Literal["weighted", "rrf"]


METHODS: tuple[str, ...] = get_args(Method)


Norm = Literal["lexical-top", "top", "minmax", "zscore"]


NORMS: tuple[str, ...] = get_args(Norm)


LEGACY_NORM: Norm = "lexical-top"  # what an index saved before ``norm`` existed fused with


DEFAULT_NORM: Norm = "top"


# Feedback from the dense side in hybrid search (semsearch.search.feedback): never, only for a query the
# lexical side is silent on (its terms mostly absent from the corpus: an English question over Chinese
# text), or always.
Feedback = Literal["off", "auto", "on"]


FEEDBACKS: tuple[str, ...] = get_args(Feedback)


DEFAULT_FEEDBACK: Feedback = "auto"


# Chosen on CMRC 2018 trial, Chinese and English questions (benchmarks/crosslingual.py): the lexical side
# is fused only when at least this share of the query's terms occur in the corpus; dense feedback takes
# the mean of the top FEEDBACK_DOCS passages' vectors at FEEDBACK_WEIGHT beside the query's.
DEFAULT_MIN_COVERAGE = 0.5


DEFAULT_FEEDBACK_DOCS = 5


DEFAULT_FEEDBACK_WEIGHT = 0.25


DEFAULT_EF_SEARCH = 64


# IVF lists probed per query (per segment). 64, not 16: recall@10 against exact search on vectors shaped
# like real news ones (benchmarks/anchored.py), 1M chunks in four IVF4096,SQ8 segments: 0.891 / 0.948 /
# 0.961 at nprobe 16 / 32 / 64 (dense p50 6.5 / 7.0 / 5.9 ms, the lists in memory); real 新闻联播 vectors,
# 85k, IVF1024,SQ8: 0.85 at 16, 0.94 at 64. An index keeps the nprobe it was saved with.
DEFAULT_NPROBE = 64


# ---------------------------------------------------------------------- what a newsroom asks (issue 25)

Group = Literal["document"]  # search(group=...): one result per story (document) with its best passages
GROUPS: tuple[Group, ...] = get_args(Group)
PASSAGES_PER_STORY = 3  # best passages a grouped result shows per story (max_per_doc overrides)

Sort = Literal["relevance", "date"]  # search(sort=...): best first, or newest first among the relevant
SORTS: tuple[Sort, ...] = get_args(Sort)
DEFAULT_SORT: Sort = "relevance"
# Date order and a recency preference reorder this many of the most relevant results (stories when
# grouped, passages otherwise; at least k): "the latest on X" is the newest of what is about X.
RERANK_DEPTH = 100

DATE_FACETS = (
    "date:day",
    "date:month",
    "date:year",
)  # facets(by=...): periods of the date; any other: a metadata key
DEFAULT_FACET = "date:month"
FACET_TOP = 100  # facets(query=...): the stories counted are this many most relevant ones (or min_score)

SETTLE_SECONDS = 5.0  # sync: a file modified more recently than this is still being written; next pass
