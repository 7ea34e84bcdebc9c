"""The storage seam: what search reads from an index's parts, and the one way an engine changes them.

An index is kept by an :class:`Engine` (a directory on disk, :mod:`semsearch.storage.local`, or a set
of Milvus collections, :mod:`semsearch.storage.milvus`) and read through three parts:

- :class:`VectorSide`: chunk id → vector; nearest-neighbour search;
- :class:`LexicalSide`: chunk id → terms; BM25 search (the analyzer turns text and queries into terms);
- :class:`DocumentStore`: documents and chunks as typed records (:mod:`semsearch.records`).

Every change, a build's batch as well as an ``add``/``update``/``remove``, reaches an engine as one
:class:`~semsearch.records.WriteBatch` through :meth:`Engine.apply`; no caller touches the parts'
insides or depends on the order in which an engine writes them. A :class:`Storage` opens and creates
engines for one kind of :mod:`~semsearch.storage.locations` location. The contract tests in
``tests/storage/test_engine_contract.py`` run against every engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from semsearch.storage.index_types import check_index_type

if TYPE_CHECKING:
    import numpy as np

    from semsearch.filters import Filter
    from semsearch.records import (
        Chunk,
        ChunkRow,
        Counts,
        DocumentSummary,
        DuplicateRecord,
        Fingerprint,
        Scored,
        SearchParams,
        StoredDocument,
        ValueCounts,
        VectorHits,
        WriteBatch,
    )
    from semsearch.storage.locations import Location
    from semsearch.storage.manifest import Manifest
    from semsearch.text.analyzer import Analyzer
    from semsearch.text.dedup import DedupConfig
    from semsearch.text.titles import TitleMode


class Selection(Protocol):
    """The chunks a metadata filter lets through, in the form its engine searches fastest.

    Made by :meth:`DocumentStore.select` and handed to both sides' ``search`` as ``allowed``; its
    length bounds how many chunks a filtered search can find.
    """

    def __len__(self) -> int: ...


class VectorSide(Protocol):
    """Vectors by chunk id, searched by inner product (vectors are L2-normalised: cosine)."""

    index_type: str
    params: SearchParams

    @property
    def dimension(self) -> int:
        """The length of the vectors."""
        ...

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int, allowed: Any = None) -> VectorHits:
        """The ``k`` nearest chunks of each query, best first; ``allowed``: only among these chunks.

        ``allowed`` is a :class:`Selection` this engine's :meth:`DocumentStore.select` made.
        """
        ...

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks by id."""
        ...

    def describe(self) -> str:
        """A short description for the manifest (``faiss_class``)."""
        ...


class LexicalSide(Protocol):
    """Terms by chunk id, scored with BM25. The analyzer turns text and queries into terms."""

    analyzer: Analyzer

    def __len__(self) -> int: ...

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats (also what highlights look for)."""
        ...

    def search(self, query: str, depth: int, allowed: Any = None) -> list[Scored]:
        """The ``depth`` best chunks sharing a term with ``query``, best first (fewer if fewer share one).

        ``allowed``: only among these chunks, before the cut to ``depth``.
        """
        ...

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` occurs (0 for a term the corpus lacks), in order.

        What hybrid search reads to tell whether this side has anything to say on a query
        (:func:`semsearch.search.fusion.coverage`). Chunks removed but not yet purged may still count.
        """
        ...

    def spec(self) -> dict[str, Any]:
        """The manifest's record of this lexical side (analyzer, scorer, parameters)."""
        ...

    @property
    def needs_reweighting(self) -> bool:
        """Whether stored BM25 weights have drifted from the corpus (split BM25 in Milvus; never locally)."""
        ...


