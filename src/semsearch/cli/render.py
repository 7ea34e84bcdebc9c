"""How the command prints for people: hits, snippets, metric tables, index descriptions."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from semsearch.cli.terminal import safe, say

if TYPE_CHECKING:
    from semsearch.index import Index
    from semsearch.records import Facets, FusionConfig, Hit, StoryHit


def skipped_summary(skipped: Sequence[Any]) -> str:
    """One line: how many sources were skipped, grouped by reason."""
    reasons: dict[str, int] = {}
    for item in skipped:
        reason = item.reason.split(" (")[0].split("; ")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    parts = [
        f"{n} × {reason}" if n > 1 else reason for reason, n in sorted(reasons.items(), key=lambda r: -r[1])
    ]
    return f"skipped {len(skipped)}: {'; '.join(parts)} (--explain lists them)"


def print_explain(index: Index) -> None:
    """What the cleaner dropped from each document, and which sources were skipped or duplicates."""
    for doc_id, drops in index.dropped().items():
        say(f"{safe(doc_id)}: {len(drops)} dropped")
        inline: dict[str, int] = {}
        for drop in drops:
            if drop.reason in ("pinyin reading", "repeated punctuation"):
                inline[drop.reason] = inline.get(drop.reason, 0) + 1
                continue
            say(f"  line {drop.line:>4}  {drop.reason}: {safe(clip(drop.text, 60))}")
        for reason, count in inline.items():
            say(f"  {count} × {reason}")
    for skipped in index.skipped:
        say(f"skipped {safe(skipped.origin)}: {safe(skipped.reason)}")
    for found in index.duplicates:
        say(
            f"duplicate {safe(found.doc_id)}: repeats {safe(found.of)} (similarity {found.similarity:.2f}); not indexed"
        )


METRIC_COLUMNS = ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")


def fusion_spec(config: Any) -> str:
    """A FusionConfig as the ``--fusion`` text that gives it."""
    after = f",coverage={config.min_coverage:g},feedback={config.feedback}"
    if config.feedback != "off":
        after += f",feedback_docs={config.feedback_docs},feedback_weight={config.feedback_weight:g}"
    if config.method == "rrf":
        return f"rrf:k={config.rrf_k:g},depth={config.depth}{after}"
    return f"weighted:weight={config.weight:g},depth={config.depth},norm={config.norm}{after}"


def print_metrics(rows: list[tuple[str, dict[str, float]]]) -> None:
    """A table of retrieval metrics, one row per name."""
    width = max(len(name) for name, _ in rows)
    say(f"{'':{width}}  " + "  ".join(f"{c:>7}" for c in METRIC_COLUMNS))
    for name, metrics in rows:
        say(f"{name:{width}}  " + "  ".join(f"{metrics[c]:7.4f}" for c in METRIC_COLUMNS))


def hit_dict(index: Index, hit: Hit, context: int) -> dict[str, Any]:
    """A hit as JSON, with its context paragraphs when asked."""
    data = hit.to_dict()
    if context:
        data["context"] = [p.to_dict() for p in index.context(hit, before=context, after=context)]
    return data


def print_hits(hits: list[Hit], color: bool, index: Index | None = None, context: int = 0) -> None:
    """Hits for a terminal: rank, score, title, place, metadata, snippet, matched terms."""
    if not hits:
        say("(no hits)")
        return
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))
    for hit in hits:
        place = f"¶{hit.paragraph}" + (f" ({hit.piece}/{hit.pieces})" if hit.pieces > 1 else "")
        title = safe(clip(hit.title, width - 30))
        head = f"{hit.rank:>2}. {hit.score:.3f}  {title}  [{safe(hit.doc_id)} {place}]"
        say(head)
        about = short_metadata(hit.metadata, width - 4)
        if about:
            say(f"    {about}")
        say(f"    {snippet(hit, 2 * (width - 4), color)}", styled=True)  # snippet escapes the text itself
        if hit.duplicates:
            also = ", ".join(reprint(d) for d in hit.duplicates[:3])
            more = f" and {len(hit.duplicates) - 3} more" if len(hit.duplicates) > 3 else ""
            say(f"    also published as: {safe(clip(also, 2 * (width - 24)))}{more}")
        if hit.highlights and not color:
            terms = list(dict.fromkeys(hit.text[h.start : h.end] for h in hit.highlights))
            say(f"    matched: {safe(', '.join(terms))}")
        if context and index is not None:
            for para in index.context(hit, before=context, after=context):
                mark = ">" if para.in_hit else " "
                say(f"    {mark} ¶{para.paragraph}: {safe(clip(para.text, 2 * (width - 12)))}")


def story_dict(index: Index, story: StoryHit, context: int) -> dict[str, Any]:
    """A story as JSON, its passages with their context paragraphs when asked."""
    data = story.to_dict()
    data["passages"] = [hit_dict(index, p, context) for p in story.passages]
    return data


def print_stories(
    stories: list[StoryHit],
    color: bool,
    index: Index | None = None,
    context: int = 0,
    *,
    matched: bool = True,
) -> None:
    """Stories for a terminal: rank, score, title, id, metadata, then each passage found (or its context).

    ``matched``: also list the query's words found (not for ``similar``, whose query is a whole story).
    """
    from semsearch.cli.terminal import safe

    if not stories:
        print("(no hits)")
        return
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))
    for story in stories:
        found = f"{len(story.passages)} passages" if len(story.passages) > 1 else "1 passage"
        print(
            f"{story.rank:>2}. {story.score:.3f}  {safe(clip(story.title, width - 30))}  [{safe(story.doc_id)}, {found}]"
        )
        about = short_metadata(story.metadata, width - 4)
        if about:
            print(f"    {safe(about)}")
        shown: set[int] = set()
        for hit in story.passages:
            place = f"¶{hit.paragraph}" + (f" ({hit.piece}/{hit.pieces})" if hit.pieces > 1 else "")
            if not (context and index is not None):
                print(f"    {place}: {snippet(hit, 2 * (width - 10), color)}")
                continue
            for para in index.context(hit, before=context, after=context):
                if para.paragraph not in shown:
                    shown.add(para.paragraph)
                    mark = ">" if para.in_hit else " "
                    print(f"    {mark} ¶{para.paragraph}: {safe(clip(para.text, 2 * (width - 12)))}")
        if story.duplicates:
            also = ", ".join(reprint(d) for d in story.duplicates[:3])
            more = f" and {len(story.duplicates) - 3} more" if len(story.duplicates) > 3 else ""
            print(f"    also published as: {clip(also, 2 * (width - 24))}{more}")
        terms = list(dict.fromkeys(h.text[x.start : x.end] for h in story.passages for x in h.highlights))
        if terms and matched and not color:
            print(f"    matched: {safe(', '.join(terms))}")


BAR_COLUMNS = 50  # the longest bar of a terminal timeline


def print_facets(facets: Facets) -> None:
    """Counts as a bar chart for a terminal: one line per value, bars scaled to the largest count."""
    from semsearch.cli.terminal import safe
    from semsearch.defaults import DATE_FACETS

    about = f"{facets.stories} stories"
    if facets.query is not None:
        about += f" among the {facets.top} most relevant for {facets.query!r}"
    if facets.missing:
        about += f", {facets.missing} without {'a date' if facets.by in DATE_FACETS else repr(facets.by)}"
    print(safe(f"{facets.by}: {about}"))
    if not facets.counts:
        print("(no stories)")
        return
    pad = max(width(safe(c.value)) for c in facets.counts)
    most = max(c.count for c in facets.counts) or 1
    for item in facets.counts:
        bar = "█" * round(BAR_COLUMNS * item.count / most)
        value = safe(item.value)
        print(f"{value}{' ' * (pad - width(value))}  {bar} {item.count}")


def facets_svg(facets: Facets) -> str:
    """Counts as a standalone SVG bar chart (no library: rectangles and text)."""
    from xml.sax.saxutils import escape

    bar, gap, height, left, top = 18, 4, 160, 40, 20
    most = max((c.count for c in facets.counts), default=0) or 1
    width = left + len(facets.counts) * (bar + gap) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + top + 70}" '
        'font-family="sans-serif" font-size="10">',
        f'<text x="{left}" y="14">{escape(facets.by)}: {facets.stories} stories</text>',
    ]
    for n, item in enumerate(facets.counts):
        x, h = left + n * (bar + gap), height * item.count / most
        y = top + height - h
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="#4477aa"/>')
        parts.append(f'<text x="{x + bar / 2}" y="{y - 2:.1f}" text-anchor="middle">{item.count}</text>')
        label_y = top + height + 12
        parts.append(
            f'<text x="{x + bar / 2}" y="{label_y}" transform="rotate(60 {x + bar / 2} {label_y})">'
            f"{escape(item.value)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


BOLD_YELLOW, RESET = "\033[1;33m", "\033[0m"


def reprint(duplicate: Mapping[str, Any]) -> str:
    """A duplicate as "also published as" names it: its id, then the outlet and date when known."""
    from semsearch.cli.terminal import safe

    about = ", ".join(str(duplicate[key]) for key in ("source", "date") if duplicate.get(key))
    return safe(duplicate["doc_id"] + (f" ({about})" if about else ""))


SHOWN_METADATA = ("date", "source", "site", "author")  # shown first, when short
HIDDEN_METADATA = ("date_raw",)  # the date as written, when ``date`` shows it normalised


def short_metadata(metadata: Any, columns: int) -> str:
    """The hit's short metadata values on one line (date and source first); long values are left out."""
    keys = [k for k in SHOWN_METADATA if k in metadata]
    keys += [k for k in metadata if k not in SHOWN_METADATA and k not in HIDDEN_METADATA]
    shown = []
    for key in keys:
        value = metadata[key]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(str(value)) <= 30:
            shown.append(f"{key} {value}")
        if len(shown) == 4:
            break
    return clip(" · ".join(" ".join(part.split()) for part in shown), columns) if shown else ""


