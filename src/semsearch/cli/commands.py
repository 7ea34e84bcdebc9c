"""The sub-commands of ``semsearch``: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semsearch.index import Index
    from semsearch.records import FusionConfig
    from semsearch.storage.locations import Location

from semsearch.cli import options, render
from semsearch.cli.constants import EXIT_INTERRUPTED, EXIT_OK, INDEX_ROOT, RAY_LOCAL
from semsearch.cli.terminal import safe, say, say_json


def build(args: argparse.Namespace) -> int:
    """``semsearch build``: clean, chunk and embed the sources into a new index and save it."""
    from semsearch.defaults import DEFAULT_MIN_CHARS
    from semsearch.index import Index
    from semsearch.storage.locations import parse_location

    output = (
        parse_location(args.output)
        if args.output
        else parse_location(INDEX_ROOT / options.name_of(args.sources[0]))
    )
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
        fusion=options.fusion(args.fusion),
        fields=options.fields(args),
        dedup=not args.keep_duplicates,
        engine=output,
        executor="ray" if args.ray else "local",
        ray_address=args.ray if args.ray not in (None, RAY_LOCAL) else None,
        **options.runtime(args),
    )
    seconds = time.perf_counter() - started
    if args.explain:
        render.print_explain(index)
    counts = index.manifest.counts
    if args.json:
        say_json({"path": str(output), "seconds": round(seconds, 3), **index.info()}, indent=2)
        return EXIT_OK
    skipped = f", {counts.skipped_sources} skipped" if counts.skipped_sources else ""
    skipped += f", {counts.duplicates} duplicates" if counts.duplicates else ""
    say(
        f"built {output}: {counts.documents} docs, {counts.chunks} chunks{skipped}, "
        f"model {index.manifest.encoder_identity}, {index.manifest.index_type}, {seconds:.1f} s"
    )
    if index.skipped and not args.explain:
        say(render.skipped_summary(index.skipped))
    return EXIT_OK


def add(args: argparse.Namespace) -> int:
    """``semsearch add``: add new and changed articles to an index."""
    path = options.resolve_index_path(args.index)
    return change(
        args,
        path,
        lambda index: index.add(
            args.sources,
            cache=not args.no_cache,
            progress=not args.no_progress and sys.stderr.isatty(),
            fields=options.fields(args),
        ),
    )


def remove(args: argparse.Namespace) -> int:
    """``semsearch remove``: remove documents by id."""
    return change(args, options.resolve_index_path(args.index), lambda index: index.remove(args.doc_ids))


def change(args: argparse.Namespace, path: Location, apply: Any) -> int:
    """Load, change and save an index under its writer lock, so no other writer's change is lost."""
    from semsearch.index import Index
    from semsearch.storage.locations import writer_lock

    started = time.perf_counter()
    with writer_lock(path):
        index = Index.load(path, **options.runtime(args))
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
        say_json(data, indent=2)
    else:
        counts = index.manifest.counts
        say(
            f"{path}: {report.summary()}; now {counts.documents} docs, {counts.chunks} chunks, {seconds:.1f} s"
        )
    return EXIT_OK


def sync(args: argparse.Namespace) -> int:
    """``semsearch sync``: make an index hold what its source folders hold now; ``--watch`` repeats.

    Each pass runs under the index's writer lock (it first moves on to what other writers saved) and
    prints one summary line; Ctrl-C between passes stops, and one during a change lets it finish first.
    """
    from semsearch.errors import InputError
    from semsearch.index import Index
    from semsearch.storage.locations import writer_lock

    if args.watch is not None and not args.watch > 0:
        raise InputError(f"--watch takes a positive number of seconds between passes, not {args.watch}")
    path = options.resolve_index_path(args.index)
    index = Index.load(path, **options.runtime(args))
    try:
        while True:
            started = time.perf_counter()
            with writer_lock(path):
                index.refresh()
                report = index.sync(
                    args.sources,
                    fields=options.fields(args),
                    settle=args.settle,
                    cache=not args.no_cache,
                    progress=not args.no_progress and sys.stderr.isatty(),
                )
                if report.changed:
                    index.save(path)
            seconds = time.perf_counter() - started
            counts = index.manifest.counts
            if args.json:
                say_json({**report.to_dict(), "seconds": round(seconds, 3)})
            else:
                say(
                    f"{path}: {report.summary()}; now {counts.documents} docs, {counts.chunks} chunks, {seconds:.1f} s"
                )
            sys.stdout.flush()  # --watch: each pass's line as it happens
            if args.watch is None:
                return EXIT_OK
            time.sleep(args.watch)
    except KeyboardInterrupt:
        print("sync stopped; the index holds every change that was reported", file=sys.stderr)
        return EXIT_INTERRUPTED


