"""The cross-lingual section of the benchmark report: English CMRC 2018 questions over the Chinese paragraphs.

Rendered from ``results/crosslingual-latest.json`` (``python -m benchmarks.crosslingual``): the modes on dev
in both languages with 95 % bootstrap intervals, the paired comparisons issue 27 asks for, and every
setting tried on trial.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report_common import Results, machine_line, table

LANGUAGE_LABELS = {
    "en": "English",
    "zh-sample": "Chinese originals of the English questions",
    "zh": "Chinese, every question",
}
SHOWN = ("R@1", "R@10", "MRR@10")


def _cell(metrics: dict[str, Any], name: str) -> str:
    low, high = metrics["ci95"][name]
    return f"{metrics[name]:.3f} ({low:.3f}–{high:.3f})"


def modes_table(report: dict[str, Any]) -> str:
    """Each row of a split's report in each language: R@1, R@10, MRR@10 with their 95 % intervals."""
    rows = []
    for language, label in LANGUAGE_LABELS.items():
        for row, metrics in report["tables"].get(language, {}).items():
            rows.append({"questions": label, "setting": row, **{m: _cell(metrics, m) for m in SHOWN}})
    return table(rows, ["questions", "setting", *SHOWN])


def _verdict(found: dict[str, Any]) -> str:
    low, high = found["ci95"]
    word = {"a": "worse", "b": "**better**", "tie": "tie"}[found["verdict"]]
    return f"{found['difference']:+.3f} ({low:+.3f} to {high:+.3f}) {word}"


def checks_table(checks: dict[str, dict[str, Any]]) -> str:
    """The paired comparisons (second setting minus first), one row each, one column per metric."""
    rows = [
        {"comparison": name, **{m: _verdict(found[m]) for m in SHOWN if m in found}}
        for name, found in checks.items()
    ]
    return table(rows, ["comparison", *SHOWN])


def trials_table(tuning: dict[str, Any]) -> str:
    """Every setting tried on trial: means in both languages and the paired verdicts that decided."""
    rows = []
    for trial in tuning["trials"]:
        rows.append(
            {
                "setting": trial["label"],
                "zh R@1": f"{trial['zh']['R@1']:.3f}",
                "zh MRR@10": f"{trial['zh']['MRR@10']:.3f}",
                "en R@1": f"{trial['en']['R@1']:.3f}",
                "en R@10": f"{trial['en']['R@10']:.3f}",
                "en MRR@10": f"{trial['en']['MRR@10']:.3f}",
                "en R@10 vs threshold only": _verdict(trial["en_vs_threshold"]["R@10"]),
                "zh R@1 vs before": _verdict(trial["zh_vs_before"]["R@1"]),
            }
        )
    columns = ["setting", "zh R@1", "zh MRR@10", "en R@1", "en R@10", "en MRR@10"]
    return table(rows, [*columns, "en R@10 vs threshold only", "zh R@1 vs before"])


def crosslingual_section(result: dict[str, Any]) -> str:
    """The whole section from one saved run."""
    tuning, dev = result["tuning"], result["reports"]["dev"]
    chosen = tuning["chosen"]
    saved = "".join(
        f"\nChinese hybrid now against the saved `benchmarks.hybrid` run {name} (commit {found['commit']}, "
        "all 3,219 dev questions, query by query):\n\n" + checks_table({"zh: now vs saved run": found}) + "\n"
        for name, found in dev.get("against_saved", {}).items()
    )
    return (
        "\n## English questions over Chinese paragraphs (`python -m benchmarks.crosslingual`, CMRC 2018)\n\n"
        f"CMRC 2018 with its questions translated into English by hand (`benchmarks/data/cmrc2018-en`, "
        f"{tuning['queries']['en']:,} trial and {dev['queries']['en']} dev questions; see its README), searched "
        f"over the Chinese paragraphs ({dev['documents']} dev paragraphs, {dev['model']}), story level, "
        "top 10. *hybrid before*: fusion with no coverage threshold and no feedback (the library until "
        "issue 27); *threshold only*: BM25 left out for a query under the coverage threshold; *hybrid now*: "
        f"the defaults (coverage {chosen['min_coverage']:g}, feedback {chosen['feedback']}, "
        f"{chosen['feedback_docs']} passages at weight {chosen['feedback_weight']:g}). In brackets the 95 % "
        "bootstrap interval over questions. Settings were chosen on trial only; dev is only reported.\n\n"
        "### Dev\n\n" + modes_table(dev) + "\nPaired comparisons on dev (95 % paired bootstrap; a difference "
        "whose interval holds 0 is a tie):\n\n" + checks_table(dev["checks"]) + saved + "\n### Trial "
        "(where the settings were chosen)\n\n"
        + modes_table(result["reports"]["trial"])
        + f"\nRules: coverage — {' '.join(tuning['rules']['coverage'].split())} Feedback — "
        f"{' '.join(tuning['rules']['feedback'].split())} Chosen: coverage {tuning['coverage']:g}, "
        f"{tuning['feedback']}.\n\nEvery setting tried (paired verdicts against *threshold only* for English "
        "R@10 and *hybrid before* for Chinese R@1; the lexical feedback rows expand a silent query with the "
        "salient Chinese terms of the top dense passages instead, and were not shipped):\n\n"
        + trials_table(tuning)
        + "\n"
        + machine_line(result)
        + "\n"
    )


def render_crosslingual(results: Results) -> str:
    """English questions against Chinese paragraphs, before and after issue 27 (``benchmarks.crosslingual``)."""
    return crosslingual_section(results["crosslingual"])
