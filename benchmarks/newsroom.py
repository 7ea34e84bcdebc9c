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
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import Timer, percentiles, write_result
from benchmarks.synthetic import HashEncoder, held_out_queries, sentence_pool, synthetic_stories, year_filter

STAND_IN = "stand-in"  # --model: the HashEncoder stand-in (the default); "bundled" or a path: a real model
BUNDLED = "bundled"
KNOWN_ITEM_MODES = ("hybrid", "dense")
STORY_METRICS = ("R@1", "R@10", "MRR@10")


def encoder_for(model: str) -> Any:
    """What ``Index.build``/``load`` is given for ``--model``: the stand-in, None (the bundled model) or a path."""
    if model == STAND_IN:
        return HashEncoder()
    return None if model == BUNDLED else model


def encoder_name(model: str) -> str:
    """How the report names ``--model``."""
    return {STAND_IN: "HashEncoder (stand-in)", BUNDLED: "the bundled model"}.get(model, model)


def sync_pass(folder: Path, index_path: Path, encoder: Any) -> tuple[float, Any]:
    """Wall seconds of what ``semsearch sync`` does in one pass (load, sync, save), and its report.

    No embedding cache: what a pass embeds it pays for (the report counts the chunks embedded).
    """
    from semsearch import Index

    started = time.perf_counter()
    index = Index.load(index_path, model=encoder)
    report = index.sync(folder, settle=0, cache=False)
    if report.changed:
        index.save()
    return time.perf_counter() - started, report


def measure_sync(files: int, seed: int = 0, pool: Any = None, model: str = STAND_IN) -> dict[str, Any]:
    """Build a folder of ``files`` stories, then time an unchanged pass and a 10 new / 5 changed / 5 deleted one.

    ``model``: :data:`STAND_IN`, :data:`BUNDLED` or a model path (:func:`encoder_for`).
    """
    from semsearch import Index

    encoder = encoder_for(model)
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
        "encoder": encoder_name(model),
        "build_seconds": round(build.seconds, 2),
        "unchanged_pass_seconds": round(unchanged, 2),
        "unchanged_pass": quiet.summary(),
        "change_pass_seconds": round(changed, 2),
        "change_pass": report.summary(),
    }


def timed(call: Any, args: list[Any]) -> dict[str, float]:
    """p50/p95 milliseconds of ``call(arg)`` for each of ``args`` (after one untimed warm call)."""
    call(args[0])
    times = []
    for arg in args:
        started = time.perf_counter()
        call(arg)
        times.append((time.perf_counter() - started) * 1000)
    return {k: round(v, 2) for k, v in percentiles(times, (50, 95)).items()}


def time_queries(
    index: Any, queries: list[str], ids: list[str], repeats: int, year: int = 2020
) -> dict[str, Any]:
    """p50/p95 of facets (three kinds; one kind within ``year``), similar and a grouped search on ``index``."""
    return {
        "chunks": len(index),
        "stories": len(index.doc_ids()),
        "year": year,
        "facets_all_by_month_ms": timed(lambda _: index.facets(by="date:month"), [None] * repeats),
        "facets_one_year_by_day_ms": timed(
            lambda _: index.facets(by="date:day", where=year_filter(year)), [None] * repeats
        ),
        "facets_query_top100_by_month_ms": timed(lambda q: index.facets(q, by="date:month"), queries),
        "similar_k10_ms": timed(lambda d: index.similar(d, 10), ids),
        "grouped_search_k10_ms": timed(lambda q: index.search(q, 10, group="document"), queries),
    }