def cache(args: argparse.Namespace) -> int:
    """``semsearch cache info|clear``: the embedding cache's size and contents, or empty it."""
    from semsearch.encoders.cache import EmbeddingCache

    cache = EmbeddingCache()
    if args.action == "clear":
        if args.model is not None:
            known = sorted(cache.stats().vectors)
            if args.model not in known:
                from semsearch.errors import InputError

                raise InputError(
                    f"the cache holds no vectors of {args.model!r}; it holds "
                    + (", ".join(known) if known else "none")
                    + " (see `semsearch cache info`)"
                )
        deleted = cache.clear(args.model)
        stats = cache.stats()
        data = {"path": str(stats.path), "deleted": deleted, "bytes": stats.bytes}
        if args.json:
            say_json(data)
        else:
            say(f"cleared {deleted} vectors from {stats.path}")
        return EXIT_OK
    stats = cache.stats()
    if args.json:
        data = {"path": str(stats.path), "bytes": stats.bytes, "vectors": stats.vectors}
        say_json({**data, "problem": stats.problem})
        return EXIT_OK
    if stats.problem is not None:
        say(
            f"{stats.path}: unusable ({stats.problem}); builds run without a cache. "
            "`semsearch cache clear` resets it, or set SEMSEARCH_CACHE_DIR to a writable folder"
        )
        return EXIT_OK
    say(f"{stats.path}: {stats.bytes / 2**20:.1f} MiB, {sum(stats.vectors.values())} vectors")
    for identity, count in sorted(stats.vectors.items()):
        say(f"  {count:>8}  {identity}")
    return EXIT_OK


def bench(args: argparse.Namespace) -> int:
    """``semsearch bench NAME``: run ``python -m benchmarks.NAME`` from a source checkout."""
    import subprocess

    from semsearch.cli.constants import BENCHMARKS
    from semsearch.errors import InputError

    if args.name is None:
        raise InputError(
            f"bench needs the NAME of a benchmark ({', '.join(BENCHMARKS)}); its own arguments are optional: "
            "semsearch bench latency"
        )
    roots = [Path.cwd(), Path(__file__).resolve().parents[3]]
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
    print(
        f"running python -m benchmarks.{args.name} {' '.join(args.args)}".rstrip()
        + f" in {root}; results go to benchmarks/results/ (a full run can take minutes)",
        file=sys.stderr,
        flush=True,
    )
    return subprocess.call([sys.executable, "-m", f"benchmarks.{args.name}", *args.args], cwd=root, env=env)


def query(args: argparse.Namespace) -> int:
    """``semsearch query``: search an index for the query given, or for each line of stdin."""
    from semsearch.errors import InputError
    from semsearch.index import Index

    if args.k < 1:
        raise InputError(f"-k must be at least 1, not {args.k}")
    if args.context < 0:
        raise InputError(f"--context must be 0 or more paragraphs, not {args.context}")
    fusion = options.fusion(args.fusion)
    path = options.resolve_index_path(args.index)
    early = args.mode != "lexical" and args.model is None
    loading = load_model_meanwhile(path, args) if early else None
    try:
        return answer(args, Index.load(path, model=args.model, **options.runtime(args)), fusion)
    finally:
        if loading is not None:  # never exit while the model loads or compiles in a thread: the
            loading.join()  # runtime's native code aborts the process if it is torn down mid-way


