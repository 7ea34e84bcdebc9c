"""Run one benchmark job in a child process that may fail soft: too much memory or time ends it, and says so.

A job is a function ``job_NAME(params) -> dict`` in a benchmark module; :func:`run_child` starts
``python -m benchmarks.child MODULE NAME PARAMS``, watches the child's resident memory (``VmRSS``) and
wall time, and kills it (by its own pid) past either limit. The answer is the job's dict, or
``{"failed": reason, ...}`` with the peak memory seen and the last progress line the job wrote
(:func:`progress`), so a size that cannot be built is recorded with how far it got.

Memory figures measured inside the job are the child's own (``VmHWM``/``VmRSS``), not the runner's.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT

RESULT_MARK = "RESULT "
PROGRESS_MARK = "progress "
POLL_SECONDS = 0.5


def progress(message: str) -> None:
    """Tell the runner how far the job has got (the last such line is kept if the job is killed)."""
    print(PROGRESS_MARK + message, file=sys.stderr, flush=True)


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def run_child(
    module: str,
    job: str,
    params: dict[str, Any],
    *,
    memory_limit_mib: float,
    timeout_s: float,
    samples_every_s: float = 10.0,
) -> dict[str, Any]:
    """Run ``module.job_<job>(params)`` in a new process; its dict, or why and where it stopped.

    ``rss_samples`` (seconds, MiB every ``samples_every_s``) are kept for a job that failed, to show
    how its memory grew.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.child", module, job, json.dumps(params)],
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=env,
        )
        peak, reason, samples, next_sample = 0.0, "", [], 0.0
        while proc.poll() is None:
            elapsed = time.perf_counter() - started
            rss = _rss_mib(proc.pid)
            peak = max(peak, rss)
            if elapsed >= next_sample:
                samples.append([round(elapsed), round(rss)])
                next_sample += samples_every_s
            if rss > memory_limit_mib:
                reason = (
                    f"out of memory: resident memory reached {rss / 1024:.1f} GiB, over the limit of "
                    f"{memory_limit_mib / 1024:.1f} GiB, after {elapsed:.0f} s"
                )
            elif elapsed > timeout_s:
                reason = f"out of time: still running after {elapsed / 60:.0f} min (limit {timeout_s / 60:.0f} min)"
            if reason:
                proc.kill()
                proc.wait()
                break
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    results = [line[len(RESULT_MARK) :] for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not reason and proc.returncode == 0 and results:
        return json.loads(results[-1])
    notes = [line for line in stderr.splitlines() if line.startswith(PROGRESS_MARK)]
    if not reason:
        last = [line for line in stderr.strip().splitlines() if line.strip()]
        reason = f"failed (exit {proc.returncode}): {last[-1][:300] if last else 'no message'}"
    return {
        "failed": reason,
        "seconds": round(seconds, 1),
        "peak_rss_seen_mib": round(peak, 1),
        "last_progress": notes[-1][len(PROGRESS_MARK) :] if notes else None,
        "rss_samples": samples,
    }


def job_allocate(params: dict[str, Any]) -> dict[str, Any]:
    """Hold ``mib`` MiB for ``seconds`` (to test the limits)."""
    block = bytearray(int(params["mib"] * 2**20))
    for i in range(0, len(block), 4096):
        block[i] = 1
    progress(f"allocated {params['mib']} MiB")
    time.sleep(params.get("seconds", 0))
    return {"held_mib": len(block) / 2**20}


def main() -> None:
    module, job, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    function = getattr(importlib.import_module(module), f"job_{job}")
    result = function(params)
    print(RESULT_MARK + json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
