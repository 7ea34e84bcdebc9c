"""Report section for ``benchmarks.scale_engine``: the storage engine at 10k–1M chunks, and LanceDB beside it.

The table has a column per size (10k, 100k, 300k, 1M; "–" where a size was not run) and is ready for a
before/after comparison: when ``scale_engine-before-latest.json`` holds another run (saved with
``--pin-before``), each cell reads "before → now".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.report_common import Results, machine_line, table

SIZES = (10_000, 100_000, 300_000, 1_000_000)
Cell = Callable[[dict[str, Any]], Any]


def _size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _get(entry: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(entry, dict) or key not in entry:
            return None
        entry = entry[key]
    return entry


def _num(value: Any, digits: int = 1) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) or (isinstance(value, float) and value >= 100):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _pair(a: Any, b: Any, sep: str = " / ") -> str | None:
    """``a / b``, or None when neither is known."""
    if a is None and b is None:
        return None
    return f"{a if a is not None else '–'}{sep}{b if b is not None else '–'}"


def _p50_95(entry: dict[str, Any], case: str) -> str | None:
    found = _get(entry, "warm", "search_ms", case)
    return None if not found else f"{found['p50']:.2f} / {found['p95']:.2f}"


def _op(entry: dict[str, Any], op: str) -> str | None:
    ops = entry.get("ops") or {}
    mine = _get(ops, str(entry.get("_n")), op, "total")
    if mine is None:
        return None
    ratio = _get(ops, "ratio", op)
    return f"{mine:,.0f}" + (f" ({ratio:g}×)" if ratio is not None else "")


def _failure(entry: dict[str, Any]) -> str | None:
    for part in ("build", "load", "warm", "ops", "cli"):
        found = entry.get(part) or {}
        if "failed" in found:
            return f"{part} failed"
    return None


def _chunks(entry: dict[str, Any]) -> str | None:
    b = entry.get("build") or {}
    return f"{b['chunks']:,} ({b['documents']:,})" if "chunks" in b else None


def _build(entry: dict[str, Any]) -> str | None:
    b = entry.get("build") or {}
    if "failed" in b:
        return "**failed** (see below)"
    if "build_s" not in b:
        return None
    return f"{b['build_s']:,.1f} s ({b['chunks_per_s']:,.0f}/s)"


ROWS: list[tuple[str, Cell]] = [
    ("chunks (documents)", lambda e: _chunks(e)),
    ("build + save, Flat: wall (chunks/s)", _build),
    (
        "  of which before the engine (est.: clean, chunk, terms, vectors), s",
        lambda e: _num(_get(e, "build", "prepare_s_estimate")),
    ),
    ("  save, s", lambda e: _num(_get(e, "build", "save_s"), 2)),
    (
        "peak RSS of the build, MiB (KiB/chunk above its start)",
        lambda e: (
            _get(e, "build", "peak_rss_mib")
            and f"{_num(_get(e, 'build', 'peak_rss_mib'))} ({_num(_get(e, 'build', 'peak_kib_per_chunk'))})"
        ),
    ),
    ("disk, bytes/chunk", lambda e: _num(_get(e, "build", "disk_bytes_per_chunk"), 0)),
    (
        "  by file: " + " / ".join(("vectors", "chunks", "lexical", "bm25")),
        lambda e: (
            _get(e, "build", "file_bytes_per_chunk")
            and " / ".join(f"{v:,.0f}" for v in _get(e, "build", "file_bytes_per_chunk").values())
        ),
    ),
    (
        "approximate type: build, or optimize of the Flat build, wall s (type; peak RSS MiB)",
        lambda e: _approx_build(e.get("build_approx") or {}),
    ),
    (
        "load in a new process, s: verified / verify=False",
        lambda e: _pair(_get(e, "load", "load_s"), _get(e, "load", "load_noverify_s")),
    ),
    ("RSS after load, MiB", lambda e: _num(_get(e, "load", "rss_after_load_mib"))),
    ("RSS after load + 100 queries per mode, MiB", lambda e: _num(_get(e, "load", "rss_final_mib"))),
    (
        "  KiB/chunk beyond a model-only process",
        lambda e: _num(_get(e, "load", "kib_per_chunk_after_queries"), 2),
    ),
    (
        "  KiB/chunk beyond the process before loading (jieba, OpenCC in)",
        lambda e: _num(_get(e, "load", "kib_per_chunk_beyond_start"), 2),
    ),
    (
        "RSS after load + 100 queries per mode, approximate type, MiB (anonymous)",
        lambda e: (
            _get(e, "load_approx", "rss_final_mib")
            and f"{_num(_get(e, 'load_approx', 'rss_final_mib'))} ({_num(_get(e, 'load_approx', 'anon_final_mib'))})"
        ),
    ),
    (
        "  KiB/chunk beyond the process before loading",
        lambda e: _num(_get(e, "load_approx", "kib_per_chunk_beyond_start"), 2),
    ),
    ("add 1 story + save, ms (× at 10k, same run)", lambda e: _op(e, "add")),
    ("update 1 + save, ms (× at 10k)", lambda e: _op(e, "update")),
    ("remove 1 + save, ms (× at 10k)", lambda e: _op(e, "remove")),
    ("p50 / p95 ms, lexical", lambda e: _p50_95(e, "lexical")),
    ("p50 / p95 ms, lexical, 10 % date filter", lambda e: _p50_95(e, "lexical, 10 % dates")),
    ("p50 / p95 ms, dense (Flat)", lambda e: _p50_95(e, "dense")),
    ("p50 / p95 ms, dense, 10 % date filter", lambda e: _p50_95(e, "dense, 10 % dates")),
    ("p50 / p95 ms, dense (approximate)", lambda e: _p50_95(e, "dense, approximate")),
    ("p50 / p95 ms, hybrid", lambda e: _p50_95(e, "hybrid")),
    ("p50 / p95 ms, hybrid, 10 % date filter", lambda e: _p50_95(e, "hybrid, 10 % dates")),
    ("p50 / p95 ms, hybrid (approximate)", lambda e: _p50_95(e, "hybrid, approximate")),
    (
        "recall@10, approximate vs Flat: dense / hybrid",
        lambda e: _pair(_get(e, "warm", "recall_at_10", "dense"), _get(e, "warm", "recall_at_10", "hybrid")),
    ),
    ("cold `semsearch query`, hybrid, s (× seeds-size)", lambda e: _cold(e, "hybrid")),
    ("cold `semsearch query`, lexical, s (× seeds-size)", lambda e: _cold(e, "lexical")),
    (
        "cold `semsearch query`, hybrid, approximate type, s (× seeds-size)",
        lambda e: _cold(e, "hybrid", True),
    ),
]


def _cold(entry: dict[str, Any], mode: str, approximate: bool = False) -> str | None:
    cli = entry.get("cli") or {}
    label = f"approximate {mode}" if approximate else mode
    value = _get(cli, "median_s", f"{entry.get('_n')} {label}")
    if value is None:
        return None
    return f"{value:.2f} ({_get(cli, 'ratio', label)}×)"


def _cells(result: dict[str, Any], n: int) -> dict[str, Any]:
    entry = dict((result.get("sizes") or {}).get(str(n)) or {})
    entry["_n"] = n
    return entry


def size_table(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    """Metric rows, a column per size; "before → now" when a different pinned run exists."""
    compare = before is not None and before.get("measured_at") != now.get("measured_at")
    rows = []
    for label, cell in ROWS:
        row: dict[str, Any] = {"what": label}
        for n in SIZES:
            value = cell(_cells(now, n))
            if compare:
                old = cell(_cells(before, n))  # type: ignore[arg-type]
                value = None if value is None and old is None else f"{old or '–'} → {value or '–'}"
            row[_size_label(n)] = value
        rows.append(row)
    return table(rows, [("what", ""), *(_size_label(n) for n in SIZES)])


def failures(result: dict[str, Any]) -> list[str]:
    """Why each size or part that did not run whole stopped."""
    lines = []
    for n, entry in sorted((result.get("sizes") or {}).items(), key=lambda kv: int(kv[0])):
        for part, found in entry.items():
            if isinstance(found, dict) and "failed" in found:
                where = f"; last progress: {found['last_progress']}" if found.get("last_progress") else ""
                lines.append(f"- {int(n):,} chunks, {part}: {found['failed']}{where}")
            elif isinstance(found, dict) and "skipped" in found:
                lines.append(f"- {int(n):,} chunks, {part}: skipped, {found['skipped']}")
    for n, entry in sorted((result.get("lancedb") or {}).items(), key=lambda kv: int(kv[0])):
        for part, found in entry.items():
            if isinstance(found, dict) and "failed" in found:
                lines.append(f"- LanceDB {int(n):,} chunks, {part}: {found['failed']}")
    return lines


def lancedb_table(result: dict[str, Any]) -> str:
    """semsearch's engine and LanceDB side by side at each size LanceDB ran at."""
    lance = result.get("lancedb") or {}
    if not lance:
        return ""
    columns: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for n in sorted(lance, key=int):
        columns.append((f"semsearch {_size_label(int(n))}", _cells(result, int(n)), {}))
        columns.append((f"LanceDB {_size_label(int(n))}", {}, lance[n]))

    def ours(e: dict[str, Any], what: str) -> Any:
        if "failed" in (e.get("build") or {}):
            return "failed" if what == "build" else None
        rest = _get(e, "build", "rest_s_estimate")
        return {
            "build": _get(e, "build", "build_s") and f"{e['build']['build_s']:,.1f}",
            # the estimate of making chunks, terms and vectors alone can exceed the whole build (it is timed apart)
            "storage": rest is not None
            and (f"~{rest:,.1f} (est.)" if rest >= 0 else "– (the estimate of the rest exceeds the build)"),
            "index": "in the build",
            "peak": _num(_get(e, "build", "peak_kib_per_chunk")),
            "disk": _num(_get(e, "build", "disk_bytes_per_chunk"), 0),
            "load": _get(e, "load", "load_s") and f"{e['load']['load_s']:.3f}",
            "rss": _with_approx(
                e,
                _num(_get(e, "load", "kib_per_chunk_beyond_start"), 2),
                _num(_get(e, "load_approx", "kib_per_chunk_beyond_start"), 2),
            ),
            "add": _num(_get(e, "ops", str(e["_n"]), "add", "total")),
            "lexical": _p50(e, "lexical"),
            "lexical, 10 % dates": _p50(e, "lexical, 10 % dates"),
            "dense": _with_approx(e, _p50(e, "dense"), _p50(e, "dense, approximate")),
            "dense, 10 % dates": _with_approx(
                e, _p50(e, "dense, 10 % dates"), _p50(e, "dense, 10 % dates, approximate")
            ),
            "hybrid": _with_approx(e, _p50(e, "hybrid"), _p50(e, "hybrid, approximate")),
            "recall": _get(e, "warm")
            and _with_approx(e, "1", _num(_get(e, "warm", "recall_at_10", "dense"), 4)),
        }[what]

    def theirs(e: dict[str, Any], what: str) -> Any:
        b = e.get("build") or {}
        if "failed" in b:
            return "failed" if what == "build" else None
        index = b.get("index_s") or {}
        return {
            "build": b.get("ingest_s") is not None and f"{b['ingest_s'] + sum(index.values()):,.1f}",
            "storage": b.get("storage_s") is not None and f"{b['storage_s']:,.1f}",
            "index": index and " + ".join(f"{k} {v:,.1f}" for k, v in index.items()),
            "peak": _num(b.get("peak_kib_per_chunk")),
            "disk": _num(b.get("disk_bytes_per_chunk"), 0),
            "load": _get(e, "open", "open_s") is not None and f"{e['open']['open_s']:.3f}",
            "rss": _num(_get(e, "open", "kib_per_chunk_beyond_start"), 2),
            "add": _num(b.get("add_one_ms")),
            "lexical": _p50(e, "lexical"),
            "lexical, 10 % dates": _p50(e, "lexical, 10 % dates"),
            "dense": _p50(e, "dense"),
            "dense, 10 % dates": _p50(e, "dense, 10 % dates"),
            "hybrid": _p50(e, "hybrid"),
            "recall": _lance_recall(e),
        }[what]

    labels = {
        "build": "build, s (semsearch: build + save; LanceDB: write + indexes)",
        "storage": "  of which storing, s (beyond making chunks, terms, vectors)",
        "index": "  index builds, s",
        "peak": "peak RSS of the build, KiB/chunk above its start",
        "disk": "disk, bytes/chunk",
        "load": "load / open in a new process, s",
        "rss": "RSS after load + 100 queries per mode, KiB/chunk beyond the process before",
        "add": "add 1 story, ms (semsearch: + save)",
        "lexical": "p50 ms, lexical (BM25 / FTS)",
        "lexical, 10 % dates": "p50 ms, lexical, 10 % date filter",
        "dense": "p50 ms, dense (vector)",
        "dense, 10 % dates": "p50 ms, dense, 10 % date filter",
        "hybrid": "p50 ms, hybrid",
        "recall": "dense recall@10 against exact search",
    }
    rows = []
    for key, label in labels.items():
        row: dict[str, Any] = {"what": label}
        for name, mine, other in columns:
            row[name] = (ours(mine, key) if mine else theirs(other, key)) or None
        rows.append(row)
    text = table(rows, [("what", ""), *(name for name, _, _ in columns)])
    notes = []
    for n in sorted(lance, key=int):
        entry = lance[n]
        kind = _get(entry, "build", "vector_index") or "none (exact scan)"
        note = f"- {_size_label(int(n))}: LanceDB vector index {kind}"
        same = entry.get("same_chunks")
        if same and "failed" not in same:
            note += (
                f"; the chunks given to LanceDB are semsearch's: {same['same_texts']:,} of "
                f"{same['semsearch_chunks']:,} identical, vectors within {same['max_vector_difference']:.1e}"
            )
        agree = entry.get("dense_exact_vs_semsearch_flat")
        if agree is not None:
            note += f"; LanceDB's exact top 10 holds {agree:.4f} of semsearch's Flat top 10 (same vectors)"
        notes.append(note)
    return text + "\n" + "\n".join(notes) + "\n"