def snippet(hit: Hit, columns: int, color: bool) -> str:
    """Up to ``columns`` terminal columns of the hit's text, starting shortly before its first match.

    Control characters in the text are shown as escapes; only the highlight colours are real ones.
    """
    text = "".join(" " if ch.isspace() else ch for ch in hit.text)
    first = hit.highlights[0].start if hit.highlights else 0
    begin = max(0, first - 12) if width(text[:first]) > columns // 2 else 0
    shown = clip(text[begin:], columns)
    prefix = "…" if begin else ""
    if not color:
        return prefix + safe(shown)
    end = begin + len(shown.rstrip("…"))
    out, at = [], begin
    for h in hit.highlights:
        if h.start < at or h.end > end:
            continue
        out += [safe(text[at : h.start]), BOLD_YELLOW, safe(text[h.start : h.end]), RESET]
        at = h.end
    out.append(safe(text[at:end]))
    return prefix + "".join(out) + ("…" if shown.endswith("…") else "")


def width(text: str) -> int:
    """Terminal columns ``text`` takes (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clip(text: str, columns: int) -> str:
    """Cut ``text`` to ``columns`` terminal columns (CJK characters take two)."""
    used = 0
    out: list[str] = []
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > columns - 1:
            return "".join(out) + "…"
        out.append(ch)
        used += w
    return "".join(out)


def describe_lexical(spec: dict[str, Any] | None) -> str:
    """The lexical side's settings in one line."""
    if not spec:
        return "none saved (built from the chunks when loaded)"
    words = len(spec.get("user_words", []))
    drift = (
        "; the average length drifted since rows were weighted: semsearch.storage.milvus.build.reweight(LOCATION)"
        if spec.get("needs_reweighting")
        else ""
    )
    return (
        f"{spec.get('tokenizer')} ({spec.get('terms', 'words')}) + {spec.get('scorer', 'BM25')} (k1 {spec.get('k1')}, b {spec.get('b')}), "
        f"{spec.get('normalize')}, {words} user dictionary words{drift}"
    )


