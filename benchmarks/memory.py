"""Resident memory of this process, from /proc: standard library only, so a child process can import
it without importing semsearch (whose import time a benchmark may be measuring)."""

from __future__ import annotations

import math
import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory so far.

    Linux's ``VmHWM``, not ``getrusage``'s ``ru_maxrss``: that one survives ``exec``, so a child
    started by a big parent reports the parent's peak (we measured 814 MiB for a bare interpreter
    started by an 800 MiB process).
    """
    hwm = _proc_status_mib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if math.isnan(hwm) else hwm


def rss_mib() -> float:
    """This process's current resident memory."""
    return _proc_status_mib("VmRSS")


def anon_rss_mib() -> float:
    """This process's resident anonymous memory (its heaps; not the mapped pages of files)."""
    return _proc_status_mib("RssAnon")


def _proc_status_mib(field: str) -> float:
    """A ``kB`` field of /proc/self/status in MiB, or NaN where there is none."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")
