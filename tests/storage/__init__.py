"""Tests of semsearch.storage: the engine contract, locations, the manifest, each engine."""
