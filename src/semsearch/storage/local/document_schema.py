"""The chunk store's SQLite schema, and the check that a store from elsewhere holds nothing else.

A saved store may hold the documents and chunks tables (and, since issue 15, the duplicates and
signatures tables) with exactly these columns and value types: no triggers, views or other tables, so
a store from elsewhere cannot change what a delete or a read does.
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
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


# Near-duplicate bookkeeping (semsearch.text.dedup); a store saved before it has neither table.
DEDUP_SCHEMA = """
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


DOCUMENT_COLUMNS = (
    "doc_id, title, title_source, source, encoding, content_hash, raw_text, clean_text, metadata, dropped"
)


CHUNK_COLUMNS = (
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
    "documents": [(name, "TEXT") for name in DOCUMENT_COLUMNS.split(", ")],
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


def schema_problem(conn: sqlite3.Connection) -> str | None:
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
