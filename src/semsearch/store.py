"""The index directory on disk: manifest, files written atomically, and the SQLite chunk store.

Layout of ``indexes/NAME/``::

    manifest.json          format version, encoder identity, dimension, metric, index type,
                           chunking parameters, counts, and each file's name, size and SHA-256
    vectors.<gen>.faiss    the FAISS index (ids are chunk ids)
    chunks.<gen>.sqlite    documents (raw and cleaned text, what the cleaner dropped) and chunks

A new index is written to a temporary sibling directory and renamed into place. Saving over an
existing index writes a new generation of files beside the old ones and then replaces
``manifest.json`` atomically (write, fsync, rename), so a crash at any point leaves the old
index or the new one, never a mix; files of other generations are removed afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .clean import CleanText, Dropped
from .errors import (
    IndexChangedError,
    IndexCorruptError,
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    InputError,
)
from .records import Chunk, Document

FORMAT_NAME = "semsearch-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# A generation's file, or what a writer killed half-way left beside one ("chunks.7.sqlite-journal").
_GENERATION_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.(?P<gen>\d+)\.(?P<ext>[a-z0-9][a-z0-9-]*)$")

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
_CHUNK_COLUMNS = (
    'c.chunk_id, c.doc_id, c.ordinal, c.paragraph, c.piece, c.pieces, c.start, c."end", c.n_tokens, c.text'
)


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
        conn.executescript(_SCHEMA)
        return cls(conn)

    @classmethod
    def open(cls, path: Path) -> ChunkStore:
        """Open a saved store read-only; raises IndexCorruptError if it is not a chunk store."""
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"{path} is not a readable chunk store ({exc}); rebuild the index"
            ) from None
        if not {"documents", "chunks"} <= tables:
            conn.close()
            raise IndexCorruptError(f"{path} lacks the documents/chunks tables; rebuild the index")
        return cls(conn, path=path)

    def _writable(self) -> sqlite3.Connection:
        """Copy a file-backed store into memory before its first change."""
        if self.path is not None:
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            self._conn.backup(memory)
            self._conn.close()
            self._conn, self.path = memory, None
        return self._conn

    def add(
        self, doc: Document, clean: CleanText, title: str, title_source: str, chunks: Sequence[Chunk]
    ) -> None:
        """Store a document with its cleaned text, the cleaner's drops and its chunks."""
        with self._lock:
            conn = self._writable()
            with conn:
                conn.execute(
                    "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        doc.doc_id,
                        title,
                        title_source,
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
        with self._lock:
            conn = self._writable()
            with conn:
                for doc_id in ids:
                    removed += [
                        r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
                    ]
                    conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                    conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return removed

    def fetch(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunk rows with their document's title and source, by chunk id."""
        out: dict[int, dict[str, Any]] = {}
        unique = list(dict.fromkeys(int(i) for i in chunk_ids))
        with self._lock:
            for first in range(0, len(unique), 500):
                part = unique[first : first + 500]
                marks = ",".join("?" * len(part))
                cursor = self._conn.execute(
                    f"SELECT {_CHUNK_COLUMNS}, d.title, d.source FROM chunks c JOIN documents d USING (doc_id) "
                    f"WHERE c.chunk_id IN ({marks})",
                    part,
                )
                names = [d[0] for d in cursor.description]
                for row in cursor:
                    record = dict(zip(names, row))
                    out[record["chunk_id"]] = record
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in document and reading order."""
        with self._lock:
            rows = self._conn.execute(
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

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """One document's stored record (raw and cleaned text, drops, metadata), or None."""
        with self._lock:
            cursor = self._conn.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,))
            row = cursor.fetchone()
            if row is None:
                return None
            record = dict(zip([d[0] for d in cursor.description], row))
        record["metadata"] = json.loads(record["metadata"])
        record["dropped"] = [Dropped(*d) for d in json.loads(record["dropped"])]
        return record

    def doc_ids(self) -> list[str]:
        """All document ids, sorted."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    def content_hashes(self) -> dict[str, str]:
        """Document id → content hash, to tell unchanged documents from changed ones."""
        with self._lock:
            return dict(self._conn.execute("SELECT doc_id, content_hash FROM documents"))

    def counts(self) -> dict[str, int]:
        """Documents, chunks and tokens stored."""
        with self._lock:
            docs = self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks, tokens = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n_tokens), 0) FROM chunks"
            ).fetchone()
        return {"documents": int(docs), "chunks": int(chunks), "tokens": int(tokens)}

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


# ---------------------------------------------------------------- the directory


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check an index's manifest; every failure names the path and the way out."""
    if not path.exists():
        raise IndexNotFoundError(
            f"{path}: no index there; build one with `semsearch build SOURCES -o {path}`"
        )
    manifest_path = path / MANIFEST
    if not path.is_dir() or not manifest_path.exists():
        raise IndexNotFoundError(
            f"{path} is not a semsearch index (no {MANIFEST}); build one with `semsearch build`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{manifest_path} is unreadable ({exc}); rebuild the index") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexCorruptError(f"{manifest_path} is not a semsearch manifest; rebuild the index")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise IndexCorruptError(
            f"{manifest_path} has no valid format_version ({version!r}); rebuild the index"
        )
    if version > FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} was written in index format {version} by a newer semsearch; this one reads formats up to "
            f"{FORMAT_VERSION}. Upgrade semsearch (pip install -U semsearch) or rebuild the index with this version."
        )
    for key in ("encoder", "dimension", "files", "counts", "index_type"):
        if key not in manifest:
            raise IndexCorruptError(f"{manifest_path} lacks {key!r}; rebuild the index")
    return manifest


