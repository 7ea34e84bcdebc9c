"""Slow tier (the folder is in conftest.SLOW_FOLDERS): indexes built with the real model beyond the session's
seeds index, inputs of a megabyte, and the damage property at length."""