def answer(args: argparse.Namespace, index: Index, fusion: FusionConfig | None) -> int:
    """Answer ``semsearch query`` from a loaded index: one query from argv, or one per line of stdin."""
    from semsearch.errors import InputError

    if fusion is not None:
        index.fusion = fusion
    # A person reads stories (one result per document); a program gets passages unless it asks.
    group = args.group or (None if args.json else "document")
    search_options = {
        "min_score": args.min_score,
        "max_per_doc": args.max_per_doc,
        "mode": args.mode,
        "where": options.where(args),
        "group": None if group == "none" else group,
        "sort": args.sort,
        "recency": args.recency,
        "feedback": args.feedback,
    }
    as_dict = render.hit_dict if search_options["group"] is None else render.story_dict
    show = render.print_hits if search_options["group"] is None else render.print_stories
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    if args.query:
        query = " ".join(args.query)
        if options.has_surrogates(query):  # bytes that were not UTF-8: Python keeps them as lone surrogates
            raise InputError(
                "the query on the command line is not valid UTF-8 text; set your terminal to UTF-8"
            )
        hits = index.search(query, k=args.k, **search_options)
        if args.json:
            say_json([as_dict(index, h, args.context) for h in hits], indent=2)
        else:
            show(hits, color, index, args.context)
        return EXIT_OK
    if sys.stdin.isatty():
        raise InputError("no query given: pass one as an argument, or pipe one query per line into stdin")
    lines = [line.strip() for line in options.stdin_lines()]
    queries = [line for line in lines if line]
    if not queries:
        raise InputError(
            "no query on stdin (it was empty); pipe one query per line, or pass one as an argument"
        )
    results = iter(index.search_batch(queries, k=args.k, **search_options)) if queries else iter(())
    for number, line in enumerate(lines, start=1):
        hits = next(results) if line else []
        if args.json:
            say_json([{"query": line, **as_dict(index, h, args.context)} for h in hits])
        elif line:
            say(f"## {safe(line)}")
            show(hits, color, index, args.context)
            if number < len(lines):
                say()
    return EXIT_OK


def load_model_meanwhile(path: Location, args: argparse.Namespace) -> threading.Thread | None:
    """Start loading the index's model in a thread while the index itself is read (cold start).

    The index's first dense search then finds it loaded (one shared instance per process); any
    error is left for that search to raise, with its usual message. Only where the manifest can be
    read without opening the index (a directory's file).
    """
    from semsearch.encoders.loading import encoder_from_spec
    from semsearch.storage.locations import DirectoryLocation, storage_for

    def load() -> None:
        try:
            manifest = storage_for(path).peek(path)
            if manifest is None:
                return
            inside = path.path if isinstance(path, DirectoryLocation) else None
            encoder = encoder_from_spec(dict(manifest.encoder), inside, **options.runtime(args))
            warm_up = getattr(encoder, "warm_up", None)  # the OpenVINO runtime compiles its network
            if warm_up is not None:
                warm_up()
        except Exception:  # noqa: S110 - the search that needs the model reports the problem
            pass

    thread = threading.Thread(target=load, name="semsearch-model", daemon=True)
    thread.start()
    return thread


def evaluate(args: argparse.Namespace) -> int:
    """``semsearch evaluate``: each search mode's metrics on labelled questions."""
    from semsearch.defaults import MODES
    from semsearch.errors import InputError
    from semsearch.index import Index
    from semsearch.search.evaluation import evaluate, read_judgments

    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InputError(f"--modes takes {', '.join(MODES)}, not {args.modes!r}")
    judgments = read_judgments(args.data)
    index = Index.load(options.resolve_index_path(args.index), **options.runtime(args))
    with options.progress_bar(args, len(judgments) * len(modes), "questions") as progress:
        table = evaluate(index, judgments, modes, progress=progress)
    if args.json:
        say_json({"queries": len(judgments), "modes": table}, indent=2)
        return EXIT_OK
    say(f"{len(judgments)} questions from {args.data}, {len(index)} chunks in {args.index}")
    render.print_metrics([(mode, metrics) for mode, metrics in table.items()])
    return EXIT_OK


