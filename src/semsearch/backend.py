"""The parts of an index as small Protocols, so a second backend (Milvus, say) can implement them.

An index is three parts and a place they persist:

- :class:`VectorBackend`: chunk id → vector; nearest-neighbour search (local: FAISS, :class:`~semsearch.vector_index.VectorIndex`);
- :class:`LexicalBackend`: chunk id → terms; BM25 search (local: bm25s, :class:`~semsearch.lexical.LexicalIndex`);
- :class:`ChunkBackend`: documents and chunks as typed records (local: SQLite, :class:`~semsearch.chunk_store.ChunkStore`);
- :class:`Storage`: reads and writes the :class:`~semsearch.manifest.Manifest` and the parts
  (local: an index directory, :class:`~semsearch.index_dir.IndexDirectory`).

Search (:mod:`semsearch.search`) and changes (:mod:`semsearch.changes`) use the parts only through
these Protocols; behaviour tests run against every backend by parametrisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np

    from .dedup import Fingerprint
    from .lexical import Analyzer
    from .manifest import Counts, Manifest
    from .records import Chunk, ChunkRow, Document, PreparedDocument, Scored, StoredDocument
    from .vector_index import SearchParams, VectorHits


class VectorBackend(Protocol):
    """Vectors by chunk id, searched by inner product (vectors are L2-normalised: cosine)."""

    index_type: str
    params: SearchParams

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        ...

    def __len__(self) -> int: ...

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add ``vectors`` (float32, (n, dimension)) under chunk ``ids`` (int64)."""
        ...

    def delete(self, ids: Sequence[int]) -> None:
        """Remove chunks by id."""
        ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> VectorHits:
        """The ``k`` nearest chunks of each query, best first; ``allowed``: only among these chunk ids."""
        ...

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks by id."""
        ...

    def describe(self) -> str:
        """A short description for the manifest (``faiss_class``)."""
        ...


class LexicalBackend(Protocol):
    """Terms by chunk id, scored with BM25. The analyzer turns text and queries into terms."""

    analyzer: Analyzer

    def __len__(self) -> int: ...

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats (also what highlights look for)."""
        ...

    def search(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """The ``depth`` best chunks sharing a term with ``query``, best first (fewer if fewer share one).

        ``allowed``: only among these chunk ids (sorted), before the cut to ``depth``.
        """
        ...

    def changed(
        self, removed: Iterable[int], added_ids: Sequence[int], added_texts: Sequence[str]
    ) -> LexicalBackend:
        """The lexical side without the chunks ``removed`` and with the ones added (may be ``self``)."""
        ...

    def spec(self) -> dict[str, Any]:
        """The manifest's record of this lexical side (analyzer, scorer, parameters)."""
        ...

    @property
    def needs_reweighting(self) -> bool:
        """Whether stored BM25 weights have drifted from the corpus (split BM25 in Milvus; never locally)."""
        ...


class ChunkBackend(Protocol):
    """Documents and their chunks, addressed by document id and chunk id."""

    def add(self, prepared: PreparedDocument) -> None:
        """Store a cleaned, chunked document."""
        ...

    def remove(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents and their chunks; the chunk ids removed."""
        ...

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows (with their document's title and source) by chunk id; unknown ids left out."""
        ...

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk, by chunk id."""
        ...

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        ...

    def document(self, doc_id: str) -> StoredDocument | None:
        """One stored document, or None."""
        ...

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        ...

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Document id → content hash, of ``doc_ids`` only when given (a change looks up only its own)."""
        ...

    def counts(self) -> Counts:
        """Documents, chunks and tokens stored."""
        ...

    def filter_records(self) -> list[dict[str, Any]]:
        """Each document's metadata plus doc_id, source and title: what a ``where`` filter reads."""
        ...

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        ...

    def document_summaries(self) -> list[dict[str, Any]]:
        """Each document's id, title, source, metadata and chunk count, by id."""
        ...

    def iter_chunk_rows(self) -> Iterator[dict[str, Any]]:
        """Every chunk with its document's title, source and metadata (what an export writes)."""
        ...

    def add_signature(self, doc_id: str, minhash: bytes, numbers: Sequence[str]) -> None:
        """Keep a kept document's MinHash and numbers for near-duplicate checks of later changes."""
        ...

    def signatures(self) -> Iterator[tuple[str, bytes, list[str]]]:
        """Every kept document's (id, MinHash bytes, numbers)."""
        ...

    def similar_signatures(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """Kept documents sharing a band key with ``keys`` (dedup.band_keys); None: no keys kept, read all."""
        ...

    def add_duplicate(self, doc: Document, of_doc_id: str, similarity: float) -> None:
        """Record ``doc`` as a duplicate of the stored ``of_doc_id`` (not indexed itself)."""
        ...

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Kept document id → the duplicates recorded for it."""
        ...


@dataclass(frozen=True)
class Parts:
    """The three parts of an index. Searches read them; a change replaces or changes them under the index's lock."""

    vectors: VectorBackend
    lexical: LexicalBackend
    chunks: ChunkBackend


class Loaded(NamedTuple):
    """An index as :meth:`Storage.load` found it."""

    manifest: Manifest
    parts: Parts


class Storage(Protocol):
    """Where an index's manifest and parts persist."""

    def load(self, location: Path, *, verify: bool = True) -> Loaded:
        """Read and check the manifest, then open the parts it lists; damage is an IndexCorruptError."""
        ...

    def save(
        self, location: Path, manifest: Manifest, parts: Parts, *, expect_generation: int | None = None
    ) -> Manifest:
        """Write the parts and the manifest atomically; the manifest as written (generation, files)."""
        ...

    def describe(self, location: Path | str) -> dict[str, Any]:
        """What ``info()`` adds about where the index lives: ``storage`` and, if known, ``bytes_on_disk``."""
        ...
