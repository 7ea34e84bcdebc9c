"""Beyond one machine, side by side: the local backend vs milvus-lite embedded vs a milvus-lite server; Ray embedding.

    python -m benchmarks.scale_out [--chunks 20000] [--queries 100] [--small 1000] [--adds 11]
                                   [--ray-chunks 2000] [--only engines,cmrc,ray] [--skip server] [--no-dedup]

engines: the first 新闻联播 stories giving at least ``--chunks`` chunks, read as ``semsearch build`` reads
the archive, are built locally (``Index.build``; the shared embedding cache holds their vectors, so
little is embedded), then saved into milvus-lite embedded and into a milvus-lite server started here
(127.0.0.1, a free port, stopped at the end): saving copies the local vectors, so its time is the insert
rate. Each Milvus index is loaded back and queried with ``--queries`` later stories' headlines: top-10
overlap with the local index per mode, same top 5, per-query p50/p95. Adding one article (``--adds``
articles, one at a time, after one untimed add; their vectors cached, so the figure is the index's own
cost) is timed on the large index and on one of about ``--small`` chunks, taking turns, on Milvus and
locally (``--only add``: that alone; ``--no-dedup``: without near-duplicate checks). Then
10 % more stories are added to the embedded Milvus index, to measure how far split BM25's scores drift
from an exact rebuild, and how close a re-weighting pass brings them.

cmrc: hybrid R@1/MRR@10 on CMRC 2018 dev, the corpus built locally and built into milvus-lite
(``Index.build(engine=...)``, batch by batch).

ray: the first ``--ray-chunks`` 新闻联播 chunk texts (as a build embeds them) embedded with the cache off by
one process, and by Ray with 1 and 2 encoder actors on a local cluster started for the call (start-up
included; measured alone on 8 texts); vectors compared with the single process's (min cosine).
``Index.build(executor="ray")`` embeds through the same function.

The machine is shared: read ratios measured in one run, not absolute times.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tests.support.milvus_lite_server import running

from benchmarks.common import SHARED, Timer, git_commit, percentiles, write_result
from semsearch import Document, EmbeddingCache, Index, load_encoder
from semsearch.encoders.base import embed_passages

MODES = ("dense", "lexical", "hybrid")
DATA = SHARED / "data/xwlb/articles.jsonl.gz"
CMRC_DEV = SHARED / "data/cmrc2018/dev"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def stories(limit: int, skip: int = 0) -> list[Document]:
    """Stories of the archive in order, read as ``semsearch build`` reads it (so cached vectors match)."""
    from semsearch.readers.ingest import iter_sources

    docs = (d for d in iter_sources([DATA]) if isinstance(d, Document))
    return list(itertools.islice(docs, skip, skip + limit))


def ms(values: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 2) for k, v in percentiles(values, (50, 95)).items()}


# ---------------------------------------------------------------------- a milvus-lite server


# ---------------------------------------------------------------------- engines


def overlap(a: list[list[Any]], b: list[list[Any]]) -> float:
    shared = [len({h.chunk_id for h in x} & {h.chunk_id for h in y}) / max(1, len(y)) for x, y in zip(a, b)]
    return round(float(np.mean(shared)), 4)


def query_engine(index: Index, expected: dict[str, list[list[Any]]], queries: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    index.search(queries[0], k=10)  # model loaded, connections warm
    for mode in MODES:
        times, hits = [], []
        for q in queries:
            with Timer() as t:
                hits.append(index.search(q, k=10, mode=mode))
            times.append(t.seconds)
        want = expected[mode]
        top5 = [[h.chunk_id for h in x[:5]] == [h.chunk_id for h in y[:5]] for x, y in zip(hits, want)]
        out[mode] = {
            "overlap_at_10": overlap(hits, want),
            "same_top5_share": round(float(np.mean(top5)), 4),
            **ms(times),
        }
    return out


def lexical_drift(index: Index, exact: Index, queries: list[str]) -> dict[str, float]:
    rel, same = [], []
    for q in queries:
        got = index.search(q, k=10, mode="lexical")
        want = exact.search(q, k=10, mode="lexical")
        scores = {h.chunk_id: h.score for h in want}
        same.append(overlap([got], [want]))
        rel += [abs(h.score - scores[h.chunk_id]) / scores[h.chunk_id] for h in got if h.chunk_id in scores]
    return {
        "max_relative_score_difference": round(float(max(rel, default=0.0)), 6),
        "mean_relative_score_difference": round(float(np.mean(rel)) if rel else 0.0, 6),
        "overlap_at_10": round(float(np.mean(same)), 4),
    }


def cached_vectors(cache: EmbeddingCache) -> int:
    return sum(cache.stats().vectors.values())


def slice_of(chunks: int, cache: EmbeddingCache) -> tuple[list[Document], Index, float, int]:
    """The first stories giving at least ``chunks`` chunks, their local index, its build time, vectors embedded."""
    count = max(10, round(chunks / 4.2))
    while True:
        docs = stories(count)
        before = cached_vectors(cache)
        with Timer() as build:
            local = Index.build(docs, cache=cache)
        if len(local) >= chunks or len(docs) < count:
            return docs, local, build.seconds, cached_vectors(cache) - before
        count = round(count * chunks / len(local) * 1.02) + 1


def add_side_by_side(indexes: dict[str, Index], articles: list[Document]) -> dict[str, Any]:
    """Per index: ms to add each article alone, the indexes taking turns article by article (the order
    alternating, as the machine is shared); the first article is a warm-up, not counted. The articles'
    vectors are cached, so this times the index, not the model; ``large_over_small``: the p50s' ratio."""
    sizes = {name: len(index) for name, index in indexes.items()}
    times: dict[str, list[float]] = {name: [] for name in indexes}
    for turn, doc in enumerate(articles):
        for name in list(indexes)[:: 1 if turn % 2 else -1]:
            with Timer() as t:
                report = indexes[name].add([doc])
            if report.embedded:
                raise SystemExit(
                    f"adding {doc.doc_id} embedded {report.embedded} passages; its vectors were meant to be cached"
                )
            times[name].append(t.seconds)
    out: dict[str, Any] = {
        name: {"chunks": sizes[name], **ms(spent[1:]), "all_s": [round(x, 3) for x in spent[1:]]}
        for name, spent in times.items()
    }
    out["large_over_small"] = round(out["large"]["p50"] / out["small"]["p50"], 2)
    return out


