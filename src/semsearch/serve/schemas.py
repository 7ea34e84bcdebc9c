"""The JSON bodies the API takes, as pydantic models: they validate a request and give the OpenAPI schema.

Unknown fields are refused (a typo such as ``"kk": 5`` is a 400 naming it, not silently ignored).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from semsearch.defaults import DEFAULT_MODE, DEFAULT_SORT, SETTLE_SECONDS, Feedback, Group, Mode, Sort
from semsearch.serve.limits import MAX_BATCH, MAX_CONTEXT, MAX_K, MAX_QUERY_CHARS


class Strict(BaseModel):
    """A request body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class SearchOptions(Strict):
    """How to search, as :meth:`semsearch.Index.search` takes it; ``since``/``until`` filter on ``date``."""

    k: int = Field(10, ge=1, le=MAX_K, description="results per query")
    mode: Mode = DEFAULT_MODE
    where: dict[str, Any] | None = Field(
        None, description='a filter: {"source": "新华社"} (Chroma/MongoDB style)'
    )
    since: str | None = Field(None, description="only stories dated on or after this day (YYYY-MM-DD)")
    until: str | None = Field(None, description="only stories dated on or before this day (inclusive)")
    group: Group | None = Field(None, description='"document": one result per story with its best passages')
    sort: Sort = DEFAULT_SORT
    recency: str | None = Field(None, description="prefer recent stories: a half-life such as 30d, 2w, 6m")
    context: int = Field(
        0, ge=0, le=MAX_CONTEXT, description="paragraphs of context before and after each hit"
    )
    max_per_doc: int | None = Field(None, ge=1, description="at most this many passages of one story")
    min_score: float | None = None
    feedback: Feedback | None = None


class SearchRequest(SearchOptions):
    """``POST /api/search``: one query and how to search."""

    query: str = Field(..., max_length=MAX_QUERY_CHARS)


class BatchRequest(SearchOptions):
    """``POST /api/search/batch``: many queries searched alike, embedded together."""

    queries: list[str] = Field(..., min_length=1, max_length=MAX_BATCH)

    def check_lengths(self) -> None:
        """Raise InputError naming the first query over :data:`MAX_QUERY_CHARS` characters."""
        from semsearch.errors import InputError

        for number, text in enumerate(self.queries):
            if len(text) > MAX_QUERY_CHARS:
                raise InputError(
                    f"queries[{number}] has {len(text)} characters; a query may have at most {MAX_QUERY_CHARS}"
                )


class DocumentIn(Strict):
    """A story to add: its id, text, and optionally its title and metadata (date, source…)."""

    doc_id: str
    text: str
    title: str | None = None
    metadata: dict[str, Any] | None = None


class AddRequest(Strict):
    """``POST /api/documents``: stories to add (an id already indexed is replaced when its text changed)."""

    documents: list[DocumentIn] = Field(..., min_length=1)


class UpdateRequest(Strict):
    """``PUT /api/documents/{doc_id}``: the story's new version."""

    text: str
    title: str | None = None
    metadata: dict[str, Any] | None = None


class SyncRequest(Strict):
    """``POST /api/sync``: files and folders on the server whose stories the index should hold now."""

    sources: list[str] = Field(..., min_length=1)
    settle: float = Field(
        SETTLE_SECONDS,
        ge=0,
        description="a file modified more recently than this (seconds) waits for the next sync",
    )