def _with_approx(entry: dict[str, Any], flat: str | None, approx: str | None) -> str | None:
    """A figure with Flat and, when measured, with the approximate type (the one LanceDB's index is beside)."""
    if approx is None:
        return None if flat is None else f"{flat} (Flat)"
    kind = _get(entry, "warm", "approx_index_type") or "approximate"
    return f"{flat or '–'} (Flat); {approx} ({kind})"


def _lance_recall(entry: dict[str, Any]) -> str | None:
    warm = entry.get("warm") or {}
    if "recall_at_10" not in warm:
        return "1 (exact scan)" if warm.get("search_ms") else None
    refined = [k for k in warm["search_ms"] if k.startswith("dense, refine_factor")]
    extra = (
        f"; {warm['recall_at_10_refined']} at {warm['search_ms'][refined[0]]['p50']:.2f} ms with {refined[0][7:]}"
        if refined and "recall_at_10_refined" in warm
        else ""
    )
    return f"{warm['recall_at_10']}{extra}"


def _p50(entry: dict[str, Any], case: str) -> str | None:
    found = _get(entry, "warm", "search_ms", case)
    return None if not found else f"{found['p50']:.2f}"


def _approx_build(made: dict[str, Any]) -> str | None:
    """The approximate index's own cost: its build, or the optimize that made it from the Flat build."""
    optimize = made.get("optimize")
    if isinstance(optimize, dict) and "optimize_s" in optimize:
        return (
            f"optimize {optimize['optimize_s']:,.1f} ({made.get('index_type')}; "
            f"{_num(optimize.get('peak_rss_mib'))})"
        )
    if made.get("build_s") is None:
        return None
    return f"build {made['build_s']:,.1f} ({made.get('index_type')}; {_num(made.get('peak_rss_mib'))})"


