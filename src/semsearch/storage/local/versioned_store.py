"""Documents and chunks of a segmented index in SQLite, written in place and versioned by generation.

Every row carries the generation that added it and the one that removed it (NULL while it lives), so
a reader at generation ``G`` sees exactly the rows with ``gen_added <= G`` and no ``gen_removed <= G``,
whatever a writer has added since: an update writes the new version beside the old one and marks the
old one removed in the same generation. A change is one SQLite transaction; a crash before the
manifest names the new generation leaves rows of a generation no manifest names, which
:meth:`VersionedStore.roll_back` deletes (O(change)). Rows removed by a generation older than the
published one are purged by the next commit, so the file holds what is live plus one generation of
history. Chunks are addressed by ``row``, the number every part of the index shares (vector segments,
BM25), since an updated chunk keeps its chunk id.

Near-duplicate signatures are stored with their LSH band keys (``bands``), so a change looks up only
the candidates of its own documents. Nothing is ever copied into memory: queries read the file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from semsearch.dates import DATE_KEY, normalize_date
from semsearch.errors import (
    IndexChangedError,
    IndexCorruptError,
    IndexLockedError,
    IndexWriteError,
    InputError,
)
from semsearch.filters import Filter, date_range
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
from semsearch.storage.selection import count_values
from semsearch.text.dedup import DedupConfig, band_keys

T = TypeVar("T")
NO_DAY = -1
_EPOCH = _dt.date(1970, 1, 1)
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_key INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    title_source TEXT NOT NULL,
    source TEXT NOT NULL,
    encoding TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    raw_text BLOB,
    clean_text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    dropped TEXT NOT NULL,
    day INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    gen_added INTEGER NOT NULL,
    gen_removed INTEGER
);
CREATE INDEX IF NOT EXISTS documents_by_id ON documents(doc_id, gen_added);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY,
    chunk_id INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    piece INTEGER NOT NULL,
    pieces INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL,
    gen_added INTEGER NOT NULL,
    gen_removed INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ordinal);
CREATE INDEX IF NOT EXISTS chunks_by_id ON chunks(chunk_id);
CREATE TABLE IF NOT EXISTS signatures (
    doc_id TEXT NOT NULL,
    minhash BLOB NOT NULL,
    numbers TEXT NOT NULL,
    gen_added INTEGER NOT NULL,
    gen_removed INTEGER
);
CREATE INDEX IF NOT EXISTS signatures_by_id ON signatures(doc_id);
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    gen_added INTEGER NOT NULL,
    gen_removed INTEGER
);
CREATE INDEX IF NOT EXISTS bands_by_key ON bands(key);
CREATE INDEX IF NOT EXISTS bands_by_doc ON bands(doc_id);
CREATE TABLE IF NOT EXISTS duplicates (
    doc_id TEXT NOT NULL,
    of_doc_id TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    similarity REAL NOT NULL,
    metadata TEXT NOT NULL,
    gen_added INTEGER NOT NULL,
    gen_removed INTEGER
);
CREATE INDEX IF NOT EXISTS duplicates_by_kept ON duplicates(of_doc_id);
CREATE INDEX IF NOT EXISTS duplicates_by_id ON duplicates(doc_id);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY,
    documents INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    duplicates INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS purged (
    through INTEGER NOT NULL
);
"""
TABLES = ("documents", "chunks", "signatures", "bands", "duplicates")
# Each table's rows by the generation that added or removed them: a roll-back, a purge and a reader's
# list of removed rows touch only those rows.
SCHEMA += "".join(
    f"CREATE INDEX IF NOT EXISTS {table}_added ON {table}(gen_added);\n"
    f"CREATE INDEX IF NOT EXISTS {table}_removed ON {table}(gen_removed) WHERE gen_removed IS NOT NULL;\n"
    for table in TABLES
)
# A chunk's text is not stored: it is its document's clean text from ``start`` to ``end`` (characters),
# as chunk_document promises; storing it again took a third of the store.
CHUNK_COLUMNS = (
    'c.chunk_id, c.doc_id, c.ordinal, c.paragraph, c.piece, c.pieces, c.start, c."end", c.n_tokens, '
    'substr(d.clean_text, c.start + 1, c."end" - c.start)'
)
DOCUMENT_COLUMNS = (
    "doc_id, title, title_source, source, encoding, content_hash, raw_text, clean_text, metadata, dropped"
)


