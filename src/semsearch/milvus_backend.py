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

import base64
import json
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
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
from .records import Chunk, PreparedDocument
from .split_bm25 import CorpusStats, document_weights, query_weights
from .titles import LEGACY_TITLE_MODE, TitleMode, check_title_mode, indexed_text, title_prefix

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
        totals: dict[str, int] | None = None,
    ) -> None:
        self.location = location
        self.manifest = manifest
        self.stats = stats
        self.analyzer = analyzer
        self._client = client
        self._next_term = next_term
        self._totals = totals or {"documents": 0, "tokens": 0}  # kept up to date: counts() is O(1)
        self.kind = milvus_index_type(manifest["index_type"])

    @property
    def titles(self) -> TitleMode:
        """How titles reach the lexical side (the manifest's chunking record; older indexes: none)."""
        chunking = self.manifest.get("chunking") or {}
        return check_title_mode(chunking.get("titles", LEGACY_TITLE_MODE))

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
        for name in location.collections:
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
        totals: dict[str, int] = {k: int(raw_stats[k]) for k in ("documents", "tokens") if k in raw_stats}
        store = cls(location, client, manifest, stats, int(raw_stats["next_term"]), analyzer, totals or None)
        if len(totals) < 2:  # written before the totals were kept
            docs = list(store._iterate(location.docs_collection, ["doc_id", "tokens"]))
            store._totals = {"documents": len(docs), "tokens": sum(int(r["tokens"]) for r in docs)}
        return store

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    def __len__(self) -> int:
        return self.stats.chunks

    # -------------------------------------------------------------- writing

    def write(
        self,
        prepared: Sequence[PreparedDocument],
        vectors: np.ndarray,
        terms: Sequence[Sequence[str]] | None = None,
        signatures: Mapping[str, tuple[bytes, Sequence[str]]] | None = None,
    ) -> None:
        """Insert prepared documents and their chunks' vectors (and near-duplicate ``signatures`` by doc id).

        A chunk's terms are those of the text it is indexed as (its title in front, as the manifest's
        title mode says; :mod:`semsearch.titles`) unless ``terms`` are given. The rows' BM25 weights
        use the corpus's frozen average length; the terms' document frequencies and the corpus
        statistics are updated, so later queries weigh them in.
        """
        signatures = signatures or {}
        chunks = [(entry, chunk) for entry in prepared for chunk in entry.chunks]
        if len(chunks) != len(vectors):
            raise InputError(f"{len(chunks)} chunks but {len(vectors)} vectors to write")
        if not chunks:
            return
        for entry in prepared:
            _check_text_size(entry.document.doc_id, "raw text", entry.document.text)
            _check_text_size(entry.document.doc_id, "cleaned text", entry.clean.text)
        if terms is None:
            texts = indexed_texts_of([(e.title, e.title_source, e.chunks) for e in prepared], self.titles)
            terms = [self.analyzer.tokens(t) for t in texts]
        term_lists = terms
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
        for (entry, chunk), chunk_terms, vector in zip(chunks, term_lists, vectors):
            doc, title = entry.document, entry.title
            weights = document_weights(chunk_terms, stats)
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
                    "n_terms": len(chunk_terms),
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
                "doc_id": e.document.doc_id,
                "title": e.title,
                "title_source": e.title_source,
                "source": e.document.source,
                "encoding": e.document.encoding,
                "content_hash": e.document.content_hash,
                "raw_text": e.document.text,
                "clean_text": e.clean.text,
                "metadata": _jsonable(e.document.metadata),
                "dropped": [[d.line, d.text, d.reason] for d in e.clean.dropped],
                "chunk_ids": [int(c.chunk_id) for c in e.chunks],
                "tokens": int(sum(c.n_tokens for c in e.chunks)),
                **_signature_fields(signatures.get(e.document.doc_id)),
                "_placeholder": [0.0] * PLACEHOLDER_DIM,
            }
            for e in prepared
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
        self._totals = {
            "documents": self._totals["documents"] + len(doc_rows),
            "tokens": self._totals["tokens"] + sum(int(r["tokens"]) for r in doc_rows),
        }
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
        term_ids = list(df_drop)
        for first in range(0, len(term_ids), _LOOKUP_BATCH):
            some = term_ids[first : first + _LOOKUP_BATCH]
            for row in self._query(
                self.location.terms_collection, f"term_id in {some}", ["term", "term_id", "df"]
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
        docs = []
        for first in range(0, len(ids), _LOOKUP_BATCH):
            docs += call(
                self.location,
                self._client.get,
                self.location.docs_collection,
                ids=ids[first : first + _LOOKUP_BATCH],
                output_fields=["tokens"],
            )
        for first in range(0, len(ids), _LOOKUP_BATCH):
            part = ids[first : first + _LOOKUP_BATCH]
            call(
                self.location,
                self._client.delete,
                self.location.collection,
                filter=f"doc_id in {_literal(part)}",
            )
            call(self.location, self._client.delete, self.location.docs_collection, ids=part)
            literal = _literal(part)
            call(
                self.location,
                self._client.delete,
                self.location.dups_collection,
                filter=f"doc_id in {literal} or of_doc_id in {literal}",
            )
        self._upsert_terms(term_rows)
        self.stats = self.stats.changed([], [int(r["n_terms"]) for r in rows])
        self._totals = {
            "documents": self._totals["documents"] - len(docs),
            "tokens": self._totals["tokens"] - sum(int(r["tokens"]) for r in docs),
        }
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
        sources = {
            r["doc_id"]: r["title_source"]
            for r in self._get(
                self.location.docs_collection, list({r["doc_id"] for r in batch}), ["title_source"]
            )
        }
        titles = self.titles
        term_lists = [
            self.analyzer.tokens(
                indexed_text(
                    row["text"],
                    row["ordinal"],
                    title_prefix(row["title"], sources.get(row["doc_id"], ""), titles),
                    titles,
                )
            )
            for row in batch
        ]
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
        """Chunk rows by id, with the keys the local chunk store gives (``start``/``end`` for the span, the document's metadata)."""
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        out: dict[int, dict[str, Any]] = {}
        for first in range(0, len(unique), _LOOKUP_BATCH):
            part = unique[first : first + _LOOKUP_BATCH]
            for row in call(
                self.location,
                self._client.get,
                self.location.collection,
                ids=part,
                output_fields=[*_CHUNK_FIELDS, "metadata"],
            ):
                record = {k: row[k] for k in _CHUNK_FIELDS}
                record["start"], record["end"] = record.pop("span_start"), record.pop("span_end")
                record["metadata"] = dict(row["metadata"] or {})
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

    def content_hashes(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Document id → content hash (of ``doc_ids`` only, when given: O(those), not O(index))."""
        if doc_ids is not None:
            ids = list(dict.fromkeys(doc_ids))
            found: dict[str, str] = {}
            for first in range(0, len(ids), _LOOKUP_BATCH):
                rows = call(
                    self.location,
                    self._client.get,
                    self.location.docs_collection,
                    ids=ids[first : first + _LOOKUP_BATCH],
                    output_fields=["content_hash"],
                )
                found.update({r["doc_id"]: r["content_hash"] for r in rows})
            return found
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

    def filter_records(self) -> list[dict[str, Any]]:
        """Each document's fields a ``where`` filter reads: metadata plus doc_id, source and title (as locally)."""
        return [
            {"title": r["title"], "source": r["source"], **(r["metadata"] or {}), "doc_id": r["doc_id"]}
            for r in self._iterate(self.location.docs_collection, ["doc_id", "title", "source", "metadata"])
        ]

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        return {
            r["doc_id"]: [int(c) for c in r["chunk_ids"]]
            for r in self._iterate(self.location.docs_collection, ["doc_id", "chunk_ids"])
        }

    def document_summaries(self) -> list[dict[str, Any]]:
        """Each document's id, title, source, metadata and chunk count, by id."""
        fields = ["doc_id", "title", "source", "metadata", "chunk_ids"]
        rows = sorted(self._iterate(self.location.docs_collection, fields), key=lambda r: r["doc_id"])
        return [
            {
                "doc_id": r["doc_id"],
                "title": r["title"],
                "source": r["source"],
                "metadata": dict(r["metadata"] or {}),
                "chunks": len(r["chunk_ids"]),
            }
            for r in rows
        ]

    def iter_chunk_rows(self) -> Iterator[dict[str, Any]]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        rows = list(self._iterate(self.location.collection, [*_CHUNK_FIELDS, "metadata"]))
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        for r in rows:
            record = {k: r[k] for k in (*_CHUNK_FIELDS, "metadata")}
            record["start"], record["end"] = record.pop("span_start"), record.pop("span_end")
            record["metadata"] = dict(record["metadata"] or {})
            yield record

    def signatures(self) -> Iterator[tuple[str, bytes, list[str]]]:
        """Every kept document's (id, MinHash bytes, numbers); none for documents written without one."""
        for r in self._iterate(self.location.docs_collection, ["doc_id", "minhash", "numbers"]):
            if r["minhash"]:
                yield r["doc_id"], base64.b64decode(r["minhash"]), list(r["numbers"] or [])

    def add_duplicate(self, doc: Any, of_doc_id: str, similarity: float) -> None:
        """Record ``doc`` as a duplicate of the stored document ``of_doc_id`` (it is not indexed itself)."""
        row = {
            "doc_id": doc.doc_id,
            "of_doc_id": of_doc_id,
            "source": doc.source,
            "title": doc.title,
            "similarity": float(similarity),
            "metadata": _jsonable(doc.metadata),
            "_placeholder": [0.0] * PLACEHOLDER_DIM,
        }
        call(self.location, self._client.upsert, self.location.dups_collection, [row])

    def duplicates_of(self, doc_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Kept document id → the duplicates recorded for it (doc_id, source, title, similarity, date)."""
        wanted = list(dict.fromkeys(doc_ids))
        found: list[dict[str, Any]] = []
        for first in range(0, len(wanted), _LOOKUP_BATCH):
            part = wanted[first : first + _LOOKUP_BATCH]
            found += self._query(
                self.location.dups_collection,
                f"of_doc_id in {_literal(part)}",
                ["doc_id", "of_doc_id", "source", "title", "similarity", "metadata"],
            )
        out: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(found, key=lambda r: (r["of_doc_id"], r["doc_id"])):
            entry = {
                "doc_id": r["doc_id"],
                "source": r["source"],
                "title": r["title"],
                "similarity": r["similarity"],
            }
            date = (r["metadata"] or {}).get("date")
            if date is not None:
                entry["date"] = date
            out.setdefault(r["of_doc_id"], []).append(entry)
        return out

    def counts(self) -> dict[str, int]:
        """Documents, chunks, tokens and near-duplicates stored (totals kept on write: no scan)."""
        found = call(
            self.location,
            self._client.query,
            self.location.dups_collection,
            filter="",
            output_fields=["count(*)"],
        )
        duplicates = int(found[0]["count(*)"]) if found else 0
        return {**self._totals, "chunks": self.stats.chunks, "duplicates": duplicates}

    # -------------------------------------------------------------- helpers

    def _get(self, collection: str, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), _LOOKUP_BATCH):
            rows += call(
                self.location,
                self._client.get,
                collection,
                ids=list(ids[first : first + _LOOKUP_BATCH]),
                output_fields=fields,
            )
        return rows

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
            properties={
                STATS_PROPERTY: _dumps({**self.stats.to_dict(), "next_term": self._next_term, **self._totals})
            },
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
        # pymilvus's iterator asks milvus-lite for a timestamp it does not implement, and warns.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
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


def indexed_texts_of(documents: Sequence[tuple[str, str, Sequence[Chunk]]], titles: TitleMode) -> list[str]:
    """The text each chunk of ``(title, title source, chunks)`` documents is indexed as (see build.indexed_texts)."""
    texts: list[str] = []
    for title, title_source, chunks in documents:
        prefix = title_prefix(title, title_source, titles)
        texts.extend(indexed_text(c.text, c.ordinal, prefix, titles) for c in chunks)
    return texts


def _signature_fields(signature: tuple[bytes, Sequence[str]] | None) -> dict[str, Any]:
    if signature is None:
        return {"minhash": "", "numbers": []}
    minhash, numbers = signature
    return {"minhash": base64.b64encode(minhash).decode("ascii"), "numbers": sorted(numbers)}


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
