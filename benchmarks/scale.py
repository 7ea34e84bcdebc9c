"""The whole library at news-archive scale: all 新闻联播 stories (~86k chunks) built, saved, loaded, queried.

    python -m benchmarks.scale [--limit STORIES] [--queries 200] [--out indexes/xwlb]

Builds a real index through ``Index.build`` (the embedding cache makes a second run cheap: the result
records how many chunk texts were embedded in this run and how many came from the cache, with the
build's wall time and its CPU time, which other work on the machine barely moves), saves it, then measures what a user of an index that size sees: bytes on disk, the time
and memory to load it, cold start of ``semsearch query``, and warm per-query latency of each mode.
Queries are the headlines of the last ``--queries`` stories, which are held out of the index.
The index directory holds CCTV text: it stays under the git-ignored ``indexes/`` folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Timer, git_commit, write_result
from benchmarks.latency import cold_start, mode_latencies, ms, xwlb
from benchmarks.memory import peak_rss_mib, rss_mib
from semsearch import EmbeddingCache, Index, load_encoder


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _progress(done: int, total: int) -> None:
    step = max(1, total // 20)
    if done == total or done % step < 16:
        print(f"  embedded {done:,}/{total:,}", file=sys.stderr, flush=True)


def _load_in_child(path: Path) -> dict[str, float]:
    """Load time and resident memory of a saved index, in a fresh process (no warm caches)."""
    code = (
        "import json,time;from benchmarks.memory import peak_rss_mib,rss_mib;"
        "t=time.perf_counter();import semsearch;"
        f"i=semsearch.Index.load({str(path)!r});l=time.perf_counter()-t;m=rss_mib();"
        "i.search('测试',k=1);q=time.perf_counter()-t;"
        "print(json.dumps({'load_s':round(l,2),'load_and_first_query_s':round(q,2),"
        "'rss_after_load_mib':round(m,1),'peak_rss_mib':round(peak_rss_mib(),1)}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="index only the first STORIES stories")
    parser.add_argument("--queries", type=int, default=200, help="held-out headlines used as queries")
    parser.add_argument("--out", type=Path, default=ROOT / "indexes/xwlb", help="where to save the index")
    parser.add_argument("--index-type", default="Flat")
    args = parser.parse_args(argv)

    stories = xwlb(args.limit + args.queries if args.limit else None)
    docs, held_out = stories[: -args.queries], stories[-args.queries :]
    queries = [d.title for d in held_out]
    encoder = load_encoder()
    cache = EmbeddingCache()
    cached_before = cache.stats().vectors.get(encoder.identity, 0)

    gc.collect()
    rss_before = rss_mib()
    cpu_before = cpu_seconds()
    with Timer() as build:
        index = Index.build(docs, index_type=args.index_type, cache=cache, progress=_progress)
    build_cpu = cpu_seconds() - cpu_before
    rss_built = rss_mib()
    # The cache's growth; another process writing to the same cache meanwhile adds to it, so it is
    # capped at the number of chunks (the raw growth is recorded too).
    cache_growth = cache.stats().vectors.get(encoder.identity, 0) - cached_before
    with Timer() as save:
        index.save(args.out)
    info = index.info()
    del index
    gc.collect()

    loaded = _load_in_child(args.out)
    index = Index.load(args.out)
    index.search(queries[0], k=10)
    modes = mode_latencies(index, queries)
    search = []
    searcher = index.searcher()
    for q in queries:
        vector = searcher.embed_queries([q])
        with Timer() as t:
            searcher.parts.vectors.search(vector, 10)
        search.append(t.seconds)

    counts = info["counts"]
    result: dict[str, Any] = {
        "commit": git_commit(),
        "documents": counts["documents"],
        "chunks": counts["chunks"],
        "index_type": args.index_type,
        "queries": len(queries),
        "build": {
            "seconds": round(build.seconds, 1),
            "chunks_per_s": round(counts["chunks"] / build.seconds, 2),
            # CPU seconds of every thread: unlike wall time, barely moved by other work on the machine.
            "cpu_seconds": round(build_cpu, 1),
            "embedded_now": min(cache_growth, counts["chunks"]),
            "from_cache": counts["chunks"] - min(cache_growth, counts["chunks"]),
            "cache_growth": cache_growth,
            "rss_growth_mib": round(rss_built - rss_before, 1),
        },
        "save_s": round(save.seconds, 2),
        "disk_mib": {name: round(f["bytes"] / 2**20, 1) for name, f in info["files"].items()}
        | {"total": round(info["bytes_on_disk"] / 2**20, 1)},
        "load": loaded,
        "cold_start_s": {m: cold_start(args.out, queries[0], m) for m in ("hybrid", "lexical")},
        "warm_ms": modes,
        "faiss_search_ms": ms(search),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "commit"}, ensure_ascii=False, indent=1))
    print("saved", write_result("scale", result))


if __name__ == "__main__":
    main()