def _when(runs: dict[str, Any]) -> str:
    """Parts grouped by when they were last measured: ``load, warm 2026-12-06T19:46:34Z (1.41)``."""
    grouped: dict[tuple[str, float], list[str]] = {}
    for part, run in runs.items():
        grouped.setdefault((run["at"], round(run["load_average"][0], 2)), []).append(part)
    return "; ".join(f"{', '.join(sorted(p))} {at} ({load})" for (at, load), p in sorted(grouped.items()))


def render_scale_engine(results: Results) -> str:
    """The storage engine alone at 10k–1M chunks (and LanceDB beside it)."""
    now = results["scale_engine"]
    before = results.get("scale_engine-before")
    start = now.get("load_average_start")
    started = {**now, "machine": {**now["machine"], "load_average": start or now["machine"]["load_average"]}}
    end = ", ".join(f"{x:.2f}" for x in now["machine"]["load_average"])
    par = now.get("parameters", {})
    runs = now.get("parts_run") or {}
    latest = max((run["at"] for run in runs.values()), default=None)
    if latest:
        started["measured_at"] = latest
    parts = [
        f"\n## The storage engine at 10k–1M chunks (`python -m benchmarks.scale_engine`)\n\n{machine_line(started)}; "
        + ("" if runs else f"load average at the end {end}; ")
        + f"commit {now.get('commit', '')}\n",
        *([f"Each part as last measured (UTC, load average then): {_when(runs)}.\n"] if runs else []),
        "Synthetic 新闻联播-like stories (real sentences recombined, `benchmarks/synthetic.py`) embedded by a "
        "hashed-n-gram stand-in encoder that costs microseconds a text, so the engine is what is timed; each "
        "figure comes from its own child process, and a size that runs out of memory "
        f"({par.get('memory_limit_gib', '–')} GiB) or time is recorded with the reason. Warm latencies exclude "
        "embedding the query (remembered ahead); "
        f"{par.get('queries', '–')} held-out titles and sentences as queries; the date filter keeps one year of ten.\n",
    ]
    if before is not None and before.get("measured_at") != now.get("measured_at"):
        parts.append(
            f"Before: commit {before.get('commit', '')}, measured {before.get('measured_at')}; now: commit "
            f"{now.get('commit', '')}, each part measured as listed above.\n"
        )
    parts.append(size_table(now, before))
    approx = sorted(
        {
            str(_get(e, "warm", "approx_index_type"))
            for e in (now.get("sizes") or {}).values()
            if _get(e, "warm", "approx_index_type")
        }
    )
    encode = next(
        (_get(e, "warm", "encode_query_ms") for e in (now.get("sizes") or {}).values() if _get(e, "warm")),
        None,
    )
    notes = []
    if approx:
        notes.append(
            f"approximate type per size: {', '.join(approx)} (the README's recommendation, `--index-type`)"
        )
    if encode:
        notes.append(f"embedding a query with the stand-in encoder (excluded above): {encode['p50']} ms p50")
    cached = sorted(
        {str(_get(e, "warm", "page_cache")) for e in (now.get("sizes") or {}).values() if _get(e, "warm")}
    )
    if cached:
        notes.append(f"page cache before the warm part: {'; '.join(cached)}")
    for size, entry in sorted((now.get("sizes") or {}).items(), key=lambda kv: int(kv[0])):
        cold = _get(entry, "warm-uncached", "search_ms")
        if cold:
            cases = [
                c
                for c in ("lexical", "lexical, 10 % dates", "dense, approximate", "hybrid, approximate")
                if c in cold
            ]
            notes.append(
                f"{_size_label(int(size))}, the same warm run after dropping the page cache (every file read from "
                "disk again as queries need it), p50 ms: "
                + ", ".join(f"{c} {cold[c]['p50']:.2f}" for c in cases)
            )
    base = now.get("baseline") or {}
    if base:
        notes.append(
            f"baseline process: semsearch and the model {base['rss_model_mib']} MiB, with jieba and OpenCC "
            f"{base['rss_model_jieba_opencc_mib']} MiB"
        )
    cli = next((e["cli"] for e in (now.get("sizes") or {}).values() if "model" in (e.get("cli") or {})), None)
    if cli:
        notes.append(
            f"cold CLI: the stand-in's indexes with a manifest naming `{cli['model'].split('|')[0]}` (the "
            f"stand-in encoder cannot be named in a manifest; the bundled model embeds the query, the "
            f"stand-in's vectors are searched), the small one {cli['chunks'].get('seeds-size')} chunks; "
            f"median of {cli['repeats']} interleaved runs"
        )
    churn = now.get("churn") or {}
    if "rss_growth_mib" in churn:
        notes.append(
            f"one process making {churn['changes']:,} changes (add, update, remove in turn, each saved) to a "
            f"10k index: RSS {churn['rss_start_mib']} → {churn['rss_end_mib']} MiB ({churn['rss_growth_mib']:+} MiB; "
            f"{churn.get('rss_growth_after_first_100_mib')} MiB after the first 100"
            + (f"; anonymous memory {churn['anon_growth_mib']:+} MiB" if "anon_growth_mib" in churn else "")
            + f"), {churn['seconds']:,} s"
        )
    synthetic = now.get("synthetic") or {}
    if "chunks_per_story" in synthetic:
        dup = synthetic["near_duplicates"]
        notes.append(
            f"synthetic stories: {synthetic['chunks_per_story']} chunks a story (the real archive, chunked alike: "
            f"{synthetic['real_chunks_per_story']}); near-duplicates semsearch would fold: {dup['duplicates']} of "
            f"{dup['checked']:,}"
        )
    parts.append("\n" + "".join(f"- {n}\n" for n in notes))
    stopped = failures(now)
    if stopped:
        parts.append("\nWhat did not run whole, and why:\n\n" + "\n".join(stopped) + "\n")
    lance = lancedb_table(now)
    if lance:
        lance_at = (runs.get("lancedb") or {}).get("at")
        apart = lance_at and any(
            (runs.get(part) or {}).get("at") not in (None, lance_at) for part in ("load", "warm", "ops")
        )
        when = (
            f"LanceDB measured at {lance_at}, semsearch's column at the times above (not one run: compare with care)"
            if apart
            else "same run"
        )
        parts.append(
            f"\nLanceDB (embedded) beside it, {when}: the same chunks, the same stand-in vectors, BM25 over the "
            "same analysed terms (whitespace tokenizer), dates as a column with a BTREE index; hybrid is LanceDB's "
            "own query with `RRFReranker(K=5)` (semsearch: RRF k 5 over each side's top 20, LanceDB over each "
            "side's top 10). Vector index as LanceDB's documentation recommends per size (`benchmarks/scale_lancedb.py`).\n\n"
            + lance
        )
    anchored = results.get("scale_engine_anchored")
    if anchored and anchored.get("sizes"):
        counts = {_get(e, "warm", "anchors") for e in anchored["sizes"].values()} - {None}
        # runs before the count was recorded all used the first anchors file: 41,373 vectors
        anchors = ", ".join(f"{c:,}" for c in sorted(counts)) if counts else "41,373"
        parts.append(
            "\nDense and hybrid on vectors shaped like real ones (`--stand-in anchored`, `benchmarks/anchored.py`: "
            f"each chunk a point between one of {anchors} real passage vectors of the bundled model and one of its ten "
            "nearest, picked by a hash of the text; queries: the real headlines of the last 300 stories, embedded "
            "by the bundled model). The hashed stand-in's near-uniform vectors defeat any approximate index; "
            "these measure one against exact search where neighbours exist. "
            f"{machine_line(anchored)}; commit {anchored.get('commit', '')}.\n\n" + anchored_table(anchored)
        )
    return "\n".join(parts)


