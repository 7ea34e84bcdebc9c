"""Slow tier (the folder is in conftest.SLOW_FOLDERS): the Milvus engine against milvus-lite, embedded and as a server.

An embedded milvus-lite takes about 3 s to start for each test; the server is a process. Tests of the
Milvus modules that need no Milvus are in tests/storage/test_milvus_*.py, in the fast tier.
"""
