"""Slow tier (the folder is in conftest.SLOW_FOLDERS): the ``semsearch`` command, run in a child process as a user runs it."""
