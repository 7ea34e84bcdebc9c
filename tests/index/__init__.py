"""Tests of the facade, semsearch.Index and the top-level names: the API, bad and hostile input, loading safely."""