def engines(args: argparse.Namespace, locations: dict[str, str], cache: EmbeddingCache) -> dict[str, Any]:
    from semsearch.storage.milvus.build import reweight

    docs, local, build_s, embedded = slice_of(args.chunks, cache)
    later = stories(args.queries + args.adds + 1 + len(docs) // 10, skip=len(docs))
    queries = [d.title for d in later[: args.queries]]
    articles = later[args.queries : args.queries + args.adds + 1]
    grown = later[args.queries + args.adds + 1 :]
    Index.build([*articles, *grown], cache=cache)  # their vectors cached: adds time the index, not the model
    expected = {mode: [local.search(q, k=10, mode=mode) for q in queries] for mode in MODES}
    result: dict[str, Any] = {
        "stories": len(docs),
        "chunks": len(local),
        "queries": len(queries),
        "local": {
            "build_s": round(build_s, 2),
            "vectors_embedded_in_build": embedded,  # the rest came from the embedding cache
            "queries": query_engine(local, expected, queries),
        },
    }
    print(f"local: {len(docs)} stories, {len(local)} chunks", file=sys.stderr, flush=True)
    small_docs = []
    for doc in docs:  # the first stories up to about --small chunks
        small_docs.append(doc)
        if len(small_docs) * len(local) / len(docs) >= args.small:
            break
    small = Index.build(small_docs, cache=cache)
    adds: dict[str, Any] = {}
    for name, location in locations.items():
        with Timer() as save:
            local.save(location)
        index = Index.load(location)
        entry: dict[str, Any] = {
            "insert_s": round(save.seconds, 2),
            "insert_chunks_per_s": round(len(local) / save.seconds, 1),
            "queries": query_engine(index, expected, queries),
        }
        result[name] = entry
        print(f"{name}: {entry}", file=sys.stderr, flush=True)
        if name != "milvus_lite_embedded":
            continue
        small_at = location.rsplit("#", 1)[0] + "#small"
        small.save(small_at)
        adds["milvus_lite_embedded"] = add_side_by_side(
            {"small": Index.load(small_at), "large": index}, articles
        )
        index.remove([a.doc_id for a in articles])
        with Timer() as add:
            index.add(grown)
        exact = Index.build([*docs, *grown], cache=cache)
        entry["add_10pct"] = {"stories": len(grown), "seconds": round(add.seconds, 2)}
        entry["lexical_after_10pct"] = lexical_drift(index, exact, queries)
        with Timer() as rw:
            rows = reweight(location)
        entry["reweight"] = {"rows": rows, "seconds": round(rw.seconds, 2)}
        entry["lexical_after_reweight"] = lexical_drift(Index.load(location), exact, queries)
        print(f"{name} after +10 %: {entry}", file=sys.stderr, flush=True)
    adds["local"] = add_side_by_side({"small": small, "large": local}, articles)
    result["add_one_article"] = adds
    return result


def add_part(args: argparse.Namespace, location: str, cache: EmbeddingCache) -> dict[str, Any]:
    """Adding one article to a Milvus (lite, embedded) and a local index of ~``--small`` and ``--chunks`` chunks."""
    docs, local, _, _ = slice_of(args.chunks, cache)
    articles = stories(args.adds + 1, skip=len(docs) + args.queries)
    Index.build(articles, cache=cache)  # cached: the adds time the index, not the model
    if not args.dedup:  # without near-duplicate checks, which read every stored signature per change
        local = Index.build(docs, cache=cache, dedup=False)
    small_docs = docs[: max(1, round(len(docs) * args.small / len(local)))]
    small = Index.build(small_docs, cache=cache, dedup=args.dedup)
    loaded: dict[str, Index] = {}
    for name, index in (("small", small), ("large", local)):
        at = location.rsplit("#", 1)[0] + f"#{name}"
        with Timer() as save:
            index.save(at)
        print(f"add: {name} saved into Milvus in {save.seconds:.1f} s", file=sys.stderr, flush=True)
        loaded[name] = Index.load(at)
    return {
        "dedup": args.dedup,
        "milvus_lite_embedded": add_side_by_side(loaded, articles),
        "local": add_side_by_side({"small": small, "large": local}, articles),
    }


# ---------------------------------------------------------------------- CMRC 2018 dev through each backend


def cmrc_quality(location: str) -> dict[str, Any]:
    """Hybrid R@1/MRR@10 on CMRC 2018 dev through the local index and the same corpus built into Milvus."""
    from semsearch.search.evaluation import evaluate, read_judgments

    judgments = read_judgments(CMRC_DEV)
    out: dict[str, Any] = {"queries": len(judgments)}
    for name, engine in (("local", None), ("milvus_lite_embedded", location)):
        with Timer() as b:
            index = Index.build([CMRC_DEV / "corpus.jsonl"], engine=engine)
        with Timer() as t:
            out[name] = evaluate(index, judgments, ("hybrid",))["hybrid"]
        out[name].update(chunks=len(index), build_s=round(b.seconds, 1), evaluate_s=round(t.seconds, 1))
        print(f"cmrc {name}: {out[name]}", file=sys.stderr, flush=True)
    out["difference"] = {
        k: round(out["milvus_lite_embedded"][k] - out["local"][k], 4) for k in ("R@1", "MRR@10", "nDCG@10")
    }
    return out


# ---------------------------------------------------------------------- Ray


def ray_texts(count: int) -> list[str]:
    """The first ``count`` 新闻联播 chunk texts as a build embeds them (titles in front)."""
    from semsearch.pipeline.prepare import chunking_config, prepare_all
    from semsearch.text.titles import DEFAULT_TITLE_MODE, indexed_texts

    encoder = load_encoder()
    config = chunking_config(encoder, None, 20)
    texts: list[str] = []
    for doc in stories(count):
        prepared = prepare_all([doc], encoder, config, None, DEFAULT_TITLE_MODE)
        texts += indexed_texts(prepared.documents, DEFAULT_TITLE_MODE)
        if len(texts) >= count:
            break
    return texts[:count]


def ray_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from semsearch.encoders.ray_workers import embed_with_ray

    texts = ray_texts(args.ray_chunks)
    encoder = load_encoder()
    out: dict[str, Any] = {"chunks": len(texts), "cpus": os.cpu_count()}

    def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, dict[str, float]]:
        cpu = cpu_seconds()
        with Timer() as t:
            vectors = run()
        return vectors, {"wall_s": round(t.seconds, 2), "driver_cpu_s": round(cpu_seconds() - cpu, 1)}

    _, out["single_process_8_texts"] = timed(lambda: embed_passages(encoder, texts[:8], cache=None))
    _, out["ray_start_up_8_texts"] = timed(lambda: embed_with_ray(encoder, texts[:8], workers=1, cache=None))
    out["start_up_overhead_s"] = round(
        out["ray_start_up_8_texts"]["wall_s"] - out["single_process_8_texts"]["wall_s"], 2
    )
    reference, out["single_process"] = timed(lambda: embed_passages(encoder, texts, cache=None))
    out["single_process"]["chunks_per_s"] = round(len(texts) / out["single_process"]["wall_s"], 2)
    print(f"ray: one process {out['single_process']}", file=sys.stderr, flush=True)
    for workers in (1, 2):
        vectors, timing = timed(lambda w=workers: embed_with_ray(encoder, texts, workers=w, cache=None))
        timing["chunks_per_s"] = round(len(texts) / timing["wall_s"], 2)
        timing["min_cosine_vs_single"] = round(float(np.min(np.sum(vectors * reference, axis=1))), 6)
        timing["throughput_vs_single"] = round(out["single_process"]["wall_s"] / timing["wall_s"], 3)
        out[f"ray_{workers}_workers"] = timing
        print(f"ray {workers} workers: {timing}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=20000, help="chunks of the 新闻联播 slice (at least)")
    parser.add_argument("--queries", type=int, default=100, help="later headlines used as queries")
    parser.add_argument("--small", type=int, default=1000, help="chunks of the small index adds are timed on")
    parser.add_argument("--adds", type=int, default=11, help="articles added one at a time (after a warm-up)")
    parser.add_argument("--ray-chunks", type=int, default=2000)
    parser.add_argument(
        "--only", default="engines,cmrc,ray", help="comma-separated: engines, add (adds alone), cmrc, ray"
    )
    parser.add_argument("--skip", default="", help="comma-separated: server")
    parser.add_argument(
        "--no-dedup", dest="dedup", action="store_false", help="add: indexes without near-duplicate checks"
    )
    parser.add_argument("--name", default="scale_out", help="results file name (results/NAME-latest.json)")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    skip = set(filter(None, args.skip.split(",")))
    ray_dir = os.environ.setdefault("SEMSEARCH_RAY_DIR", tempfile.mkdtemp(prefix="ssray-", dir="/tmp"))
    cache = EmbeddingCache()
    work = Path(tempfile.mkdtemp(prefix="scale-out-"))
    result: dict[str, Any] = {
        "commit": git_commit(),
        "parameters": vars(args),
        "load_before": os.getloadavg(),
    }
    try:
        if "engines" in only:
            with running(work / "server") if "server" not in skip else contextlib.nullcontext() as server:
                locations = {"milvus_lite_embedded": f"milvus-lite:{work / 'bench.db'}#xwlb"}
                if server is not None:
                    locations["milvus_lite_server"] = f"milvus://{server}#xwlb"
                result["engines"] = engines(args, locations, cache)
        if "add" in only:
            result["add_one_article"] = add_part(args, f"milvus-lite:{work / 'add.db'}#x", cache)
        if "cmrc" in only:
            result["cmrc_dev_hybrid"] = cmrc_quality(f"milvus-lite:{work / 'cmrc.db'}#cmrc")
        if "ray" in only:
            result["ray"] = ray_embedding(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_dir, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    print(f"saved {write_result(args.name, result)}")


if __name__ == "__main__":
    main()
