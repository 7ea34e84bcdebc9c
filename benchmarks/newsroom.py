"""Newsroom features at scale (issue 25): sync of a crawl folder, facets and similar latency.

Synthetic 新闻联播-like stories (:mod:`benchmarks.synthetic`) and the :class:`~benchmarks.synthetic.HashEncoder`
stand-in, so the figures are the workflow's and the engine's cost, not a model's (embedding 15 stories
with the bundled model adds about what ``benchmarks.latency`` reports for 15 texts).

- ``sync``: a folder of ``--files`` story files is built and saved; then 10 new, 5 changed and 5 deleted
  files; ``semsearch sync`` work (load, sync, save) is timed for that pass and for an unchanged pass.
- ``facets``/``similar``: an index of ``--chunks`` chunks; p50/p95 of ``facets()`` (every story per
  month; the same with a one-year filter; a query's top 100 per month) and of ``similar()`` for random
  stories.
- ``--stories-index PATH --stories-data BEIR``: how a story's score should combine its passages
  (:data:`semsearch.search.grouping.STORY_SCORES`), measured on a real index (the bundled model) and its
  labelled questions: the 20 best stories with up to 3 passages each, re-ranked by each method.

    python -m benchmarks.newsroom --files 1000 --chunks 85000
    python -m benchmarks.newsroom --skip-scale --stories-index /tmp/cmrc-trial --stories-data ../shared/data/cmrc2018/trial
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Timer, percentiles, write_result
from benchmarks.synthetic import HashEncoder, held_out_queries, sentence_pool, synthetic_stories, year_filter


def sync_pass(folder: Path, index_path: Path, encoder: Any) -> tuple[float, Any]:
    """Wall seconds of what ``semsearch sync`` does in one pass (load, sync, save), and its report."""
    from semsearch import Index

    started = time.perf_counter()
    index = Index.load(index_path, model=encoder)
    report = index.sync(folder, settle=0)
    if report.changed:
        index.save()
    return time.perf_counter() - started, report


def measure_sync(files: int, seed: int = 0, pool: Any = None) -> dict[str, Any]:
    """Build a folder of ``files`` stories, then time an unchanged pass and a 10 new / 5 changed / 5 deleted one."""
    from semsearch import Index

    encoder = HashEncoder()
    pool = pool or sentence_pool()
    stories = synthetic_stories(10**9, seed=seed, pool=pool)
    with tempfile.TemporaryDirectory() as tmp:
        folder, index_path = Path(tmp) / "crawl", Path(tmp) / "index"
        folder.mkdir()
        for _ in range(files):
            doc = next(stories)
            (folder / f"{doc.doc_id}.txt").write_text(f"{doc.title}\n\n{doc.text}", encoding="utf-8")
        with Timer() as build:
            Index.build([folder], model=encoder, cache=False).save(index_path)
        unchanged, quiet = sync_pass(folder, index_path, encoder)
        picked = random.Random(seed).sample(sorted(folder.iterdir()), 10)
        for path in picked[:5]:  # deleted
            path.unlink()
        for path in picked[5:]:  # changed
            path.write_text(path.read_text(encoding="utf-8") + "\n\n今天又有新的进展。", encoding="utf-8")
        for _ in range(10):
            doc = next(stories)
            (folder / f"{doc.doc_id}.txt").write_text(f"{doc.title}\n\n{doc.text}", encoding="utf-8")
        changed, report = sync_pass(folder, index_path, encoder)
    return {
        "files": files,
        "build_seconds": round(build.seconds, 2),
        "unchanged_pass_seconds": round(unchanged, 2),
        "unchanged_pass": quiet.summary(),
        "change_pass_seconds": round(changed, 2),
        "change_pass": report.summary(),
    }


def measure_queries(chunks: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """p50/p95 milliseconds of facets (three kinds) and similar on an index of ``chunks`` chunks."""
    from semsearch import Index

    encoder = HashEncoder()
    pool = sentence_pool()
    with Timer() as build:
        index = Index.build(synthetic_stories(chunks, seed=seed, pool=pool), model=encoder, cache=False)
    queries = held_out_queries(repeats, pool=pool)
    encoder.remember(queries)
    ids = random.Random(seed).sample(index.doc_ids(), repeats)

    def timed(call: Any, args: list[Any]) -> dict[str, float]:
        call(args[0])  # warm
        times = []
        for arg in args:
            started = time.perf_counter()
            call(arg)
            times.append((time.perf_counter() - started) * 1000)
        return {k: round(v, 2) for k, v in percentiles(times, (50, 95)).items()}

    return {
        "chunks": len(index),
        "stories": len(index.doc_ids()),
        "build_seconds": round(build.seconds, 1),
        "facets_all_by_month_ms": timed(lambda _: index.facets(by="date:month"), [None] * repeats),
        "facets_one_year_by_day_ms": timed(
            lambda _: index.facets(by="date:day", where=year_filter()), [None] * repeats
        ),
        "facets_query_top100_by_month_ms": timed(lambda q: index.facets(q, by="date:month"), queries),
        "similar_k10_ms": timed(lambda d: index.similar(d, 10), ids),
        "grouped_search_k10_ms": timed(lambda q: index.search(q, 10, group="document"), queries),
    }


def measure_stories(index_path: Path, data: Path) -> dict[str, Any]:
    """Metrics of each story-score method on ``data``'s questions: stories re-ranked from their passages."""
    from semsearch import Index
    from semsearch.search.evaluation import read_judgments, score_runs
    from semsearch.search.grouping import STORY_SCORES, story_score

    index, judgments = Index.load(index_path), read_judgments(data)
    qids = list(judgments.queries)
    runs: dict[str, dict[str, list[str]]] = {method: {} for method in STORY_SCORES}
    for start in range(0, len(qids), 64):
        batch = qids[start : start + 64]
        found = index.search_batch(
            [judgments.queries[q] for q in batch], k=20, group="document", max_per_doc=3
        )
        for qid, stories in zip(batch, found):
            for method in STORY_SCORES:
                scored = sorted(stories, key=lambda s: -story_score([p.score for p in s.passages], method))
                runs[method][qid] = [s.doc_id for s in scored[:10]]
    return {
        "data": str(data),
        "questions": len(qids),
        "metrics": {method: score_runs(runs[method], judgments.relevant) for method in STORY_SCORES},
    }


