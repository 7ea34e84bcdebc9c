"""The news-features section of benchmarks/README.md (duplicates, titles, filters), from the saved results."""

from __future__ import annotations

from typing import Any


def _machine(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = ", ".join(f"{x:.1f}" for x in m.get("load_average", ()))
    return (
        f"{m['cpu']}, {m['cores']} cores, load average {load} at the start, measured {result['measured_at']}"
    )


def _argv(result: dict[str, Any], flag: str, default: str) -> str:
    argv = result.get("argv", [])
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else default


def duplicates_section(result: dict[str, Any]) -> str:
    """How the near-duplicate threshold was chosen (``benchmarks.duplicates``)."""
    p = result["reprint_jaccard_percentiles"]
    rows = "".join(
        f"| {t['threshold']:g} | {t['archive_pairs_merged_text_only']} | {t['archive_pairs_merged_with_numbers_rule']} "
        f"| {t['reprints_caught_with_numbers_rule']:.2f} |\n"
        for t in result["thresholds"]
    )
    close = "; ".join(
        f"{c['title_a']} / {c['title_b']} ({c['jaccard']:.2f})" for c in result["closest_archive_pairs"][1:4]
    )
    exact = "; ".join(
        " = ".join(f"{d['title']} ({d['id']})" for d in group) for group in result["exact_repeat_groups"]
    )
    return (
        f"### Near-duplicate threshold (`python -m benchmarks.duplicates`, 新闻联播, {result['stories']:,} stories)\n\n"
        f"{_machine(result)}.\n\n"
        f"Exact repeats left in the archive: {exact or 'none'}. The archive has no reprints, so every merge of two "
        f"of its stories is a false merge; its closest pairs are templated stories about different events: {close}. "
        f"Reprints were synthesised from {_argv(result, '--reprints', '400')} "
        f"archive stories with two edits each (an outlet's dateline, a source or editor line, half-width "
        f"punctuation, the last paragraph cut); their Jaccard with the original: 1st percentile {p['1']}, "
        f"10th {p['10']}, median {p['50']}.\n\n"
        "| threshold | archive pairs merged, text only | with the numbers rule | reprints caught |\n|---|---|---|---|\n"
        + rows
        + "\nChosen: estimated Jaccard ≥ 0.8 of character 5-grams *and* the numbers of the two texts agree (one's "
        "set of numbers, Arabic digit runs and Chinese numerals before a measure word, contains the other's): "
        "false merges stop falling there while most reprints are still caught. LSH is queried 0.2 below the "
        f"threshold and each candidate confirmed on its estimate. Signatures and LSH for the archive: "
        f"{result['signature_and_lsh_seconds']} s.\n"
    )


def titles_section(result: dict[str, Any]) -> str:
    """Titles none / first / every / own on CMRC (``benchmarks.titles``)."""
    out = [
        "### Titles in the index (`python -m benchmarks.titles`, CMRC 2018)\n",
        f"{_machine(result)}. Picked on {result['tune']}: **{result['picked']}**; reported on {result['report']} "
        "(never used to pick).\n",
    ]
    for split in ("tune", "report"):
        rows = result.get(f"{split}_rows") or []
        if not rows:
            continue
        out.append(
            f"\n{split} split — MRR@10 / R@10 per mode:\n\n| titles | dense | lexical | hybrid |\n|---|---|---|---|"
        )
        for row in rows:
            cells = " | ".join(
                f"{row['metrics'][m]['MRR@10']:.4f} / {row['metrics'][m]['R@10']:.4f}"
                for m in ("dense", "lexical", "hybrid")
            )
            out.append(f"| {row['way']} | {cells} |")
    return "\n".join(out) + "\n"


def filters_section(result: dict[str, Any]) -> str:
    """Filtered search at archive scale (``benchmarks.filters``)."""
    rows = []
    for name, docs in result["documents_in_filter"].items():
        cells = [result["latency"][f"{mode} / {name}"] for mode in ("dense", "lexical", "hybrid")]
        short = ", ".join(
            f"{mode} {c['queries_with_fewer_than_k']}"
            for mode, c in zip(("dense", "lexical", "hybrid"), cells)
        )
        rows.append(
            f"| {name} ({docs:,}) | " + " | ".join(f"{c['p50_ms']:.1f} ms" for c in cells) + f" | {short} |"
        )
    return (
        f"### Metadata filters at archive scale (`python -m benchmarks.filters`, {result['chunks']:,} chunks)\n\n"
        f"{_machine(result)}. The whole 新闻联播 archive ({result['documents']:,} documents after "
        f"{result['duplicates']} duplicates, real cleaning, chunking, titles and BM25) with *stand-in vectors* "
        "(a hashed unit vector per chunk: embedding the archive takes over an hour on this shared machine, and an "
        "exact search scans every vector whatever its values). "
        f"{result['queries']} queries, k = {result['k']}; p50 per mode:\n\n"
        "| filter (documents in it) | dense | lexical | hybrid | queries with < k hits |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nHits outside their filter's date range: {result['hits_out_of_range_count']}.\n"
    )


def news_section(duplicates: dict | None, titles: dict | None, filters: dict | None) -> str:
    """The whole section, from whichever of the three results exist ("" when none)."""
    parts = [
        f(r)
        for f, r in ((duplicates_section, duplicates), (titles_section, titles), (filters_section, filters))
        if r
    ]
    if not parts:
        return ""
    return "\n## News features (issue 15): duplicates, titles, filters\n\n" + "\n".join(parts)
