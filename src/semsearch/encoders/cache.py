"""A persistent cache of passage embeddings, keyed by encoder identity and a hash of the text.

Rebuilding an index, or re-chunking with other parameters, re-embeds only texts the encoder has
not seen. The cache is one SQLite file (default ``~/.cache/semsearch/embeddings.sqlite``, or
``$SEMSEARCH_CACHE_DIR``), created for this user alone; it can be cleared and its size is reported.

The cache is only an optimisation: when it cannot be opened or read (a read-only directory, a file
that is not SQLite, a full disk) a warning is logged once and embedding goes on without it, and a
cached vector of the wrong length or with NaN in it is treated as not cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.encoders.cache_dirs import (
    cache_root,
    create_private_file,
    private_folder,
    warn_if_others_can_write,
)
from semsearch.errors import InputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    encoder TEXT NOT NULL,
    text_hash BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (encoder, text_hash)
) WITHOUT ROWID
"""
_BATCH = 500
_UNUSABLE = (OSError, sqlite3.Error)

log = logging.getLogger(__name__)


def default_cache_path() -> Path:
    """``$SEMSEARCH_CACHE_DIR/embeddings.sqlite``, else ``~/.cache/semsearch/embeddings.sqlite``."""
    return cache_root() / "embeddings.sqlite"


def text_key(text: str) -> bytes:
    """The cache key of a text: the first 16 bytes of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


@dataclass(frozen=True)
class CacheStats:
    """What the cache holds: vectors per encoder, its size on disk, and why it is unusable (if it is)."""

    path: Path
    bytes: int
    vectors: dict[str, int]
    problem: str | None = None


class EmbeddingCache:
    """Embeddings by (encoder identity, text). Safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.problem: str | None = None  # why the cache is unusable; set once, warned about once

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                private_folder(self.path.parent)
                create_private_file(self.path)
                warn_if_others_can_write([self.path.parent, self.path])
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(_SCHEMA)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            yield self._conn

    def _give_up(self, exc: BaseException) -> None:
        """Stop using the cache for the rest of this object's life, with one warning."""
        if self.problem is None:
            self.problem = f"{type(exc).__name__}: {exc}"
            log.warning(
                "the embedding cache %s is unusable (%s); embedding without it. "
                "`semsearch cache clear` resets it, or set SEMSEARCH_CACHE_DIR to a writable folder",
                self.path,
                self.problem,
            )
        self.close()

    def get_many(self, encoder: str, texts: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that have a sound one (right length, finite, non-zero)."""
        if self.problem is not None:
            return {}
        keys = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        try:
            with self._db() as conn:
                for first in range(0, len(key_list), _BATCH):
                    part = key_list[first : first + _BATCH]
                    marks = ",".join("?" * len(part))
                    rows = conn.execute(
                        f"SELECT text_hash, vector FROM embeddings WHERE encoder = ? AND dim = ? AND text_hash IN ({marks})",
                        [encoder, dim, *part],
                    ).fetchall()
                    for key, blob in rows:
                        vector = _sound_vector(key, blob, dim)
                        if vector is not None:
                            found[keys[bytes(key)]] = vector
        except _UNUSABLE as exc:
            self._give_up(exc)
            return {}
        return found

    def put_many(self, encoder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text (nothing, once the cache has proved unusable)."""
        if self.problem is not None:
            return
        rows = [
            (encoder, text_key(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors)
        ]
        try:
            with self._db() as conn, conn:
                conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
        except _UNUSABLE as exc:
            self._give_up(exc)

    def stats(self) -> CacheStats:
        """Vectors per encoder and bytes on disk (database plus its write-ahead log); never raises."""
        try:
            if not self.path.exists():
                folder = next(p for p in self.path.parents if p.exists())
                if not folder.is_dir():
                    return CacheStats(self.path, 0, {}, f"{folder} is a file, not a folder")
                return CacheStats(self.path, 0, {}, self.problem)
            size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        except OSError as exc:
            return CacheStats(self.path, 0, {}, f"{type(exc).__name__}: {exc}")
        try:
            with self._db() as conn:
                counts = dict(
                    conn.execute("SELECT encoder, COUNT(*) FROM embeddings GROUP BY encoder").fetchall()
                )
        except _UNUSABLE as exc:
            self.close()
            return CacheStats(self.path, size, {}, f"{type(exc).__name__}: {exc}")
        return CacheStats(self.path, size, counts)

    def clear(self, encoder: str | None = None) -> int:
        """Delete the vectors of ``encoder`` (all when None); returns how many were deleted.

        A cache that cannot be read as a cache (not SQLite, an empty folder in its place) is deleted
        whole, with its journal files, so ``clear`` always leaves a usable cache behind.
        """
        if not self.path.exists():
            return 0
        try:
            with self._db() as conn:
                with conn:
                    if encoder is None:
                        deleted = conn.execute("DELETE FROM embeddings").rowcount
                    else:
                        deleted = conn.execute(
                            "DELETE FROM embeddings WHERE encoder = ?", (encoder,)
                        ).rowcount
                conn.execute("VACUUM")
        except _UNUSABLE as exc:
            self.close()
            self._reset(exc)
            return 0
        return int(deleted)

    def _reset(self, problem: BaseException) -> None:
        """Delete an unreadable cache file (and its journals), or an empty folder in its place."""
        if self.path.is_dir():
            try:
                self.path.rmdir()
            except OSError:
                raise InputError(
                    f"the embedding cache {self.path} is a folder with files in it, not a cache ({problem}); "
                    "remove it yourself or set SEMSEARCH_CACHE_DIR to another folder"
                ) from None
        else:
            for name in (self.path.name, f"{self.path.name}-wal", f"{self.path.name}-shm"):
                with contextlib.suppress(FileNotFoundError):
                    (self.path.parent / name).unlink()
        self.problem = None

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None


def _sound_vector(key: bytes, blob: object, dim: int) -> np.ndarray | None:
    """A cached vector if its blob holds ``dim`` finite float32 values, not all zero; else None (logged)."""
    if not isinstance(blob, bytes) or len(blob) != 4 * dim:
        log.debug("ignoring a cached vector of the wrong size for key %s", bytes(key).hex())
        return None
    vector = np.frombuffer(blob, dtype=np.float32)
    if not np.isfinite(vector).all() or not vector.any():
        log.debug(
            "ignoring a cached vector with NaN, infinite or only zero values (key %s)", bytes(key).hex()
        )
        return None
    return vector