def render(results: dict[str, Any]) -> str:
    """The report section: sync wall times, facets/similar latency, story-score methods."""
    run = {**results.get("newsroom", {}), **results.get("newsroom-stories", {})}
    lines = ["\n## Newsroom features (`python -m benchmarks.newsroom`)\n"]
    if "sync" in run:
        sync = run["sync"]
        lines.append(
            f"Sync of a folder of {sync['files']:,} story files ({run['encoder']}): an unchanged pass "
            f"{sync['unchanged_pass_seconds']} s ({sync['unchanged_pass']}); 10 new, 5 changed, 5 deleted "
            f"{sync['change_pass_seconds']} s ({sync['change_pass']}); load, sync and save each time.\n"
        )
    if "queries" in run:
        q = run["queries"]
        lines.append(
            f"At {q['chunks']:,} chunks ({q['stories']:,} stories, {run['encoder']}), milliseconds:\n"
        )
        lines.append("| call | p50 | p95 |\n|---|---:|---:|")
        for key in (
            "facets_all_by_month_ms",
            "facets_one_year_by_day_ms",
            "facets_query_top100_by_month_ms",
            "similar_k10_ms",
            "grouped_search_k10_ms",
        ):
            lines.append(f"| {key.removesuffix('_ms')} | {q[key]['p50']} | {q[key]['p95']} |")
        lines.append("")
    if "stories" in run:
        st = run["stories"]
        lines.append(
            f"Story score from its passages, {st['questions']:,} questions of `{st['data']}` (hybrid):\n"
        )
        lines.append("| method | R@1 | MRR@10 | nDCG@10 |\n|---|---:|---:|---:|")
        for method, m in st["metrics"].items():
            lines.append(f"| {method} | {m['R@1']:.4f} | {m['MRR@10']:.4f} | {m['nDCG@10']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and save them under benchmarks/results (newsroom-latest.json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="story files in the synced folder")
    parser.add_argument("--chunks", type=int, default=85000, help="chunks of the facets/similar index")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement")
    parser.add_argument("--skip-scale", action="store_true", help="measure only the story scores")
    parser.add_argument("--stories-index", type=Path, help="an index built from --stories-data's corpus")
    parser.add_argument("--stories-data", type=Path, help="a BEIR folder of labelled questions")
    args = parser.parse_args(argv)
    data: dict[str, Any] = {
        "params": {k: str(v) for k, v in vars(args).items()},
        "encoder": "HashEncoder (stand-in)",
    }
    if not args.skip_scale:
        data["sync"] = measure_sync(args.files)
        print(data["sync"], flush=True)
        data["queries"] = measure_queries(args.chunks, args.repeats)
        print(data["queries"], flush=True)
        print(write_result("newsroom", data))
    if args.stories_index and args.stories_data:
        stories = {
            "params": data["params"],
            "stories": measure_stories(args.stories_index, args.stories_data),
        }
        print(stories["stories"], flush=True)
        print(write_result("newsroom-stories", stories))


if __name__ == "__main__":
    main()