def describe_fusion(spec: dict[str, Any] | None) -> str:
    """The fusion setting in words."""
    from semsearch.records import FusionConfig

    if not spec:
        return "library default"
    config = FusionConfig.from_manifest(spec)
    words = _fusion_words(config)
    if config.min_coverage > 0:
        words += f"; BM25 left out when under {config.min_coverage:g} of a query's words occur in the index"
    if config.feedback != "off":
        when = "always" if config.feedback == "on" else "when BM25 is left out"
        words += f"; dense feedback {when} (top {config.feedback_docs} passages at weight {config.feedback_weight:g})"
    return words


def _fusion_words(config: FusionConfig) -> str:
    if config.method == "rrf":
        return f"reciprocal rank, k {config.rrf_k:g}, top {config.depth} of each side"
    weight, rest = config.weight, 1 - config.weight
    if config.norm == "lexical-top":
        return f"weighted, {weight:g} × cosine + {rest:.2f} × BM25/best, top {config.depth} of each side"
    return (
        f"weighted, {weight:g} × dense + {rest:.2f} × lexical, each side's scores by {config.norm} "
        f"over its top {config.depth}"
    )


def human_bytes(size: float) -> str:
    """A size in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def print_info(info: dict[str, Any]) -> None:
    """An index's ``info()`` as aligned lines of what it is: format, model, counts, settings, size."""
    counts = info["counts"]
    chunking = info["chunking"]
    size = info.get("bytes_on_disk", 0)
    rows: list[tuple[str, Any]] = [
        ("path", info.get("path")),
        ("storage", info.get("storage", "in memory (never saved)")),
        ("layout", info.get("layout", "-")),
        ("format", f"{info['format']} v{info['format_version']} (generation {info.get('generation', '-')})"),
        ("model", info["encoder"]["identity"]),
        ("dimension", info["dimension"]),
        ("metric", f"{info['metric']} on L2-normalised vectors (cosine)"),
        ("index type", f"{info['index_type']} ({info.get('faiss_class', '')})"),
        ("documents", counts["documents"]),
        ("chunks", counts["chunks"]),
        ("tokens", counts.get("tokens")),
        ("chunking", f"max {chunking['max_tokens']} tokens, merge under {chunking['min_chars']} chars"),
        ("lexical", describe_lexical(info.get("lexical"))),
        ("fusion", describe_fusion(info.get("fusion"))),
        (
            "built",
            f"{info['created_at']} in {info['build_seconds']:.1f} s with semsearch {info['semsearch_version']}",
        ),
        ("updated", info.get("updated_at")),
        ("size on disk", "not known (on a Milvus server)" if size is None else human_bytes(size)),
    ]

    for key, value in rows:
        say(f"{key:>13}: {safe(value)}")
