"""Tests of semsearch.text: cleaning, chunking, analysis, dates, titles, near-duplicates."""
