"""semsearch against what people use instead, same vectors, same chunks, same machine, same run.

    python -m benchmarks.peers [--n 100000] [--queries 200] [--real-xwlb 86000]

Dense, on the same float32 unit vectors (synthetic 384-d mixture at --n, and the bundled model's
CMRC dev chunk vectors): semsearch exact (FAISS Flat through the library) vs
``sentence_transformers.util.semantic_search`` (torch brute force); semsearch HNSW32 vs hnswlib and
usearch (embedded HNSW libraries) and a persistent chromadb collection (the embedded vector database,
HNSW inside) with the same graph settings (M 32, efConstruction 40, efSearch 64), so recall should
match and the ratios compare like with like. --real-xwlb N adds N real 新闻联播 chunk vectors. Lexical, on the CMRC dev chunks:
semsearch's BM25 side vs plain ``bm25s`` over ``jieba.lcut`` tokens (what one would write by hand).
Headline: ratios semsearch / peer (below 1: semsearch faster or smaller).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ann import real_cmrc, real_xwlb, synthetic
from benchmarks.common import SHARED, Timer, git_commit, percentiles, write_result
from semsearch.records import SearchParams
from semsearch.search.evaluation import dedupe, score_runs
from semsearch.storage.local.vectors import make_vector_index, search_vectors, write_vector_index

K = 10


def timed_queries(search: Any, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Run ``search`` one query at a time: (ids found, p50 ms)."""
    search(queries[:1])
    found, times = [], []
    for q in queries:
        with Timer() as t:
            ids = search(q[None, :])
        times.append(t.seconds)
        found.append(np.asarray(ids).reshape(-1)[:K])
    return np.array(found), round(percentiles(times)["p50"] * 1000, 4)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return round(float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth)])), 4)


def dense(name: str, vectors: np.ndarray, queries: np.ndarray) -> list[dict[str, Any]]:
    import hnswlib
    import torch
    from sentence_transformers.util import semantic_search
    from usearch.index import Index as UsearchIndex

    ids = np.arange(len(vectors), dtype=np.int64)
    rows: list[dict[str, Any]] = []

    def row(
        system: str, build_s: float, found: np.ndarray, p50: float, bytes_: int, truth: np.ndarray
    ) -> None:
        rows.append(
            {
                "data": name,
                "n": len(vectors),
                "system": system,
                "build_s": round(build_s, 3),
                "p50_ms": p50,
                "recall@10": recall(found, truth),
                "index_mib": round(bytes_ / 2**20, 2),
            }
        )

    with Timer() as b:
        flat = make_vector_index(vectors, ids, "Flat")
    truth, p50 = timed_queries(lambda q: search_vectors(flat, q, K, SearchParams())[1], queries)
    with tempfile.TemporaryDirectory() as tmp:
        write_vector_index(flat, Path(tmp) / "f")
        row("semsearch Flat (exact)", b.seconds, truth, p50, (Path(tmp) / "f").stat().st_size, truth)
    with Timer() as b:
        corpus = torch.from_numpy(vectors)
    found, p50 = timed_queries(
        lambda q: [h["corpus_id"] for h in semantic_search(torch.from_numpy(q), corpus, top_k=K)[0]], queries
    )
    row("sentence-transformers semantic_search (exact)", b.seconds, found, p50, vectors.nbytes, truth)

    with Timer() as b:
        hnsw = make_vector_index(vectors, ids, "HNSW32")
    found, p50 = timed_queries(lambda q: search_vectors(hnsw, q, K, SearchParams(ef_search=64))[1], queries)
    with tempfile.TemporaryDirectory() as tmp:
        write_vector_index(hnsw, Path(tmp) / "h")
        row("semsearch HNSW32 ef64", b.seconds, found, p50, (Path(tmp) / "h").stat().st_size, truth)
    with Timer() as b:
        h = hnswlib.Index(space="ip", dim=vectors.shape[1])
        # The same graph as FAISS HNSW32: M=32 (64 links on level 0), efConstruction 40.
        h.init_index(max_elements=len(vectors), M=32, ef_construction=40)
        h.add_items(vectors, ids)
        h.set_ef(64)
    found, p50 = timed_queries(lambda q: h.knn_query(q, k=K)[0], queries)
    with tempfile.TemporaryDirectory() as tmp:
        h.save_index(str(Path(tmp) / "h"))
        row("hnswlib M32 ef64", b.seconds, found, p50, (Path(tmp) / "h").stat().st_size, truth)
    with Timer() as b:
        u = UsearchIndex(
            ndim=vectors.shape[1],
            metric="ip",
            dtype="f32",
            connectivity=32,
            expansion_add=40,
            expansion_search=64,
        )
        u.add(ids, vectors)
    found, p50 = timed_queries(lambda q: u.search(q[0], K).keys, queries)
    with tempfile.TemporaryDirectory() as tmp:
        u.save(str(Path(tmp) / "u"))
        row("usearch M32 ef64", b.seconds, found, p50, (Path(tmp) / "u").stat().st_size, truth)
    with tempfile.TemporaryDirectory() as tmp:
        build_s, search = chroma(Path(tmp), vectors)
        found, p50 = timed_queries(search, queries)
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        row("chromadb M32 ef64 (persistent)", build_s, found, p50, size, truth)
    return rows