def anchored_table(result: dict[str, Any]) -> str:
    """Dense and hybrid on the anchored stand-in (vectors shaped like real ones): a row per size, IVF
    setting and page-cache state, recall@10 of the approximate index against exact ``Flat`` search."""
    rows = []
    for size, entry in sorted((result.get("sizes") or {}).items(), key=lambda kv: int(kv[0])):
        for key in sorted(k for k in entry if k.startswith("warm")):
            warm = entry[key]
            if "search_ms" not in warm:
                rows.append(
                    [_size_label(int(size)), key, warm.get("skipped") or warm.get("failed"), *[None] * 6]
                )
                continue
            ms = warm["search_ms"]
            params = warm.get("search_params") or {}
            recall = warm.get("recall_at_10") or {}
            rows.append(
                [
                    _size_label(int(size)),
                    f"{warm.get('approx_index_type')} nprobe {params.get('nprobe')}",
                    warm.get("page_cache"),
                    f"{ms['lexical']['p50']:.2f}",
                    f"{ms['dense']['p50']:.2f} / {ms['dense, approximate']['p50']:.2f}",
                    recall.get("dense"),
                    f"{ms['hybrid']['p50']:.2f} / {ms['hybrid, approximate']['p50']:.2f}",
                    recall.get("hybrid"),
                    ", ".join(f"{x:.2f}" for x in warm.get("load_average", [])),
                ]
            )
    header = [
        "chunks",
        "approximate index",
        "page cache",
        "lexical p50 ms",
        "dense p50 ms, Flat / approximate",
        "dense recall@10",
        "hybrid p50 ms, Flat / approximate",
        "hybrid recall@10",
        "load",
    ]
    return table([dict(zip(header, row)) for row in rows], header)
