"""Building an index straight into Milvus, batch by batch, and re-weighting one whose BM25 has drifted.

:class:`MilvusBuild` is the sink a build writes into when its engine is a Milvus location (see
:func:`semsearch.build.build_index`); :func:`reweight` rewrites every row's BM25 half.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backend import Parts
from .errors import IndexCorruptError
from .lexical import Analyzer
from .milvus_backend import INCOMPLETE, MilvusStore
from .milvus_parts import Pending, as_location, milvus_parts
from .milvus_rows import indexed_texts_of
from .milvus_schema import milvus_index_type
from .records import Document, PreparedDocument
from .split_bm25 import CorpusStats, needs_reweighting
from .titles import TitleMode
from .vector_index import SearchParams

BUILD_BATCH_CHUNKS = 4096  # chunks a Milvus build embeds and writes at a time


class MilvusBuild:
    """A new index written into Milvus batch by batch as a build streams its documents in.

    It takes what a chunk store takes during a build (``add``, ``add_signature``, ``add_duplicate``)
    and, every ``batch_chunks`` chunks, embeds the batch and writes it: only one batch of vectors is
    ever in memory. The collections are created at the first write (an empty corpus leaves nothing).
    Until :class:`MilvusStorage` saves the manifest the index is marked incomplete and will not load,
    so an interrupted build is never mistaken for a whole one. The first batch fixes the average
    length BM25 rows are weighted with; if the whole corpus's differs by more than
    :data:`~semsearch.split_bm25.REWEIGHT_DRIFT`, :meth:`finish` re-weights every row.
    """

    def __init__(
        self,
        location: str,
        manifest: dict[str, Any],
        analyzer: Analyzer,
        titles: TitleMode,
        embed: Callable[[Sequence[str]], np.ndarray],
        batch_chunks: int | None = None,
    ) -> None:
        self.location = as_location(location)
        milvus_index_type(str(manifest["index_type"]))  # refused before any embedding
        self._manifest = {**manifest, INCOMPLETE: True}
        self._analyzer = analyzer
        self._titles = titles
        self._embed = embed
        self._batch = batch_chunks or BUILD_BATCH_CHUNKS
        self._pending = Pending()
        self._duplicates: list[tuple[Document, str, float]] = []
        self._ids: set[int] = set()
        self.store: MilvusStore | None = None

    def add(self, prepared: PreparedDocument) -> None:
        """Take a document; the batch before it is written first if it is full."""
        if sum(len(e.chunks) for e in self._pending.prepared) >= self._batch:
            self._flush()
        for chunk in prepared.chunks:
            if chunk.chunk_id in self._ids:  # 64-bit hash collision: astronomically unlikely, never silent
                raise IndexCorruptError("two chunks received the same 64-bit id; rename one of the documents")
            self._ids.add(chunk.chunk_id)
        self._pending.prepared.append(prepared)

    def add_signature(self, doc_id: str, minhash: bytes, numbers: Sequence[str]) -> None:
        """Keep a document's MinHash, written with its row."""
        self._pending.signatures[doc_id] = (minhash, list(numbers))

    def add_duplicate(self, doc: Document, of_doc_id: str, similarity: float) -> None:
        """Record a duplicate (written with the next batch)."""
        self._duplicates.append((doc, of_doc_id, similarity))

    def finish(self) -> Parts | None:
        """Write what is left; the new index's parts, or None if nothing was added."""
        self._flush()
        if self.store is None:
            return None
        if needs_reweighting(self.store.stats):
            self.store.reweight()
        self.store.seal(everything=True)
        return milvus_parts(self.store, SearchParams())

    def _flush(self) -> None:
        prepared = list(self._pending.prepared)
        if not prepared:
            return
        texts = indexed_texts_of([(e.title, e.title_source, e.chunks) for e in prepared], self._titles)
        vectors = self._embed(texts)
        if self.store is None:
            stats = CorpusStats(
                k1=float(self._manifest["lexical"]["k1"]), b=float(self._manifest["lexical"]["b"])
            )
            self.store = MilvusStore.create(self.location, self._manifest, self._analyzer, stats=stats)
        self.store.write(
            prepared, vectors, [self._analyzer.tokens(t) for t in texts], self._pending.signatures
        )
        self._pending.clear()
        for doc, of_doc_id, similarity in self._duplicates:
            self.store.add_duplicate(doc, of_doc_id, similarity)
        self._duplicates.clear()


def reweight(location: str) -> int:
    """Re-weight every row's BM25 half of the Milvus index at ``location`` with today's average length.

    O(N): worth it when ``semsearch info`` shows the average length has drifted (``needs_reweighting``).
    Returns the number of rows rewritten.
    """
    store = MilvusStore.open(as_location(location))
    try:
        return store.reweight()
    finally:
        store.close()
