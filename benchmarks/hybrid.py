"""Tune hybrid fusion on a tuning split, then report dense / lexical / hybrid side by side on another.

    python -m benchmarks.hybrid --tune ../shared/data/cmrc2018/trial --report ../shared/data/cmrc2018/dev

Tuning never sees the report split. Each corpus line becomes one document; the chunker may split a long
paragraph, so chunk hits are mapped back to their document and counted once, at their best rank.
Embeddings come from the semsearch embedding cache when present ($SEMSEARCH_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED, dedupe, evaluate, git_commit, write_result
from benchmarks.quality import build_beir_index, evaluate_modes, print_table
from semsearch import Index
from semsearch.fusion import FusionConfig, fuse

MODES = ("dense", "lexical", "hybrid")
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def doc_of(index: Index) -> dict[int, str]:
    return {c.chunk_id: c.doc_id for c in index.chunks()}


def side_lists(index: Index, queries: dict[str, str], depth: int) -> dict[str, tuple[list, list]]:
    """Per query: the dense and the lexical (chunk id, score) lists, ``depth`` long."""
    qids = list(queries)
    out = {}
    for start in range(0, len(qids), 64):
        batch = qids[start : start + 64]
        vectors = index.encode_queries([queries[q] for q in batch])
        scores, ids = index.search_vectors(vectors, depth)
        for row, qid in enumerate(batch):
            dense = [(int(i), float(s)) for s, i in zip(scores[row], ids[row]) if i >= 0]
            out[qid] = (dense, index.search_lexical(queries[qid], depth))
    return out


def tune(folder: Path) -> dict[str, Any]:
    """Grid-search RRF and weighted fusion on ``folder``; the best by MRR@10 (then R@1, then R@10) wins."""
    index, queries, qrels, _ = build_beir_index(folder)
    owner = doc_of(index)
    lists = side_lists(index, queries, 100)
    grid = [
        FusionConfig("rrf", rrf_k=k, depth=d)
        for k, d in itertools.product((5, 10, 20, 30, 60, 100), (10, 20, 50, 100))
    ]
    grid += [
        FusionConfig("weighted", weight=w, depth=d) for w, d in itertools.product(WEIGHTS, (10, 20, 50, 100))
    ]
    trials = []
    for config in grid:
        runs = {}
        for qid, (dense, lexical) in lists.items():
            fused = fuse(dense[: config.depth], lexical[: config.depth], config)
            runs[qid] = dedupe(owner[cid] for cid, _, _ in fused)
        trials.append({"config": dataclasses.asdict(config), "metrics": evaluate(runs, qrels)})
    for side in (0, 1):
        runs = {qid: dedupe(owner[cid] for cid, _ in pair[side]) for qid, pair in lists.items()}
        trials.append({"config": {"method": ("dense", "lexical")[side]}, "metrics": evaluate(runs, qrels)})
    best = {}
    for method in ("rrf", "weighted"):
        candidates = [t for t in trials if t["config"]["method"] == method]
        best[method] = max(
            candidates, key=lambda t: (t["metrics"]["MRR@10"], t["metrics"]["R@1"], t["metrics"]["R@10"])
        )
    return {
        "split": str(folder),
        "queries": len(queries),
        "chunks": len(index),
        "best": best,
        "trials": trials,
    }


def report(folder: Path, config: FusionConfig | None) -> dict[str, Any]:
    """R@1/5/10, MRR@10, nDCG@10 of each mode through ``Index.search_batch`` on ``folder``."""
    index, queries, qrels, build_seconds = build_beir_index(folder)
    if config is not None:
        index.fusion = config
    return {
        "split": str(folder),
        "documents": len(index.doc_ids()),
        "chunks": len(index),
        "queries": len(queries),
        "build_seconds": round(build_seconds, 1),
        "fusion": dataclasses.asdict(index.fusion),
        "modes": evaluate_modes(index, queries, qrels),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tune", type=Path, help="BEIR folder to tune fusion on (e.g. CMRC trial)")
    parser.add_argument(
        "--report", type=Path, help="BEIR folder to report on (e.g. CMRC dev); never tuned on"
    )
    parser.add_argument(
        "--use-tuned", action="store_true", help="report with the tuned config, not the library default"
    )
    args = parser.parse_args(argv)
    if not args.tune and not args.report:
        args.tune = SHARED / "data/cmrc2018/trial"
        args.report = SHARED / "data/cmrc2018/dev"
    result: dict[str, Any] = {"commit": git_commit(), "library_default": dataclasses.asdict(FusionConfig())}
    if args.tune:
        result["tuning"] = tuning = tune(args.tune)
        for method, trial in tuning["best"].items():
            print(f"best {method} on {args.tune.name}: {trial['config']} -> {trial['metrics']}")
        for trial in tuning["trials"][-2:]:
            print(f"{trial['config']['method']} alone on {args.tune.name}: {trial['metrics']}")
    if args.report:
        config = None
        if args.use_tuned and args.tune:
            winner = max(
                result["tuning"]["best"].values(), key=lambda t: (t["metrics"]["MRR@10"], t["metrics"]["R@1"])
            )
            config = FusionConfig(**winner["config"])
        result["report"] = rep = report(args.report, config)
        title = f"\n{args.report} ({rep['documents']} documents, {rep['chunks']} chunks, {rep['queries']} queries)"
        print_table(title, rep["modes"])
    print("saved", write_result("hybrid", result))


if __name__ == "__main__":
    main()
