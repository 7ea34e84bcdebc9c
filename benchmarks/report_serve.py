"""The report's "Search server under load" section, from ``results/serve-latest.json`` (:mod:`benchmarks.serve`)."""

from __future__ import annotations

from typing import Any

from benchmarks.report_common import Results, machine_line, table
from benchmarks.serve import (
    ADD,
    CHECK_ADD,
    CHECK_REMOVE,
    FACETS,
    GROUPED,
    PROBE,
    REMOVE,
    SEARCH_LABELS,
    SIMILAR_LABEL,
)

ORDER = [*SEARCH_LABELS.values(), GROUPED, FACETS, SIMILAR_LABEL, PROBE, ADD, CHECK_ADD, REMOVE, CHECK_REMOVE]
HYBRID = SEARCH_LABELS["hybrid"]


def _writer(run: dict[str, Any]) -> str:
    return "on" if run["writer"] else "off"


def _loads(run: dict[str, Any]) -> str:
    return "; ".join(
        f"{', '.join(f'{x:.2f}' for x in part['before'])} → {', '.join(f'{x:.2f}' for x in part['after'])}"
        for part in run["load_average"]
    )


def summary_row(run: dict[str, Any]) -> dict[str, Any]:
    """One line of the summary: hybrid latency and rate, all reads per second, errors, writes, consistency."""
    hybrid = run["endpoints"].get(HYBRID, {})
    ends = run["endpoints"]
    consistency = run.get("consistency")
    return {
        "clients": run["clients"],
        "writer": _writer(run),
        "reads_per_s": run["reads_per_s"],
        "hybrid_p50": hybrid.get("p50"),
        "hybrid_p99": hybrid.get("p99"),
        "hybrid_per_s": hybrid.get("per_s"),
        "errors": run["errors"],
        "writes": f"{ends[ADD]['requests']} / {ends[REMOVE]['requests']}"
        if ADD in ends and REMOVE in ends
        else None,
        "checked": consistency["answers_checked"] if consistency else None,
        "violations": consistency["violations"] if consistency else None,
    }


def ratio_line(runs: list[dict[str, Any]]) -> str:
    """With the writer against without, per client count: hybrid p50/p99 and reads/s as ratios."""
    parts = []
    for clients in sorted({r["clients"] for r in runs}):
        pair = {r["writer"]: r for r in runs if r["clients"] == clients}
        if True not in pair or False not in pair:
            continue
        on, off = pair[True]["endpoints"].get(HYBRID), pair[False]["endpoints"].get(HYBRID)
        if not on or not off or not off.get("p50") or not off.get("p99"):
            continue
        parts.append(
            f"{clients} clients: hybrid p50 {on['p50'] / off['p50']:.2f}×, p99 {on['p99'] / off['p99']:.2f}×, "
            f"reads/s {pair[True]['reads_per_s'] / pair[False]['reads_per_s']:.2f}×"
        )
    return ("With the writer against without it: " + "; ".join(parts) + ".\n") if parts else ""


def render_serve(results: Results) -> str:
    """Concurrent clients against ``semsearch serve``, with a writer and without: latency, rate, errors, consistency."""
    result = results["serve"]
    p, runs, server = result["parameters"], result["runs"], result["server"]
    clients = ",".join(str(c) for c in p["clients"])
    command = (
        f"python -m benchmarks.serve --index {result['index']} --clients {clients} --seconds {p['seconds']:g}"
    )
    rows = [summary_row(r) for r in runs]
    parts = [
        f"\n## Search server under load (`{command}`)\n\n{machine_line(result)}\n",
        f"`semsearch serve` on a copy of {result['index']} ({result['chunks']:,} chunks, {result['documents']:,} "
        f"stories), one process on 127.0.0.1, healthy {server['healthy_after_s']} s after its start, peak RSS "
        f"{server['peak_rss_mib']} MiB. Each client is a thread with its own keep-alive httpx connection, "
        f"looping over a fixed mix of {p['calls']} requests (k={p['k']}; {len(p['queries'])} queries: titles and "
        "phrases of stories drawn from the index with a seed, and a few English questions; each as a hybrid, "
        "lexical and dense passage search, a grouped search and a facet count, plus similar stories of "
        f"{len(p['similar_ids'])} stories). The writer adds a story made of real sentences with a unique marker "
        f"word, then removes the one it added before, pausing {p['write_pause_s']:g} s after each change; "
        "after each add's answer a lexical search for its marker must find it, after each remove's answer no "
        f"answer may hold it, and every {ordinal(p['probe_every'])} request of each reader searches a writer's "
        "marker; every answer, with the writer running and in the slices after it, is checked against when each "
        "change was acknowledged (a request in flight across a change may see either side). Runs with and "
        f"without the writer are interleaved in {p['rounds']} slices each, {p['seconds']:g} s in all per condition. Errors: any non-2xx answer or "
        "exception. The machine is shared with other work: load averages (1, 5, 15 min) at the start and end "
        "of each slice are below.\n",
        table(
            rows,
            [
                "clients",
                "writer",
                ("reads_per_s", "reads/s (all endpoints)"),
                ("hybrid_p50", "hybrid p50 ms"),
                ("hybrid_p99", "hybrid p99 ms"),
                ("hybrid_per_s", "hybrid/s"),
                "errors",
                ("writes", "adds / removes"),
                ("checked", "answers checked"),
                ("violations", "consistency violations"),
            ],
        ),
    ]
    ratio = ratio_line(runs)
    if ratio:
        parts.append(ratio)
    for run in runs:
        ends = run["endpoints"]
        labels = [x for x in ORDER if x in ends] + sorted(set(ends) - set(ORDER))
        parts.append(
            f"\n{run['clients']} clients, writer {_writer(run)} ({run['seconds']:g} s; load averages "
            f"{_loads(run)}):\n\n"
            + table(
                [{"what": label, **ends[label]} for label in labels],
                [("what", "request"), "requests", ("per_s", "per s"), "p50", "p95", "p99", "errors"],
            )
        )
        if run["first_error"]:
            parts.append(f"First error: `{run['first_error']}`\n")
        for example in (run.get("consistency") or {}).get("examples", []):
            parts.append(
                f"- violation: {example['kind']}, {example['doc_id']} in a {example['label']} answer sent "
                f"{example['after_s']} s after the change was acknowledged"
            )
    parts.append("\nLatencies in ms (nearest-rank percentiles of the answered requests of each kind).\n")
    return "\n".join(parts)


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
