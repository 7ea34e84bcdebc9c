"""The read side of an :class:`~semsearch.index.Index`: its stored documents and chunks read back.

A hit's context paragraphs, the document list (filtered as searches are), every chunk as an export
row, one document with what the cleaner dropped, the counts and the manifest. Reads that span
several rows hold the index's read lock, so a change is seen whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from semsearch.errors import InputError, UnknownDocumentError
from semsearch.filters import Filter, check_keys, keys_of, parse_where
from semsearch.records import Chunk, ContextParagraph, Dropped, Hit
from semsearch.storage.base import Engine, Parts
from semsearch.storage.locks import ReadWriteLock
from semsearch.storage.manifest import Manifest

Where = Mapping[str, Any] | Filter | None
"""A metadata filter in the Chroma/MongoDB convention (:mod:`semsearch.filters`).

``{"source": "新华社"}``, ``{"date": {"$gte": "2024-01-01", "$lt": "2024-07-01"}}``; operators ``$in $nin
$ne $gt $gte $lt $lte``, ``$and``/``$or``; keys are metadata keys (``source``: the outlet) plus ``doc_id``,
``origin`` (the file) and ``title``; a key no document has is an InputError listing those there are.
"""


class StoredDocuments:
    """Reading an index's documents and chunks back (the methods :class:`~semsearch.index.Index` has for it)."""

    manifest: Manifest
    _engine: Engine
    _rw: ReadWriteLock

    @property
    def _parts(self) -> Parts:
        return self._engine.parts

    def __len__(self) -> int:
        return len(self._parts.vectors)

    def _condition(self, where: Where) -> Filter | None:
        """``where`` parsed, its keys checked against the documents' (a typo is an error, not zero hits)."""
        condition = parse_where(where)
        if condition is not None and keys_of(condition) - {"doc_id", "origin", "title"}:
            check_keys(condition, self._parts.chunks.metadata_keys())
        return condition

    def info(self) -> dict[str, Any]:
        """The manifest plus the index's location and size on disk, and whether BM25 needs re-weighting."""
        where = self._engine.location
        info = self.manifest.info(None if where is None else str(where))
        if where is not None:
            info.update(self._engine.describe())
        if self._parts.lexical.needs_reweighting:  # Milvus's split BM25 after the corpus's length drifted
            info["lexical"] = {**(info.get("lexical") or {}), "needs_reweighting": True}
        return info

    def context(self, hit: Hit, before: int = 1, after: int = 1) -> list[ContextParagraph]:
        """The hit's paragraphs with ``before`` paragraphs before and ``after`` after, from its stored document.

        Paragraphs are those of the cleaned text (``index.document(doc_id)["clean_text"]``), numbered as
        ``Hit.paragraph`` (``ContextParagraph.in_hit`` marks the hit's own). Raises InputError if the
        hit's document is no longer in the index, or changed since.
        """
        for name, value in (("before", before), ("after", after)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, not {value!r}")
        if not isinstance(hit, Hit):
            raise InputError(f"context() takes a Hit from search(), not {type(hit).__name__}")
        return self.around(hit.doc_id, hit.start, hit.end, before, after)

    def around(
        self, doc_id: str, start: int, end: int, before: int = 1, after: int = 1
    ) -> list[ContextParagraph]:
        """:meth:`context` of the span ``start``..``end`` (``Hit.start``, ``Hit.end``) of the story ``doc_id``.

        For a client holding a hit's JSON, not the Hit (the server). Raises InputError as context() does.
        """
        for name, value in (("before", before), ("after", after), ("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, not {value!r}")
        with self._rw.reading():
            record = self._parts.chunks.document(doc_id)
        if record is None:
            raise UnknownDocumentError(
                f"document {doc_id!r} of this hit is no longer in the index; search again"
            )
        spans, at = [], 0
        for line in record.clean_text.split("\n"):
            spans.append((at, at + len(line), line))
            at += len(line) + 1
        covered = [i for i, (first, last, _) in enumerate(spans) if first < end and last > start]
        if not covered:
            raise InputError(f"document {doc_id!r} changed since this hit was found; search again")
        first, last = max(0, covered[0] - before), min(len(spans) - 1, covered[-1] + after)
        return [
            ContextParagraph(i + 1, text, begin, stop, covered[0] <= i <= covered[-1])
            for i, (begin, stop, text) in enumerate(spans[first : last + 1], start=first)
        ]

    def documents(self, where: Where = None) -> list[dict[str, Any]]:
        """Every document (or those matching ``where``): doc_id, title, origin, source (outlet), date, chunks, metadata."""
        with self._rw.reading():
            condition = self._condition(where)
            summaries = self._parts.chunks.summaries()
        return [s.to_dict() for s in summaries if condition is None or condition.matches(s.fields())]

    def export_rows(self, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """Every chunk as a flat record (ids, place, text, title, origin, source, metadata; ``vector`` if asked)."""
        with self._rw.reading():
            rows = list(self._parts.chunks.iter_chunk_rows())
            found = self._parts.vectors.reconstruct([r.chunk_id for r in rows]) if vectors and rows else None
        for number, row in enumerate(rows):
            record = row.to_dict()
            if found is not None:
                record["vector"] = found[number].tolist()
            yield record

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        return self._parts.chunks.iter_chunks()

    def document(self, doc_id: str) -> dict[str, Any]:
        """A stored document: title, origin, source (outlet), raw and cleaned text, metadata, what the cleaner dropped."""
        record = self._parts.chunks.document(doc_id)
        if record is None:
            raise UnknownDocumentError(f"no document {doc_id!r} in this index")
        return record.to_dict()

    def doc_ids(self) -> list[str]:
        """The ids of all indexed documents, sorted."""
        return self._parts.chunks.doc_ids()

    def dropped(self) -> dict[str, list[Dropped]]:
        """What the cleaner removed from each document (document id → drops), for ``--explain``."""
        return {doc_id: self.document(doc_id)["dropped"] for doc_id in self.doc_ids()}