def tune(args: argparse.Namespace) -> int:
    """``semsearch tune``: the best hybrid fusion on labelled questions (``--save`` keeps it)."""
    from semsearch.index import Index
    from semsearch.search.evaluation import read_judgments, tune_fusion
    from semsearch.storage.locations import writer_lock

    judgments = read_judgments(args.data)
    path = options.resolve_index_path(args.index)
    with writer_lock(path) if args.save else contextlib.nullcontext():
        index = Index.load(path, **options.runtime(args))
        before = index.fusion
        with options.progress_bar(args, len(judgments), "questions") as progress:
            tuning = tune_fusion(index, judgments, progress=progress)
        current = next((m for c, m in tuning.trials if c == before), None)
        if args.save and tuning.best != before:
            index.fusion = tuning.best
            index.save(path)
    if args.json:
        say_json({**tuning.to_dict(), "was": dataclasses.asdict(before), "saved": args.save}, indent=2)
        return EXIT_OK
    rows = [("dense alone", tuning.sides["dense"]), ("lexical alone", tuning.sides["lexical"])]
    if current is not None:
        rows.append((f"now: {render.fusion_spec(before)}", current))
    rows.append((f"best: {render.fusion_spec(tuning.best)}", tuning.metrics))
    say(f"{len(judgments)} questions from {args.data}, {len(tuning.trials)} settings tried on {path}")
    render.print_metrics(rows)
    if args.save:
        say(
            f"saved fusion {render.fusion_spec(tuning.best)} in {path}"
            if tuning.best != before
            else "unchanged"
        )
    elif tuning.best == before:
        say("the index's fusion is already the best on these questions (ties go to it)")
    else:
        say(f"keep it: semsearch tune -i {args.index} --data {args.data} --save")
    return EXIT_OK


def docs(args: argparse.Namespace) -> int:
    """``semsearch docs``: list an index's documents (filtered as in query)."""
    from semsearch.index import Index

    index = Index.load(options.resolve_index_path(args.index), verify=False)
    documents = index.documents(where=options.where(args))
    if args.json:
        for doc in documents:
            say_json(doc, default=str)
        return EXIT_OK
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 160))
    id_width = min(30, max((len(safe(d["doc_id"])) for d in documents), default=6))
    for doc in documents:  # ids, dates, sources and titles come from the sources: shown escaped
        source = doc["source"]  # the outlet
        line = f"{render.clip(safe(doc['doc_id']), id_width + 1):{id_width}}  {safe(doc['date'] or '-'):10}  "
        line += f"{doc['chunks']:>4}  {render.clip(safe(source), 18)}  {safe(doc['title'])}"
        say(render.clip(line, width))
    say(f"{len(documents)} of {len(index.doc_ids())} documents")
    return EXIT_OK


def timeline(args: argparse.Namespace) -> int:
    """``semsearch timeline``: stories per period (or metadata value) as terminal bars, JSON or an SVG."""
    from semsearch.index import Index

    index = Index.load(options.resolve_index_path(args.index), verify=False)
    query = " ".join(args.query) or None
    facets = index.facets(
        query, by=args.by, where=options.where(args), mode=args.mode, top=args.top, min_score=args.min_score
    )
    if args.plot:
        Path(args.plot).write_text(render.facets_svg(facets), encoding="utf-8")
    if args.json:
        say_json(facets.to_dict(), indent=2)
    else:
        render.print_facets(facets)
    return EXIT_OK


