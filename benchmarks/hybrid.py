"""Tune hybrid fusion on a tuning split, then report dense / lexical / hybrid side by side on another.

    python -m benchmarks.hybrid --tune ../shared/data/cmrc2018/trial --report ../shared/data/cmrc2018/dev

Tuning never sees the report split. Each corpus line becomes one document; the chunker may split a long
paragraph, so chunk hits are mapped back to their document and counted once, at their best rank.
Embeddings come from the semsearch embedding cache when present ($SEMSEARCH_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED, git_commit, write_result
from benchmarks.quality import build_beir_index, evaluate_modes, print_table
from semsearch.records import FusionConfig
from semsearch.search.evaluation import Judgments, tune_fusion

MODES = ("dense", "lexical", "hybrid")
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def tune(folder: Path, model: str | None = None) -> dict[str, Any]:
    """``semsearch.tune_fusion`` on ``folder``: the winner, the best of each method, every trial."""
    index, queries, qrels, _ = build_beir_index(folder, model)
    tuning = tune_fusion(index, Judgments(queries, {q: frozenset(r) for q, r in qrels.items()}))
    trials = [{"config": dataclasses.asdict(c), "metrics": m} for c, m in tuning.trials]
    best = {
        method: max(
            (t for t in trials if t["config"]["method"] == method),
            key=lambda t: (t["metrics"]["MRR@10"], t["metrics"]["R@1"], t["metrics"]["R@10"]),
        )
        for method in ("rrf", "weighted")
    }
    trials += [{"config": {"method": side}, "metrics": m} for side, m in tuning.sides.items()]
    return {
        "split": str(folder),
        "model": index.manifest.encoder_identity,
        "queries": len(queries),
        "chunks": len(index),
        "winner": dataclasses.asdict(tuning.best),
        "best": best,
        "trials": trials,
    }


def report(
    folder: Path, config: FusionConfig | None, model: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """R@1/5/10, MRR@10, nDCG@10 (with intervals) of each mode through ``Index.search_batch`` on ``folder``, and the rankings."""
    index, queries, qrels, build_seconds = build_beir_index(folder, model)
    if config is not None:
        index.fusion = config
    measured = evaluate_modes(index, queries, qrels)
    return {
        "split": str(folder),
        "model": index.manifest.encoder_identity,
        "documents": len(index.doc_ids()),
        "chunks": len(index),
        "queries": len(queries),
        "build_seconds": round(build_seconds, 1),
        "fusion": dataclasses.asdict(index.fusion),
        "modes": measured.table,
    }, measured.rankings


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
    parser.add_argument("--model", help="a sentence-transformers name or path (default: the bundled model)")
    parser.add_argument("--name", default="hybrid", help="result name (results/<name>-latest.json)")
    args = parser.parse_args(argv)
    if not args.tune and not args.report:
        args.tune = SHARED / "data/cmrc2018/trial"
        args.report = SHARED / "data/cmrc2018/dev"
    result: dict[str, Any] = {"commit": git_commit()}
    rankings: dict[str, Any] | None = None
    if args.tune:
        result["tuning"] = tuning = tune(args.tune, args.model)
        for method, trial in tuning["best"].items():
            print(f"best {method} on {args.tune.name}: {trial['config']} -> {trial['metrics']}")
        for trial in tuning["trials"][-2:]:
            print(f"{trial['config']['method']} alone on {args.tune.name}: {trial['metrics']}")
    if args.report:
        config = None
        if args.use_tuned and args.tune:
            config = FusionConfig(**result["tuning"]["winner"])
        result["report"], rankings = report(args.report, config, args.model)
        rep = result["report"]
        title = f"\n{args.report} ({rep['documents']} documents, {rep['chunks']} chunks, {rep['queries']} queries)"
        print_table(title, rep["modes"])
    print("saved", write_result(args.name, result, rankings))


if __name__ == "__main__":
    main()
