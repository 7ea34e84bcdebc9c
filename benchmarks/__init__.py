"""Benchmarks for semsearch: quality, latency, ANN trade-offs, peers. Run as ``python -m benchmarks.NAME``."""