def index_file(path: Path, manifest: dict[str, Any], name: str, *, verify: bool = True) -> Path:
    """The path of one of the index's files, checked for presence, size and (if ``verify``) SHA-256."""
    entry = manifest["files"].get(name)
    if not isinstance(entry, dict) or "name" not in entry:
        raise IndexCorruptError(f"{path / MANIFEST} does not list a {name!r} file; rebuild the index")
    file = path / entry["name"]
    if not (file.is_dir() if entry.get("kind") == "dir" else file.is_file()):
        raise IndexCorruptError(
            f"{file} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        )
    try:
        size = _size(file)
        if size != entry.get("bytes"):
            raise IndexCorruptError(
                f"{file} is {size} bytes but the manifest says {entry.get('bytes')} (truncated or replaced); rebuild the index"
            )
        sound = not verify or sha256_file(file) == entry.get("sha256")
    except FileNotFoundError as exc:  # a member vanished while we read (a writer pruned this generation)
        raise IndexCorruptError(
            f"{exc.filename} is missing; the index is incomplete. Rebuild it with `semsearch build`"
        ) from None
    if not sound:
        raise IndexCorruptError(f"{file} fails its SHA-256 checksum (corrupted); rebuild the index")
    return file


def _members(path: Path) -> list[Path]:
    """The files a file role consists of: itself, or every file in it for a directory, sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in _members(path))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks; of a directory, of its files' names and contents."""
    digest = hashlib.sha256()
    directory = path.is_dir()
    for file in _members(path):
        if directory:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


FileWriter = Callable[[Path], None]


def save_index_dir(
    path: Path,
    manifest: dict[str, Any],
    writers: dict[str, tuple[str, FileWriter]],
    *,
    expect_generation: int | None = None,
) -> dict[str, Any]:
    """Write an index directory atomically and return the manifest as written.

    ``writers`` maps a file's role (``vectors``, ``chunks``, …) to its extension and a function
    that writes it to a given path (a file, or a directory of files the role consists of). Refuses to write into a directory that is not an index.
    ``expect_generation``: raise IndexChangedError if the index on disk is no longer that
    generation (another writer saved since we loaded it), so no change is silently lost.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} exists and is a file, not an index directory; choose another output path")
    fresh = not path.exists() or not any(path.iterdir())
    if not fresh and not (path / MANIFEST).exists():
        raise InputError(
            f"{path} exists and is not a semsearch index; refusing to write into it. "
            "Choose another output path or remove that directory"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(path):
        if expect_generation is not None and not fresh:
            on_disk = read_manifest(path).get("generation")
            if on_disk != expect_generation:
                raise IndexChangedError(
                    f"{path} changed on disk since this index was loaded (generation {expect_generation}, "
                    f"now {on_disk}); load it again and repeat the change"
                )
        generation = 1 if fresh else _next_generation(path)
        target = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}" if fresh else path
        target.mkdir(exist_ok=True)
        try:
            files: dict[str, Any] = {}
            for role, (ext, write) in writers.items():
                file = target / f"{role}.{generation}.{ext}"
                write(file)
                for member in _members(file):
                    _fsync_file(member)
                entry = {"name": file.name, "bytes": _size(file), "sha256": sha256_file(file)}
                if file.is_dir():
                    _fsync_dir(file)
                    entry["kind"] = "dir"
                files[role] = entry
            written = {
                **manifest,
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "generation": generation,
                "files": files,
            }
            _write_json_atomically(target / MANIFEST, written)
            if fresh:
                _fsync_dir(target)
                os.replace(target, path) if path.exists() else os.rename(target, path)
                _fsync_dir(path.parent)
        except BaseException:
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
            raise
        _remove_other_generations(path, generation)
    return written


def _next_generation(path: Path) -> int:
    generations = [0]
    with contextlib.suppress(OSError, ValueError, json.JSONDecodeError):
        generations.append(int(json.loads((path / MANIFEST).read_text(encoding="utf-8"))["generation"]))
    for file in path.iterdir():
        match = _GENERATION_FILE.match(file.name)
        if match:
            generations.append(int(match["gen"]))
    return max(generations) + 1


def _remove_other_generations(path: Path, keep: int) -> None:
    for file in path.iterdir():
        match = _GENERATION_FILE.match(file.name)
        if (match and int(match["gen"]) != keep) or file.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                shutil.rmtree(file) if file.is_dir() else file.unlink()


def _write_json_atomically(file: Path, data: dict[str, Any]) -> None:
    tmp = file.with_name(file.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, file)
    _fsync_dir(file.parent)


def _fsync_file(file: Path) -> None:
    fd = os.open(file, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_HELD: dict[str, list[Any]] = {}  # lock file → [thread lock, depth] for the locks this process holds
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the index's writer lock (``.<name>.lock`` beside it) or raise IndexLockedError.

    The lock is an ``flock`` on the lock file, so it excludes other processes; inside one process it
    is re-entrant (a load-change-save sequence can hold it while ``save`` takes it again) and
    excludes other threads.
    """
    lock_path = Path(path).parent / f".{Path(path).name}.lock"
    key = str(lock_path.resolve())
    with _HELD_GUARD:
        entry = _HELD.setdefault(key, [threading.RLock(), 0])
    if not entry[0].acquire(timeout=timeout):
        raise IndexLockedError(f"another thread is writing {path}; try again when it has finished")
    handle = None
    try:
        if entry[1] == 0:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock_path, "a+")  # noqa: SIM115 - held for the duration of the block
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"another process is writing {path} (lock {lock_path}); try again when it has finished"
                        ) from None
                    time.sleep(0.05)
        entry[1] += 1
        try:
            yield
        finally:
            entry[1] -= 1
    finally:
        if handle is not None:
            handle.close()
        entry[0].release()