def chroma(folder: Path, vectors: np.ndarray) -> tuple[float, Any]:
    """A persistent chromadb collection of ``vectors`` (the same HNSW settings); (build s, search)."""
    import chromadb

    with Timer() as b:
        client = chromadb.PersistentClient(path=str(folder))
        collection = client.create_collection(
            "bench",
            embedding_function=None,
            configuration={
                "hnsw": {"space": "ip", "max_neighbors": 32, "ef_construction": 40, "ef_search": 64}
            },
        )
        step = client.get_max_batch_size()
        for start in range(0, len(vectors), step):
            part = vectors[start : start + step]
            collection.add(ids=[str(i) for i in range(start, start + len(part))], embeddings=part)

    def search(q: np.ndarray) -> list[int]:
        found = collection.query(query_embeddings=q, n_results=K, include=[])
        return [int(i) for i in found["ids"][0]]

    return b.seconds, search


def lexical() -> list[dict[str, Any]]:
    """semsearch's BM25 side vs plain bm25s over jieba.lcut, on the CMRC dev chunks and questions."""
    import bm25s
    import jieba

    from benchmarks.quality import build_beir_index

    index, queries, qrels, _ = build_beir_index(SHARED / "data/cmrc2018/dev")
    chunks = list(index.chunks())
    owner = [c.doc_id for c in chunks]
    qids = list(queries)
    rows = []
    times, runs = [], {}
    with Timer() as b:
        from semsearch.storage.local.lexical import LexicalIndex
        from semsearch.text.analyzer import Analyzer

        ours = LexicalIndex.build(Analyzer(), [c.chunk_id for c in chunks], [c.text for c in chunks])
    doc_of = {c.chunk_id: c.doc_id for c in chunks}
    for qid in qids:
        with Timer() as t:
            hits = ours.search(queries[qid], 30)
        times.append(t.seconds)
        runs[qid] = dedupe(doc_of[cid] for cid, _ in hits)
    rows.append(
        {
            "system": "semsearch lexical (normalised jieba search mode + stop words + bm25s)",
            "build_s": round(b.seconds, 2),
            "p50_ms": round(percentiles(times)["p50"] * 1000, 3),
            **score_runs(runs, qrels),
        }
    )
    times, runs = [], {}
    with Timer() as b:
        retriever = bm25s.BM25()
        retriever.index([jieba.lcut(c.text) for c in chunks], show_progress=False)
    for qid in qids:
        with Timer() as t:
            tokens = [w for w in jieba.lcut(queries[qid]) if w in retriever.vocab_dict] or ["的"]
            scores = retriever.get_scores(tokens)
            top = np.argsort(-scores)[:30]
        times.append(t.seconds)
        runs[qid] = dedupe(owner[i] for i in top)
    rows.append(
        {
            "system": "bm25s over jieba.lcut (plain)",
            "build_s": round(b.seconds, 2),
            "p50_ms": round(percentiles(times)["p50"] * 1000, 3),
            **score_runs(runs, qrels),
        }
    )
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """semsearch / peer for each data set: exact vs exact, HNSW vs HNSW."""
    out = []
    for data in sorted({r["data"] for r in rows}):
        group = {r["system"]: r for r in rows if r["data"] == data}
        pairs = [
            ("semsearch Flat (exact)", "sentence-transformers semantic_search (exact)"),
            ("semsearch HNSW32 ef64", "hnswlib M32 ef64"),
            ("semsearch HNSW32 ef64", "usearch M32 ef64"),
            ("semsearch HNSW32 ef64", "chromadb M32 ef64 (persistent)"),
        ]
        for ours, peer in pairs:
            a, b = group[ours], group[peer]
            out.append(
                {
                    "data": data,
                    "semsearch": ours,
                    "peer": peer,
                    "p50_ratio": round(a["p50_ms"] / b["p50_ms"], 3),
                    "build_ratio": round(a["build_s"] / b["build_s"], 2) if b["build_s"] >= 0.01 else None,
                    "size_ratio": round(a["index_mib"] / b["index_mib"], 2),
                    "recall": [a["recall@10"], b["recall@10"]],
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--real-xwlb", type=int, default=0, metavar="N", help="also N real 新闻联播 chunk vectors (cached)"
    )
    args = parser.parse_args(argv)
    rows = dense("cmrc-dev (real)", *real_cmrc(args.queries))
    if args.real_xwlb:
        rows += dense("xwlb news (real)", *real_xwlb(args.real_xwlb, args.queries))
    rows += dense("synthetic", *synthetic(args.n, args.queries))
    result = {"commit": git_commit(), "dense": rows, "ratios": ratios(rows), "lexical": lexical()}
    for r in result["ratios"]:
        print(r)
    for r in result["lexical"]:
        print(r)
    print("saved", write_result("peers", result))


if __name__ == "__main__":
    main()
