"""What highlights cost, before and after they were made lazy, on CMRC 2018 dev and at archive scale.

    python -m benchmarks.highlights [--data ../shared/data/cmrc2018/dev] [--queries 300]
    python -m benchmarks.highlights --xwlb [--xwlb-index indexes/xwlb-highlights] [--queries 300]

``--xwlb``: warm latency only, on the whole 新闻联播 archive but its last ``--queries`` stories, whose
headlines are the queries (no labels, so no ``evaluate``); the index is built once from the embedding
cache and kept under the git-ignored ``indexes/`` folder.

Before, every hit of every search had its highlights computed (OpenCC conversion of the chunk's text
included), also inside ``evaluate`` and ``tune`` where nobody reads them. Now ``Hit.highlights`` is
computed when read, and a chunk text's conversion is cached. Both are measured in one process, side by
side and interleaved query by query (the machine is shared: compare the ratios, not the absolute times):

- ``eager``: what search did before: read every hit's highlights, conversion cache cleared per batch;
- ``lazy``: what ``evaluate``/``tune`` do now: highlights never read;
- ``shown``: what a person gets now: every hit's highlights read, conversion cache warm.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, SHARED, git_commit, percentiles, write_result
from benchmarks.latency import xwlb
from benchmarks.quality import build_beir_index
from semsearch import Index
from semsearch.search.evaluation import Judgments, evaluate
from semsearch.text.analyzer import normalize_with_offsets

VARIANTS = ("eager", "lazy", "shown")


def search(index: Any, queries: list[str], mode: str, variant: str, **options: Any) -> list[Any]:
    """One search_batch as ``variant`` does it."""
    if variant == "eager":
        normalize_with_offsets.cache_clear()
    results = index.search_batch(queries, mode=mode, **options)
    if variant != "lazy":
        for hits in results:
            for hit in hits:
                _ = hit.highlights
    return results


def evaluation_passes(index: Any, judgments: Judgments, mode: str) -> dict[str, float]:
    """Seconds for what ``semsearch.evaluate`` does for one mode (batches of 64, k 10, one hit per
    document), as before (``eager``) and now (``lazy``), batch by batch in alternating order so both see
    the same machine load."""
    qids = list(judgments.queries)
    seconds = {"eager": 0.0, "lazy": 0.0}
    for n, first in enumerate(range(0, len(qids), 64)):
        batch = [judgments.queries[q] for q in qids[first : first + 64]]
        for variant in ("eager", "lazy") if n % 2 == 0 else ("lazy", "eager"):
            started = time.perf_counter()
            search(index, batch, mode, variant, k=10, max_per_doc=1)
            seconds[variant] += time.perf_counter() - started
    return seconds


def warm_latency(index: Any, texts: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per mode and variant, p50/p95 ms of one query at a time, the variants interleaved query by query."""
    latency: dict[str, dict[str, dict[str, float]]] = {}
    for mode in ("lexical", "hybrid"):
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for n, text in enumerate(texts):
            for variant in VARIANTS[n % 3 :] + VARIANTS[: n % 3]:
                started = time.perf_counter()
                search(index, [text], mode, variant, k=10)
                times[variant].append(time.perf_counter() - started)
        latency[mode] = {
            v: {k: round(1000 * x, 3) for k, x in percentiles(t, (50, 95)).items()} for v, t in times.items()
        }
        print(f"warm {mode} ms: {latency[mode]}")
    return latency


def archive(path: Path, held_out: int) -> tuple[Index, list[str]]:
    """The 新闻联播 archive but its last ``held_out`` stories (built once, from the cache), and their headlines."""
    stories = xwlb()
    if not (path / "manifest.json").exists():
        Index.build(stories[:-held_out]).save(path)
    return Index.load(path), [d.title for d in stories[-held_out:]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "data/cmrc2018/dev")
    parser.add_argument("--queries", type=int, default=300, help="queries timed one by one per mode")
    parser.add_argument("--xwlb", action="store_true", help="warm latency on the 新闻联播 archive instead")
    parser.add_argument("--xwlb-index", type=Path, default=ROOT / "indexes/xwlb-highlights")
    parser.add_argument("--name", default=None, help="results name (default highlights / highlights-xwlb)")
    args = parser.parse_args(argv)
    if args.xwlb:
        index, headlines = archive(args.xwlb_index, args.queries)
        index.search(headlines[0], k=10)  # load the model
        result = {"data": "新闻联播 archive", "chunks": len(index), "queries": len(headlines)}
        result["latency_ms"] = warm_latency(index, headlines)
        print("saved", write_result(args.name or "highlights-xwlb", {"commit": git_commit(), **result}))
        return
    index, queries, qrels, _ = build_beir_index(args.data)
    judgments = Judgments(queries, {q: frozenset(r) for q, r in qrels.items()})
    index.search("预热", k=10)  # load the model
    result: dict[str, Any] = {"data": str(args.data), "chunks": len(index), "queries": len(queries)}

    # evaluate: what it did before (every hit's highlights, no conversion cache) against what it does now
    seconds: dict[str, dict[str, float]] = {}
    for mode in ("lexical", "hybrid"):
        passes = evaluation_passes(index, judgments, mode)
        seconds[mode] = {"before": round(passes["eager"], 2), "now": round(passes["lazy"], 2)}
        print(f"evaluate {mode} on {len(queries)} questions: {seconds[mode]} s")
    result["evaluate_seconds"] = seconds
    result["evaluate_metrics"] = evaluate(index, judgments, ("lexical",))

    result["latency_ms"] = warm_latency(index, list(queries.values())[: args.queries])
    print("saved", write_result(args.name or "highlights", {"commit": git_commit(), **result}))


if __name__ == "__main__":
    main()
