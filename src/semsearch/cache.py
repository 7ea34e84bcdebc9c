"""A persistent cache of passage embeddings, keyed by encoder identity and a hash of the text.

Rebuilding an index, or re-chunking with other parameters, re-embeds only texts the encoder has
not seen. The cache is one SQLite file (default ``~/.cache/semsearch/embeddings.sqlite``, or
``$SEMSEARCH_CACHE_DIR``); it can be cleared and its size is reported.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def default_cache_path() -> Path:
    """``$SEMSEARCH_CACHE_DIR/embeddings.sqlite``, else ``~/.cache/semsearch/embeddings.sqlite``."""
    root = os.environ.get("SEMSEARCH_CACHE_DIR") or Path.home() / ".cache" / "semsearch"
    return Path(root) / "embeddings.sqlite"


def text_key(text: str) -> bytes:
    """The cache key of a text: the first 16 bytes of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


@dataclass(frozen=True)
class CacheStats:
    """What the cache holds: vectors per encoder, and its size on disk."""

    path: Path
    bytes: int
    vectors: dict[str, int]


class EmbeddingCache:
    """Embeddings by (encoder identity, text). Safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                self._conn = conn
            yield self._conn

    def get_many(self, encoder: str, texts: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that have one."""
        keys = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        with self._db() as conn:
            for first in range(0, len(key_list), _BATCH):
                part = key_list[first : first + _BATCH]
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE encoder = ? AND dim = ? AND text_hash IN ({marks})",
                    [encoder, dim, *part],
                ).fetchall()
                for key, blob in rows:
                    found[keys[bytes(key)]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, encoder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text."""
        rows = [
            (encoder, text_key(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors)
        ]
        with self._db() as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)

    def stats(self) -> CacheStats:
        """Vectors per encoder and bytes on disk (database plus its write-ahead log)."""
        if not self.path.exists():
            return CacheStats(self.path, 0, {})
        with self._db() as conn:
            counts = dict(
                conn.execute("SELECT encoder, COUNT(*) FROM embeddings GROUP BY encoder").fetchall()
            )
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return CacheStats(self.path, size, counts)

    def clear(self, encoder: str | None = None) -> int:
        """Delete the vectors of ``encoder`` (all when None); returns how many were deleted."""
        if not self.path.exists():
            return 0
        with self._db() as conn:
            with conn:
                if encoder is None:
                    deleted = conn.execute("DELETE FROM embeddings").rowcount
                else:
                    deleted = conn.execute("DELETE FROM embeddings WHERE encoder = ?", (encoder,)).rowcount
            conn.execute("VACUUM")
        return int(deleted)

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
