"""Tests of semsearch.storage.local: an index kept in a directory (FAISS, SQLite, BM25 files)."""
