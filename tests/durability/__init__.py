"""Slow tier (the folder is in conftest.SLOW_FOLDERS): crashes, locks and concurrency.

Writers killed with SIGKILL at random moments, processes holding an index's lock, threads searching
and saving at once.
"""
