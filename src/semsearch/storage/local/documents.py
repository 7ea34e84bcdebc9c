"""The chunk store: documents and chunks in SQLite, in memory while building, a read-only file once saved.

Rows come out as typed records (:class:`~semsearch.records.ChunkRow`, :class:`~semsearch.records.StoredDocument`),
addressed by chunk id or document id. :mod:`semsearch.storage.local.directory` decides where the file goes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from semsearch.errors import IndexCorruptError
from semsearch.filters import Filter
from semsearch.records import (
    Chunk,
    ChunkRow,
    Counts,
    DocumentSummary,
    Dropped,
    DuplicateRecord,
    Fingerprint,
    PreparedDocument,
    StoredDocument,
    ValueCounts,
    WriteBatch,
)
from semsearch.storage.local.document_schema import (
    CHUNK_COLUMNS,
    DEDUP_SCHEMA,
    DOCUMENT_COLUMNS,
    SCHEMA,
    schema_problem,
)
from semsearch.storage.selection import FilterTable

T = TypeVar("T")


class ChunkStore:
    """Documents and chunks in SQLite: in memory while building, a read-only file once saved.

    A loaded store is never written in place: the first change copies it into memory, and
    :meth:`save_to` writes a new file. One connection, guarded by a lock, serves all threads.
    """

    def __init__(self, conn: sqlite3.Connection, *, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self._filters: FilterTable | None = None  # read on the first filtered search, dropped by a change

    @classmethod
    def new(cls) -> ChunkStore:
        """An empty in-memory store."""
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.executescript(SCHEMA + DEDUP_SCHEMA)
        return cls(conn)

    @classmethod
    def open(cls, path: Path) -> ChunkStore:
        """Open a saved store read-only; raises IndexCorruptError unless it is exactly a chunk store.

        Checked: the schema (tables, columns and their types; no triggers or views), every value's
        type, and that every chunk belongs to a stored document.
        """
        conn = None
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            problem = schema_problem(conn)
        except sqlite3.DatabaseError as exc:
            problem = f"it is not a readable SQLite database ({exc})"
        if problem is not None:
            if conn is not None:
                conn.close()
            raise IndexCorruptError(f"{path} is not a sound chunk store: {problem}; rebuild the index")
        assert conn is not None  # connect() either returned or raised, and a failure raised above
        return cls(conn, path=path)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a damaged file's SQLite errors become IndexCorruptError."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                where = self.path or "the chunk store"
                raise IndexCorruptError(f"{where} is damaged ({exc}); rebuild the index") from None

    def _writable(self) -> sqlite3.Connection:
        """Copy a file-backed store into memory before its first change."""
        if self.path is not None:
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            with self._reading() as conn:
                conn.backup(memory)
            self._conn.close()
            memory.executescript(DEDUP_SCHEMA)
            self._conn, self.path = memory, None
        return self._conn

    def apply(self, batch: WriteBatch) -> list[int]:
        """Remove, then store, the batch's documents in one transaction; the chunk ids removed.

        A failure rolls the whole batch back (the store is as before).
        """
        removed: list[int] = []
        self._filters = None
        with self._reading():
            conn = self._writable()
            with conn:
                for doc_id in dict.fromkeys(batch.removed):
                    removed += [
                        r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
                    ]
                    conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM signatures WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM duplicates WHERE doc_id = ? OR of_doc_id = ?", (doc_id, doc_id))
                for prepared in batch.documents:
                    _insert(conn, prepared)
                conn.executemany(
                    "INSERT OR REPLACE INTO signatures VALUES (?, ?, ?)",
                    [
                        (f.doc_id, f.minhash, json.dumps(sorted(f.numbers), ensure_ascii=False))
                        for f in batch.fingerprints
                    ],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO duplicates VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            d.document.doc_id,
                            d.of,
                            d.document.origin,
                            d.document.title,
                            d.similarity,
                            json.dumps(dict(d.document.metadata), ensure_ascii=False, default=str),
                        )
                        for d in batch.duplicates
                    ],
                )
        return removed

    def chunk_ids(self) -> np.ndarray:
        """Every chunk id, ascending (to cross-check the vectors and the lexical side at load)."""
        with self._reading() as conn:
            ids = [r[0] for r in conn.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]
        return np.asarray(ids, dtype=np.int64)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows with their document's title and source, by chunk id (unknown ids are left out)."""
        out: dict[int, ChunkRow] = {}
        with self._reading() as conn:
            for part, marks in _batches(int(i) for i in chunk_ids):
                cursor = conn.execute(
                    f"SELECT {CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c "
                    f"JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})",
                    part,
                )
                for row in cursor:
                    out[row[0]] = ChunkRow(*row[:-1], metadata=_metadata(row[-1], self.path))  # type: ignore[misc]
        return out

    # ---------------------------------------------------------------- filters, listings, export

    def summaries(self) -> list[DocumentSummary]:
        """Every document's id, title, source, metadata and chunk count, by id (listings and filters)."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT d.doc_id, d.title, d.source, d.metadata, COUNT(c.chunk_id) FROM documents d "
                "LEFT JOIN chunks c USING (doc_id) GROUP BY d.doc_id ORDER BY d.doc_id"
            ).fetchall()
        return [
            DocumentSummary(doc_id, title, source, _metadata(meta, self.path), n)
            for doc_id, title, source, meta, n in rows
        ]

    def chunk_ids_by_doc(self, doc_ids: Iterable[str] | None = None) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order (of ``doc_ids`` only, when given)."""
        out: dict[str, list[int]] = {}
        with self._reading() as conn:
            if doc_ids is None:
                rows = conn.execute("SELECT doc_id, chunk_id FROM chunks ORDER BY doc_id, ordinal").fetchall()
            else:
                rows = []
                for part, marks in _batches(doc_ids):
                    rows += conn.execute(
                        f"SELECT doc_id, chunk_id FROM chunks WHERE doc_id IN ({marks}) ORDER BY doc_id, ordinal",
                        part,
                    ).fetchall()
        for doc_id, chunk_id in rows:
            out.setdefault(doc_id, []).append(chunk_id)
        return out

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c "
                "JOIN documents d USING (doc_id) ORDER BY c.doc_id, c.ordinal"
            ).fetchall()
        for row in rows:
            yield ChunkRow(*row[:-1], metadata=_metadata(row[-1], self.path))  # type: ignore[misc]

    def _table(self) -> FilterTable:
        table = self._filters
        if table is None:
            table = self._filters = FilterTable(self)
        return table

    def select(self, condition: Filter) -> np.ndarray:
        """The sorted chunk ids of the documents ``condition`` matches."""
        return self._table().allowed(condition)

    def origins(self) -> dict[str, str]:
        """Document id → the file it came from."""
        with self._reading() as conn:
            return dict(conn.execute("SELECT doc_id, source FROM documents").fetchall())

    def metadata_keys(self) -> set[str]:
        """Every metadata key some document has."""
        return self._table().keys()

    def count_values(self, key: str, condition: Filter | None = None) -> ValueCounts:
        """How many documents (those ``condition`` matches) hold each value of ``key``."""
        return self._table().count(key, condition)

    # ---------------------------------------------------------------- near-duplicates

    def _has_dedup(self) -> bool:
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN ('duplicates', 'signatures')"
        return bool(self._conn.execute(sql).fetchone()[0] == 2)

    def similar_signatures(self, keys: Sequence[str]) -> None:
        """None: no LSH band keys are kept here (a change reads every signature once; BM25 is O(N) anyway)."""

    def signatures(self) -> Iterator[Fingerprint]:
        """Every kept document's near-duplicate signature; none for a store saved before dedup."""
        with self._reading() as conn:
            rows = (
                conn.execute("SELECT doc_id, minhash, numbers FROM signatures").fetchall()
                if self._has_dedup()
                else []
            )
        for doc_id, minhash, numbers in rows:
            yield Fingerprint(doc_id, minhash, json.loads(numbers))

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        wanted = list(dict.fromkeys(doc_ids))
        out: dict[str, list[DuplicateRecord]] = {}
        with self._reading() as conn:
            if not wanted or not self._has_dedup():
                return out
            for part, marks in _batches(wanted):
                for row in conn.execute(
                    f"SELECT doc_id, of_doc_id, source, title, similarity, metadata FROM duplicates "
                    f"WHERE of_doc_id IN ({marks}) ORDER BY of_doc_id, doc_id",
                    part,
                ):
                    record = DuplicateRecord(
                        row[0], row[1], row[2], row[3], row[4], _metadata(row[5], self.path)
                    )
                    out.setdefault(record.of_doc_id, []).append(record)
        return out

    def duplicate_ids(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` recorded as near-duplicates (folded into a kept document)."""
        wanted = list(dict.fromkeys(doc_ids))
        found: set[str] = set()
        with self._reading() as conn:
            if not wanted or not self._has_dedup():
                return found
            for part, marks in _batches(wanted):
                found.update(
                    d
                    for (d,) in conn.execute(f"SELECT doc_id FROM duplicates WHERE doc_id IN ({marks})", part)
                )
        return found

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk, by chunk id."""
        out: dict[int, str] = {}
        with self._reading() as conn:
            for part, marks in _batches(int(i) for i in chunk_ids):
                out.update(
                    conn.execute(
                        f"SELECT chunk_id, doc_id FROM chunks WHERE chunk_id IN ({marks})", part
                    ).fetchall()
                )
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in document and reading order."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {CHUNK_COLUMNS}, d.title FROM chunks c JOIN documents d USING (doc_id) "
                "ORDER BY c.doc_id, c.ordinal"
            ).fetchall()
        for row in rows:
            yield Chunk(
                chunk_id=row[0],
                doc_id=row[1],
                ordinal=row[2],
                paragraph=row[3],
                piece=row[4],
                pieces=row[5],
                start=row[6],
                end=row[7],
                n_tokens=row[8],
                text=row[9],
                title=row[10],
            )

    def document(self, doc_id: str) -> StoredDocument | None:
        """One document's stored record (raw and cleaned text, drops, metadata), or None."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        *fields, metadata, dropped = row
        try:
            meta = json.loads(metadata)
            drops = [Dropped(int(d[0]), str(d[1]), str(d[2])) for d in json.loads(dropped)]
            if not isinstance(meta, dict):
                raise ValueError("metadata is not a JSON object")
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            where = self.path or "the chunk store"
            raise IndexCorruptError(
                f"{where}: document {doc_id!r} has damaged metadata or drops ({exc}); rebuild the index"
            ) from None
        return StoredDocument(  # type: ignore[misc]
            *fields, metadata=meta, dropped=drops
        )

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Document id → content hash, to tell unchanged documents from changed ones (of ``doc_ids`` if given)."""
        with self._reading() as conn:
            if doc_ids is None:
                return dict(conn.execute("SELECT doc_id, content_hash FROM documents"))
            found: dict[str, str] = {}
            for part, marks in _batches(doc_ids):
                sql = f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})"
                found.update(conn.execute(sql, part))
            return found

    def counts(self) -> Counts:
        """Documents, chunks and tokens stored."""
        with self._reading() as conn:
            docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks, tokens = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n_tokens), 0) FROM chunks"
            ).fetchone()
            duplicates = (
                self._conn.execute("SELECT COUNT(*) FROM duplicates").fetchone()[0]
                if self._has_dedup()
                else 0
            )
        return Counts(documents=int(docs), chunks=int(chunks), tokens=int(tokens), duplicates=int(duplicates))

    def save_to(self, path: Path) -> None:
        """Write the whole store to a new SQLite file at ``path``."""
        with self._lock:
            target = sqlite3.connect(path)
            try:
                self._conn.backup(target)
            finally:
                target.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def _metadata(raw: str, where: object) -> dict[str, Any]:
    """A document's stored metadata; anything but a JSON object is damage, said as such (never ``{}``).

    Read as no metadata, the document would silently drop out of every filter.
    """
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise IndexCorruptError(
            f"{where or 'the chunk store'}: a document's metadata is not a JSON object; rebuild the index"
        )
    return value


def _batches(ids: Iterable[T], size: int = 500) -> Iterator[tuple[list[T], str]]:
    """The distinct ``ids`` in batches of ``size``, each with its ``?,?,…`` (SQLite caps a query's variables)."""
    unique = list(dict.fromkeys(ids))
    for first in range(0, len(unique), size):
        part = unique[first : first + size]
        yield part, ",".join("?" * len(part))


def _insert(conn: sqlite3.Connection, prepared: PreparedDocument) -> None:
    """Insert a document with its cleaned text, the cleaner's drops and its chunks."""
    doc, clean = prepared.document, prepared.clean
    conn.execute(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            doc.doc_id,
            prepared.title,
            prepared.title_source,
            doc.origin,
            doc.encoding,
            doc.content_hash,
            doc.text,
            clean.text,
            json.dumps(dict(doc.metadata), ensure_ascii=False, default=str),
            json.dumps([[d.line, d.text, d.reason] for d in clean.dropped], ensure_ascii=False),
        ),
    )
    conn.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                c.chunk_id,
                c.doc_id,
                c.ordinal,
                c.paragraph,
                c.piece,
                c.pieces,
                c.start,
                c.end,
                c.n_tokens,
                c.text,
            )
            for c in prepared.chunks
        ],
    )
