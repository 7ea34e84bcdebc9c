"""An index kept in Milvus (the store; schemas and the client are in :mod:`semsearch.milvus_schema`): chunks with their dense and BM25 vectors, documents, terms, the manifest.

Three collections per index (``NAME`` from the location ``…#NAME``):

- ``NAME``: one row per chunk: id, document id, place (ordinal, paragraph, piece, span), text,
  title, source, document metadata (JSON), the dense vector and the document side of BM25 as a
  sparse vector (term id → weight, see :mod:`semsearch.split_bm25`); the manifest and the corpus
  statistics are the collection's properties.
- ``NAME__docs``: one row per document: content hash (what ``add`` compares), raw and cleaned text,
  what the cleaner dropped, its chunk ids.
- ``NAME__terms``: one row per term of semsearch's own analyzer: its sparse id and document frequency.

Lexical search is a sparse inner-product search with the query's IDF weights, so it scores exactly
as bm25s does locally, Traditional/Simplified folding included; Milvus's own analyzers are not used.
Changes are incremental: an add inserts its rows and updates the frequencies of its terms; nothing
else is re-weighted. pymilvus is imported only here, only when a Milvus location is used.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexFormatError, IndexNotFoundError, InputError
from .lexical import Analyzer
from .milvus_location import MilvusLocation
from .milvus_schema import (
    CHUNK_INT_FIELDS,
    MAX_TEXT_BYTES,
    PLACEHOLDER_DIM,
    call,
    connect,
    create_collections,
    milvus_index_type,
)
from .records import Chunk
from .split_bm25 import CorpusStats, document_weights, query_weights

log = logging.getLogger(__name__)

FORMAT_NAME = "semsearch-milvus"
FORMAT_VERSION = 1
FORMAT_PROPERTY = "semsearch.format"  # "semsearch-milvus/1": the layout of the collections
MANIFEST_PROPERTY = "semsearch.manifest"
STATS_PROPERTY = "semsearch.bm25"
INCOMPLETE = "incomplete"  # set in the manifest a build starts with, gone from the one it ends with
MAX_LIMIT = 16384  # Milvus's largest top-k
WRITE_BATCH = 500
_LOOKUP_BATCH = 1000
# A chunk's row as read back: the schema's integer fields (less n_terms, read only where needed).
_CHUNK_FIELDS = (
    "chunk_id",
    "doc_id",
    *(name for name in CHUNK_INT_FIELDS if name != "n_terms"),
    "text",
    "title",
    "source",
)

# ---------------------------------------------------------------------- the store


@dataclass(frozen=True)
class TermRow:
    """A lexical term as stored: its sparse dimension and in how many chunks it occurs."""

    term_id: int
    df: int


class MilvusStore:
    """One index in Milvus: write and remove documents batch by batch, search both sides, fetch rows.

    Open an existing index with :meth:`open`, start a new one with :meth:`create`. Not safe for two
    writers at once (semsearch's directory lock does not reach a server); readers are safe.
    """

    def __init__(
        self,
        location: MilvusLocation,
        client: Any,
        manifest: dict[str, Any],
        stats: CorpusStats,
        next_term: int,
        analyzer: Analyzer,
    ) -> None:
        self.location = location
        self.manifest = manifest
        self.stats = stats
        self.analyzer = analyzer
        self._client = client
        self._next_term = next_term
        self.kind = milvus_index_type(manifest["index_type"])

    # -------------------------------------------------------------- lifecycle

    @classmethod
    def create(
        cls,
        location: MilvusLocation,
        manifest: dict[str, Any],
        analyzer: Analyzer,
        stats: CorpusStats | None = None,
    ) -> MilvusStore:
        """Create the collections of a new, empty index at ``location``, replacing one already there.

        ``stats``: the corpus statistics to weigh rows with (a build passes the whole corpus's
        average length, so its batches are weighted alike); default: the first batch's.
        """
        kind = milvus_index_type(manifest["index_type"])
        client = connect(location)
        stats = stats or CorpusStats(k1=float(manifest["lexical"]["k1"]), b=float(manifest["lexical"]["b"]))
        properties = {
            FORMAT_PROPERTY: f"{FORMAT_NAME}/{FORMAT_VERSION}",
            MANIFEST_PROPERTY: _dumps(manifest),
            STATS_PROPERTY: _dumps({**stats.to_dict(), "next_term": 1}),
        }
        create_collections(location, client, int(manifest["dimension"]), kind, properties)
        return cls(location, client, manifest, stats, 1, analyzer)

    @classmethod
    def open(cls, location: MilvusLocation) -> MilvusStore:
        """Open the index at ``location``; IndexNotFoundError if there is none, IndexCorruptError if damaged."""
        if location.lite and not Path(location.uri).exists():
            raise IndexNotFoundError(
                f"{location}: no milvus-lite database at {location.uri}; build one with "
                f"`semsearch build SOURCES -o '{location}'`"
            )
        client = connect(location)
        for name in (location.collection, location.docs_collection, location.terms_collection):
            if not call(location, client.has_collection, name):
                raise IndexNotFoundError(
                    f"{location}: no semsearch index there (collection {name} is missing); build one with "
                    f"`semsearch build SOURCES -o '{location}'`"
                )
            call(location, client.load_collection, name)
        properties = call(location, client.describe_collection, location.collection).get("properties", {})
        name, _, version = str(properties.get(FORMAT_PROPERTY, "")).partition("/")
        if name != FORMAT_NAME or not version.isdigit():
            raise IndexCorruptError(
                f"{location} is not a semsearch index (no semsearch format mark); rebuild it"
            )
        if int(version) > FORMAT_VERSION:
            raise IndexFormatError(
                f"{location} was written in Milvus index format {version} by a newer semsearch; this one "
                f"reads up to {FORMAT_VERSION}. Upgrade semsearch or rebuild the index"
            )
        manifest = _loads(properties.get(MANIFEST_PROPERTY), location, "manifest")
        if manifest.get(INCOMPLETE):
            raise IndexCorruptError(f"{location}: its build did not finish; build the index again")
        raw_stats = _loads(properties.get(STATS_PROPERTY), location, "BM25 statistics")
        stats = CorpusStats.from_dict(raw_stats)
        analyzer = Analyzer.from_spec(manifest["lexical"])
        return cls(location, client, manifest, stats, int(raw_stats["next_term"]), analyzer)

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    def __len__(self) -> int:
        return self.stats.chunks

    # -------------------------------------------------------------- writing

    def write(
        self,
        prepared: Sequence[tuple[Any, Any, str, str, Sequence[Chunk]]],
        vectors: np.ndarray,
        terms: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Insert documents (each ``(document, cleaned, title, title source, chunks)``) and their chunks' vectors.

        The rows' BM25 weights use the corpus's frozen average length; the terms' document
        frequencies and the corpus statistics are updated, so later queries weigh them in.
        """
        prepared = [_parts(entry) for entry in prepared]
        chunks = [(entry, chunk) for entry in prepared for chunk in entry[4]]
        if len(chunks) != len(vectors):
            raise InputError(f"{len(chunks)} chunks but {len(vectors)} vectors to write")
        if not chunks:
            return
        for entry in prepared:
            _check_text_size(entry[0].doc_id, "raw text", entry[0].text)
            _check_text_size(entry[0].doc_id, "cleaned text", entry[1].text)
        term_lists = terms if terms is not None else [self.analyzer.tokens(c.text) for _, c in chunks]
        if len(term_lists) != len(chunks):
            raise InputError(f"{len(chunks)} chunks but {len(term_lists)} term lists to write")
        stats = self.stats.changed([len(t) for t in term_lists], [])
        known = self._term_rows({t for terms in term_lists for t in terms})
        df = Counter(t for terms in term_lists for t in set(terms))
        next_term = self._next_term
        ids: dict[str, int] = {}
        for term in sorted(df):
            if term in known:
                ids[term] = known[term].term_id
            else:
                ids[term] = next_term
                next_term += 1
        rows = []
        for ((doc, _clean, title, _tsource, _), chunk), terms, vector in zip(chunks, term_lists, vectors):
            weights = document_weights(terms, stats)
            rows.append(
                {
                    "chunk_id": int(chunk.chunk_id),
                    "doc_id": chunk.doc_id,
                    "ordinal": chunk.ordinal,
                    "paragraph": chunk.paragraph,
                    "piece": chunk.piece,
                    "pieces": chunk.pieces,
                    "span_start": chunk.start,
                    "span_end": chunk.end,
                    "n_tokens": chunk.n_tokens,
                    "n_terms": len(terms),
                    "text": chunk.text,
                    "title": title,
                    "source": doc.source,
                    "metadata": _jsonable(doc.metadata),
                    "dense": np.asarray(vector, dtype=np.float32).tolist(),
                    "sparse": {ids[t]: float(w) for t, w in weights.items()},
                }
            )
        for first in range(0, len(rows), WRITE_BATCH):
            call(
                self.location,
                self._client.insert,
                self.location.collection,
                rows[first : first + WRITE_BATCH],
            )
        doc_rows = [
            {
                "doc_id": doc.doc_id,
                "title": title,
                "title_source": title_source,
                "source": doc.source,
                "encoding": doc.encoding,
                "content_hash": doc.content_hash,
                "raw_text": doc.text,
                "clean_text": clean.text,
                "metadata": _jsonable(doc.metadata),
                "dropped": [[d.line, d.text, d.reason] for d in clean.dropped],
                "chunk_ids": [int(c.chunk_id) for c in doc_chunks],
                "tokens": int(sum(c.n_tokens for c in doc_chunks)),
                "_placeholder": [0.0] * PLACEHOLDER_DIM,
            }
            for doc, clean, title, title_source, doc_chunks in prepared
        ]
        for first in range(0, len(doc_rows), WRITE_BATCH):
            call(
                self.location,
                self._client.upsert,
                self.location.docs_collection,
                doc_rows[first : first + WRITE_BATCH],
            )
        term_rows = [
            {
                "term": t,
                "term_id": ids[t],
                "df": (known[t].df if t in known else 0) + n,
                "_placeholder": [0.0] * PLACEHOLDER_DIM,
            }
            for t, n in df.items()
        ]
        self._upsert_terms(term_rows)
        self._next_term = next_term
        self.stats = stats
        self._write_stats()

    def remove(self, doc_ids: Sequence[str]) -> list[int]:
        """Delete documents and their chunks; returns the chunk ids removed."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return []
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), _LOOKUP_BATCH):
            part = ids[first : first + _LOOKUP_BATCH]
            rows += self._query(
                self.location.collection, f"doc_id in {_literal(part)}", ["chunk_id", "n_terms", "sparse"]
            )
        if not rows:
            return []
        df_drop: Counter[int] = Counter()
        for row in rows:
            df_drop.update(int(k) for k in _sparse_keys(row["sparse"]))
        term_rows = []
        wanted = list(df_drop)
        for first in range(0, len(wanted), _LOOKUP_BATCH):
            part = wanted[first : first + _LOOKUP_BATCH]
            for row in self._query(
                self.location.terms_collection, f"term_id in {part}", ["term", "term_id", "df"]
            ):
                term_rows.append(
                    {
                        "term": row["term"],
                        "term_id": int(row["term_id"]),
                        "df": max(0, int(row["df"]) - df_drop[int(row["term_id"])]),
                        "_placeholder": [0.0] * PLACEHOLDER_DIM,
                    }
                )
        chunk_ids = [int(r["chunk_id"]) for r in rows]
        for first in range(0, len(ids), _LOOKUP_BATCH):
            part = ids[first : first + _LOOKUP_BATCH]
            call(
                self.location,
                self._client.delete,
                self.location.collection,
                filter=f"doc_id in {_literal(part)}",
            )
            call(self.location, self._client.delete, self.location.docs_collection, ids=part)
        self._upsert_terms(term_rows)
        self.stats = self.stats.changed([], [int(r["n_terms"]) for r in rows])
        self._write_stats()
        return chunk_ids

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Store ``manifest`` as the index's metadata."""
        self.manifest = manifest
        call(
            self.location,
            self._client.alter_collection_properties,
            self.location.collection,
            properties={MANIFEST_PROPERTY: _dumps(manifest)},
        )

    def reweight(self) -> int:
        """Re-weight every row's BM25 half with today's average length; returns the rows rewritten.

        O(N): run it when :func:`~semsearch.split_bm25.needs_reweighting` says the corpus drifted.
        """
        stats = CorpusStats.from_dict({**self.stats.to_dict(), "weighted_avgdl": self.stats.avgdl})
        fields = [*_CHUNK_FIELDS, "n_terms", "metadata", "dense"]
        rewritten = 0
        batch: list[dict[str, Any]] = []
        for row in self._iterate(self.location.collection, fields):
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                rewritten += self._reweight_batch(batch, stats)
                batch = []
        if batch:
            rewritten += self._reweight_batch(batch, stats)
        self.stats = stats
        self._write_stats()
        return rewritten

    def _reweight_batch(self, batch: list[dict[str, Any]], stats: CorpusStats) -> int:
        term_lists = [self.analyzer.tokens(row["text"]) for row in batch]
        ids = self._term_rows({t for terms in term_lists for t in terms})
        for row, terms in zip(batch, term_lists):
            row["sparse"] = {ids[t].term_id: float(w) for t, w in document_weights(terms, stats).items()}
        call(self.location, self._client.upsert, self.location.collection, batch)
        return len(batch)

    # -------------------------------------------------------------- searching

    def search_dense(
        self, vectors: np.ndarray, depth: int, *, ef_search: int = 64, nprobe: int = 16, filter: str = ""
    ) -> list[list[tuple[int, float]]]:
        """The ``depth`` nearest chunks (id, cosine) of each query vector, best first."""
        if not len(self) or not len(vectors):
            return [[] for _ in range(len(vectors))]
        limit = max(1, min(depth, MAX_LIMIT, len(self)))
        params: dict[str, int] = {}
        if self.kind.search_knob == "ef":
            params["ef"] = max(ef_search, limit)
        elif self.kind.search_knob == "nprobe":
            params["nprobe"] = nprobe
        result = call(
            self.location,
            self._client.search,
            self.location.collection,
            data=np.asarray(vectors, dtype=np.float32).tolist(),
            anns_field="dense",
            limit=limit,
            filter=filter,
            search_params={"metric_type": "IP", "params": params},
            output_fields=["chunk_id"],
        )
        return [_ranked(hits) for hits in result]

    def search_lexical(self, query: str, depth: int, *, filter: str = "") -> list[tuple[int, float]]:
        """The ``depth`` best (chunk id, BM25) pairs sharing a term with ``query``, as bm25s scores them."""
        terms = list(dict.fromkeys(self.analyzer.tokens(query)))
        if not terms or not len(self):
            return []
        rows = self._term_rows(set(terms))
        weights = query_weights(terms, {t: r.df for t, r in rows.items()}, self.stats.chunks)
        if not weights:
            return []
        vector = {rows[t].term_id: w for t, w in weights.items()}
        result = call(
            self.location,
            self._client.search,
            self.location.collection,
            data=[vector],
            anns_field="sparse",
            limit=max(1, min(depth, MAX_LIMIT, len(self))),
            filter=filter,
            search_params={"metric_type": "IP"},
            output_fields=["chunk_id"],
        )
        return [(cid, score) for cid, score in _ranked(result[0]) if score > 0]

    # -------------------------------------------------------------- reading

    def fetch(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows by id, with the keys the local chunk store gives (``start``/``end`` for the span)."""
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        out: dict[int, dict[str, Any]] = {}
        for first in range(0, len(unique), _LOOKUP_BATCH):
            part = unique[first : first + _LOOKUP_BATCH]
            for row in call(
                self.location,
                self._client.get,
                self.location.collection,
                ids=part,
                output_fields=list(_CHUNK_FIELDS),
            ):
                record = {k: row[k] for k in _CHUNK_FIELDS}
                record["start"], record["end"] = record.pop("span_start"), record.pop("span_end")
                out[int(record["chunk_id"])] = record
        return out

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The stored dense vectors of chunks by id, in the order asked; an unknown id is an InputError."""
        ids = [int(i) for i in chunk_ids]
        found: dict[int, list[float]] = {}
        for first in range(0, len(ids), _LOOKUP_BATCH):
            part = ids[first : first + _LOOKUP_BATCH]
            rows = call(
                self.location, self._client.get, self.location.collection, ids=part, output_fields=["dense"]
            )
            found.update({int(r["chunk_id"]): r["dense"] for r in rows})
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no chunk {missing[0]} in {self.location}")
        return np.asarray([found[i] for i in ids], dtype=np.float32).reshape(len(ids), -1)

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, by document id and reading order."""
        rows = list(self._iterate(self.location.collection, list(_CHUNK_FIELDS)))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            yield Chunk(
                chunk_id=int(r["chunk_id"]),
                doc_id=r["doc_id"],
                ordinal=r["ordinal"],
                text=r["text"],
                start=r["span_start"],
                end=r["span_end"],
                paragraph=r["paragraph"],
                piece=r["piece"],
                pieces=r["pieces"],
                n_tokens=r["n_tokens"],
                title=r["title"],
            )

    def content_hashes(self) -> dict[str, str]:
        """Document id → content hash, to tell unchanged documents from changed ones."""
        return {
            r["doc_id"]: r["content_hash"]
            for r in self._iterate(self.location.docs_collection, ["doc_id", "content_hash"])
        }

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        return sorted(self.content_hashes())

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """One document's stored record, as the local chunk store gives it, or None."""
        from .clean import Dropped

        rows = call(
            self.location,
            self._client.get,
            self.location.docs_collection,
            ids=[doc_id],
            output_fields=[
                "doc_id",
                "title",
                "title_source",
                "source",
                "encoding",
                "content_hash",
                "raw_text",
                "clean_text",
                "metadata",
                "dropped",
            ],
        )
        if not rows:
            return None
        record = {k: v for k, v in dict(rows[0]).items() if k != "_placeholder"}
        record["dropped"] = [Dropped(*d) for d in record["dropped"]]
        return record

    def counts(self) -> dict[str, int]:
        """Documents, chunks and tokens stored."""
        docs = list(self._iterate(self.location.docs_collection, ["doc_id", "tokens"]))
        return {
            "documents": len(docs),
            "chunks": self.stats.chunks,
            "tokens": int(sum(int(r["tokens"]) for r in docs)),
        }

    # -------------------------------------------------------------- helpers

    def _term_rows(self, terms: set[str]) -> dict[str, TermRow]:
        found: dict[str, TermRow] = {}
        wanted = sorted(terms)
        for first in range(0, len(wanted), _LOOKUP_BATCH):
            part = wanted[first : first + _LOOKUP_BATCH]
            for row in call(
                self.location,
                self._client.get,
                self.location.terms_collection,
                ids=part,
                output_fields=["term", "term_id", "df"],
            ):
                found[row["term"]] = TermRow(int(row["term_id"]), int(row["df"]))
        return found

    def _upsert_terms(self, rows: list[dict[str, Any]]) -> None:
        for first in range(0, len(rows), WRITE_BATCH * 4):
            call(
                self.location,
                self._client.upsert,
                self.location.terms_collection,
                rows[first : first + WRITE_BATCH * 4],
            )

    def _write_stats(self) -> None:
        call(
            self.location,
            self._client.alter_collection_properties,
            self.location.collection,
            properties={STATS_PROPERTY: _dumps({**self.stats.to_dict(), "next_term": self._next_term})},
        )

    def _query(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        return list(
            call(
                self.location,
                self._client.query,
                collection,
                filter=filter,
                output_fields=fields,
                limit=MAX_LIMIT,
            )
        )

    def _iterate(self, collection: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        # pymilvus's iterator asks the server for a timestamp milvus-lite does not implement: it falls
        # back to the client's clock, and both sides log that at every call; it is not an error here.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        iterator = call(
            self.location,
            self._client.query_iterator,
            collection,
            batch_size=1000,
            filter="",
            output_fields=fields,
        )
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    return
                yield from (dict(row) for row in batch)
        finally:
            iterator.close()


def _parts(entry: Any) -> tuple[Any, Any, str, str, Sequence[Chunk]]:
    """A prepared document as (document, cleaned, title, title source, chunks), from a record or a tuple."""
    if hasattr(entry, "document"):
        return entry.document, entry.clean, entry.title, entry.title_source, entry.chunks
    return tuple(entry)  # type: ignore[return-value]


def _ranked(hits: Any) -> list[tuple[int, float]]:
    pairs = [(int(h["chunk_id"] if "chunk_id" in h else h["id"]), float(h["distance"])) for h in hits]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return pairs


def _sparse_keys(vector: Any) -> list[int]:
    if isinstance(vector, dict):
        return [int(k) for k in vector]
    return [int(k) for k in getattr(vector, "indices", [])]


def _literal(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _loads(value: str | None, location: MilvusLocation, what: str) -> dict[str, Any]:
    try:
        data = json.loads(value) if value is not None else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise IndexCorruptError(
            f"{location}: the collection's {what} is missing or unreadable; rebuild the index"
        )
    return data


def _jsonable(metadata: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(metadata), ensure_ascii=False, default=str))


def _check_text_size(doc_id: str, what: str, text: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise InputError(
            f"document {doc_id!r}: its {what} is {size} bytes, more than Milvus stores in one field "
            f"({MAX_TEXT_BYTES}); split the article into parts or use a local index"
        )