class DocumentStore(Protocol):
    """Documents and their chunks, addressed by document id and chunk id, as typed records."""

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows (with their document's title, origin and metadata) by chunk id; unknown ids left out."""
        ...

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk, by chunk id."""
        ...

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        ...

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every chunk with its document's title, origin and metadata (what an export writes), in that order."""
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
        """Documents, chunks, tokens and near-duplicates stored."""
        ...

    def summaries(self) -> list[DocumentSummary]:
        """Every document's id, title, origin, metadata and chunk count, by id (listings and filters)."""
        ...

    def chunk_ids_by_doc(self, doc_ids: Iterable[str] | None = None) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order (of ``doc_ids`` only, when given)."""
        ...

    def origins(self) -> dict[str, str]:
        """Document id → the file it came from (its ``origin``), for every document: what a sync compares."""
        ...

    def metadata_keys(self) -> set[str]:
        """Every metadata key some document has: what a filter may name besides doc_id, origin and title."""
        ...

    def count_values(self, key: str, condition: Filter | None = None) -> ValueCounts:
        """How many documents (those ``condition`` matches) hold each value of ``key``: a day for ``date``.

        Facets without a query; :func:`semsearch.storage.selection.count_values` defines the counting.
        """
        ...

    def signatures(self) -> Iterator[Fingerprint]:
        """Every kept document's near-duplicate signature."""
        ...

    def similar_signatures(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """Kept documents sharing an LSH band key with ``keys`` (text.dedup.band_keys); None: no keys kept, read all."""
        ...

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        ...

    def duplicate_ids(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` recorded as near-duplicates (folded into a kept document, not indexed)."""
        ...

    def select(self, condition: Filter) -> Selection:
        """The chunks of the documents ``condition`` matches (a ``where`` filter), for both sides' searches."""
        ...


@dataclass(frozen=True)
class Parts:
    """The three parts of an index as searches read them."""

    vectors: VectorSide
    lexical: LexicalSide
    chunks: DocumentStore


Durability = Literal["on-commit", "on-apply"]


@dataclass(frozen=True)
class IndexSpec:
    """What a new engine is created with.

    The vectors' dimension and index type, the lexical analysis, how titles are indexed,
    near-duplicate detection and BM25's parameters.
    """

    dimension: int
    index_type: str
    analyzer: Analyzer
    titles: TitleMode
    dedup: DedupConfig | None
    k1: float
    b: float

    def __post_init__(self) -> None:
        check_index_type(self.index_type)


class Engine(Protocol):
    """One index's storage: its parts to read, and the one way to change them.

    The promise both engines keep: :meth:`apply` takes a whole :class:`~semsearch.records.WriteBatch`
    and, when it returns, every search through this engine sees all of it (callers hold the index's
    read-write lock, so no search sees part of it). What differs is when a change survives the
    process, said by :attr:`durability`:

    - ``"on-commit"`` (a directory): a change lives in this process until :meth:`commit` writes it
      and swaps the manifest atomically; a crash before loses the change, never half of it;
    - ``"on-apply"`` (Milvus): rows are written to the server when :meth:`apply` returns and other
      processes see them; :meth:`commit` writes the manifest (counts, search settings).

    ``batch_chunks`` is how many chunks a build should hand over per batch (None: all at once).
    """

    durability: Durability
    batch_chunks: int | None

    @property
    def location(self) -> Location | None:
        """Where the engine keeps the index (None: in memory until its first commit)."""
        ...

    @property
    def parts(self) -> Parts:
        """The index's parts, as searches read them."""
        ...

    def apply(self, batch: WriteBatch) -> list[int]:
        """Apply a whole change; returns the ids of the chunks it removed."""
        ...

    def accepts(self, location: Location) -> bool:
        """Whether :meth:`commit` can write the index at ``location`` (elsewhere, an index is copied)."""
        ...

    def commit(
        self, manifest: Manifest, location: Location | None = None, *, expect_generation: int | None = None
    ) -> Manifest:
        """Make what was applied durable with ``manifest`` (at ``location`` for an engine kept in memory so far).

        ``expect_generation``: raise IndexChangedError if another writer committed since this engine
        was opened. Returns the manifest as written.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """What ``info()`` adds about where the index lives: ``storage`` and, if known, ``bytes_on_disk``."""
        ...

    def optimize(self, manifest: Manifest) -> Opened:
        """Compact the index where it lives (merge segments, purge, upgrade an old format) and publish it.

        Returns the manifest as written and the engine to use from now on (this one, or the new one
        an upgrade made).
        """
        ...

    def verify(self) -> list[str]:
        """Check every file in full (sizes, checksums, the document store); one line per problem found."""
        ...

    def close(self) -> None:
        """Release files and connections (changes never committed are undone)."""
        ...


class Opened(NamedTuple):
    """An index as :meth:`Storage.open` found it."""

    manifest: Manifest
    engine: Engine


class Storage(Protocol):
    """Opens and creates the engines of one kind of location."""

    def open(self, location: Location, *, verify: bool = True, threads: int | None = None) -> Opened:
        """Read and check the manifest, then open the engine it describes; damage is an IndexCorruptError.

        ``threads``: CPU threads a batch of queries may use (FAISS's OpenMP; a server ignores it).
        """
        ...

    def create(self, location: Location | None, spec: IndexSpec, *, threads: int | None = None) -> Engine:
        """A new, empty engine for an index to be built at ``location`` (None: in memory, committed later)."""
        ...

    def peek(self, location: Location) -> Manifest | None:
        """The manifest, if it can be read without opening the index (a directory's file), else None."""
        ...
