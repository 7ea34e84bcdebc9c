"""How fast: cold start, warm query latency by stage and mode, batch throughput, build throughput.

    python -m benchmarks.latency --index indexes/seeds [--build-slice 60]

- cold start: `semsearch query` as a new process, start to first answer (median of 5), per mode;
- warm: per-query p50/p95/p99 of the dense stages (encode, FAISS search, fetch text) and of whole
  searches in each mode (dense, lexical, hybrid), over 100 CMRC dev questions;
- batches: queries per second through search_batch at batch sizes 1, 8 and 32;
- build: chunks/s and tokens/s of clean+chunk, encode and index (FAISS + BM25), uncached, on the seeds
  and on a slice of 新闻联播 stories (the whole archive, built, saved and queried: ``benchmarks.scale``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    SHARED,
    Timer,
    git_commit,
    load_beir,
    percentiles,
    read_xwlb,
    write_result,
)
from benchmarks.memory import peak_rss_mib
from semsearch import Document, Index, load_encoder
from semsearch.encoders.base import embed_passages
from semsearch.pipeline.prepare import prepare
from semsearch.storage.local.lexical import LexicalIndex
from semsearch.storage.local.vectors import make_vector_index
from semsearch.text.analyzer import Analyzer
from semsearch.text.chunk import ChunkingConfig


def ms(values: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 3) for k, v in percentiles(values).items()}


def cold_start(index: Path, query: str, mode: str, repeats: int = 5) -> float:
    """Median seconds from starting `python -m semsearch query` to its exit with the answer."""
    times = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "semsearch",
                "query",
                "-i",
                str(index),
                "-k",
                "5",
                "--json",
                "--mode",
                mode,
                query,
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def mode_latencies(index: Index, queries: list[str], k: int = 10) -> dict[str, dict[str, float]]:
    """Per-query p50/p95/p99 (ms) of whole searches in each mode."""
    modes = {}
    for mode in ("dense", "lexical", "hybrid"):
        totals = []
        for q in queries:
            with Timer() as t:
                index.search(q, k=k, mode=mode)
            totals.append(t.seconds)
        modes[mode] = ms(totals)
    return modes


def warm(index: Index, queries: list[str]) -> dict[str, Any]:
    index.search(queries[0], k=10)  # load the model, warm caches
    encode, search, fetch = [], [], []
    searcher = index.searcher()
    for q in queries:
        with Timer() as t:
            vector = searcher.embed_queries([q])
        encode.append(t.seconds)
        with Timer() as t:
            found = searcher.parts.vectors.search(vector, 10)
        search.append(t.seconds)
        with Timer() as t:
            searcher.parts.chunks.rows([c for c, _ in found.ranking(0)])
        fetch.append(t.seconds)
    modes = mode_latencies(index, queries)
    dense_p50 = modes["dense"]["p50"]
    return {
        "dense_stages_ms": {"encode": ms(encode), "search": ms(search), "fetch": ms(fetch)},
        "modes_ms": modes,
        "ratio_p50_vs_dense": {m: round(v["p50"] / dense_p50, 2) for m, v in modes.items()},
    }


def batches(index: Index, queries: list[str]) -> dict[str, float]:
    out = {}
    for size in (1, 8, 32):
        with Timer() as t:
            for start in range(0, len(queries), size):
                index.search_batch(queries[start : start + size], k=10, mode="hybrid")
        out[f"batch_{size}_qps"] = round(len(queries) / t.seconds, 1)
    return out


def build_throughput(documents: list[Document], label: str) -> dict[str, Any]:
    """Clean+chunk, encode (no cache) and index stages of building ``documents``."""
    encoder = load_encoder()
    config = ChunkingConfig(max_tokens=encoder.max_tokens)
    with Timer() as clean:
        prepared, _ = prepare(documents, encoder, config)
    chunks = [c for entry in prepared for c in entry.chunks]
    tokens = sum(c.n_tokens for c in chunks)
    with Timer() as encode:
        vectors = embed_passages(encoder, [c.text for c in chunks], cache=None)
    ids = [c.chunk_id for c in chunks]
    import numpy as np

    with Timer() as index:
        make_vector_index(vectors, np.asarray(ids, dtype=np.int64), "Flat")
        LexicalIndex.build(Analyzer(), ids, [c.text for c in chunks])
    stages = {"clean_chunk": clean.seconds, "encode": encode.seconds, "index": index.seconds}
    total = sum(stages.values())
    return {
        "corpus": label,
        "documents": len(documents),
        "chunks": len(chunks),
        "tokens": tokens,
        "seconds": {k: round(v, 2) for k, v in stages.items()},
        "chunks_per_s": {k: round(len(chunks) / v, 1) for k, v in stages.items()}
        | {"total": round(len(chunks) / total, 2)},
        "tokens_per_s": round(tokens / total, 1),
    }


def xwlb(limit: int | None = None) -> list[Document]:
    """The first ``limit`` 新闻联播 stories (all when None) as documents."""
    return [
        Document(doc_id=row["id"], text=row["text"], title=row["title"])
        for row in read_xwlb(limit=limit or 0)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", type=Path, default=ROOT / "indexes/seeds", help="a saved index (build it first)"
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--build-slice", type=int, default=60, help="新闻联播 stories for the build throughput"
    )
    args = parser.parse_args(argv)
    _, dev_queries, _ = load_beir(SHARED / "data/cmrc2018/dev")
    queries = list(dev_queries.values())[: args.queries]
    index = Index.load(args.index)
    result: dict[str, Any] = {
        "commit": git_commit(),
        "index": str(args.index),
        "chunks": len(index),
        "index_type": index.manifest.index_type,
        "cold_start_s": {m: cold_start(args.index, queries[0], m) for m in ("hybrid", "lexical")},
        "warm": warm(index, queries),
        "throughput": batches(index, queries),
        "build": [
            build_throughput(
                [Document(doc_id=c, text=index.document(c)["raw_text"]) for c in index.doc_ids()], "seeds"
            )
        ],
    }
    if args.build_slice:
        result["build"].append(
            build_throughput(xwlb(args.build_slice), f"新闻联播 first {args.build_slice} stories")
        )
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    print(json.dumps({k: v for k, v in result.items() if k != "commit"}, ensure_ascii=False, indent=1))
    print("saved", write_result("latency", result))


if __name__ == "__main__":
    main()
