"""Tests of semsearch.readers: each format a news user keeps articles in becomes Documents."""
