"""The top-level README's figures, generated from saved results rather than typed in.

Each generated block sits between ``<!-- BEGIN generated:NAME -->`` and ``<!-- END generated:NAME -->``
in README.md; :func:`update` re-renders every block from ``results/*-latest.json`` (``python -m
benchmarks.report`` calls it), and ``tests/test_benchmarks.py`` checks that README.md holds what the
latest saved runs render.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, load_result

README = ROOT / "README.md"
_BLOCK = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S
)
MODE_LABELS = {
    "dense": "dense (bundled e5-small, 4-bit weights, OpenVINO)",
    "lexical": "lexical (jieba words + character bigrams, BM25)",
    "hybrid": "**hybrid** (default)",
}


def _cell(metrics: dict[str, Any], name: str) -> str:
    value = f"{metrics[name]:.3f}"
    ci = (metrics.get("ci95") or {}).get(name)
    return f"{value} ({ci[0]:.3f}–{ci[1]:.3f})" if ci else value


def quality_table(hybrid: dict[str, Any]) -> str:
    """The modes on CMRC 2018 dev, with 95 % bootstrap intervals over questions (``benchmarks.hybrid``)."""
    rep = hybrid["report"]
    rows = [
        f"| {MODE_LABELS.get(mode, mode)} | {_cell(m, 'R@1')} | {m['R@10']:.3f} | {_cell(m, 'MRR@10')} |"
        for mode, m in rep["modes"].items()
    ]
    return (
        f"Measured on CMRC 2018 dev ({rep['documents']} paragraphs, {rep['queries']:,} questions, never tuned on) by "
        f"`python -m benchmarks.hybrid` (run {hybrid['measured_at']}, {rep['model']}); in brackets the 95 % "
        "bootstrap interval over questions:\n\n"
        "| mode | R@1 | R@10 | MRR@10 |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


BLOCKS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "quality-table": ("hybrid", quality_table),
}


def render(name: str) -> str | None:
    """The block ``name`` as the latest saved run renders it (None if that run was never saved)."""
    result_name, renderer = BLOCKS[name]
    result = load_result(result_name)
    return None if result is None else renderer(result)


def blocks(text: str) -> dict[str, str]:
    """The generated blocks a README holds: name → body."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


def update(path: Path | None = None) -> list[str]:
    """Re-render every generated block of ``path`` (default README.md) in place; the names of the blocks rewritten."""
    path = path or README
    text = path.read_text(encoding="utf-8")
    done: list[str] = []

    def replace(match: re.Match[str]) -> str:
        body = render(match["name"]) if match["name"] in BLOCKS else None
        if body is None:
            return match[0]
        done.append(match["name"])
        return match[1] + body + match[4]

    path.write_text(_BLOCK.sub(replace, text), encoding="utf-8")
    return done
