"""Beyond one machine, side by side: the local backend vs milvus-lite embedded vs a milvus-lite server; Ray embedding.

    python -m benchmarks.scale_out [--stories 500] [--queries 100] [--grow-to 20000] [--ray-chunks 1000]
                                   [--skip server,ray]

One 新闻联播 slice is built locally (``Index.build``; the embedding cache makes reruns cheap), then
saved into milvus-lite embedded and into a milvus-lite server started here (127.0.0.1, a free port,
stopped at the end): saving copies the local vectors, so the time is the insert rate alone. Each
Milvus index is loaded back and queried with the held-out stories' headlines: top-10 overlap with the
local index per mode, and per-query p50/p95. Then 10 % more stories are added to both, to measure
how far split BM25's scores drift from an exact rebuild, and how close a re-weighting pass brings them.

Adding one article (median of three, after one untimed add) is timed at two sizes: ~1,000 chunks, and ``--grow-to`` chunks made by repeating
the slice under new document ids (the texts repeat, so their vectors come from the cache and only the
index work is timed; term statistics are those of a corpus with repeats). The articles added were
embedded beforehand, so the figure is the index's cost of a change, not the model's.

Ray: the first ``--ray-chunks`` chunk texts embedded by one process, and by Ray with 1 and 2 encoder
actors on a local cluster started for the call (start-up included, and measured alone on 8 texts);
vectors are compared with the single process's (min cosine).
The machine is shared: read ratios measured in one run, not absolute times.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED, Timer, git_commit, percentiles, write_result
from semsearch import Document, EmbeddingCache, Index, load_encoder
from semsearch.encoders import embed_passages

MODES = ("dense", "lexical", "hybrid")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


DATA = SHARED / "data/xwlb/articles.jsonl.gz"


def stories(limit: int) -> list[Document]:
    docs = []
    with gzip.open(DATA, "rt", encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            docs.append(
                Document(
                    doc_id=row["id"], text=row["text"], title=row["title"], metadata={"date": row["date"]}
                )
            )
            if len(docs) >= limit:
                break
    return docs


def ms(values: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 2) for k, v in percentiles(values, (50, 95)).items()}


# ---------------------------------------------------------------------- a milvus-lite server


class Server:
    """``milvus-lite server`` on 127.0.0.1 at a free port, in a temporary directory, stopped on exit."""

    def __enter__(self) -> Server:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.dir = Path(tempfile.mkdtemp(prefix="milvus-server-"))
        self.log = open(self.dir / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(self.dir / "db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        raise SystemExit("milvus-lite server did not start in 60 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------- engines


def overlap(a: list[list[Any]], b: list[list[Any]]) -> float:
    shared = [len({h.chunk_id for h in x} & {h.chunk_id for h in y}) / max(1, len(x)) for x, y in zip(a, b)]
    return round(float(np.mean(shared)), 4)


def query_engine(index: Index, local: Index, queries: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    index.search(queries[0], k=10)  # model loaded, connections warm
    for mode in MODES:
        times, hits = [], []
        for q in queries:
            with Timer() as t:
                hits.append(index.search(q, k=10, mode=mode))
            times.append(t.seconds)
        expected = [local.search(q, k=10, mode=mode) for q in queries]
        top5 = [[h.chunk_id for h in x[:5]] == [h.chunk_id for h in y[:5]] for x, y in zip(hits, expected)]
        out[mode] = {
            "overlap_at_10": overlap(hits, expected),
            "same_top5_share": round(float(np.mean(top5)), 4),
            **ms(times),
        }
    return out


def lexical_drift(index: Index, local: Index, queries: list[str]) -> dict[str, float]:
    rel, same = [], []
    for q in queries:
        got = index.search(q, k=10, mode="lexical")
        want = {h.chunk_id: h.score for h in local.search(q, k=10, mode="lexical")}
        same.append(overlap([got], [[h for h in local.search(q, k=10, mode="lexical")]]))
        rel += [abs(h.score - want[h.chunk_id]) / want[h.chunk_id] for h in got if h.chunk_id in want]
    return {
        "max_relative_score_difference": round(float(max(rel, default=0.0)), 6),
        "mean_relative_score_difference": round(float(np.mean(rel)) if rel else 0.0, 6),
        "overlap_at_10": round(float(np.mean(same)), 4),
    }


def engines(args: argparse.Namespace, locations: dict[str, str], cache: EmbeddingCache) -> dict[str, Any]:
    from semsearch.milvus_parts import reweight

    pool = stories(args.stories + args.queries + args.stories // 10)
    docs = pool[: args.stories]
    held_out = pool[args.stories : args.stories + args.queries]
    grown = pool[args.stories + args.queries :]
    queries = [d.title for d in held_out]
    with Timer() as build:
        local = Index.build(docs, cache=cache)
    result: dict[str, Any] = {
        "stories": len(docs),
        "chunks": len(local),
        "queries": len(queries),
        "local": {
            "build_s_with_cached_vectors": round(build.seconds, 2),
            "queries": query_engine(local, local, queries),
        },
    }
    grown_local = Index.build([*docs, *grown], cache=cache)
    for name, location in locations.items():
        with Timer() as save:
            local.save(location)
        index = Index.load(location)
        entry: dict[str, Any] = {
            "location": location.split("#")[0].rsplit("/", 1)[0] + "/…" if "lite:" in location else "server",
            "insert_s": round(save.seconds, 2),
            "insert_chunks_per_s": round(len(local) / save.seconds, 1),
            "queries": query_engine(index, local, queries),
        }
        with Timer() as add:
            index.add(grown)
        entry["add_10pct"] = {"stories": len(grown), "seconds": round(add.seconds, 2)}
        entry["lexical_after_10pct"] = lexical_drift(index, grown_local, queries)
        with Timer() as rw:
            reweight(location)
        entry["reweight_s"] = round(rw.seconds, 2)
        entry["lexical_after_reweight"] = lexical_drift(Index.load(location), grown_local, queries)
        result[name] = entry
        print(json.dumps({name: entry}, ensure_ascii=False), file=sys.stderr, flush=True)
    return result


def add_one_article(args: argparse.Namespace, location: str, cache: EmbeddingCache) -> dict[str, Any]:
    """Seconds to add one article to a Milvus index of ~1,000 and of ``--grow-to`` chunks (median of 3)."""
    pool = stories(args.stories + 4)  # the first added article warms connections up and is not counted
    base, extra = pool[: args.stories], pool[args.stories :]
    encoder = load_encoder()
    Index.build(extra, cache=cache)  # the added articles' vectors are cached: the change's index cost alone
    out: dict[str, Any] = {}
    local = Index.build(base, cache=cache)
    per_story = len(local) / len(base)
    for label, target in (("small", 1000), ("large", args.grow_to)):
        copies = max(1, round(target / len(local)))
        if copies == 1:
            needed = min(len(base), max(1, round(target / per_story)))
            corpus = base[:needed]
        else:
            corpus = [dataclasses.replace(d, doc_id=f"{d.doc_id}~{r}") for r in range(copies) for d in base]
        built = Index.build(corpus, cache=cache)
        built.save(location)
        index = Index.load(location)
        times = []
        for doc in extra:
            with Timer() as t:
                report = index.add([doc])
            if report.embedded:
                raise SystemExit("the added article was meant to come from the embedding cache")
            times.append(t.seconds)
        times = times[1:]
        out[label] = {
            "chunks": len(built),
            "add_one_article_s": ms(times) | {"all_s": [round(x, 3) for x in times]},
        }
        print(json.dumps({label: out[label]}), file=sys.stderr, flush=True)
    del encoder
    small, large = out["small"]["add_one_article_s"]["p50"], out["large"]["add_one_article_s"]["p50"]
    out["large_over_small"] = round(large / small, 2)
    return out


# ---------------------------------------------------------------------- Ray


def ray_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from semsearch.ray_embed import embed_with_ray

    local = Index.build(stories(max(10, args.ray_chunks // 4)), cache=True)
    texts = [c.text for c in local.chunks()][: args.ray_chunks]
    encoder = load_encoder()
    out: dict[str, Any] = {"chunks": len(texts)}

    def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, dict[str, float]]:
        cpu = cpu_seconds()
        with Timer() as t:
            vectors = run()
        return vectors, {"wall_s": round(t.seconds, 2), "driver_cpu_s": round(cpu_seconds() - cpu, 1)}

    reference, out["single_process"] = timed(lambda: embed_passages(encoder, texts, cache=None))
    out["single_process"]["chunks_per_s"] = round(len(texts) / out["single_process"]["wall_s"], 2)
    _, out["ray_start_up_8_texts"] = timed(lambda: embed_with_ray(encoder, texts[:8], workers=1, cache=None))
    for workers in (1, 2):
        vectors, timing = timed(lambda w=workers: embed_with_ray(encoder, texts, workers=w, cache=None))
        timing["chunks_per_s"] = round(len(texts) / timing["wall_s"], 2)
        timing["min_cosine_vs_single"] = round(float(np.min(np.sum(vectors * reference, axis=1))), 6)
        out[f"ray_{workers}_workers"] = timing
        print(json.dumps({f"ray_{workers}": timing}), file=sys.stderr, flush=True)
    return out


def cmrc_quality(args: argparse.Namespace, location: str) -> dict[str, Any]:
    """Hybrid R@1/MRR@10 on CMRC 2018 dev through the local index and the same corpus built into Milvus."""
    from semsearch.evaluation import evaluate, read_judgments

    corpus = SHARED / "data/cmrc2018/dev"
    if not corpus.exists():
        corpus = args.data.parent.parent / "cmrc2018/dev"
    judgments = read_judgments(corpus)
    out: dict[str, Any] = {"queries": len(judgments)}
    for name, engine in (("local", None), ("milvus_lite_embedded", location)):
        index = Index.build([corpus / "corpus.jsonl"], engine=engine)
        with Timer() as t:
            out[name] = evaluate(index, judgments, ("hybrid",))["hybrid"]
        out[name]["seconds"] = round(t.seconds, 1)
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
    out["difference"] = {
        k: round(out["milvus_lite_embedded"][k] - out["local"][k], 4) for k in ("R@1", "MRR@10", "nDCG@10")
    }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", type=int, default=500, help="stories in the slice (~4.3 chunks each)")
    parser.add_argument("--queries", type=int, default=100, help="held-out headlines used as queries")
    parser.add_argument(
        "--grow-to", type=int, default=20000, help="chunks of the large index for adding one article"
    )
    parser.add_argument("--ray-chunks", type=int, default=1000)
    parser.add_argument("--skip", default="", help="comma-separated: server, ray, engines, add")
    parser.add_argument(
        "--cmrc-only", action="store_true", help="only hybrid quality on CMRC 2018 dev, local vs Milvus"
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the 新闻联播 articles.jsonl.gz")
    args = parser.parse_args(argv)
    globals()["DATA"] = args.data
    skip = set(filter(None, args.skip.split(",")))
    ray_dir = os.environ.setdefault("SEMSEARCH_RAY_DIR", tempfile.mkdtemp(prefix="ssray-", dir="/tmp"))
    cache = EmbeddingCache()
    work = Path(tempfile.mkdtemp(prefix="scale-out-"))
    result: dict[str, Any] = {"commit": git_commit(), "load_before": os.getloadavg()}
    if args.cmrc_only:
        try:
            result["cmrc_dev_hybrid"] = cmrc_quality(args, f"milvus-lite:{work / 'cmrc.db'}#cmrc")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result["load_after"] = os.getloadavg()
        print(f"saved {write_result('scale_out_quality', result)}")
        return
    try:
        with Server() if "server" not in skip else _Nothing() as server:
            locations = {"milvus_lite_embedded": f"milvus-lite:{work / 'bench.db'}#xwlb"}
            if server is not None:
                locations["milvus_lite_server"] = f"milvus://127.0.0.1:{server.port}#xwlb"
            if "engines" not in skip:
                result["engines"] = engines(args, locations, cache)
            if "add" not in skip:
                result["add_one_article"] = add_one_article(
                    args, f"milvus-lite:{work / 'grow.db'}#grow", cache
                )
        if "ray" not in skip:
            result["ray"] = ray_embedding(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_dir, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    path = write_result("scale_out", result)
    print(f"saved {path}")


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
