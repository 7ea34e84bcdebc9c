"""What every section of the benchmark report shares: Markdown tables and the machine line."""

from __future__ import annotations

from typing import Any

Results = dict[str, dict[str, Any]]  # a section's saved results, by result name


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