def similar(args: argparse.Namespace) -> int:
    """``semsearch similar``: the stories most like a stored one."""
    from semsearch.errors import InputError
    from semsearch.index import Index

    if args.k < 1:
        raise InputError(f"-k must be at least 1, not {args.k}")
    index = Index.load(options.resolve_index_path(args.index))
    stories = index.similar(args.doc_id, args.k, mode=args.mode, where=options.where(args))
    if args.json:
        say_json([render.story_dict(index, s, 0) for s in stories], indent=2)
    else:
        render.print_stories(stories, False, index, matched=False)
    return EXIT_OK


def export(args: argparse.Namespace) -> int:
    """``semsearch export``: every chunk with its document's metadata, as JSON Lines or Parquet."""
    from semsearch.export import export_chunks
    from semsearch.index import Index

    index = Index.load(options.resolve_index_path(args.index), verify=False)
    count = export_chunks(index, args.output, format=args.format, vectors=args.vectors)
    if args.output:
        say(f"exported {count} chunks to {args.output}", file=sys.stderr)
    return EXIT_OK


def info(args: argparse.Namespace) -> int:
    """``semsearch info``: what an index is (its manifest), for people or as JSON."""
    from semsearch.index import Index

    info = Index.load(options.resolve_index_path(args.index), verify=False).info()
    if args.json:
        say_json(info, indent=2)
        return EXIT_OK
    render.print_info(info)
    return EXIT_OK


def optimize(args: argparse.Namespace) -> int:
    """``semsearch optimize``: merge segments, purge, upgrade format 1, under the index's writer lock."""
    from semsearch.index import Index
    from semsearch.storage.locations import writer_lock

    path = options.resolve_index_path(args.index)
    started = time.perf_counter()
    with writer_lock(path):
        index = Index.load(path, verify=False)
        before = index.info().get("layout") or index.info().get("storage")
        index.optimize(args.index_type)
        after = index.info()
        after["layout"] = after.get("layout") or after.get("storage")
    seconds = time.perf_counter() - started
    if args.json:
        say_json({"before": before, "after": after["layout"], "seconds": round(seconds, 3)})
        return EXIT_OK
    say(
        f"optimized {path}: {before} -> {after['layout']}, {after['counts']['chunks']} chunks, {seconds:.1f} s"
    )
    return EXIT_OK


def verify(args: argparse.Namespace) -> int:
    """``semsearch verify``: every file against the manifest and the store in full; exit 1 on a problem."""
    from semsearch.cli.constants import EXIT_ERROR
    from semsearch.index import Index

    path = options.resolve_index_path(args.index)
    problems = Index.load(path, verify=False).verify()
    if args.json:
        say_json({"index": str(path), "problems": problems})
    elif problems:
        for problem in problems:
            say(f"semsearch: problem: {safe(problem)}", file=sys.stderr)
    else:
        say(f"{path}: every file matches its manifest")
    return EXIT_ERROR if problems else EXIT_OK


def serve(args: argparse.Namespace) -> int:
    """``semsearch serve``: the index over HTTP (JSON API and search page) until Ctrl-C."""
    from semsearch.serve.security import TOKEN_VARIABLE
    from semsearch.serve.server import prepare, run
    from semsearch.serve.settings import ServerSettings

    settings = ServerSettings(
        host=args.host,
        port=args.port,
        allow_writes=args.allow_writes,
        token=os.environ.get(TOKEN_VARIABLE) or None,
        cors_origins=tuple(args.cors_origin or ()),
    )
    prepared = prepare(options.resolve_index_path(args.index), settings, **options.runtime(args))
    for warning in prepared.warnings:
        say(f"semsearch: warning: {warning}", file=sys.stderr)
    writes = "writes allowed with the token" if settings.allow_writes else "read-only"
    size = "not open yet" if prepared.index is None else f"{len(prepared.index)} chunks"
    say(
        f"semsearch: serving {args.index} ({size}, {writes}) at "
        f"http://{settings.host}:{prepared.port}/ (API schema at /docs); Ctrl-C stops",
        file=sys.stderr,
    )
    sys.stderr.flush()
    run(prepared)
    return EXIT_OK
