"""The storage engine alone, 10k to 1M chunks, through the public API only, so it runs unchanged on any engine.

    python -m benchmarks.scale_engine --sizes 10000,100000,300000,1000000 [--lancedb 100000,1000000] [--only PART]

Synthetic 新闻联播-like stories (:mod:`benchmarks.synthetic`, real sentences recombined) are embedded by
:class:`~benchmarks.synthetic.HashEncoder`, which costs microseconds a text, so what is timed is the
engine. Every part runs in child processes (:mod:`benchmarks.child`: memory figures are a process's
own; a size that runs out of memory or time is recorded with the reason and how far it got):

- ``build``: ``Index.build`` of N chunks (``cache=False``) and ``save``: wall and CPU time, chunks/s, peak
  resident memory of the building process (VmHWM), bytes on disk per chunk and per file kind; once with
  exact ``Flat`` and once with the approximate type recommended at that size (``--index-type``);
- ``load``: ``Index.load`` in fresh processes (median; with and without checksum verification), and
  resident memory after loading and 100 queries of each mode, beyond a process holding only the model;
- ``warm``: per-query p50/p95 of each mode (lexical, lexical with a one-year date filter, dense exact
  and approximate, hybrid), query embedding excluded (HashEncoder looks remembered queries up; their
  encoding time is reported apart), and recall@10 of the approximate index against ``Flat``;
- ``ops``: add one story / update one / remove one, each followed by ``save()``, at N and at 10k in one
  process, the two sizes taking turns op by op (the ratio is read from one stretch of a noisy machine);
- ``churn``: one long-lived process making 1,000 changes (each saved) to a 10k index: resident memory growth;
- ``cli``: cold ``semsearch query -i INDEX -k 10 --mode hybrid|lexical QUERY`` at N against a
  seeds-size index, interleaved, with the bundled model: the CLI loads the model a manifest names and
  cannot load HashEncoder, so both indexes are the stand-in's, hard-linked, with a manifest naming the
  bundled model (:meth:`Runner.cli_index`; answers meaningless, start-up and search times real);
- ``lancedb``: the same chunks, vectors and analysed terms in LanceDB (:mod:`benchmarks.scale_lancedb`).

Queries are held-out synthetic titles and sentences. Indexes and queries hold CCTV text: they stay in
``--work`` (default the git-ignored ``indexes/scale-engine``); results keep only ids and figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.child import progress, run_child
from benchmarks.common import ROOT, git_commit, load_rankings, load_result, percentiles, write_result
from benchmarks.memory import anon_rss_mib, peak_rss_mib, rss_mib

NAME = "scale_engine"
MODULE = "benchmarks.scale_engine"  # where the children find the jobs (not __main__)
OPTIMIZE_MODULE = "benchmarks.scale_engine_optimize"  # job_optimize: an index optimized in place
PARTS = ("build", "load", "warm", "ops", "churn", "cli", "lancedb")
PARTNER = 10_000  # the size changes are compared with, in the same process
SEEDS_SIZE = 56  # chunks in the seeds index: the small side of the cold CLI comparison
YEAR = 2020  # the one-year date filter (one of the synthetic stories' ten years)
# What a warm query is timed in: name -> (mode, filtered by one year of dates).
CASES: dict[str, tuple[str, bool]] = {
    "lexical": ("lexical", False),
    "lexical, 10 % dates": ("lexical", True),
    "dense": ("dense", False),
    "dense, 10 % dates": ("dense", True),
    "hybrid": ("hybrid", False),
    "hybrid, 10 % dates": ("hybrid", True),
}
APPROX_CASES = (
    "dense",
    "dense, 10 % dates",
    "hybrid",
    "hybrid, 10 % dates",
)  # also timed on the approximate index
MEMORY_CASES = ("lexical", "lexical, 10 % dates", "dense", "hybrid")  # 100 queries each before RSS
RANKED_CASES = ("lexical", "dense", "hybrid")
STAND_INS = ("hash", "anchored")  # what embeds the synthetic stories (see stand_in)


def stand_in(params: dict[str, Any]) -> Any:
    """The stand-in encoder a job's ``params`` name: ``hash`` (the default) or ``anchored``.

    ``hash`` (:class:`~benchmarks.synthetic.HashEncoder`) embeds a text's characters: near-uniform vectors,
    fine for every storage figure; ``anchored`` (:class:`~benchmarks.anchored.AnchoredEncoder`) places it
    on real news embeddings, for what an approximate index's recall and speed depend on: the vectors' shape.
    """
    name = params.get("stand_in", "hash")
    if name == "hash":
        from benchmarks.synthetic import HashEncoder

        return HashEncoder()
    if name == "anchored":
        from benchmarks.anchored import AnchoredEncoder

        return AnchoredEncoder()
    raise SystemExit(f"no stand-in encoder {name!r}; choose from {', '.join(STAND_INS)}")


def recommended_index_type(n: int) -> str:
    """The approximate FAISS type the README recommends at ``n`` chunks (benchmarks.ann's measurements).

    HNSW32 (efSearch 64) reached recall@10 0.968 on 85k real news vectors; IVF4096,SQ8 (nprobe 16) is
    the recommendation towards a million.
    """
    return "HNSW32" if n <= 300_000 else "IVF4096,SQ8"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", text)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ms(values: list[float]) -> dict[str, float]:
    return {k: round(v * 1000, 3) for k, v in percentiles(values, (50, 95)).items()}


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _where(filtered: bool) -> dict[str, Any] | None:
    from benchmarks.synthetic import year_filter

    return year_filter(YEAR) if filtered else None


def _queries(params: dict[str, Any]) -> list[str]:
    return json.loads(Path(params["queries_file"]).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- jobs (each runs in a child process)


def job_build(params: dict[str, Any]) -> dict[str, Any]:
    """Build ``n`` chunks of synthetic stories with ``encoder`` ("hash" or a model folder), save, measure."""
    import semsearch
    from benchmarks.synthetic import estimated_chunks, sentence_pool, synthetic_stories

    pool = sentence_pool()
    encoder: Any = (
        stand_in(params) if params["encoder"] in STAND_INS else semsearch.load_encoder(params["encoder"])
    )
    encoder.encode_passages(["预热"])
    prepare_s_per_chunk = _prepare_seconds_per_chunk(pool, encoder, params["seed"])
    gc.collect()
    baseline = rss_mib()
    started = time.perf_counter()

    def stories() -> Any:
        made, chunks = 0, 0
        for doc in synthetic_stories(params["n"], seed=params["seed"], pool=pool):
            yield doc
            made += 1
            chunks += estimated_chunks(doc.text.split("\n"))
            if made % 5000 == 0:
                progress(
                    f"read {made:,} stories (~{chunks:,} chunks) in {time.perf_counter() - started:.0f} s, "
                    f"RSS {rss_mib():,.0f} MiB"
                )
        progress(f"read all {made:,} stories (~{chunks:,} chunks); embedding and indexing")

    def embedded(done: int, total: int) -> None:
        if total and done * 10 // total != (done - 1) * 10 // total:
            progress(f"embedded {done / total:.0%} of the text, RSS {rss_mib():,.0f} MiB")

    cpu = cpu_seconds()
    index = semsearch.Index.build(
        stories(), model=encoder, index_type=params["index_type"], cache=False, progress=embedded
    )
    build_s = time.perf_counter() - started
    build_cpu = cpu_seconds() - cpu
    peak_build = peak_rss_mib()
    progress(f"built {len(index):,} chunks in {build_s:.0f} s; saving")
    out = Path(params["out"])
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    index.save(out)
    save_s = time.perf_counter() - started
    info = index.info()
    chunks = info["counts"]["chunks"]
    files = {kind: f["bytes"] for kind, f in info["files"].items()}
    on_disk = directory_bytes(out)
    return {
        "documents": info["counts"]["documents"],
        "chunks": chunks,
        "duplicates_folded": len(index.duplicates),
        "index_type": params["index_type"],
        "encoder": encoder.identity,
        "build_s": round(build_s, 2),
        "prepare_s_estimate": round(prepare_s_per_chunk * chunks, 2),
        "rest_s_estimate": round(build_s - prepare_s_per_chunk * chunks, 2),
        "build_cpu_s": round(build_cpu, 1),
        "chunks_per_s": round(chunks / build_s, 1),
        "save_s": round(save_s, 2),
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_build_mib": round(peak_build, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_kib_per_chunk": round((peak_rss_mib() - baseline) * 1024 / chunks, 2),
        "disk_bytes": on_disk,
        "disk_bytes_per_chunk": round(on_disk / chunks, 1),
        "file_bytes_per_chunk": {kind: round(b / chunks, 1) for kind, b in files.items()},
    }


def _prepare_seconds_per_chunk(pool: Any, encoder: Any, seed: int) -> float:
    """Seconds a chunk costs before the engine: a story made, cleaned, chunked, its terms found, embedded.

    Timed on 2,000 chunks of other stories; the build's time minus this per chunk is what storing costs
    (the public API times a build only whole).
    """
    from benchmarks.synthetic import indexed_chunks, synthetic_stories
    from semsearch.text.analyzer import Analyzer
    from semsearch.text.scripts import to_simplified

    analyzer = Analyzer()
    analyzer.tokens("预热：乡村振兴")  # jieba's dictionary and OpenCC, which every build loads
    started = time.perf_counter()
    texts = [
        text
        for doc in synthetic_stories(2000, seed=seed + 303, pool=pool, prefix="prep")
        for _, text in indexed_chunks(doc, encoder)
    ]
    for first in range(0, len(texts), 16):
        batch = texts[first : first + 16]
        encoder.encode_passages([to_simplified(t) for t in batch])
        for text in batch:
            analyzer.tokens(text)
    return (time.perf_counter() - started) / len(texts)


def job_baseline(params: dict[str, Any]) -> dict[str, Any]:
    """Resident memory of a process holding only the model (and then jieba and OpenCC as well)."""
    started = time.perf_counter()
    import semsearch  # noqa: F401

    encoder = stand_in(params)
    encoder.remember(_queries(params)[:100])
    model_only = rss_mib()
    import_s = time.perf_counter() - started
    from semsearch.text.analyzer import Analyzer

    Analyzer().tokens("预热：乡村振兴")
    return {
        "rss_model_mib": round(model_only, 1),
        "rss_model_jieba_opencc_mib": round(rss_mib(), 1),
        "import_and_model_s": round(import_s, 3),
    }


def job_load(params: dict[str, Any]) -> dict[str, Any]:
    """Load an index in this fresh process; resident memory after the load and 100 queries per case."""
    started = time.perf_counter()
    import semsearch  # noqa: F401  (timed: the package a user imports first)

    import_s = time.perf_counter() - started
    from semsearch.text.analyzer import Analyzer

    queries = _queries(params)[:100]
    encoder = stand_in(params)
    encoder.remember(queries)
    Analyzer().tokens("预热：乡村振兴")  # jieba and OpenCC: what any lexical query loads, whatever the engine
    before = rss_mib()
    started = time.perf_counter()
    # The modules any index of any size needs (the facade, FAISS, tantivy where the engine uses it), timed
    # apart: a fixed start-up cost, so ``open_s`` is what the index itself adds.
    import faiss  # noqa: F401

    from semsearch.index import Index

    with contextlib.suppress(ImportError):
        import tantivy  # noqa: F401
    modules_s = time.perf_counter() - started
    started = time.perf_counter()
    index = Index.load(params["path"], model=encoder, verify=params["verify"])
    open_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "import_s": round(import_s, 3),
        "modules_s": round(modules_s, 3),
        "open_s": round(open_s, 3),
        "load_s": round(modules_s + open_s, 3),
        "rss_before_load_mib": round(before, 1),
        "rss_after_load_mib": round(rss_mib(), 1),
    }
    if params.get("queries", True):
        after = {}
        for case in MEMORY_CASES:
            mode, filtered = CASES[case]
            for query in queries:
                index.search(query, k=10, mode=mode, where=_where(filtered))  # type: ignore[arg-type]
            after[case] = round(rss_mib(), 1)
        out["rss_after_queries_mib"] = after
        out["anon_after_queries_mib"] = round(anon_rss_mib(), 1)  # the heaps, without mapped index files
        out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


def job_warm(params: dict[str, Any]) -> dict[str, Any]:
    """Warm per-query latency of each case (query embedding excluded) and recall@10 of approximate vs Flat."""
    import semsearch
    from benchmarks.synthetic import year_filter

    queries = _queries(params)
    encoder = stand_in(params)
    encode = []
    for query in queries:
        started = time.perf_counter()
        encoder.encode_queries([query])
        encode.append(time.perf_counter() - started)
    encoder.remember(queries)
    flat = semsearch.Index.load(params["flat"], model=encoder)
    approx = semsearch.Index.load(params["approx"], model=encoder) if params.get("approx") else None
    if approx is not None and params.get("nprobe"):
        approx.search_params = dataclasses.replace(approx.search_params, nprobe=params["nprobe"])
    timed: list[tuple[str, Any, str, bool]] = [(case, flat, *CASES[case]) for case in CASES]
    if approx is not None:
        timed += [(f"{case}, approximate", approx, *CASES[case]) for case in APPROX_CASES]
    for _name, index, mode, filtered in timed:  # warm: the model slot, the filter table, caches
        for query in queries[:10]:
            index.search(query, k=10, mode=mode, where=_where(filtered))
    times: dict[str, list[float]] = {name: [] for name, *_ in timed}
    rankings: dict[str, list[list[str]]] = {name: [] for name, *_ in timed}
    for number, query in enumerate(queries):
        rotation = number % len(timed)
        for name, index, mode, filtered in timed[rotation:] + timed[:rotation]:
            where = _where(filtered)
            started = time.perf_counter()
            hits = index.search(query, k=10, mode=mode, where=where)
            times[name].append(time.perf_counter() - started)
            rankings[name].append([str(h.chunk_id) for h in hits])
    out: dict[str, Any] = {
        "queries": len(queries),
        "chunks": len(flat),
        "approx_index_type": approx.manifest.index_type if approx is not None else None,
        "encode_query_ms": ms(encode),
        "search_ms": {name: ms(values) for name, values in times.items()},
        "filter_keeps": round(len(flat.documents(where=year_filter(YEAR))) / len(flat.doc_ids()), 4),
    }
    anchors = getattr(encoder, "anchors", None)
    if anchors is not None:  # the anchored stand-in: how many real vectors its points lie between
        out["anchors"] = len(anchors.vectors)
    if approx is not None:
        for case in APPROX_CASES:
            exact, found = rankings[case], rankings[f"{case}, approximate"]
            shared = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(exact, found)]
            out.setdefault("recall_at_10", {})[case] = round(statistics.mean(shared), 4)
        out["search_params"] = {
            "ef_search": approx.search_params.ef_search,
            "nprobe": approx.search_params.nprobe,
        }
    out["rankings"] = {name: rankings[name] for name in rankings if name.split(",")[0] in RANKED_CASES}
    return out


def _link_segments(source: str, target: str) -> object:
    """Copy a file of an index, hard-linking immutable segment files (the document store is written in place)."""
    if "/segments." in source and not source.endswith((".sqlite", "-wal", "-shm")):
        return os.link(source, target)
    return shutil.copy2(source, target)


def _copy(source: str, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return target


def job_ops(params: dict[str, Any]) -> dict[str, Any]:
    """Add one / update one / remove one, each saved, at each size in turn, op by op."""
    import semsearch
    from benchmarks.synthetic import sentence_pool, synthetic_stories

    encoder = stand_in(params)
    scratch = Path(params["scratch"])
    sizes = params["sizes"]  # label -> saved index (copied first: the originals stay as built)
    indexes = {
        label: semsearch.Index.load(_copy(path, scratch / label), model=encoder)
        for label, path in sizes.items()
    }
    repeats = params["repeats"]
    rounds = repeats + 1  # the first round warms up and is not counted
    fresh = list(
        synthetic_stories(40 * rounds, seed=params["seed"] + 101, pool=sentence_pool(), prefix="new")
    )
    common = set.intersection(*(set(index.doc_ids()) for index in indexes.values()))
    chosen = random.Random(params["seed"]).sample(sorted(common), 2 * rounds)
    updates, removals = chosen[:rounds], chosen[rounds:]
    times: dict[str, dict[str, dict[str, list[float]]]] = {
        label: {op: {"change": [], "save": [], "total": []} for op in ("add", "update", "remove")}
        for label in indexes
    }
    labels = list(indexes)
    for rnd in range(rounds):
        order = labels if rnd % 2 == 0 else labels[::-1]
        new, replacement = fresh[2 * rnd], fresh[2 * rnd + 1]
        for op in ("add", "update", "remove"):
            for label in order:
                index = indexes[label]
                started = time.perf_counter()
                if op == "add":
                    index.add([new], cache=False)
                elif op == "update":
                    doc = semsearch.Document(
                        doc_id=updates[rnd],
                        text=replacement.text,
                        title=replacement.title,
                        metadata=replacement.metadata,
                    )
                    index.update([doc], cache=False)
                else:
                    index.remove([removals[rnd]])
                changed = time.perf_counter()
                index.save()
                saved = time.perf_counter()
                if rnd:
                    record = times[label][op]
                    record["change"].append(changed - started)
                    record["save"].append(saved - changed)
                    record["total"].append(saved - started)
        progress(f"round {rnd + 1}/{rounds}")
    out: dict[str, Any] = {
        "repeats": repeats,
        "chunks": {label: len(index) for label, index in indexes.items()},
    }
    for label in labels:
        out[label] = {
            op: {part: round(statistics.median(v) * 1000, 2) for part, v in parts.items()}
            | {"all_total_ms": [round(x * 1000, 1) for x in parts["total"]]}
            for op, parts in times[label].items()
        }
    if len(labels) == 2:
        big, small = labels
        out["ratio"] = {
            op: round(out[big][op]["total"] / out[small][op]["total"], 2)
            for op in ("add", "update", "remove")
        }
        out["paired_ratio"] = {  # the median of the per-round ratios (each round one stretch of the machine)
            op: round(
                statistics.median(b / s for b, s in zip(times[big][op]["total"], times[small][op]["total"])),
                2,
            )
            for op in ("add", "update", "remove")
        }
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def job_churn(params: dict[str, Any]) -> dict[str, Any]:
    """One long-lived process making ``changes`` changes (add, update, remove in turn), saving each."""
    import semsearch
    from benchmarks.synthetic import sentence_pool, synthetic_stories

    encoder = stand_in(params)
    scratch = Path(params["scratch"])
    index = semsearch.Index.load(_copy(params["path"], scratch / "churn"), model=encoder)
    changes = params["changes"]
    fresh = iter(
        synthetic_stories(10 * changes, seed=params["seed"] + 202, pool=sentence_pool(), prefix="churn")
    )
    rng = random.Random(params["seed"])
    ids = index.doc_ids()
    rng.shuffle(ids)
    gc.collect()
    start_rss, start_anon = rss_mib(), anon_rss_mib()
    samples = [[0, round(start_rss, 1), 0.0]]
    anon = [[0, round(start_anon, 1)]]
    started = time.perf_counter()
    added: list[str] = []
    for number in range(1, changes + 1):
        op = ("add", "update", "remove")[(number - 1) % 3]
        if op == "add":
            doc = next(fresh)
            index.add([doc], cache=False)
            added.append(doc.doc_id)
        elif op == "update":
            other = next(fresh)
            doc_id = ids.pop()
            index.update(
                [
                    semsearch.Document(
                        doc_id=doc_id, text=other.text, title=other.title, metadata=other.metadata
                    )
                ],
                cache=False,
            )
            ids.insert(0, doc_id)
        else:
            index.remove([added.pop(0) if added else ids.pop()])
        if number % params["save_every"] == 0:
            index.save()
        if number % 50 == 0:
            samples.append([number, round(rss_mib(), 1), round(time.perf_counter() - started, 1)])
            anon.append([number, round(anon_rss_mib(), 1)])
            progress(f"{number}/{changes} changes, RSS {rss_mib():,.0f} MiB")
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "changes": changes,
        "save_every": params["save_every"],
        "chunks_at_end": len(index),
        "seconds": round(time.perf_counter() - started, 1),
        "rss_start_mib": round(start_rss, 1),
        "rss_end_mib": samples[-1][1],
        "rss_growth_mib": round(samples[-1][1] - start_rss, 1),
        "rss_growth_after_first_100_mib": round(samples[-1][1] - samples[2][1], 1)
        if len(samples) > 2
        else None,
        "anon_growth_mib": round(anon[-1][1] - start_anon, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "samples": samples,
        "anon_samples": anon,  # RssAnon: the heap, without mapped index files
    }


def job_default_model(params: dict[str, Any]) -> dict[str, Any]:
    """What a manifest records of the bundled default model (the record ``semsearch build`` writes)."""
    from semsearch import load_encoder
    from semsearch.text.scripts import DEFAULT_EMBED_SCRIPT

    encoder = load_encoder()
    return {"record": {**encoder.spec(), "identity": encoder.identity, "embed_script": DEFAULT_EMBED_SCRIPT}}


# ---------------------------------------------------------------- the runner


class Runner:
    """Runs the parts for each size, child by child, and collects one result."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.limit_mib = args.memory_limit_gib * 1024
        hashed = args.stand_in == "hash"
        self.name = NAME if hashed else f"{NAME}_{args.stand_in}"  # the results' name
        self.tag = "" if hashed else f"-{args.stand_in}"  # in index folders' names
        queries = f"s{args.seed}" if hashed else args.stand_in  # anchored: real headlines, whatever the seed
        self.queries_file = self.work / f"queries-{queries}-q{args.queries}.json"
        self.rankings: dict[str, Any] = {}
        self.baseline: dict[str, Any] = {}

    def child(
        self, job: str, params: dict[str, Any], *, module: str = MODULE, minutes: float | None = None
    ) -> dict[str, Any]:
        load_before = os.getloadavg()[0]
        started = time.strftime("%H:%M:%S")
        print(
            f"[{started}] {module.split('.')[-1]}.{job} {json.dumps({k: v for k, v in params.items() if k != 'queries_file'})}",
            flush=True,
        )
        out = run_child(
            module,
            job,
            {**params, "stand_in": self.args.stand_in},
            memory_limit_mib=self.limit_mib,
            timeout_s=60 * (minutes or self.args.timeout_min),
        )
        out["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        brief = {k: v for k, v in out.items() if k not in ("rankings", "rss_samples", "samples")}
        print("   ", json.dumps(brief, ensure_ascii=False)[:600], flush=True)
        return out

    def write_queries(self) -> None:
        if self.queries_file.exists():
            return
        if self.args.stand_in == "anchored":
            from benchmarks.anchored import Anchors

            texts = list(Anchors.read().query_texts[: self.args.queries])
            self.queries_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            return
        from benchmarks.synthetic import held_out_queries

        self.queries_file.write_text(
            json.dumps(
                held_out_queries(self.args.queries, seed=self.args.seed + 999_999), ensure_ascii=False
            ),
            encoding="utf-8",
        )

    def index_path(self, n: int, kind: str) -> Path:
        return self.work / f"s{self.args.seed}{self.tag}-n{n}-{slug(kind)}"

    def approx_type(self, n: int) -> str:
        return recommended_index_type(n) if self.args.index_type == "auto" else self.args.index_type

    def build(
        self, n: int, kind: str, encoder: str | None = None, index_type: str = "Flat"
    ) -> dict[str, Any]:
        path = self.index_path(n, kind)
        if self.args.reuse_builds and (kept := self.built(n, kind)) is not None:
            print(f"    reusing {path.name} ({kept.get('built_at', 'an earlier run')})", flush=True)
            return kept
        params = {
            "n": n,
            "seed": self.args.seed,
            "index_type": index_type,
            "encoder": encoder or self.args.stand_in,
            "out": str(path),
        }
        out = self.child("build", params)
        record = path.with_name(path.name + ".build.json")
        if "failed" in out:
            shutil.rmtree(path, ignore_errors=True)
            record.unlink(missing_ok=True)
        else:
            out["built_at"] = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, commit {git_commit()}"
            record.write_text(json.dumps(out), encoding="utf-8")
        return out

    def optimized_copy(self, n: int, approx: str) -> dict[str, Any]:
        """The approximate index as a user past this size makes it: ``semsearch optimize --index-type`` of a copy
        of the Flat build (nothing embedded again); the Flat build's figures, plus the optimize's own."""
        path = self.index_path(n, approx)
        if self.args.reuse_builds and (kept := self.built(n, approx)) is not None:
            print(f"    reusing {path.name} ({kept.get('built_at', 'an earlier run')})", flush=True)
            return kept
        flat = self.built(n, "Flat")
        if flat is None or "failed" in flat:
            return {"skipped": f"no Flat index of {n:,} chunks to optimize into {approx}"}
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        shutil.copytree(self.index_path(n, "Flat"), path, copy_function=_link_segments)
        copy_s = time.perf_counter() - started
        out = self.child("optimize", {"path": str(path), "index_type": approx}, module=OPTIMIZE_MODULE)
        record = path.with_name(path.name + ".build.json")
        if "failed" in out:
            shutil.rmtree(path, ignore_errors=True)
            record.unlink(missing_ok=True)
            return out
        made = {
            **flat,
            "index_type": approx,
            "made_by": f"Index.optimize(index_type={approx!r}) of a copy of the Flat build",
            "optimize": out,
            "copy_s": round(copy_s, 1),
            "built_at": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, commit {git_commit()}",
        }
        record.write_text(json.dumps(made), encoding="utf-8")
        return made

    def built(self, n: int, kind: str) -> dict[str, Any] | None:
        record = self.index_path(n, kind).with_name(self.index_path(n, kind).name + ".build.json")
        return json.loads(record.read_text(encoding="utf-8")) if record.exists() else None

    def size(self, n: int, entry: dict[str, Any], parts: set[str]) -> None:
        approx = self.approx_type(n)
        if "build" in parts:
            entry["build"] = self.build(n, "Flat")
            if "failed" in entry["build"]:
                entry["build_approx"] = {
                    "skipped": f"the Flat build at this size failed ({entry['build']['failed']}); the "
                    f"approximate type changes only the vector part ({approx})"
                }
            elif self.args.approximate_by_optimize:
                entry["build_approx"] = self.optimized_copy(n, approx)
            else:
                entry["build_approx"] = self.build(n, approx, index_type=approx)
        flat = self.built(n, "Flat")
        approx_built = self.built(n, approx)
        if flat is None:
            why = f"no Flat index of {n:,} chunks was built" + (
                f" ({entry['build']['failed']})" if "failed" in entry.get("build", {}) else ""
            )
            for part in parts & {"load", "warm", "ops", "cli"}:
                entry[part] = {"skipped": why}
            return
        flat_path = str(self.index_path(n, "Flat"))
        if "load" in parts:
            entry["load"] = self.load(flat_path, flat["chunks"])
            if approx_built is not None:  # the memory figure is with the recommended type
                entry["load_approx"] = self.load(str(self.index_path(n, approx)), flat["chunks"])
        if "warm" in parts:
            params: dict[str, Any] = {"flat": flat_path, "queries_file": str(self.queries_file)}
            if approx_built is not None:
                params["approx"] = str(self.index_path(n, approx))
            if self.args.nprobe:
                params["nprobe"] = self.args.nprobe
            folders = [Path(params["flat"]), *([Path(params["approx"])] if "approx" in params else [])]
            key = f"warm-nprobe{self.args.nprobe}" if self.args.nprobe else "warm"  # one entry per setting
            if self.args.page_cache == "both":
                why = drop_page_cache()
                uncached = {"skipped": why} if why else self.child("warm", params)
                uncached.pop("rankings", None)
                entry[f"{key}-uncached"] = {**uncached, "page_cache": "dropped before the run"}
            if self.args.page_cache in ("cached", "both"):
                read_files(folders)
            warm = self.child("warm", params)
            warm["page_cache"] = (
                "as found" if self.args.page_cache == "as-found" else "the indexes' files read before the run"
            )
            rankings = warm.pop("rankings", None)
            if key == "warm":
                self.rankings.setdefault("sizes", {})[str(n)] = rankings
            entry[key] = warm
        if "ops" in parts:
            partner = self.built(PARTNER, "Flat")
            sizes = {str(n): flat_path}
            if n != PARTNER and partner is not None:
                sizes[str(PARTNER)] = str(self.index_path(PARTNER, "Flat"))
            params = {
                "sizes": sizes,
                "repeats": self.args.repeats,
                "seed": self.args.seed,
                "scratch": str(self.work / "ops-scratch"),
            }
            entry["ops"] = self.child("ops", params)
        if "cli" in parts:
            entry["cli"] = self.cli(n)

    def load(self, path: str, chunks: int) -> dict[str, Any]:
        runs = [
            self.child("load", {"path": path, "verify": True, "queries_file": str(self.queries_file)})
            for _ in range(self.args.load_repeats)
        ]
        quick = [
            self.child(
                "load",
                {"path": path, "verify": False, "queries": False, "queries_file": str(self.queries_file)},
            )
            for _ in range(max(3, self.args.load_repeats // 2))
        ]
        good = [r for r in runs if "failed" not in r]
        if not good:
            return {"failed": runs[0]["failed"], "runs": runs}
        after = {
            case: statistics.median(r["rss_after_queries_mib"][case] for r in good) for case in MEMORY_CASES
        }
        final = statistics.median(max(r["rss_after_queries_mib"].values()) for r in good)
        out = {
            "load_s": round(statistics.median(r["load_s"] for r in good), 3),
            "load_s_all": [r["load_s"] for r in good],
            "load_noverify_s": round(statistics.median(r["load_s"] for r in quick if "load_s" in r), 3),
            "import_s": round(statistics.median(r["import_s"] for r in good), 3),
            "rss_before_load_mib": round(statistics.median(r["rss_before_load_mib"] for r in good), 1),
            "rss_after_load_mib": round(statistics.median(r["rss_after_load_mib"] for r in good), 1),
            "rss_after_queries_mib": after,
            "rss_final_mib": round(final, 1),
            "anon_final_mib": round(
                statistics.median(r.get("anon_after_queries_mib", math.nan) for r in good), 1
            ),
            "load_average": [good[0]["load_average"][0], good[-1]["load_average"][1]],
        }
        # Beyond the same process just before the load (semsearch, the model, jieba and OpenCC loaded).
        out["kib_per_chunk_beyond_start"] = round((final - out["rss_before_load_mib"]) * 1024 / chunks, 2)
        base = self.baseline.get("rss_model_mib")
        if base:
            out["kib_per_chunk_after_load"] = round((out["rss_after_load_mib"] - base) * 1024 / chunks, 2)
            out["kib_per_chunk_after_queries"] = round((final - base) * 1024 / chunks, 2)
        return out

    def cli(self, n: int) -> dict[str, Any]:
        model = self.child("default_model", {})
        if "failed" in model:
            return {"failed": f"could not load the bundled model: {model['failed']}"}
        pair = {}
        for label, size in (("seeds-size", SEEDS_SIZE), (str(n), n)):
            if self.built(size, "Flat") is None:
                self.build(size, "Flat")
            linked = self.cli_index(size, model["record"])
            if linked is None:
                return {"failed": f"no Flat index of {size:,} chunks to link the CLI's index from"}
            pair[label] = linked
        approx = self.approx_type(n)
        if self.built(n, approx) is not None:  # the type recommended at this size, as a user would run it
            pair[f"{n} approximate"] = self.cli_index(n, model["record"], approx)  # type: ignore[assignment]
        query = json.loads(self.queries_file.read_text(encoding="utf-8"))[0]
        times: dict[str, list[float]] = {
            f"{label} {mode}": [] for label in pair for mode in ("hybrid", "lexical")
        }
        load_before = os.getloadavg()[0]
        for rnd in range(self.args.cold_repeats):
            runs = [(label, mode) for mode in ("hybrid", "lexical") for label in pair]
            for label, mode in runs if rnd % 2 == 0 else runs[::-1]:
                times[f"{label} {mode}"].append(cold_query(pair[label][0], mode, query))
        out: dict[str, Any] = {
            "model": model["record"]["identity"],
            "chunks": {label: chunks for label, (_, chunks) in pair.items()},
            "repeats": self.args.cold_repeats,
            "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
            "all_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        out["ratio"] = {
            mode: round(out["median_s"][f"{n} {mode}"] / out["median_s"][f"seeds-size {mode}"], 2)
            for mode in ("hybrid", "lexical")
        }
        if f"{n} approximate" in pair:
            out["approximate_type"] = approx
            out["ratio"]["approximate hybrid"] = round(
                out["median_s"][f"{n} approximate hybrid"] / out["median_s"]["seeds-size hybrid"], 2
            )
        return out

    def cli_index(self, n: int, record: dict[str, Any], kind: str = "Flat") -> tuple[str, int] | None:
        """The stand-in index of ``n`` chunks (``kind``), hard-linked, its manifest naming the bundled model.

        The CLI loads the model a manifest names and cannot load the stand-in encoder; a cold query's time
        does not depend on what the vectors mean, only on what is loaded and searched, so the CLI queries
        the stand-in's vectors with the bundled model's query vector (answers meaningless, times real),
        exactly the start-up a user's ``semsearch query`` pays. The manifest is the only file changed.
        """
        flat = self.built(n, kind)
        if flat is None:
            return None
        linked = "cli-linked" if kind == "Flat" else f"cli-linked-{kind}"
        source, target = self.index_path(n, kind), self.index_path(n, linked)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, copy_function=os.link)
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        manifest["encoder"] = record
        (target / "manifest.json").unlink()  # a link to the stand-in's manifest: replace, never write through
        (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        return str(target), flat["chunks"]

    def run(self) -> None:
        args = self.args
        parts = set(args.only.split(",")) if args.only else set(PARTS)
        unknown = parts - set(PARTS)
        if unknown:
            raise SystemExit(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
        sizes = sorted(int(x) for x in args.sizes.split(",") if x)
        previous = load_result(self.name) if args.only else None
        if previous is not None:
            self.rankings = load_rankings(previous) or {}
        result: dict[str, Any] = previous or {}
        result.update(commit=git_commit(), parameters=result.get("parameters", {}))
        result["parameters"].update(
            seed=args.seed,
            queries=args.queries,
            repeats=args.repeats,
            load_repeats=args.load_repeats,
            cold_repeats=args.cold_repeats,
            index_type=args.index_type,
            memory_limit_gib=args.memory_limit_gib,
            timeout_min=args.timeout_min,
            partner=PARTNER,
            date_filter_year=YEAR,
        )
        result.setdefault("parts_run", {})
        result["load_average_start"] = os.getloadavg()
        self.write_queries()
        if parts & {"load"}:
            self.baseline = self.child("baseline", {"queries_file": str(self.queries_file)})
            result["baseline"] = self.baseline
        else:
            self.baseline = result.get("baseline", {})
        if "build" in parts and PARTNER not in sizes and parts & {"ops", "churn"}:
            self.build(PARTNER, "Flat")  # the partner of the change comparison
        entries = result.setdefault("sizes", {})
        for n in sizes:
            self.size(n, entries.setdefault(str(n), {}), parts & {"build", "load", "warm", "ops", "cli"})
        if "churn" in parts:
            if self.built(PARTNER, "Flat") is None:
                result["churn"] = {"skipped": f"no {PARTNER:,}-chunk index was built"}
            else:
                params = {
                    "path": str(self.index_path(PARTNER, "Flat")),
                    "changes": args.churn_changes,
                    "save_every": args.churn_save_every,
                    "seed": args.seed,
                    "scratch": str(self.work / "churn-scratch"),
                }
                result["churn"] = self.child("churn", params, minutes=args.timeout_min * 2)
        if "lancedb" in parts and args.lancedb and args.stand_in != "hash":
            raise SystemExit("LanceDB is compared on the hash stand-in's vectors only: leave --stand-in out")
        if "lancedb" in parts and args.lancedb:
            from benchmarks import scale_lancedb

            lance = result.setdefault("lancedb", {})
            for n in sorted(int(x) for x in args.lancedb.split(",") if x):
                lance[str(n)] = scale_lancedb.run_size(self, n)
        for part in parts:
            result["parts_run"][part] = {
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "load_average": os.getloadavg(),
            }
        if "build" in parts:
            result["synthetic"] = self.child(
                "synthetic_check", {"seed": args.seed, "n": min(sizes[0], 20_000)}
            )
        path = write_result(self.name, result, rankings=self.rankings or None)
        print("saved", path)
        if args.pin_before:
            print("saved", write_result(self.name + "-before", result, rankings=self.rankings or None))


def job_synthetic_check(params: dict[str, Any]) -> dict[str, Any]:
    """Chunks per story (synthetic and real, chunked alike) and near-duplicates on a sample."""
    from benchmarks.common import read_xwlb
    from benchmarks.synthetic import (
        HashEncoder,
        indexed_chunks,
        near_duplicates,
        sentence_pool,
        synthetic_stories,
    )
    from semsearch import Document

    encoder = HashEncoder()
    pool = sentence_pool()
    docs = list(synthetic_stories(params["n"], seed=params["seed"], pool=pool))
    chunks = sum(len(indexed_chunks(d, encoder)) for d in docs)
    real = read_xwlb(limit=3000)
    real_chunks = sum(
        len(indexed_chunks(Document(doc_id=r["id"], text=r["text"], title=r["title"]), encoder)) for r in real
    )
    return {
        "pool_sentences": len(pool.sentences),
        "asked_chunks": params["n"],
        "stories": len(docs),
        "chunks": chunks,
        "chunks_per_story": round(chunks / len(docs), 2),
        "real_chunks_per_story": round(real_chunks / len(real), 2),
        "near_duplicates": near_duplicates(docs),
    }


def drop_page_cache() -> str | None:
    """Empty the kernel's page cache (every file read from disk again); why not, if it cannot (needs root)."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n", encoding="ascii")
    except OSError as exc:
        return f"the page cache could not be dropped ({exc.strerror})"
    return None


def read_files(folders: list[Path]) -> None:
    """Read every file under ``folders`` once, so they sit in the page cache (as a running server's would)."""
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 24):
                        pass


def cold_query(index: str, mode: str, query: str) -> float:
    """Seconds from starting ``semsearch query`` (this checkout's, as a module) to its exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "semsearch", "query", "-i", index, "-k", "10", "--mode", mode, query],
        check=True,
        capture_output=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=ROOT,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--lancedb", default="", help="sizes to run LanceDB at too (e.g. 100000,1000000)")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated parts: {', '.join(PARTS)} (others kept from the last run)",
    )
    parser.add_argument(
        "--index-type",
        default="auto",
        help="the approximate FAISS type (auto: the README's recommendation per size)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--page-cache",
        choices=("as-found", "cached", "both"),
        default="as-found",
        help="before the warm part: leave the page cache as found, read the indexes' files first (cached), "
        "or measure once after dropping the page cache (root only) and once cached (both)",
    )
    parser.add_argument(
        "--nprobe", type=int, default=0, help="IVF nprobe for the warm part (0: the index's own)"
    )
    parser.add_argument(
        "--stand-in",
        choices=STAND_INS,
        default="hash",
        help="what embeds the stories: hash (character n-grams; the storage figures) or anchored (points "
        "on real news embeddings, for approximate recall; results saved as scale_engine_anchored)",
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=11, help="timed rounds of add/update/remove")
    parser.add_argument("--load-repeats", type=int, default=5)
    parser.add_argument("--cold-repeats", type=int, default=5)
    parser.add_argument("--churn-changes", type=int, default=1000)
    parser.add_argument("--churn-save-every", type=int, default=1)
    parser.add_argument("--memory-limit-gib", type=float, default=12.0, help="a child above this is stopped")
    parser.add_argument("--timeout-min", type=float, default=90.0, help="a child running longer is stopped")
    parser.add_argument("--work", default=str(ROOT / "indexes/scale-engine"), help="where indexes are kept")
    parser.add_argument(
        "--reuse-builds",
        action="store_true",
        help="keep indexes (and their build figures) an earlier run built, instead of building them again",
    )
    parser.add_argument(
        "--approximate-by-optimize",
        action="store_true",
        help="make each size's approximate index by `optimize --index-type` of a copy of its Flat build "
        "(no second build: how an archive that grew past the size would move to it)",
    )
    parser.add_argument("--pin-before", action="store_true", help="also save the run as the 'before' figures")
    Runner(parser.parse_args(argv)).run()


if __name__ == "__main__":
    main()