def measure_queries(chunks: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """p50/p95 milliseconds of facets (three kinds) and similar on a stand-in index of ``chunks`` chunks."""
    from semsearch import Index

    encoder = HashEncoder()
    pool = sentence_pool()
    with Timer() as build:
        index = Index.build(synthetic_stories(chunks, seed=seed, pool=pool), model=encoder, cache=False)
    queries = held_out_queries(repeats, pool=pool)
    encoder.remember(queries)
    ids = random.Random(seed).sample(index.doc_ids(), repeats)
    return {**time_queries(index, queries, ids, repeats), "build_seconds": round(build.seconds, 1)}


def measure_queries_on(index_path: Path, repeats: int, seed: int = 0) -> dict[str, Any]:
    """The same calls on a saved index with its own model (query embedding included in the times).

    Queries: titles and sentences of stories made from the 新闻联播 sentences (:func:`held_out_queries`).
    """
    from semsearch import Index

    index = Index.load(index_path)
    index.search("预热", 1)  # loads the model: its start-up is not a query's cost
    queries = held_out_queries(repeats, pool=sentence_pool())
    ids = random.Random(seed).sample(index.doc_ids(), repeats)
    busiest = max(index.facets(by="date:year").counts, key=lambda c: c.count)  # the year most stories have
    return {**time_queries(index, queries, ids, repeats, int(busiest.value)), "index": str(index_path)}


CLAUSE = re.compile(r"[^，。！？；：,;!?]+")
CLAUSE_CHARS = (10, 40)  # a known-item query: a clause of this many characters


def known_item_queries(index: Any, n: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    """``n`` seeded-random stories of ``index`` as known-item questions: a clause of a middle paragraph and the title.

    Each story: ``{"clause": …, "title": …|None, "relevant": [doc_id]}``. The clause (10–40 characters
    between punctuation) comes from the middle paragraph, never the first (which a title or lead
    repeats); stories with no such clause are passed over. A title that other stories share too
    (国内联播快讯…) names no one story: such a story gets no title question. Folded near-duplicates
    are not indexed, so the kept story stands for them (a hit's ``duplicates``).
    """
    rng = random.Random(seed)
    titles = Counter(d["title"] for d in index.documents())
    ids = index.doc_ids()
    rng.shuffle(ids)
    found: dict[str, dict[str, Any]] = {}
    for doc_id in ids:
        if len(found) == n:
            break
        record = index.document(doc_id)
        paragraphs = [p for p in record["clean_text"].split("\n") if p.strip()]
        middle = paragraphs[len(paragraphs) // 2] if len(paragraphs) > 1 else ""
        clauses = [c.strip() for c in CLAUSE.findall(middle)]
        clauses = [c for c in clauses if CLAUSE_CHARS[0] <= len(c) <= CLAUSE_CHARS[1]]
        if not clauses:
            continue
        title = record["title"] if record["title"] and titles[record["title"]] == 1 else None
        found[doc_id] = {"clause": rng.choice(clauses), "title": title, "relevant": [doc_id]}
    return found


def story_runs(
    index: Any, queries: dict[str, str], mode: str, *, k: int = 10, pool: int = 20
) -> dict[str, dict[str, list[str]]]:
    """Each query's stories, best first, as a reader gets them: run name → query id → doc ids.

    ``passages``: the ``k`` best passages, each story once at its first passage (what a top-``k``
    passage list shows); ``one-per-story``: ``max_per_doc=1`` (``semsearch evaluate``'s ranking);
    ``grouped``: ``search(k, group="document")`` as a user calls it; ``grouped-METHOD``: the ``pool``
    best stories (3 passages each) ordered by each :data:`~semsearch.search.grouping.STORY_SCORES`
    method, top ``k`` (in hybrid mode a deeper search than ``grouped``: fused scores depend on depth).
    """
    from semsearch.search.evaluation import EVALUATION_BATCH, dedupe
    from semsearch.search.grouping import STORY_SCORES, story_score

    runs: dict[str, dict[str, list[str]]] = {
        name: {} for name in ("passages", "one-per-story", "grouped", *(f"grouped-{m}" for m in STORY_SCORES))
    }
    qids = list(queries)
    for start in range(0, len(qids), EVALUATION_BATCH):
        batch = qids[start : start + EVALUATION_BATCH]
        texts = [queries[q] for q in batch]
        passages = index.search_batch(texts, k=k, mode=mode)
        single = index.search_batch(texts, k=k, mode=mode, max_per_doc=1)
        grouped = index.search_batch(texts, k=k, mode=mode, group="document")
        pooled = index.search_batch(texts, k=pool, mode=mode, group="document", max_per_doc=3)
        for qid, hits, one, found, stories in zip(batch, passages, single, grouped, pooled):
            runs["passages"][qid] = dedupe(h.doc_id for h in hits)
            runs["one-per-story"][qid] = [h.doc_id for h in one]
            runs["grouped"][qid] = [s.doc_id for s in found]
            for method in STORY_SCORES:
                ranked = sorted(stories, key=lambda s: -story_score([p.score for p in s.passages], method))
                runs[f"grouped-{method}"][qid] = [s.doc_id for s in ranked[:k]]
    return runs


def story_check(
    index: Any, queries: dict[str, str], relevant: dict[str, set[str]], modes: tuple[str, ...]
) -> dict[str, Any]:
    """Story-level metrics of :func:`story_runs` per mode, 95 % bootstrap intervals, paired against ``passages``.

    Also how many distinct stories the top-10 passage list holds (mean, median, share below 10).
    """
    from semsearch.search.evaluation import RankedDoc, per_query
    from semsearch.search.significance import interval, paired

    found: dict[str, Any] = {}
    for mode in modes:
        runs = story_runs(index, queries, mode)
        values = {
            name: per_query({q: [RankedDoc(d, 0.0) for d in ids] for q, ids in run.items()}, relevant)
            for name, run in runs.items()
        }
        distinct = sorted(len(ids) for ids in runs["passages"].values())
        found[mode] = {
            "metrics": {
                name: {m: [round(x, 4) for x in interval(v[m])] for m in STORY_METRICS}
                for name, v in values.items()
            },
            **{
                f"versus_{baseline.replace('-', '_')}": {
                    name: {
                        m: [
                            round(x, 4) if isinstance(x, float) else x
                            for x in paired(values[baseline][m], v[m])
                        ]
                        for m in STORY_METRICS
                    }
                    for name, v in values.items()
                    if name != baseline and (baseline == "passages" or name.startswith("grouped"))
                }
                for baseline in ("passages", "one-per-story")
            },
            "distinct_stories_in_top10_passages": {
                "mean": round(sum(distinct) / len(distinct), 2),
                "median": distinct[len(distinct) // 2],
                "share_below_10": round(sum(1 for d in distinct if d < 10) / len(distinct), 4),
            },
        }
    return found


def measure_known_items(index_path: Path, n: int, seed: int = 0) -> dict[str, Any]:
    """The 新闻联播 story-level check: ``n`` known-item stories, asked by a middle clause and by the title."""
    from semsearch import Index

    index = Index.load(index_path)
    items = known_item_queries(index, n, seed)
    found: dict[str, Any] = {
        "index": str(index_path),
        "chunks": len(index),
        "stories": len(index.doc_ids()),
        "seed": seed,
        "titles": index.manifest.chunking.titles,
        "examples": {q: items[q] for q in list(items)[:5]},
    }
    for kind in ("clause", "title"):
        asked = {q: item[kind] for q, item in items.items() if item[kind]}
        relevant = {q: set(items[q]["relevant"]) for q in asked}
        found[kind] = {"questions": len(asked), **story_check(index, asked, relevant, KNOWN_ITEM_MODES)}
    return found


def measure_grouping_on(data: Path, modes: tuple[str, ...] = KNOWN_ITEM_MODES) -> dict[str, Any]:
    """Passage and story metrics with and without grouping on a BEIR split (CMRC 2018 dev), the bundled model."""
    from benchmarks.common import load_beir
    from benchmarks.quality import build_beir_index

    index, queries, qrels, _ = build_beir_index(data)
    return {
        "data": str(data),
        "documents": len(index.doc_ids()),
        "titles": len({row.get("title", "") for row in load_beir(data)[0]}),
        "chunks": len(index),
        "questions": len(queries),
        **story_check(index, queries, qrels, modes),
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


RESULT_NAMES = (
    "newsroom",
    "newsroom-sync-model",
    "newsroom-queries-real",
    "newsroom-grouping",
    "newsroom-known-items",
    "newsroom-stories",
)
QUERY_CALLS = (
    "facets_all_by_month_ms",
    "facets_one_year_by_day_ms",
    "facets_query_top100_by_month_ms",
    "similar_k10_ms",
    "grouped_search_k10_ms",
)
VERDICTS = {"tie": "tie", "b": "better", "a": "worse"}  # significance.paired: b − a, which side wins
RUN_LABELS = {
    "passages": "top-10 passages, each story once",
    "one-per-story": "max_per_doc=1 (what `evaluate` ranks)",
    "grouped": 'search(k=10, group="document"), as a user calls it',
    "grouped-max": '20 best stories (group="document"), re-ranked by story score max',
    "grouped-sum": "the same, story score sum",
    "grouped-decay": "the same, story score decay",
}


def _sync_line(sync: dict[str, Any], encoder: str) -> str:
    return (
        f"Sync of a folder of {sync['files']:,} story files ({sync.get('encoder', encoder)}; build "
        f"{sync['build_seconds']} s): an unchanged pass {sync['unchanged_pass_seconds']} s "
        f"({sync['unchanged_pass']}); 10 new, 5 changed, 5 deleted {sync['change_pass_seconds']} s "
        f"({sync['change_pass']}); load, sync and save each time.\n"
    )


def _queries_table(q: dict[str, Any], what: str) -> list[str]:
    lines = [
        f"At {q['chunks']:,} chunks ({q['stories']:,} stories, {what}; one year: {q.get('year', 2020)}), "
        "milliseconds:\n"
    ]
    lines.append("| call | p50 | p95 |\n|---|---:|---:|")
    lines += [f"| {key.removesuffix('_ms')} | {q[key]['p50']} | {q[key]['p95']} |" for key in QUERY_CALLS]
    return [*lines, ""]


def _story_tables(check: dict[str, Any]) -> list[str]:
    """Per mode: each run's story-level metrics (95 % intervals) and its paired difference from ``passages``."""
    lines = []
    for mode in KNOWN_ITEM_MODES:
        if mode not in check:
            continue
        found = check[mode]
        distinct = found["distinct_stories_in_top10_passages"]
        lines.append(
            f"{mode}: a top-10 passage list holds {distinct['mean']} distinct stories on average (median "
            f"{distinct['median']}; fewer than 10 in {100 * distinct['share_below_10']:.1f} % of queries).\n"
        )
        lines.append(
            "| ranking | "
            + " | ".join(STORY_METRICS)
            + " | minus top-10 passages (paired, 95 %) | minus max_per_doc=1 (paired, 95 %) |"
        )
        lines.append("|---|" + "---:|" * len(STORY_METRICS) + "---|---|")
        for name, metrics in found["metrics"].items():
            cells = [f"{m[0]:.4f} [{m[1]:.4f}, {m[2]:.4f}]" for m in (metrics[k] for k in STORY_METRICS)]
            against = [found.get(f"versus_{b}", {}).get(name) for b in ("passages", "one_per_story")]
            verdicts = [
                "; ".join(
                    f"{k} {d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}] {VERDICTS[d[3]]}" for k, d in versus.items()
                )
                if versus
                else "—"
                for versus in against
            ]
            lines.append(f"| {RUN_LABELS.get(name, name)} | " + " | ".join([*cells, *verdicts]) + " |")
        lines.append("")
    return lines


def _load(result: dict[str, Any]) -> str:
    """The machine's load when a result was saved (2 cores shared with other work), for the text."""
    load = result.get("machine", {}).get("load_average")
    return f" Load average {load[0]:.1f} (1 min) when saved." if load else ""


def render(results: dict[str, Any]) -> str:
    """The report section: sync wall times, facets/similar latency, grouping checks, story-score methods."""
    run = results.get("newsroom", {})
    lines = ["\n## Newsroom features (`python -m benchmarks.newsroom`)\n"]
    if "sync" in run:
        lines.append(_sync_line(run["sync"], run["encoder"]))
    model_sync = results.get("newsroom-sync-model", {}).get("sync")
    if model_sync:
        lines.append(
            _sync_line(model_sync, "a real model").rstrip("\n") + _load(results["newsroom-sync-model"]) + "\n"
        )
    if "queries" in run:
        lines += _queries_table(run["queries"], run["encoder"])
    real = results.get("newsroom-queries-real", {}).get("queries")
    if real:
        lines += _queries_table(real, f"`{real['index']}`, its own model, query embedding included")
        lines.append(_load(results["newsroom-queries-real"]).strip() + "\n")
    grouping = results.get("newsroom-grouping", {}).get("grouping")
    if grouping:
        lines.append(
            f"Grouping on `{grouping['data']}` ({grouping['questions']:,} questions, {grouping['documents']:,} "
            f"documents in {grouping['chunks']:,} chunks, the bundled model): document-level metrics with "
            "95 % bootstrap intervals; a difference whose paired interval holds 0 is a tie."
            + _load(results["newsroom-grouping"])
            + "\n"
        )
        if "titles" in grouping:
            lines.append(
                f"The corpus has {grouping['titles']:,} titles for {grouping['documents']:,} paragraphs: a story "
                "is one paragraph, so grouping can only gather the chunks of a paragraph split in several, and "
                "these figures check that grouping costs the passage metrics nothing, not that it helps (the "
                "新闻联播 check below does that). Settings were chosen on trial; dev is only reported.\n"
            )
        lines += _story_tables(grouping)
    known = results.get("newsroom-known-items", {}).get("known_items")
    if known:
        lines.append(
            f"新闻联播 story-level check on `{known['index']}` ({known['stories']:,} stories, {known['chunks']:,} "
            f"chunks; titles `{known['titles']}`): seeded-random stories (seed {known['seed']}) asked for by a "
            "clause of a middle paragraph and by their title; the story is the one relevant result. Why: a "
            "newsroom reader looks for a story they remember (a phrase from it, its headline) and reads a page "
            "of results as stories, so what counts is where that story first appears in the list of distinct "
            "stories and whether a first page of ten shows ten stories. A clause is a string of the indexed "
            "text, which favours the lexical side; with titles `every` the title is indexed before each "
            "chunk's text, so a title question matches every passage of its story (easy to find, and the "
            "passages of one story crowd a passage list). Titles that several stories share (国内联播快讯…) "
            "name no story and are left out." + _load(results["newsroom-known-items"]) + "\n"
        )
        for kind in ("clause", "title"):
            lines.append(f"Asked by {kind} ({known[kind]['questions']:,} questions):\n")
            lines += _story_tables(known[kind])
    stories = results.get("newsroom-stories", {}).get("stories")
    if stories:
        lines.append(
            f"Story score from its passages, {stories['questions']:,} questions of `{stories['data']}` (hybrid):\n"
        )
        lines.append("| method | R@1 | MRR@10 | nDCG@10 |\n|---|---:|---:|---:|")
        for method, m in stories["metrics"].items():
            lines.append(f"| {method} | {m['R@1']:.4f} | {m['MRR@10']:.4f} | {m['nDCG@10']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the measurements asked for and save each under benchmarks/results (``newsroom*-latest.json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="story files in the synced folder")
    parser.add_argument("--chunks", type=int, default=85000, help="chunks of the facets/similar index")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement")
    parser.add_argument("--skip-scale", action="store_true", help="no sync and stand-in facets/similar run")
    parser.add_argument(
        "--model",
        default=STAND_IN,
        help=f"the sync's encoder: {STAND_IN} (default; also times facets/similar), {BUNDLED} or a model path",
    )
    parser.add_argument("--queries-index", type=Path, help="time facets/similar/grouped search on this index")
    parser.add_argument("--grouping-data", type=Path, help="a BEIR split: metrics with and without grouping")
    parser.add_argument("--known-items-index", type=Path, help="a 新闻联播 index: the story-level check")
    parser.add_argument("--known-items", type=int, default=500, help="stories asked for in that check")
    parser.add_argument("--stories-index", type=Path, help="an index built from --stories-data's corpus")
    parser.add_argument("--stories-data", type=Path, help="a BEIR folder of labelled questions")
    args = parser.parse_args(argv)
    params = {k: str(v) for k, v in vars(args).items()}

    def save(name: str, data: dict[str, Any]) -> None:
        print(data, flush=True)
        print(write_result(name, {"params": params, **data}), flush=True)

    if not args.skip_scale and args.model == STAND_IN:
        sync = measure_sync(args.files)
        print(sync, flush=True)
        save(
            "newsroom",
            {
                "encoder": encoder_name(STAND_IN),
                "sync": sync,
                "queries": measure_queries(args.chunks, args.repeats),
            },
        )
    elif not args.skip_scale:
        save("newsroom-sync-model", {"sync": measure_sync(args.files, model=args.model)})
    if args.queries_index:
        save("newsroom-queries-real", {"queries": measure_queries_on(args.queries_index, args.repeats)})
    if args.grouping_data:
        save("newsroom-grouping", {"grouping": measure_grouping_on(args.grouping_data)})
    if args.known_items_index:
        save(
            "newsroom-known-items",
            {"known_items": measure_known_items(args.known_items_index, args.known_items)},
        )
    if args.stories_index and args.stories_data:
        save("newsroom-stories", {"stories": measure_stories(args.stories_index, args.stories_data)})


if __name__ == "__main__":
    main()
