"""``Index.optimize()`` of an index in a child process (benchmarks.scale_engine): time and peak memory."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.memory import peak_rss_mib


def job_optimize(params: dict[str, Any]) -> dict[str, Any]:
    """Load and optimize the index at ``path`` (merging segments, building approximate indexes; into
    ``index_type`` when given)."""
    from benchmarks.scale_engine import stand_in
    from semsearch import Index

    started, cpu = time.perf_counter(), time.process_time()
    index = Index.load(params["path"], model=stand_in(params))
    index.optimize(params.get("index_type"))
    return {
        "optimize_s": round(time.perf_counter() - started, 1),
        "optimize_cpu_s": round(time.process_time() - cpu, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "layout": index.info().get("layout"),
    }
