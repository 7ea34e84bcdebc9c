"""The report's section for ``benchmarks/scale_out.py``: local vs Milvus, adding one article, Ray embedding."""

from __future__ import annotations

from typing import Any

from benchmarks.report_common import table

ENGINES = ("local", "milvus_lite_embedded", "milvus_lite_server")
# One run of every part, or the parts run side by side (``--only engines --name scale_out_engines`` …).
SCALE_OUT_RESULTS = (
    "scale_out",
    "scale_out_engines",
    "scale_out_add",
    "scale_out_add_nodedup",
    "scale_out_cmrc",
    "scale_out_ray",
)
MODES = ("dense", "lexical", "hybrid")


def scale_out_section(runs: list[dict[str, Any]]) -> str:
    """Markdown for the saved ``scale_out`` runs (one run, or its parts run side by side with ``--only``)."""
    out = ["\n## Beyond one machine: Milvus and Ray (`python -m benchmarks.scale_out`)\n"]
    for run in runs:
        machine, params = run["machine"], run.get("parameters", {})
        flags = f"--only {params.get('only', '')}" + ("" if params.get("dedup", True) else " --no-dedup")
        out.append(
            f"`{flags}`: {machine['cpu']}, {machine['cores']} cores, measured {run['measured_at']}, load "
            f"average {', '.join(f'{x:.2f}' for x in run.get('load_before', ()))} at the start and "
            f"{', '.join(f'{x:.2f}' for x in run.get('load_after', ()))} at the end.\n"
        )
    out.append(
        "The machine (2 cores) is shared with other work and was busy, and the parts ran at the same time: "
        "compare the rows of one table (ratios), not absolute times.\n"
    )
    result: dict[str, Any] = {}
    adds = [run["add_one_article"] for run in runs if "add_one_article" in run]
    for run in runs:
        result.update({k: v for k, v in run.items() if k in ("engines", "cmrc_dev_hybrid", "ray")})
    engines = result.get("engines")
    if engines:
        out.append(
            f"{engines['stories']:,} 新闻联播 stories ({engines['chunks']:,} chunks) in each backend; "
            f"{engines['queries']} later headlines as queries. Overlap@10 and same top 5 are against the "
            "local index; insert is saving the local index into Milvus (vectors copied, not embedded). The "
            f"local build embedded {engines['local'].get('vectors_embedded_in_build', '?')} passages and "
            "took the rest from the embedding cache.\n"
        )
        rows = []
        for name in ENGINES:
            entry = engines.get(name)
            if not entry:
                continue
            row: dict[str, Any] = {"backend": name, "insert": entry.get("insert_chunks_per_s")}
            for mode in MODES:
                figures = entry["queries"][mode]
                row[f"{mode}_o"] = f"{figures['overlap_at_10']:g} / {figures['same_top5_share']:g}"
                row[f"{mode}_t"] = f"{figures['p50']:g} / {figures['p95']:g}"
            rows.append(row)
        columns: list[Any] = [("backend", "backend"), ("insert", "insert, chunks/s")]
        for mode in MODES:
            columns += [(f"{mode}_o", f"{mode}: overlap@10 / same top 5"), (f"{mode}_t", "p50 / p95 ms")]
        out.append(table(rows, columns))
        embedded = engines.get("milvus_lite_embedded", {})
        if "lexical_after_10pct" in embedded:
            after, again = embedded["lexical_after_10pct"], embedded["lexical_after_reweight"]
            out.append(
                f"\nSplit BM25 after adding {embedded['add_10pct']['stories']} stories (10 %) to the Milvus "
                f"index ({embedded['add_10pct']['seconds']} s), against an exact local rebuild of the same "
                f"stories: lexical top-10 overlap {after['overlap_at_10']:g}, scores off by "
                f"{after['mean_relative_score_difference']:.2%} on average (at most "
                f"{after['max_relative_score_difference']:.2%}); after re-weighting "
                f"{embedded['reweight']['rows']:,} rows ({embedded['reweight']['seconds']} s): overlap "
                f"{again['overlap_at_10']:g}, at most {again['max_relative_score_difference']:.2%}.\n"
            )
    if not adds and engines and "add_one_article" in engines:
        adds = [engines["add_one_article"]]
    if adds:
        out.append(
            "\nAdding one article (one at a time after a warm-up, the small and large index taking turns; their "
            "vectors cached, so this is the index's own cost; ms). With near-duplicate checks on (the default), "
            "a Milvus index (format 2) is asked only for the stored documents sharing an LSH band with the new "
            "one; a directory index reads every stored MinHash signature and rebuilds BM25, both O(N):\n"
        )
        rows = []
        for figures in adds:
            dedup = "on" if figures.get("dedup", True) else "off"
            for name, f in figures.items():
                if not isinstance(f, dict):
                    continue
                small, large = f["small"], f["large"]
                rows.append(
                    {
                        "backend": name,
                        "dedup": dedup,
                        "small": f"{small['chunks']:,} chunks: {small['p50']:g} (p95 {small['p95']:g})",
                        "large": f"{large['chunks']:,} chunks: {large['p50']:g} (p95 {large['p95']:g})",
                        "ratio": f["large_over_small"],
                    }
                )
        out.append(
            table(
                rows,
                [
                    ("backend", "backend"),
                    ("dedup", "dedup"),
                    ("small", "small index, p50"),
                    ("large", "large index, p50"),
                    ("ratio", "large / small"),
                ],
            )
        )
    cmrc = result.get("cmrc_dev_hybrid")
    if cmrc:
        rows = [{"backend": name, **cmrc[name]} for name in ("local", "milvus_lite_embedded")]
        out.append(
            f"\nHybrid on CMRC 2018 dev ({cmrc['queries']:,} questions), the corpus built locally and "
            "built into milvus-lite (batch by batch):\n"
        )
        out.append(
            table(
                rows, [("backend", "backend"), "chunks", "R@1", "MRR@10", "nDCG@10", ("build_s", "build s")]
            )
        )
        out.append(f"\nMilvus − local: {', '.join(f'{k} {v:+g}' for k, v in cmrc['difference'].items())}\n")
    ray = result.get("ray")
    if ray:
        out.append(
            f"\nEmbedding {ray['chunks']:,} 新闻联播 chunk texts with the cache off, on {ray['cpus']} CPUs; each "
            "Ray run starts a local cluster (its start-up is in the wall time):\n"
        )
        rows = []
        for key, label in (
            ("single_process", "one process"),
            ("ray_1_workers", "Ray, 1 worker"),
            ("ray_2_workers", "Ray, 2 workers"),
        ):
            if key in ray:
                rows.append({"run": label, **ray[key]})
        out.append(
            table(
                rows,
                [
                    ("run", "run"),
                    ("wall_s", "wall s"),
                    ("chunks_per_s", "chunks/s"),
                    ("throughput_vs_single", "vs one process"),
                    ("min_cosine_vs_single", "min cosine vs one process"),
                ],
            )
        )
        out.append(
            f"\nStart-up overhead: {ray['start_up_overhead_s']:g} s (8 texts through Ray, "
            f"{ray['ray_start_up_8_texts']['wall_s']:g} s, against one process, "
            f"{ray['single_process_8_texts']['wall_s']:g} s).\n"
        )
    return "\n".join(out)
