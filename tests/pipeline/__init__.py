"""Tests of semsearch.pipeline: planning and applying changes, near-duplicates at build and change."""
