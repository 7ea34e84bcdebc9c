"""Metadata filters evaluated over every document's fields, for engines without fast fields (format 1, Milvus).

:class:`FilterTable` reads each document's filter fields once (the first filtered search) and gives
the sorted chunk ids a filter lets through; both sides of the search take them as ``allowed``. The
same fields answer the other questions about all documents: which metadata keys exist, how many
documents hold each value of a key (:func:`count_values`, for facets) and where each came from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from semsearch.dates import DATE_KEY, normalize_date
from semsearch.filters import DOCUMENT_KEYS, Filter
from semsearch.records import ValueCounts
from semsearch.storage.base import DocumentStore


class FilterTable:
    """The fields a metadata filter reads for every document, and each document's chunk ids.

    Read from the chunk store once (the first filtered search) and kept until the index changes; the
    chunk ids a filter allows are remembered for the last few filters, so a filter repeated over many
    queries is evaluated once.
    """

    CACHED_FILTERS = 32

    def __init__(self, chunks: DocumentStore) -> None:
        self.records = [summary.fields() for summary in chunks.summaries()]
        self.chunk_ids = chunks.chunk_ids_by_doc()
        self._allowed: OrderedDict[Filter, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def allowed(self, condition: Filter) -> np.ndarray:
        """The sorted chunk ids of the documents ``condition`` matches."""
        with self._lock:
            found = self._allowed.get(condition)
            if found is not None:
                self._allowed.move_to_end(condition)
                return found
        ids = [
            cid
            for record in self.records
            if condition.matches(record)
            for cid in self.chunk_ids.get(record["doc_id"], ())
        ]
        found = np.unique(np.asarray(ids, dtype=np.int64))
        with self._lock:
            self._allowed[condition] = found
            if len(self._allowed) > self.CACHED_FILTERS:
                self._allowed.popitem(last=False)
        return found

    def keys(self) -> set[str]:
        """Every metadata key some document has (the document keys left out)."""
        return {key for record in self.records for key in record} - set(DOCUMENT_KEYS)

    def count(self, key: str, condition: Filter | None) -> ValueCounts:
        """How many documents ``condition`` matches hold each value of ``key`` (:func:`count_values`)."""
        return count_values(self.records, key, condition)

    def origins(self) -> dict[str, str]:
        """Document id → the file it came from."""
        return {record["doc_id"]: record["origin"] for record in self.records}

    def chunk_ids_of(self, doc_ids: Iterable[str] | None) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order (of ``doc_ids`` only, when given)."""
        if doc_ids is None:
            return dict(self.chunk_ids)
        return {d: list(self.chunk_ids[d]) for d in doc_ids if d in self.chunk_ids}


def facet_value(key: str, value: Any) -> list[str]:
    """The values a document's ``value`` under ``key`` counts as: a day for ``date``, each item of a list."""
    if key == DATE_KEY:
        day = normalize_date(value)
        return [day] if day is not None else []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if item is None or isinstance(item, (dict, list, tuple)):
            continue
        text = ("true" if item else "false") if isinstance(item, bool) else str(item).strip()
        if text:
            out.append(text)
    return list(dict.fromkeys(out))


def count_values(records: Iterable[Mapping[str, Any]], key: str, condition: Filter | None) -> ValueCounts:
    """Over documents' filter fields: how many of those ``condition`` matches hold each value of ``key``.

    A document counts once per distinct value (a list of authors counts for each); ``missing`` counts
    the matching documents without a value (a ``date`` that does not read as a day is missing).
    """
    counts: dict[str, int] = {}
    documents = missing = 0
    for record in records:
        if condition is not None and not condition.matches(record):
            continue
        documents += 1
        values = facet_value(key, record[key]) if key in record else []
        if not values:
            missing += 1
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    return ValueCounts(counts, documents, missing)
