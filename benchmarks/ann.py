"""Approximate nearest-neighbour trade-offs: recall@10 against exact search, latency, build time, memory.

    python -m benchmarks.ann --sizes 10000,100000,1000000 [--queries 200] [--real]

Vectors: synthetic 384-d unit vectors drawn around random centres, one per ~1,000 vectors, about 45°
from them (a mixture, like real embeddings, which cluster by topic; uniform random vectors would be
unrealistically hard, tight clusters unrealistically easy), queries drawn the same way but never
indexed. With --real, also the CMRC dev chunk vectors of the bundled
model (999, from the embedding cache) with the dev questions as queries; with --real-xwlb N, N chunk
vectors of 新闻联播 stories with the headlines of later stories as queries (real data at a size where
the index type matters; embedding 20,000 chunks takes ~20 minutes here, once). Every index is built through
semsearch's own ``make_vector_index`` (IDMap2 + FAISS factory string, trained on a sample of at most
100 points per list) and searched through ``search_vectors``: the library's real path.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED, Timer, git_commit, percentiles, write_result
from benchmarks.memory import rss_mib
from semsearch.records import SearchParams
from semsearch.storage.local.vectors import make_vector_index, search_vectors, write_vector_index

DIM = 384


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray, spread: float = 1.0) -> np.ndarray:
    """``n`` unit vectors scattered around randomly chosen ``centres``."""
    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picks = centres[rng.integers(0, len(centres), m)]
        noise = rng.standard_normal((m, centres.shape[1]), dtype=np.float32) * (
            spread / math.sqrt(centres.shape[1])
        )
        block = picks + noise
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def synthetic(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One centre per ~1,000 vectors (topics grow with the corpus), points spread about 45° around them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(16, n // 1000), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered(n, rng, centres), clustered(queries, rng, centres)


def real_cmrc(queries: int) -> tuple[np.ndarray, np.ndarray]:
    """CMRC dev chunk vectors and question vectors of the bundled model."""
    from benchmarks.common import load_beir
    from semsearch import Document, Index

    corpus, qs, _ = load_beir(SHARED / "data/cmrc2018/dev")
    index = Index.build([Document(doc_id=str(r["_id"]), text=r["text"]) for r in corpus])
    searcher = index.searcher()
    vectors = searcher.parts.vectors.reconstruct([c.chunk_id for c in index.chunks()])
    return vectors, searcher.embed_queries(list(qs.values())[:queries])


def real_xwlb(n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors of the first 新闻联播 stories (about ``n`` chunks) and, as queries, the
    headlines of the stories that follow them (never indexed). Embeddings go through the cache."""
    import gzip

    from semsearch import Document, Index

    rows = []
    with gzip.open(SHARED / "data/xwlb/articles.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            rows.append(json.loads(line))
            if len(rows) >= n // 4 + queries:  # ~4.4 chunks per story: more than enough
                break
    stories, held_out = rows[:-queries], rows[-queries:]
    docs = [Document(doc_id=r["id"], text=r["text"], title=r["title"]) for r in stories]
    index = Index.build(docs)
    chunk_ids = [c.chunk_id for c in index.chunks()][:n]
    searcher = index.searcher()
    return searcher.parts.vectors.reconstruct(chunk_ids), searcher.embed_queries(
        [r["title"] for r in held_out]
    )


def configs(n: int) -> list[tuple[str, list[SearchParams]]]:
    """Index types to try at size ``n`` and the search settings of each."""
    nlist = max(16, int(2 ** round(math.log2(4 * math.sqrt(n)))))
    nprobes = [p for p in (1, 4, 16, 64) if p <= nlist]
    return [
        ("Flat", [SearchParams()]),
        ("HNSW32", [SearchParams(ef_search=ef) for ef in (16, 32, 64, 128)]),
        (f"IVF{nlist},Flat", [SearchParams(nprobe=p) for p in nprobes]),
        (f"IVF{nlist},SQ8", [SearchParams(nprobe=p) for p in nprobes]),
        (f"IVF{nlist},PQ96x4fs", [SearchParams(nprobe=p) for p in nprobes]),
    ]


def run_size(
    name: str, vectors: np.ndarray, queries: np.ndarray, k: int = 10, skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    ids = np.arange(len(vectors), dtype=np.int64)
    rows: list[dict[str, Any]] = []
    truth = None

    def skipped(index_type: str) -> bool:
        return any(word in index_type for word in skip)

    if skipped("Flat"):  # no exact row to measure recall against: search exactly, untimed
        _, truth = search_vectors(make_vector_index(vectors, ids, "Flat"), queries, k, SearchParams())
    for index_type, settings in configs(len(vectors)):
        if skipped(index_type):
            continue
        gc.collect()
        before = rss_mib()
        with Timer() as build:
            index = make_vector_index(vectors, ids, index_type)
        memory = rss_mib() - before
        with tempfile.TemporaryDirectory() as tmp:
            write_vector_index(index, Path(tmp) / "v.faiss")
            disk = (Path(tmp) / "v.faiss").stat().st_size
        for params in settings:
            search_vectors(index, queries[:5], k, params)  # warm up
            single = []
            found = []
            for q in queries:
                with Timer() as one:
                    _, got = search_vectors(index, q[None, :], k, params)
                single.append(one.seconds * 1000)
                found.append(got[0])
            with Timer() as batch:
                search_vectors(index, queries, k, params)
            found = np.array(found)
            if truth is None:
                truth = found  # Flat comes first: exact
            recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))
            row = {
                "data": name,
                "n": len(vectors),
                "index_type": index_type,
                "ef_search": params.ef_search if "HNSW" in index_type else None,
                "nprobe": params.nprobe if "IVF" in index_type else None,
                "recall@10": round(recall, 4),
                **{f"{p}_ms": round(v, 3) for p, v in percentiles(single).items()},
                "batch_ms_per_query": round(batch.seconds * 1000 / len(queries), 4),
                "build_s": round(build.seconds, 2),
                "rss_delta_mib": round(memory, 1),
                "disk_mib": round(disk / 2**20, 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        del index
    return rows


def recommend(rows: list[dict[str, Any]], target: float = 0.95) -> list[dict[str, Any]]:
    """Per data set and size: the fastest setting (p50) whose recall@10 reaches ``target``."""
    out = []
    for key in sorted({(r["data"], r["n"]) for r in rows}, key=lambda x: (x[0], x[1])):
        good = [r for r in rows if (r["data"], r["n"]) == key and r["recall@10"] >= target]
        if not good:  # nothing measured there reaches the target (a run of compressed types alone)
            continue
        best = min(good, key=lambda r: r["p50_ms"])
        flat = next((r for r in rows if (r["data"], r["n"]) == key and r["index_type"] == "Flat"), None)
        out.append(
            {
                "data": key[0],
                "n": key[1],
                **{
                    x: best[x]
                    for x in (
                        "index_type",
                        "ef_search",
                        "nprobe",
                        "recall@10",
                        "p50_ms",
                        "disk_mib",
                        "build_s",
                    )
                },
                "speedup_vs_flat": round(flat["p50_ms"] / best["p50_ms"], 1) if flat else None,
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--real", action="store_true", help="also the CMRC dev vectors of the bundled model")
    parser.add_argument(
        "--real-xwlb",
        type=int,
        default=0,
        metavar="N",
        help="also N real chunk vectors of 新闻联播 stories (embedded once, then cached)",
    )
    parser.add_argument(
        "--skip", default="", help="leave out index types containing any of these (comma-separated)"
    )
    parser.add_argument("--name", default="ann", help="result name (results/<name>-latest.json)")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    skip = tuple(t for t in args.skip.split(",") if t)
    if args.real:
        vectors, queries = real_cmrc(args.queries)
        rows += run_size("cmrc-dev (real)", vectors, queries, skip=skip)
    if args.real_xwlb:
        vectors, queries = real_xwlb(args.real_xwlb, args.queries)
        rows += run_size("xwlb news (real)", vectors, queries, skip=skip)
        write_result(args.name, {"commit": git_commit(), "rows": rows, "recommendation": recommend(rows)})
    for n in (int(x) for x in args.sizes.split(",") if x):
        vectors, queries = synthetic(n, args.queries)
        rows += run_size("synthetic", vectors, queries, skip=skip)
        del vectors
        write_result(args.name, {"commit": git_commit(), "rows": rows, "recommendation": recommend(rows)})
    result = {"commit": git_commit(), "rows": rows, "recommendation": recommend(rows)}
    print("saved", write_result(args.name, result))
    for rec in result["recommendation"]:
        print(rec)


if __name__ == "__main__":
    main()
