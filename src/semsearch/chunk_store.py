"""The chunk store: documents and chunks in SQLite, in memory while building, a read-only file once saved.

Rows come out as typed records (:class:`~semsearch.records.ChunkRow`, :class:`~semsearch.records.StoredDocument`),
addressed by chunk id or document id. :mod:`semsearch.index_dir` decides where the file goes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .clean import Dropped
from .errors import IndexCorruptError
from .manifest import Counts
from .records import Chunk, ChunkRow, Document, PreparedDocument, StoredDocument

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    title_source TEXT NOT NULL,
    source TEXT NOT NULL,
    encoding TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    clean_text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    dropped TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    piece INTEGER NOT NULL,
    pieces INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ordinal);
"""
# Near-duplicate bookkeeping (semsearch.dedup); a store saved before it has neither table.
_DEDUP_SCHEMA = """
CREATE TABLE IF NOT EXISTS duplicates (
    doc_id TEXT PRIMARY KEY,
    of_doc_id TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    similarity REAL NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS duplicates_by_kept ON duplicates(of_doc_id);
CREATE TABLE IF NOT EXISTS signatures (
    doc_id TEXT PRIMARY KEY,
    minhash BLOB NOT NULL,
    numbers TEXT NOT NULL
);
"""
_DOCUMENT_COLUMNS = (
    "doc_id, title, title_source, source, encoding, content_hash, raw_text, clean_text, metadata, dropped"
)
_CHUNK_COLUMNS = (
    'c.chunk_id, c.doc_id, c.ordinal, c.paragraph, c.piece, c.pieces, c.start, c."end", c.n_tokens, c.text'
)
# What a saved store may hold, and nothing else (no triggers, views or other tables: a store from
# elsewhere must not change what a delete or a read does).
_OBJECTS = {
    ("table", "documents"),
    ("table", "chunks"),
    ("index", "chunks_by_doc"),
    ("index", "sqlite_autoindex_documents_1"),
}
# The de-duplication tables (issue 15): present in stores written since, absent in older ones.
_OPTIONAL_OBJECTS = {
    "duplicates",
    "duplicates_by_kept",
    "signatures",
    "sqlite_autoindex_duplicates_1",
    "sqlite_autoindex_signatures_1",
}
_COLUMNS = {
    "documents": [(name, "TEXT") for name in _DOCUMENT_COLUMNS.split(", ")],
    "chunks": [
        ("chunk_id", "INTEGER"),
        ("doc_id", "TEXT"),
        *(
            (name, "INTEGER")
            for name in ("ordinal", "paragraph", "piece", "pieces", "start", "end", "n_tokens")
        ),
        ("text", "TEXT"),
    ],
}
# Rows whose values are not of their column's type (typeof reads only the record headers).
_BAD_VALUES = {
    table: " OR ".join(f"typeof(\"{name}\") != '{kind.lower()}'" for name, kind in columns)
    for table, columns in _COLUMNS.items()
}


