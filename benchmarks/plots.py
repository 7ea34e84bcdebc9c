"""The ANN plots of the report: recall against latency per data set and size, latency and size against n.

Drawn from saved results only (``python -m benchmarks.report`` calls :func:`plots`); matplotlib is in
the ``bench`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plots(ann: list[dict[str, Any]], out: Path) -> list[str]:
    """Recall vs latency, latency vs size, size vs size; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    synthetic = [r for r in ann if r["data"] == "synthetic"]
    sizes = sorted({r["n"] for r in synthetic})
    # One panel per real data set big enough to matter, then one per synthetic size.
    panels = sorted({(r["data"], r["n"]) for r in ann if "real" in r["data"] and r["n"] >= 5000})
    panels += [("synthetic", n) for n in sizes]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (data, n) in zip(axes[0], panels):
        rows = [r for r in ann if r["data"] == data and r["n"] == n]
        for family in sorted({r["index_type"] for r in rows}, key=lambda t: (t.split(",")[-1], t)):
            pts = sorted((r["p50_ms"], r["recall@10"]) for r in rows if r["index_type"] == family)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=family)
        ax.set_xscale("log")
        ax.axhline(0.95, color="grey", lw=0.5, ls="--")
        what = "synthetic 384-d" if data == "synthetic" else data
        ax.set(title=f"{n:,} vectors ({what})", xlabel="p50 ms per query", ylabel="recall@10")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "recall_vs_latency.png", dpi=110)
    written.append("recall_vs_latency.png")
    for key, label, name in (
        ("p50_ms", "p50 ms per query", "latency_vs_size.png"),
        ("disk_mib", "index size, MiB (≈ memory)", "memory_vs_size.png"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4))
        for family in ("Flat", "HNSW32", "IVF", "SQ8"):
            pts = []
            for n in sizes:
                cands = [
                    r
                    for r in synthetic
                    if r["n"] == n
                    and (
                        r["index_type"] == family
                        or (family == "IVF" and r["index_type"].endswith(",Flat"))
                        or (family == "SQ8" and r["index_type"].endswith("SQ8"))
                    )
                ]
                # Only settings that reach the recall a user would accept: a fast setting that
                # misses most neighbours (HNSW at 1M synthetic vectors) is no point on this curve.
                cands = [r for r in cands if r["recall@10"] >= 0.95]
                if cands:
                    pts.append((n, min(r[key] for r in cands)))
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker="o",
                    label=family if family != "SQ8" else "IVF,SQ8",
                )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="vectors (synthetic)",
            ylabel=label,
            title=f"{label} vs corpus size\n(fastest setting with recall@10 ≥ 0.95)",
        )
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        written.append(name)
    plt.close("all")
    return written
