"""Metadata filters evaluated over every document's fields, for engines without fast fields (format 1, Milvus).

:class:`FilterTable` reads each document's filter fields once (the first filtered search) and gives
the sorted chunk ids a filter lets through; both sides of the search take them as ``allowed``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from semsearch.filters import Filter
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