class ChunkStore:
    """Documents and chunks in SQLite: in memory while building, a read-only file once saved.

    A loaded store is never written in place: the first change copies it into memory, and
    :meth:`save_to` writes a new file. One connection, guarded by a lock, serves all threads.
    """

    def __init__(self, conn: sqlite3.Connection, *, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def new(cls) -> ChunkStore:
        """An empty in-memory store."""
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.executescript(_SCHEMA + _DEDUP_SCHEMA)
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
            problem = _schema_problem(conn)
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
            memory.executescript(_DEDUP_SCHEMA)
            self._conn, self.path = memory, None
        return self._conn

    def add(self, prepared: PreparedDocument) -> None:
        """Store a document with its cleaned text, the cleaner's drops and its chunks."""
        doc, clean, chunks = prepared.document, prepared.clean, prepared.chunks
        with self._lock:
            conn = self._writable()
            with conn:
                conn.execute(
                    "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        doc.doc_id,
                        prepared.title,
                        prepared.title_source,
                        doc.source,
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
                        for c in chunks
                    ],
                )

    def remove(self, doc_ids: Iterable[str]) -> list[int]:
        """Delete documents and their chunks; returns the chunk ids removed."""
        ids = list(doc_ids)
        removed: list[int] = []
        with self._reading():
            conn = self._writable()
            with conn:
                for doc_id in ids:
                    removed += [
                        r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
                    ]
                    conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM signatures WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM duplicates WHERE doc_id = ? OR of_doc_id = ?", (doc_id, doc_id))
        return removed

    def chunk_ids(self) -> np.ndarray:
        """Every chunk id, ascending (to cross-check the vectors and the lexical side at load)."""
        with self._reading() as conn:
            ids = [r[0] for r in conn.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]
        return np.asarray(ids, dtype=np.int64)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows with their document's title and source, by chunk id (unknown ids are left out)."""
        out: dict[int, ChunkRow] = {}
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        with self._reading() as conn:
            for first in range(0, len(unique), 500):
                part = unique[first : first + 500]
                marks = ",".join("?" * len(part))
                cursor = conn.execute(
                    f"SELECT {_CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c "
                    f"JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})",
                    part,
                )
                for row in cursor:
                    out[row[0]] = ChunkRow(*row[:-1], metadata=_metadata(row[-1]))  # type: ignore[misc]
        return out

    # ---------------------------------------------------------------- filters, listings, export

    def filter_records(self) -> list[dict[str, Any]]:
        """Each document's fields a filter reads: its metadata plus doc_id, source and title.

        A metadata ``source`` (the publisher, in a feed) is what a filter on ``source`` means; the
        document's own source (its file) answers only when the metadata has none.
        """
        with self._lock:
            rows = self._conn.execute("SELECT doc_id, title, source, metadata FROM documents").fetchall()
        return [
            {"title": title, "source": source, **_metadata(metadata), "doc_id": doc_id}
            for doc_id, title, source, metadata in rows
        ]

    def chunk_ids_by_doc(self) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order."""
        out: dict[str, list[int]] = {}
        with self._lock:
            for doc_id, chunk_id in self._conn.execute(
                "SELECT doc_id, chunk_id FROM chunks ORDER BY doc_id, ordinal"
            ):
                out.setdefault(doc_id, []).append(chunk_id)
        return out

    def document_summaries(self) -> list[dict[str, Any]]:
        """Each document's id, title, source, metadata and chunk count, by id."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT d.doc_id, d.title, d.source, d.metadata, COUNT(c.chunk_id) FROM documents d "
                "LEFT JOIN chunks c USING (doc_id) GROUP BY d.doc_id ORDER BY d.doc_id"
            ).fetchall()
        return [
            {"doc_id": doc_id, "title": title, "source": source, "metadata": _metadata(meta), "chunks": n}
            for doc_id, title, source, meta, n in rows
        ]

    def iter_chunk_rows(self) -> Iterator[dict[str, Any]]:
        """Every chunk with its document's title, source and metadata, in document and reading order."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c "
                "JOIN documents d USING (doc_id) ORDER BY c.doc_id, c.ordinal"
            ).fetchall()
        names = ["chunk_id", "doc_id", "ordinal", "paragraph", "piece", "pieces", "start", "end", "n_tokens"]
        names += ["text", "title", "source", "metadata"]
        for row in rows:
            record = dict(zip(names, row))
            record["metadata"] = _metadata(record["metadata"])
            yield record

    # ---------------------------------------------------------------- near-duplicates

    def _has_dedup(self) -> bool:
        return (
            self._conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN ('duplicates', 'signatures')"
            ).fetchone()[0]
            == 2
        )

    def add_signature(self, doc_id: str, minhash: bytes, numbers: Sequence[str]) -> None:
        """Keep a kept document's MinHash and numbers, so a later add can find its duplicates."""
        with self._lock:
            conn = self._writable()
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO signatures VALUES (?, ?, ?)",
                    (doc_id, minhash, json.dumps(sorted(numbers), ensure_ascii=False)),
                )

    def signatures(self) -> Iterator[tuple[str, bytes, list[str]]]:
        """Every kept document's (id, MinHash bytes, numbers); none for a store saved before dedup."""
        with self._lock:
            rows = (
                self._conn.execute("SELECT doc_id, minhash, numbers FROM signatures").fetchall()
                if self._has_dedup()
                else []
            )
        for doc_id, minhash, numbers in rows:
            yield doc_id, minhash, json.loads(numbers)

    def add_duplicate(self, doc: Document, of_doc_id: str, similarity: float) -> None:
        """Record ``doc`` as a duplicate of the stored document ``of_doc_id`` (it is not indexed itself)."""
        with self._lock:
            conn = self._writable()
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO duplicates VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        doc.doc_id,
                        of_doc_id,
                        doc.source,
                        doc.title,
                        similarity,
                        json.dumps(dict(doc.metadata), ensure_ascii=False, default=str),
                    ),
                )

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Kept document id → the duplicates recorded for it (doc_id, source, title, similarity, date)."""
        wanted = list(dict.fromkeys(doc_ids))
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            if not wanted or not self._has_dedup():
                return out
            for first in range(0, len(wanted), 500):
                part = wanted[first : first + 500]
                marks = ",".join("?" * len(part))
                for row in self._conn.execute(
                    f"SELECT doc_id, of_doc_id, source, title, similarity, metadata FROM duplicates "
                    f"WHERE of_doc_id IN ({marks}) ORDER BY of_doc_id, doc_id",
                    part,
                ):
                    entry = {"doc_id": row[0], "source": row[2], "title": row[3], "similarity": row[4]}
                    date = _metadata(row[5]).get("date")
                    if date is not None:
                        entry["date"] = date
                    out.setdefault(row[1], []).append(entry)
        return out

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk, by chunk id."""
        out: dict[int, str] = {}
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        with self._reading() as conn:
            for first in range(0, len(unique), 500):
                part = unique[first : first + 500]
                marks = ",".join("?" * len(part))
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
                f"SELECT {_CHUNK_COLUMNS}, d.title FROM chunks c JOIN documents d USING (doc_id) "
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
                f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
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
            ids = list(dict.fromkeys(doc_ids))
            found: dict[str, str] = {}
            for first in range(0, len(ids), 500):
                part = ids[first : first + 500]
                marks = ",".join("?" * len(part))
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


def _metadata(raw: str) -> dict[str, Any]:
    """A document's stored metadata (a JSON object); anything else reads as no metadata."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    """What makes ``conn``'s database other than a chunk store semsearch wrote, or None."""
    objects = {(kind, name) for kind, name in conn.execute("SELECT type, name FROM sqlite_master") if name}
    optional = {(k, n) for k, n in objects - _OBJECTS if n in _OPTIONAL_OBJECTS and k in ("table", "index")}
    objects -= optional
    if objects != _OBJECTS:
        extra = sorted(f"{k} {n}" for k, n in objects - _OBJECTS)
        missing = sorted(f"{k} {n}" for k, n in _OBJECTS - objects)
        return f"unexpected schema (extra: {', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'})"
    for table, columns in _COLUMNS.items():
        found = [(row[1], str(row[2]).upper()) for row in conn.execute(f"PRAGMA table_info({table})")]
        if found != columns:
            return f"table {table} has columns {found}, not {columns}"
        bad = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {_BAD_VALUES[table]}").fetchone()[0]
        if bad:
            return f"{bad} rows of {table} hold values of the wrong type"
    orphans = conn.execute(
        "SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
    ).fetchone()[0]
    if orphans:
        return f"{orphans} chunks belong to no stored document"
    return None
