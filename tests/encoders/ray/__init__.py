"""Slow tier (the folder is in conftest.SLOW_FOLDERS): embedding on a Ray cluster of two loopback nodes."""
