"""Two saved quality runs of the same questions, compared query by query: is a difference real?

    python -m benchmarks.compare results/hybrid-20261206T083942Z.json results/hybrid-latest.json

Both results must keep their rankings (``rankings_file``) and name the BEIR split they were measured on
(``report.split``), whose qrels judge them. For each mode the two have and each metric: the first
run's value, the second's, their mean per-query difference (second − first) with its 95 % paired
bootstrap interval, and the verdict ("tie" when the interval holds 0). Nothing is re-run.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.common import RESULTS, load_beir
from semsearch.search.evaluation import METRICS, RankedDoc, per_query
from semsearch.search.significance import paired


class Row(NamedTuple):
    """One mode and metric of two runs side by side."""

    mode: str
    metric: str
    first: float
    second: float
    difference: float
    low: float
    high: float
    verdict: str


def _load(path: Path) -> dict[str, Any]:
    """A saved result with its rankings (read beside it: ``rankings/…`` in the same results folder)."""
    full = path if path.is_absolute() or path.exists() else RESULTS / path
    result = json.loads(full.read_text(encoding="utf-8"))
    relative = result.get("rankings_file")
    if relative:
        with gzip.open(full.parent / relative, "rt", encoding="utf-8") as handle:
            result["rankings"] = json.load(handle)
    return result


def compare(first: dict[str, Any], second: dict[str, Any]) -> list[Row]:
    """Every shared mode and metric of two saved runs, paired query by query on the first run's split."""
    split = Path(first["report"]["split"])
    if Path(second["report"]["split"]) != split:
        raise SystemExit(
            f"the runs were measured on different splits: {split} and {second['report']['split']}"
        )
    _, _, qrels = load_beir(split)
    a, b = first.get("rankings"), second.get("rankings")
    if a is None or b is None:
        raise SystemExit("both runs must keep their rankings (rankings_file)")
    rows = []
    for mode in [m for m in a if m in b]:
        runs = [
            {q: [RankedDoc(*doc) for doc in ranked] for q, ranked in side[mode].items()} for side in (a, b)
        ]
        values = [per_query(run, qrels) for run in runs]
        for metric in METRICS:
            x, y = values[0][metric], values[1][metric]
            found = paired(x, y)
            rows.append(
                Row(
                    mode,
                    metric,
                    sum(x) / len(x),
                    sum(y) / len(y),
                    found.difference,
                    found.low,
                    found.high,
                    found.verdict,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("first", type=Path, help="a saved result (JSON), e.g. the baseline")
    parser.add_argument("second", type=Path, help="another saved result of the same split")
    args = parser.parse_args(argv)
    print(f"{'mode':8} {'metric':8} {'first':>7} {'second':>7} {'diff':>8}  95% interval        verdict")
    for row in compare(_load(args.first), _load(args.second)):
        print(
            f"{row.mode:8} {row.metric:8} {row.first:7.4f} {row.second:7.4f} {row.difference:+8.4f}  "
            f"[{row.low:+.4f}, {row.high:+.4f}]  {'tie' if row.verdict == 'tie' else ('better' if row.verdict == 'b' else 'worse')}"
        )


if __name__ == "__main__":
    main()
