"""Tests of semsearch.encoders: the bundled model and its runtimes, loading, embedding, the cache."""
