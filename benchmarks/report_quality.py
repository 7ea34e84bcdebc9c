"""Report sections on retrieval quality: the modes on CMRC, the lexical analyzers, highlights.

Each ``render_*`` takes a section's saved results (:data:`~benchmarks.report_common.Results`) and
returns its Markdown; :mod:`benchmarks.report` calls them.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report_common import Results, machine_line, table

METRIC_COLUMNS = ("R@1", "R@10", "MRR@10", "nDCG@10")
QUALITY_COLUMNS = [
    "mode",
    "R@1",
    ("R@1 ci", "R@1 95 % CI"),
    "R@5",
    "R@10",
    "MRR@10",
    ("MRR@10 ci", "MRR@10 95 % CI"),
    "nDCG@10",
    ("ms_per_query", "ms/query (batched)"),
]


def with_intervals(mode: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """A table row: the metrics, and their bootstrap intervals (when the run saved them) as text."""
    row = {"mode": mode, **metrics}
    for name, (low, high) in (metrics.get("ci95") or {}).items():
        row[f"{name} ci"] = f"{low:.4f}–{high:.4f}"
    return row


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
    out.append(
        "\nWarm single-query latency, ms, interleaved query by query: `eager` is search before (highlights "
        "of every hit, no conversion cache), `lazy` what evaluate/tune do now (never read), `shown` what a "
        "person gets now (every hit's highlights read, conversion cache warm):\n"
    )
    out.append(latency_table(result["latency_ms"]))
    return "\n".join(out)


def latency_table(latency: dict[str, dict[str, dict[str, float]]]) -> str:
    """Mode by variant (eager / lazy / shown) p50 and p95, ms."""
    rows = [
        {"mode": mode, **{f"{variant} {p}": v[variant][p] for variant in v for p in ("p50", "p95")}}
        for mode, v in latency.items()
    ]
    variants = list(next(iter(latency.values())))
    return table(
        rows, [("mode", "mode"), *[(f"{v} {p}", f"{v} {p}") for v in variants for p in ("p50", "p95")]]
    )


def archive_highlights_section(result: dict[str, Any]) -> str:
    """The same warm latency on the 新闻联播 archive (``benchmarks.highlights --xwlb``)."""
    return (
        f"\nThe same on the 新闻联播 archive ({result['chunks']:,} chunks; the headlines of the "
        f"{result['queries']} stories held out of it as queries; `--xwlb`). {machine_line(result)}:\n\n"
        + latency_table(result["latency_ms"])
    )


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
        parts.append(table([with_intervals(m, v) for m, v in rep["modes"].items()], QUALITY_COLUMNS))
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
    archive = results.get("highlights-xwlb")
    return highlights_section(results["highlights"]) + (
        archive_highlights_section(archive) if archive else ""
    )