def day_of(metadata: Any) -> int:
    """The document's ``date`` as days since 1970-01-01, or :data:`NO_DAY`."""
    value = metadata.get(DATE_KEY) if isinstance(metadata, dict) else None
    day = normalize_date(value) if value is not None else None
    if day is None:
        return NO_DAY
    return (_dt.date.fromisoformat(day) - _EPOCH).days


def day_number(day: str) -> int:
    """A ``YYYY-MM-DD`` day as days since 1970-01-01."""
    return (_dt.date.fromisoformat(day) - _EPOCH).days


class VersionedStore:
    """One SQLite file of documents, chunks, signatures and duplicates, read at a generation.

    ``view`` is the generation reads see (the published one, or the one this process is writing).
    One connection serves all threads, guarded by a lock (SQLite releases the GIL while it works).
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        view: int,
        dedup: DedupConfig | None,
        *,
        writable: bool = False,
    ) -> None:
        self.path = path
        self.view = view
        self.writable = writable
        self._conn = conn
        self._lock = threading.RLock()
        self._dedup = dedup
        self.selector: Callable[[Filter], Any] | None = None  # the engine's filter evaluation (select)
        self._keys: tuple[int, frozenset[str]] | None = None  # metadata keys, as of a generation

    def select(self, condition: Filter) -> Any:
        """The chunks of the documents ``condition`` matches, as the engine searches them (its selector)."""
        if self.selector is None:
            raise InputError("this document store has no engine to evaluate filters with")
        return self.selector(condition)

    # -------------------------------------------------------------- opening

    @classmethod
    def create(cls, path: Path, dedup: DedupConfig | None) -> VersionedStore:
        """A new, empty store at ``path`` (which must not exist)."""
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO purged VALUES (0)")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return cls(path, conn, 0, dedup, writable=True)

    @classmethod
    def open(cls, path: Path, view: int, dedup: DedupConfig | None, *, writable: bool) -> VersionedStore:
        """Open the store at generation ``view``; IndexCorruptError unless it is a store semsearch wrote.

        Opening reads the schema only (no row is read: a full check is :meth:`verify`'s job).
        """
        try:
            return cls._open(path, view, dedup, writable=writable)
        except IndexWriteError:
            if writable:
                raise
        # A writer killed mid-transaction left SQLite's journal: undoing it takes write access (SQLite
        # does it on open; the reader itself never writes a row).
        try:
            store = cls._open(path, view, dedup, writable=True)
        except IndexWriteError as exc:
            raise IndexWriteError(
                f"{path}: a writer stopped half-way through a change, and undoing it needs write access "
                f"({exc}); open the index once where it is writable"
            ) from None
        store.writable = False
        return store

    @classmethod
    def _open(cls, path: Path, view: int, dedup: DedupConfig | None, *, writable: bool) -> VersionedStore:
        conn = None
        try:
            uri = f"file:{path}?mode={'rw' if writable else 'ro'}"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
            problem = _schema_problem(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if _code(exc) in _NOT_DAMAGE:
                raise IndexWriteError(
                    f"cannot open {path} for {'writing' if writable else 'reading'} ({exc}); "
                    "check the folder's permissions and free space"
                ) from None
            conn, problem = None, f"it is not a readable SQLite database ({exc})"
        except UnicodeDecodeError:  # damage in the schema's pages: a name that is not UTF-8 (closed below)
            problem = "its schema holds text that is not UTF-8"
        if problem is not None:
            if conn is not None:
                conn.close()
            raise IndexCorruptError(
                f"{path} is not a sound document store: {problem}; run `semsearch verify`"
            )
        assert conn is not None  # connect() either returned or raised, and a failure raised above
        if writable:
            conn.execute("PRAGMA synchronous=FULL")
        return cls(path, conn, view, dedup, writable=writable)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                code = _code(exc)
                if code in _NOT_DAMAGE and self.writable:
                    raise  # disk full, read-only, I/O: a write failure, said as one by the engine
                if code == _READONLY:  # a hot journal appeared: a writer died mid-change
                    raise IndexChangedError(
                        f"{self.path}: a writer stopped half-way through a change; load the index again"
                    ) from None
                if code in (_BUSY, _LOCKED):
                    raise IndexLockedError(
                        f"{self.path} is held by a writer for longer than 10 s; try again"
                    ) from None
                raise IndexCorruptError(f"{self.path} is damaged ({exc}); run `semsearch verify`") from None

    def _visible(self, alias: str = "") -> str:
        """The SQL condition of a row visible at the view generation."""
        p = f"{alias}." if alias else ""
        return f"({p}gen_added <= {int(self.view)} AND ({p}gen_removed IS NULL OR {p}gen_removed > {int(self.view)}))"

    # -------------------------------------------------------------- writing

    def apply(
        self, batch: WriteBatch, generation: int, first_row: int
    ) -> tuple[list[int], list[int], list[int]]:
        """Apply a change as generation ``generation``, in one transaction.

        Returns (rows removed, their chunk ids, rows added: ``first_row`` onwards, one per chunk of the
        batch in order). A failure rolls the transaction back (the store is as before).
        """
        removed_rows: list[int] = []
        removed_ids: list[int] = []
        delta = {"documents": 0, "chunks": 0, "tokens": 0, "duplicates": 0}
        with self._reading() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                visible = self._visible()
                for doc_id in dict.fromkeys(batch.removed):
                    for row, chunk_id in conn.execute(
                        f"SELECT row, chunk_id FROM chunks WHERE doc_id = ? AND {visible}", (doc_id,)
                    ):
                        removed_rows.append(row)
                        removed_ids.append(chunk_id)
                    for (tokens,) in conn.execute(
                        f"SELECT tokens FROM documents WHERE doc_id = ? AND {visible}", (doc_id,)
                    ):
                        delta["documents"] -= 1
                        delta["tokens"] -= int(tokens)
                    for table in ("chunks", "documents", "signatures", "bands"):
                        conn.execute(
                            f"UPDATE {table} SET gen_removed = ? WHERE doc_id = ? AND {visible}",
                            (generation, doc_id),
                        )
                    delta["duplicates"] -= conn.execute(
                        f"UPDATE duplicates SET gen_removed = ? WHERE (doc_id = ? OR of_doc_id = ?) AND {visible}",
                        (generation, doc_id, doc_id),
                    ).rowcount
                delta["chunks"] -= len(removed_rows)
                row = first_row
                added: list[int] = []
                for prepared in batch.documents:
                    self._insert(conn, prepared, generation)
                    delta["documents"] += 1
                    delta["tokens"] += sum(c.n_tokens for c in prepared.chunks)
                    for chunk in prepared.chunks:
                        conn.execute(
                            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                            (
                                row,
                                chunk.chunk_id,
                                chunk.doc_id,
                                chunk.ordinal,
                                chunk.paragraph,
                                chunk.piece,
                                chunk.pieces,
                                chunk.start,
                                chunk.end,
                                chunk.n_tokens,
                                generation,
                            ),
                        )
                        added.append(row)
                        row += 1
                for found in batch.fingerprints:
                    conn.execute(
                        "INSERT INTO signatures VALUES (?, ?, ?, ?, NULL)",
                        (
                            found.doc_id,
                            pack_minhash(found.minhash),
                            json.dumps(sorted(found.numbers), ensure_ascii=False),
                            generation,
                        ),
                    )
                    if self._dedup is not None:
                        conn.executemany(
                            "INSERT INTO bands VALUES (?, ?, ?, NULL)",
                            [
                                (band_number(key), found.doc_id, generation)
                                for key in band_keys(found.minhash, self._dedup)
                            ],
                        )
                for duplicate in batch.duplicates:
                    doc = duplicate.document
                    delta["duplicates"] += (
                        1
                        - conn.execute(
                            f"UPDATE duplicates SET gen_removed = ? WHERE doc_id = ? AND {visible}",
                            (generation, doc.doc_id),
                        ).rowcount
                    )
                    conn.execute(
                        "INSERT INTO duplicates VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                        (
                            doc.doc_id,
                            duplicate.of,
                            doc.origin,
                            doc.title,
                            duplicate.similarity,
                            json.dumps(dict(doc.metadata), ensure_ascii=False, default=str),
                            generation,
                        ),
                    )
                delta["chunks"] += len(added)
                conn.execute(
                    "INSERT INTO generations VALUES (?, ?, ?, ?, ?)",
                    (generation, delta["documents"], delta["chunks"], delta["tokens"], delta["duplicates"]),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed_rows, removed_ids, added

    @staticmethod
    def _insert(conn: sqlite3.Connection, prepared: PreparedDocument, generation: int) -> None:
        doc, clean = prepared.document, prepared.clean
        metadata = dict(doc.metadata)
        conn.execute(
            "INSERT INTO documents (doc_id, title, title_source, source, encoding, content_hash, raw_text, clean_text, "
            "metadata, dropped, day, tokens, gen_added, gen_removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                doc.doc_id,
                prepared.title,
                prepared.title_source,
                doc.origin,
                doc.encoding,
                doc.content_hash,
                pack_raw(doc.text, clean.text),
                clean.text,
                json.dumps(metadata, ensure_ascii=False, default=str),
                json.dumps([[d.line, d.text, d.reason] for d in clean.dropped], ensure_ascii=False),
                day_of(metadata),
                sum(c.n_tokens for c in prepared.chunks),
                generation,
            ),
        )

    def purge(self, through: int) -> list[int]:
        """Delete rows removed at generation ``through`` or before (no reader of a later one needs them).

        Returns the chunk rows purged (their BM25 documents go too).
        """
        with self._reading() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = [
                    r[0] for r in conn.execute("SELECT row FROM chunks WHERE gen_removed <= ?", (through,))
                ]
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE gen_removed <= ?", (through,))
                conn.execute("UPDATE purged SET through = MAX(through, ?)", (through,))
                totals = conn.execute(
                    "SELECT COUNT(*), SUM(documents), SUM(chunks), SUM(tokens), SUM(duplicates) FROM generations "
                    "WHERE generation <= ?",
                    (through,),
                ).fetchone()
                if totals[0] > 1:  # one row holds the published past: counts() sums what is left
                    conn.execute("DELETE FROM generations WHERE generation <= ?", (through,))
                    conn.execute("INSERT INTO generations VALUES (?, ?, ?, ?, ?)", (through, *totals[1:]))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return rows

    def roll_back(self, past: int) -> list[int]:
        """Undo every change of a generation after ``past`` (a writer stopped before publishing it).

        Returns the chunk rows it had added (their vectors and BM25 documents are undone by the caller).
        """
        with self._reading() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = [r[0] for r in conn.execute("SELECT row FROM chunks WHERE gen_added > ?", (past,))]
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE gen_added > ?", (past,))
                    conn.execute(f"UPDATE {table} SET gen_removed = NULL WHERE gen_removed > ?", (past,))
                conn.execute("DELETE FROM generations WHERE generation > ?", (past,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return rows

    def newest_generation(self) -> int:
        """The newest generation a change was written in (0 for an empty store)."""
        with self._reading() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(generation), 0) FROM generations").fetchone()[0])

    def removed_rows(self, view: int, *, after: int = 0) -> np.ndarray:
        """Rows removed by a generation after ``after`` up to ``view`` and not purged yet, sorted."""
        with self._reading() as conn:
            rows = [
                r[0]
                for r in conn.execute(
                    "SELECT row FROM chunks WHERE gen_removed IS NOT NULL AND gen_removed > ? AND gen_removed <= ?",
                    (after, view),
                )
            ]
        return np.asarray(sorted(rows), dtype=np.int64)

    def all_rows(self) -> np.ndarray:
        """Every chunk row stored (any generation), sorted: what BM25 must hold (``verify``)."""
        with self._reading() as conn:
            return np.asarray(
                [r[0] for r in conn.execute("SELECT row FROM chunks ORDER BY row")], dtype=np.int64
            )

    def rows_after(self, view: int) -> np.ndarray:
        """Rows added by a generation after ``view`` (a writer's, not published), sorted."""
        with self._reading() as conn:
            rows = [
                r[0] for r in conn.execute("SELECT row FROM chunks WHERE gen_added > ? ORDER BY row", (view,))
            ]
        return np.asarray(rows, dtype=np.int64)

    def next_row(self) -> int:
        """The row number after every row stored."""
        with self._reading() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(row), -1) + 1 FROM chunks").fetchone()[0])

    # -------------------------------------------------------------- reading (the DocumentStore side)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows with their document's title, source and metadata, by chunk id (unknown ids left out)."""
        out: dict[int, ChunkRow] = {}
        with self._reading() as conn:
            for part, marks in _batches(int(i) for i in chunk_ids):
                cursor = conn.execute(
                    f"SELECT {CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c JOIN documents d "
                    f"ON d.doc_id = c.doc_id AND {self._visible('d')} WHERE c.chunk_id IN ({marks}) AND {self._visible('c')}",
                    part,
                )
                for row in cursor:
                    _typed(row, self.path)
                    out[row[0]] = ChunkRow(*row[:-1], metadata=_metadata(row[-1], self.path))  # type: ignore[misc]
            if len(out) < len(set(chunk_ids)):
                self._check_not_purged(conn)
        return out

    def _check_not_purged(self, conn: sqlite3.Connection) -> None:
        """Rows this view needs are gone: IndexChangedError if a writer purged past the view (not damage)."""
        through = conn.execute("SELECT MAX(through) FROM purged").fetchone()[0] or 0
        if through > self.view:
            raise IndexChangedError(
                f"{self.path.parent} was saved twice by another writer since this index was loaded "
                f"(generation {self.view}); what it removed is gone for good: load the index again"
            )

    def doc_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk, by chunk id."""
        out: dict[int, str] = {}
        with self._reading() as conn:
            for part, marks in _batches(int(i) for i in chunk_ids):
                out.update(
                    conn.execute(
                        f"SELECT chunk_id, doc_id FROM chunks WHERE chunk_id IN ({marks}) AND {self._visible()}",
                        part,
                    ).fetchall()
                )
        return out

    def chunk_ids_of_rows(self, rows: Sequence[int]) -> dict[int, int]:
        """Row → chunk id, for the rows given."""
        out: dict[int, int] = {}
        with self._reading() as conn:
            for part, marks in _batches(int(r) for r in rows):
                out.update(
                    conn.execute(f"SELECT row, chunk_id FROM chunks WHERE row IN ({marks})", part).fetchall()
                )
        return out

    def rows_of_docs(self, doc_ids: Iterable[str]) -> list[int]:
        """The visible chunk rows of the documents given."""
        found: list[int] = []
        with self._reading() as conn:
            for part, marks in _batches(doc_ids):
                found += [
                    r[0]
                    for r in conn.execute(
                        f"SELECT row FROM chunks WHERE doc_id IN ({marks}) AND {self._visible()}", part
                    )
                ]
        return found

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every visible chunk, in document and reading order (read in pages, never all at once)."""
        for row in self._paged(
            f"SELECT {CHUNK_COLUMNS}, d.title FROM chunks c JOIN documents d ON d.doc_id = c.doc_id AND "
            f"{self._visible('d')} WHERE {self._visible('c')}"
        ):
            chunk_id, doc_id, ordinal, paragraph, piece, pieces, start, end, n_tokens, text, title = _typed(
                row, self.path
            )
            yield Chunk(
                chunk_id=chunk_id,
                doc_id=doc_id,
                ordinal=ordinal,
                text=text,
                start=start,
                end=end,
                paragraph=paragraph,
                piece=piece,
                pieces=pieces,
                n_tokens=n_tokens,
                title=title,
            )

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every visible chunk with its document's title, source and metadata, in document and reading order."""
        for row in self._paged(
            f"SELECT {CHUNK_COLUMNS}, d.title, d.source, d.metadata FROM chunks c JOIN documents d "
            f"ON d.doc_id = c.doc_id AND {self._visible('d')} WHERE {self._visible('c')}"
        ):
            _typed(row, self.path)
            yield ChunkRow(*row[:-1], metadata=_metadata(row[-1], self.path))  # type: ignore[misc]

    def _paged(self, select: str, page: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Rows of ``select`` (chunks ``c`` joined with documents) by document id and ordinal, a page at a time."""
        after: tuple[str, int] = ("", -1)
        while True:
            with self._reading() as conn:
                batch = conn.execute(
                    f"{select} AND (c.doc_id, c.ordinal) > (?, ?) ORDER BY c.doc_id, c.ordinal LIMIT {page}",
                    after,
                ).fetchall()
            if not batch:
                return
            yield from batch
            after = (batch[-1][1], batch[-1][2])

    def document(self, doc_id: str) -> StoredDocument | None:
        """One visible document's stored record (raw and cleaned text, drops, metadata), or None."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE doc_id = ? AND {self._visible()}", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        *fields, metadata, dropped = row
        fields[6] = unpack_raw(fields[6], fields[7], self.path)
        try:
            meta = json.loads(metadata)
            drops = [Dropped(int(d[0]), str(d[1]), str(d[2])) for d in json.loads(dropped)]
            if not isinstance(meta, dict):
                raise ValueError("metadata is not a JSON object")
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise IndexCorruptError(
                f"{self.path}: document {doc_id!r} has damaged metadata or drops ({exc}); run `semsearch verify`"
            ) from None
        return StoredDocument(*fields, metadata=meta, dropped=drops)  # type: ignore[misc]

    def doc_ids(self) -> list[str]:
        """All visible document ids, sorted."""
        with self._reading() as conn:
            return [
                r[0]
                for r in conn.execute(f"SELECT doc_id FROM documents WHERE {self._visible()} ORDER BY doc_id")
            ]

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Document id → content hash (of ``doc_ids`` only, when given: O(those))."""
        with self._reading() as conn:
            if doc_ids is None:
                return dict(
                    conn.execute(f"SELECT doc_id, content_hash FROM documents WHERE {self._visible()}")
                )
            found: dict[str, str] = {}
            for part, marks in _batches(doc_ids):
                found.update(
                    conn.execute(
                        f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks}) AND {self._visible()}",
                        part,
                    )
                )
            return found

    def counts(self) -> Counts:
        """Visible documents, chunks, tokens and duplicates (kept per generation: no row is counted)."""
        with self._reading() as conn:
            docs, chunks, tokens, duplicates = conn.execute(
                "SELECT COALESCE(SUM(documents), 0), COALESCE(SUM(chunks), 0), COALESCE(SUM(tokens), 0), "
                "COALESCE(SUM(duplicates), 0) FROM generations WHERE generation <= ?",
                (self.view,),
            ).fetchone()
        return Counts(documents=int(docs), chunks=int(chunks), tokens=int(tokens), duplicates=int(duplicates))

    def summaries(self) -> list[DocumentSummary]:
        """Every visible document's id, title, source, metadata and chunk count, by id."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT d.doc_id, d.title, d.source, d.metadata, "
                f"(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id AND {self._visible('c')}) "
                f"FROM documents d WHERE {self._visible('d')} ORDER BY d.doc_id"
            ).fetchall()
        return [DocumentSummary(d, t, s, _metadata(m, self.path), n) for d, t, s, m, n in rows]

    def chunk_ids_by_doc(self, doc_ids: Iterable[str] | None = None) -> dict[str, list[int]]:
        """Document id → its chunk ids in reading order (of ``doc_ids`` only, when given)."""
        out: dict[str, list[int]] = {}
        with self._reading() as conn:
            if doc_ids is None:
                rows = conn.execute(
                    f"SELECT doc_id, chunk_id FROM chunks WHERE {self._visible()} ORDER BY doc_id, ordinal"
                ).fetchall()
            else:
                rows = []
                for part, marks in _batches(doc_ids):
                    rows += conn.execute(
                        f"SELECT doc_id, chunk_id FROM chunks WHERE doc_id IN ({marks}) AND {self._visible()} "
                        "ORDER BY doc_id, ordinal",
                        part,
                    ).fetchall()
        for doc_id, chunk_id in rows:
            out.setdefault(doc_id, []).append(chunk_id)
        return out

    # -------------------------------------------------------------- questions about all documents (issue 25)

    def origins(self) -> dict[str, str]:
        """Document id → the file it came from (the ``source`` column)."""
        with self._reading() as conn:
            return dict(
                conn.execute(f"SELECT doc_id, source FROM documents WHERE {self._visible()}").fetchall()
            )

    def metadata_keys(self) -> set[str]:
        """Every metadata key a visible document has (SQLite reads the JSON; remembered per generation)."""
        cached = self._keys
        if cached is not None and cached[0] == self.view:
            return set(cached[1])
        with self._reading() as conn:
            keys = {
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT j.key FROM documents d, json_each(d.metadata) j WHERE {self._visible('d')}"
                )
            }
        self._keys = (self.view, frozenset(keys))
        return keys

    def count_values(self, key: str, condition: Filter | None = None) -> ValueCounts:
        """Documents (those ``condition`` matches) per value of ``key``; dates counted by day in SQL.

        Without a filter or with a date range, days come from the ``day`` column (nothing parsed);
        any other filter or key reads each document's fields, as :meth:`matching_docs` does.
        """
        days = None if condition is None else date_range(condition)
        fast = key == DATE_KEY and (condition is None or days is not None) and not self.irregular_dates()
        if not fast:
            return count_values(self._fields(), key, condition)
        low, high = days or (None, None)
        clause = f"{self._visible()} AND day BETWEEN ? AND ?"
        bounds = (day_number(low) if low else -(2**31), day_number(high) if high else 2**31 - 1)
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT day, COUNT(*) FROM documents WHERE {clause} GROUP BY day", bounds
            ).fetchall()
            if days is not None:  # a date filter matches only dated documents
                rows = [(d, n) for d, n in rows if d != NO_DAY]
        counts = {(_EPOCH + _dt.timedelta(days=d)).isoformat(): n for d, n in rows if d != NO_DAY}
        missing = sum(n for d, n in rows if d == NO_DAY)
        return ValueCounts(counts, sum(counts.values()) + missing, missing)

    def _fields(self) -> Iterator[dict[str, Any]]:
        """Every visible document's filter fields (metadata, title, origin, doc_id), read page by page."""
        after = ""
        while True:
            with self._reading() as conn:
                page = conn.execute(
                    f"SELECT doc_id, title, source, metadata FROM documents WHERE doc_id > ? AND {self._visible()} "
                    "ORDER BY doc_id LIMIT 5000",
                    (after,),
                ).fetchall()
            if not page:
                return
            for doc_id, title, source, metadata in page:
                yield DocumentSummary(doc_id, title, source, _metadata(metadata, self.path)).fields()
            after = page[-1][0]

    def signatures(self) -> Iterator[Fingerprint]:
        """Every visible kept document's near-duplicate signature."""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT doc_id, minhash, numbers FROM signatures WHERE {self._visible()}"
            ).fetchall()
        for doc_id, minhash, numbers in rows:
            yield Fingerprint(doc_id, unpack_minhash(minhash), json.loads(numbers))

    def similar_signatures(self, keys: Sequence[str]) -> list[Fingerprint] | None:
        """The kept documents sharing an LSH band key with ``keys``, with their signatures."""
        if self._dedup is None:
            return None
        doc_ids: list[str] = []
        with self._reading() as conn:
            for part, marks in _batches(band_number(k) for k in keys):
                doc_ids += [
                    r[0]
                    for r in conn.execute(
                        f"SELECT DISTINCT doc_id FROM bands WHERE key IN ({marks}) AND {self._visible()}",
                        part,
                    )
                ]
            found: list[Fingerprint] = []
            for doc_part, doc_marks in _batches(doc_ids):
                found += [
                    Fingerprint(d, unpack_minhash(m), json.loads(n))
                    for d, m, n in conn.execute(
                        f"SELECT doc_id, minhash, numbers FROM signatures WHERE doc_id IN ({doc_marks}) AND {self._visible()}",
                        doc_part,
                    )
                ]
        return found

    def duplicates_of(self, doc_ids: Iterable[str]) -> dict[str, list[DuplicateRecord]]:
        """Kept document id → the duplicates recorded for it."""
        out: dict[str, list[DuplicateRecord]] = {}
        with self._reading() as conn:
            for part, marks in _batches(doc_ids):
                for row in conn.execute(
                    f"SELECT doc_id, of_doc_id, source, title, similarity, metadata FROM duplicates "
                    f"WHERE of_doc_id IN ({marks}) AND {self._visible()} ORDER BY of_doc_id, doc_id",
                    part,
                ):
                    record = DuplicateRecord(
                        row[0], row[1], row[2], row[3], row[4], _metadata(row[5], self.path)
                    )
                    out.setdefault(record.of_doc_id, []).append(record)
        return out

    def duplicate_ids(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` recorded as near-duplicates (folded into a kept document)."""
        found: set[str] = set()
        with self._reading() as conn:
            for part, marks in _batches(doc_ids):
                found.update(
                    d
                    for (d,) in conn.execute(
                        f"SELECT doc_id FROM duplicates WHERE doc_id IN ({marks}) AND {self._visible()}", part
                    )
                )
        return found

    def matching_docs(self, keep: Any) -> list[str]:
        """The visible documents whose filter fields ``keep(fields)`` accepts (read page by page)."""
        return [fields["doc_id"] for fields in self._fields() if keep(fields)]

    def irregular_dates(self) -> int:
        """Visible documents whose ``date`` metadata is not a day (date filters then read the metadata)."""
        with self._reading() as conn:
            return int(
                conn.execute(
                    f"SELECT COUNT(*) FROM documents WHERE day = {NO_DAY} AND json_extract(metadata, '$.date') IS NOT NULL "
                    f"AND {self._visible()}"
                ).fetchone()[0]
            )

    def verify(self) -> str | None:
        """A full check: SQLite's integrity check and every value's type; the first problem, or None."""
        with self._reading() as conn:
            found = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if found != "ok":
                return f"SQLite's integrity check says {found}"
            bad = conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE typeof(row) != 'integer' OR typeof(chunk_id) != 'integer' "
                "OR typeof(start) != 'integer' OR typeof(\"end\") != 'integer' OR typeof(doc_id) != 'text'"
            ).fetchone()[0]
            if bad:
                return f"{bad} chunk rows hold values of the wrong type"
            for (metadata,) in conn.execute("SELECT metadata FROM documents"):
                try:
                    if not isinstance(json.loads(metadata), dict):
                        return "a document's metadata is not a JSON object"
                except (TypeError, ValueError):
                    return "a document's metadata is not JSON"
        return None


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    """What makes ``conn``'s database other than a document store semsearch wrote (schema only), or None."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        return f"schema version {version}, not {SCHEMA_VERSION}"
    objects = {(k, n) for k, n in conn.execute("SELECT type, name FROM sqlite_master") if n}
    expected = {("table", t) for t in (*TABLES, "generations", "purged")}
    if not expected <= objects:
        return f"tables missing: {sorted(t for _, t in expected - objects)}"
    extra = {(k, n) for k, n in objects if k in ("trigger", "view")}
    if extra:
        return f"it holds {', '.join(f'{k} {n}' for k, n in sorted(extra))}, which semsearch never writes"
    return None


# SQLite's primary result codes (https://sqlite.org/rescode.html); typeshed does not list them all.
_BUSY, _LOCKED, _READONLY, _IOERR, _FULL, _CANTOPEN = 5, 6, 8, 10, 13, 14
_NOT_DAMAGE = frozenset((_BUSY, _LOCKED, _READONLY, _IOERR, _FULL, _CANTOPEN))
"""SQLite's primary result codes for a database that could not be written, as opposed to a damaged one."""


def pack_raw(raw: str, clean: str) -> bytes | None:
    """A document's raw text as stored: None when cleaning left it as it was, else zlib-compressed UTF-8."""
    return None if raw == clean else zlib.compress(raw.encode("utf-8"), 6)


def unpack_raw(stored: Any, clean: str, where: Path) -> str:
    """The raw text :func:`pack_raw` stored (damage said as such)."""
    if stored is None:
        return clean
    try:
        return zlib.decompress(stored).decode("utf-8")
    except (zlib.error, TypeError, UnicodeDecodeError):
        raise IndexCorruptError(
            f"{where}: a document's raw text is damaged; run `semsearch verify`"
        ) from None


def pack_minhash(minhash: bytes) -> bytes:
    """A MinHash's values (uint64 bytes) as stored: a byte saying the width, then the values.

    As uint32 when they fit — datasketch's always do (its hashes are 32-bit) — halving the signatures.
    """
    values = np.frombuffer(minhash, dtype=np.uint64)
    if int(values.max(initial=0)) < 1 << 32:
        return b"\x04" + values.astype("<u4").tobytes()
    return b"\x08" + values.astype("<u8").tobytes()


def unpack_minhash(stored: Any) -> bytes:
    """The uint64 bytes of a MinHash :func:`pack_minhash` stored."""
    if isinstance(stored, bytes) and stored[:1] in (b"\x04", b"\x08") and (len(stored) - 1) % stored[0] == 0:
        return np.frombuffer(stored[1:], dtype=f"<u{stored[0]}").astype(np.uint64).tobytes()
    raise IndexCorruptError(
        "a near-duplicate signature in the document store is damaged; run `semsearch verify`"
    )


def band_number(key: str) -> int:
    """An LSH band key (``BAND.HEX``) as one signed 64-bit integer: an 8-byte index key, not 20 bytes of text.

    A collision of two keys only adds a candidate, which its signature then rules out.
    """
    band, _, digest = key.partition(".")
    value = (int(digest, 16) ^ (int(band) * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def _code(exc: BaseException) -> int:
    """SQLite's primary result code of an error (0 when it has none)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


_CHUNK_TYPES = (int, str, int, int, int, int, int, int, int, str, str)
"""The Python types of CHUNK_COLUMNS then the document's title, as SQLite hands a sound row back."""


def _typed(row: tuple[Any, ...], where: Path) -> tuple[Any, ...]:
    """A chunk row whose values have the types semsearch wrote; damage said as such (SQLite keeps any type)."""
    for value, kind in zip(row, _CHUNK_TYPES):
        if type(value) is not kind:
            raise IndexCorruptError(
                f"{where}: a chunk row holds {type(value).__name__} where {kind.__name__} belongs; "
                "run `semsearch verify`"
            )
    return row


def _metadata(raw: str, where: Path) -> dict[str, Any]:
    """A document's stored metadata; anything but a JSON object is damage, said as such."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise IndexCorruptError(
            f"{where}: a document's metadata is not a JSON object; run `semsearch verify`"
        )
    return value


def _batches(ids: Iterable[T], size: int = 500) -> Iterator[tuple[list[T], str]]:
    """The distinct ``ids`` in batches of ``size``, each with its ``?,?,…`` (SQLite caps a query's variables)."""
    unique = list(dict.fromkeys(ids))
    for first in range(0, len(unique), size):
        part = unique[first : first + size]
        yield part, ",".join("?" * len(part))


def rows_array(rows: Sequence[int]) -> np.ndarray:
    """Rows as a sorted int64 array."""
    return np.unique(np.asarray(list(rows), dtype=np.int64))
