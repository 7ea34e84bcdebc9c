"""What a metadata filter costs at the scale of the whole 新闻联播 archive, in each search mode.

    python -m benchmarks.filters [--articles 19588] [--queries 40] [-k 10]

The index holds the real archive (its text, titles and dates, real cleaning, chunking in the model's
own tokens, real jieba/BM25) but *stand-in vectors*: each chunk's vector is a pseudo-random unit vector
drawn from a hash of its text. Embedding the ~85k chunks with the bundled model takes over an hour on
this shared machine; an exact (Flat) search scans every vector whatever their values, so the dense
side's cost is the same. Rankings are therefore meaningless here, only costs and filter correctness are
measured: each filtered query must return only hits in the date range, and ``k`` of them when ``k``
documents in range share a word with the query (lexical) or exist at all (dense, hybrid).
Filters: one day (~0.05% of documents), one month (~2%), one year (~25%), none.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import XWLB, git_commit, percentiles, read_xwlb, write_result
from semsearch import Document, Index
from semsearch.encoders.loading import load_encoder

MODES = ("dense", "lexical", "hybrid")


class StandInEncoder:
    """The bundled model's tokenizer (so chunks are cut as usual) with hashed unit vectors."""

    def __init__(self) -> None:
        self.inner = load_encoder()
        self.identity = "stand-in/hashed-unit-vectors"
        self.dimension = self.inner.dimension
        self.max_tokens = self.inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def _vectors(self, texts: Any) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            out[row] = vector / np.linalg.norm(vector)
        return out

    encode_passages = _vectors
    encode_queries = _vectors

    def spec(self) -> dict[str, Any]:
        return {"kind": "stand-in"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(XWLB))
    parser.add_argument("--articles", type=int, default=0, help="first N articles (0: all)")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    rows = read_xwlb(args.data, args.articles)
    docs = [Document(r["id"], r["text"], title=r["title"], metadata={"date": r["date"]}) for r in rows]
    started = time.perf_counter()
    index = Index.build(docs, model=StandInEncoder(), cache=False)
    build_seconds = time.perf_counter() - started
    dates = sorted({d["date"] for d in index.documents()})
    rng = random.Random(7)
    queries = [r["title"][:12] for r in rng.sample(rows, args.queries)]
    day = dates[len(dates) // 2]
    filters = {
        "none": None,
        "year 2024": {"date": {"$gte": "2024-01-01", "$lte": "2024-12-31"}},
        "month 2024-06": {"date": {"$gte": "2024-06-01", "$lt": "2024-07-01"}},
        f"day {day}": {"date": day},
    }
    docs_in = {name: len(index.documents(where=w)) for name, w in filters.items()}
    index.search("预热", k=1, where={"date": day})  # the first filtered search reads the document table
    table: dict[str, Any] = {}
    problems: list[str] = []
    for mode in MODES:
        for name, where in filters.items():
            times = []
            short = 0
            for query in queries:
                t0 = time.perf_counter()
                hits = index.search(query, k=args.k, mode=mode, where=where)
                times.append(1000 * (time.perf_counter() - t0))
                if where is not None:
                    condition = where["date"]
                    for hit in hits:
                        date = hit.metadata["date"]
                        ok = (
                            date == condition
                            if isinstance(condition, str)
                            else (
                                all(
                                    {"$gte": date >= v, "$lte": date <= v, "$lt": date < v}[op]
                                    for op, v in condition.items()
                                )
                            )
                        )
                        if not ok:
                            problems.append(f"{mode} {name} {query}: {hit.doc_id} dated {date}")
                short += len(hits) < args.k
            table[f"{mode} / {name}"] = {
                **{f"{p}_ms": round(v, 2) for p, v in percentiles(times).items()},
                "queries_with_fewer_than_k": short,
            }
            print(mode, name, table[f"{mode} / {name}"], flush=True)
    first_filtered = {}
    saved = _save(index)
    fresh = Index.load(saved)
    t0 = time.perf_counter()
    fresh.search(queries[0], k=args.k, mode="lexical", where={"date": day})
    first_filtered["first_filtered_query_after_load_ms"] = round(1000 * (time.perf_counter() - t0), 1)
    shutil.rmtree(saved.parent)
    write_result(
        "filters",
        {
            "commit": git_commit(),
            "articles": len(rows),
            "documents": len(index.doc_ids()),
            "chunks": len(index),
            "duplicates": index.manifest.counts.duplicates,
            "build_seconds": round(build_seconds, 1),
            "k": args.k,
            "queries": len(queries),
            "documents_in_filter": docs_in,
            "latency": table,
            "hits_out_of_range": problems[:20],
            "hits_out_of_range_count": len(problems),
            **first_filtered,
        },
    )


def _save(index: Index) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="semsearch-filters-")) / "idx"
    index.save(path)
    return path


if __name__ == "__main__":
    main()
