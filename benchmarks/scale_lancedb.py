"""LanceDB (embedded) beside semsearch's engine in a ``scale_engine`` run: the same chunks, vectors and terms.

- chunks: the synthetic stories of the same seed, cut by semsearch's own public chunker
  (:func:`benchmarks.synthetic.indexed_chunks`; ``job_same_chunks`` checks ids, texts and vectors
  against a semsearch index of the same size);
- vectors: :class:`~benchmarks.synthetic.HashEncoder`'s, of the text semsearch embeds (title + chunk,
  Traditional folded to Simplified), cosine distance;
- full text: an FTS index over a ``terms`` column holding ``Analyzer().tokens(text)`` joined by spaces, with
  LanceDB's whitespace tokenizer and its own lower-casing, stemming, stop words and folding off (the
  analyzer did those): BM25 over the very terms semsearch scores. A query is analysed the same way,
  inside the timed search;
- dates: a ``date`` column with a BTREE scalar index; the one-year filter is a prefilter;
- vector index, as LanceDB's documentation recommends (docs.lancedb.com, "Vector indexes: do you need
  one?"): none up to about 100k rows (its exact scan is fast enough), from there IVF_PQ with its default
  parameters (sqrt(rows) partitions, dimension/16 sub-vectors), the type it recommends when searches
  filter (IVF_HNSW_* "can show higher latency variance" with ``where``);
- hybrid: LanceDB's own hybrid query with its ``RRFReranker(K=5)``; semsearch fuses by RRF with k 5 too
  (its default for a model other than the bundled one), but over each side's top 20 where LanceDB
  takes each side's top ``limit`` (10).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.child import progress
from benchmarks.memory import peak_rss_mib, rss_mib
from benchmarks.scale_engine import MEMORY_CASES, YEAR, _queries, directory_bytes, ms

if TYPE_CHECKING:
    from benchmarks.scale_engine import Runner

TABLE = "chunks"
DIMENSION = 384
REFINE = 10  # refine_factor of the second approximate measurement
SELECT = ["id", "doc_id", "text", "date"]  # what a hit carries (semsearch's hits carry text, title, metadata)
# Query cases, named as in scale_engine.CASES: name -> (LanceDB query type, filtered).
CASES: dict[str, tuple[str, bool]] = {
    "lexical": ("fts", False),
    "lexical, 10 % dates": ("fts", True),
    "dense": ("vector", False),
    "dense, 10 % dates": ("vector", True),
    "hybrid": ("hybrid", False),
    "hybrid, 10 % dates": ("hybrid", True),
}


def recommended_vector_index(n: int) -> str | None:
    """LanceDB's documented advice: no vector index up to ~100k rows, IVF_PQ beyond (filtered workload)."""
    return None if n <= 100_000 else "IVF_PQ"


def _where() -> str:
    return f"date >= '{YEAR}-01-01' AND date <= '{YEAR}-12-31'"


def _rows(docs: Any, encoder: Any, analyzer: Any) -> dict[str, list[Any]]:
    """Columns of ``docs``' chunks: ids, texts, analysed terms, dates and vectors."""
    from benchmarks.synthetic import indexed_chunks
    from semsearch.text.scripts import to_simplified

    columns: dict[str, list[Any]] = {k: [] for k in ("id", "doc_id", "text", "terms", "date")}
    for doc in docs:
        for chunk_id, text in indexed_chunks(doc, encoder):
            columns["id"].append(chunk_id)
            columns["doc_id"].append(doc.doc_id)
            columns["text"].append(text)
            columns["terms"].append(" ".join(analyzer.tokens(text)))
            columns["date"].append(doc.metadata["date"])
    texts = [to_simplified(t) for t in columns["text"]]
    vectors = [encoder.encode(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    columns["vector"] = [row for block in vectors for row in block]
    return columns


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("doc_id", pa.string()),
            ("text", pa.string()),
            ("terms", pa.string()),
            ("date", pa.string()),
            ("vector", pa.list_(pa.float32(), DIMENSION)),
        ]
    )


def _batch(columns: dict[str, list[Any]]) -> Any:
    import numpy as np
    import pyarrow as pa

    flat = pa.array(np.asarray(columns["vector"], dtype=np.float32).reshape(-1))
    arrays = [pa.array(columns[k]) for k in ("id", "doc_id", "text", "terms", "date")]
    arrays.append(pa.FixedSizeListArray.from_arrays(flat, DIMENSION))
    return pa.RecordBatch.from_arrays(arrays, schema=_schema())


def job_build(params: dict[str, Any]) -> dict[str, Any]:
    """Write ``n`` chunks into a new LanceDB table, build its indexes, add stories one at a time."""
    import lancedb

    from benchmarks.synthetic import HashEncoder, sentence_pool, synthetic_stories
    from semsearch.text.analyzer import Analyzer

    pool = sentence_pool()
    encoder, analyzer = HashEncoder(), Analyzer()
    analyzer.tokens("预热：乡村振兴")
    baseline = rss_mib()
    folder = Path(params["dir"])
    shutil.rmtree(folder, ignore_errors=True)
    prep = [0.0]
    made = [0]

    def batches() -> Any:
        """The chunks in record batches; the time spent making them (stories, chunking, terms, vectors) is counted apart."""
        docs: list[Any] = []
        resumed = time.perf_counter()
        for doc in synthetic_stories(params["n"], seed=params["seed"], pool=pool):
            docs.append(doc)
            if len(docs) == 2000:
                batch = _batch(_rows(docs, encoder, analyzer))
                made[0] += batch.num_rows
                docs = []
                prep[0] += time.perf_counter() - resumed
                progress(f"written {made[0]:,} chunks, RSS {rss_mib():,.0f} MiB")
                yield batch
                resumed = time.perf_counter()
        if docs:
            batch = _batch(_rows(docs, encoder, analyzer))
            made[0] += batch.num_rows
            prep[0] += time.perf_counter() - resumed
            yield batch

    db = lancedb.connect(str(folder))
    started = time.perf_counter()
    table = db.create_table(TABLE, data=batches(), schema=_schema())
    ingest_s = time.perf_counter() - started
    rows = table.count_rows()
    peak_ingest = peak_rss_mib()
    index_s: dict[str, float] = {}
    started = time.perf_counter()
    table.create_fts_index(
        "terms",
        base_tokenizer="whitespace",
        lower_case=False,
        stem=False,
        remove_stop_words=False,
        ascii_folding=False,
        with_position=False,
        max_token_length=None,
        replace=True,
    )
    index_s["fts"] = time.perf_counter() - started
    started = time.perf_counter()
    table.create_scalar_index("date", index_type="BTREE")
    index_s["date_btree"] = time.perf_counter() - started
    vector_index = params.get("vector_index")
    if vector_index:
        progress(f"building {vector_index}")
        started = time.perf_counter()
        table.create_index(metric="cosine", vector_column_name="vector", index_type=vector_index)
        index_s["vector_" + vector_index] = time.perf_counter() - started
    peak_index = peak_rss_mib()
    disk = directory_bytes(folder)
    parts = {p.name: directory_bytes(p) for p in (folder / f"{TABLE}.lance").iterdir() if p.is_dir()}
    fresh = list(synthetic_stories(200, seed=params["seed"] + 101, pool=pool, prefix="new"))
    adds = []
    for doc in fresh[: params["repeats"] + 1]:
        started = time.perf_counter()
        table.add(_batch(_rows([doc], encoder, analyzer)))
        adds.append(time.perf_counter() - started)
    return {
        "rows": rows,
        "vector_index": vector_index,
        "ingest_s": round(ingest_s, 2),
        "prepare_s": round(prep[0], 2),
        "storage_s": round(ingest_s - prep[0], 2),
        "storage_chunks_per_s": round(rows / max(ingest_s - prep[0], 1e-9), 1),
        "index_s": {k: round(v, 2) for k, v in index_s.items()},
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_ingest_mib": round(peak_ingest, 1),
        "peak_rss_mib": round(peak_index, 1),
        "peak_kib_per_chunk": round((peak_index - baseline) * 1024 / rows, 2),
        "disk_bytes_per_chunk": round(disk / rows, 1),
        "disk_part_bytes_per_chunk": {k: round(v / rows, 1) for k, v in parts.items()},
        "add_one_ms": round(statistics.median(adds[1:]) * 1000, 2),
        "add_one_all_ms": [round(a * 1000, 1) for a in adds[1:]],
        "add_note": "table.add of one story's chunks (chunked, analysed, embedded inside the timing); the new "
        "rows are searched unindexed until optimize()",
    }


def _search(
    table: Any, case: str, vector: Any, terms: str, *, refine: int | None = None, exact: bool = False
) -> Any:
    from lancedb.rerankers import RRFReranker

    kind, filtered = CASES[case]
    if kind == "fts":
        query = table.search(terms, query_type="fts").select([*SELECT, "_score"])
    elif kind == "vector":
        query = (
            table.search(vector, query_type="vector").distance_type("cosine").select([*SELECT, "_distance"])
        )
        if exact:
            query = query.bypass_vector_index()
        elif refine:
            query = query.refine_factor(refine)
    else:
        query = (
            table.search(query_type="hybrid")
            .vector(vector)
            .text(terms)
            .distance_type("cosine")
            .rerank(RRFReranker(K=5))
            .select(SELECT)
        )
    if filtered:
        query = query.where(_where(), prefilter=True)
    return query.limit(10).to_arrow()


def job_open(params: dict[str, Any]) -> dict[str, Any]:
    """Open the table in this fresh process; resident memory after opening and 100 queries per case."""
    from benchmarks.synthetic import HashEncoder
    from semsearch.text.analyzer import Analyzer

    started = time.perf_counter()
    import lancedb

    import_s = time.perf_counter() - started
    queries = _queries(params)[:100]
    encoder, analyzer = HashEncoder(), Analyzer()
    analyzer.tokens("预热：乡村振兴")  # loaded before the baseline, as in semsearch's load children
    vectors = encoder.encode(queries)
    before = rss_mib()
    started = time.perf_counter()
    table = lancedb.connect(params["dir"]).open_table(TABLE)
    open_s = time.perf_counter() - started
    after_open = rss_mib()
    after = {}
    for case in MEMORY_CASES:
        for query, vector in zip(queries, vectors):
            _search(table, case, vector, " ".join(analyzer.tokens(query)))
        after[case] = round(rss_mib(), 1)
    return {
        "import_s": round(import_s, 3),
        "open_s": round(open_s, 4),
        "rss_before_open_mib": round(before, 1),
        "rss_after_open_mib": round(after_open, 1),
        "rss_after_queries_mib": after,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def job_warm(params: dict[str, Any]) -> dict[str, Any]:
    """Warm per-query latency of each case (query analysis inside, vector embedding outside)."""
    import lancedb

    from benchmarks.synthetic import HashEncoder
    from semsearch.text.analyzer import Analyzer

    queries = _queries(params)
    encoder, analyzer = HashEncoder(), Analyzer()
    vectors = encoder.encode(queries)
    table = lancedb.connect(params["dir"]).open_table(TABLE)
    cases = list(CASES)
    for case in cases:
        for query, vector in zip(queries[:10], vectors[:10]):
            _search(table, case, vector, " ".join(analyzer.tokens(query)))
    times: dict[str, list[float]] = {c: [] for c in cases}
    rankings: dict[str, list[list[str]]] = {c: [] for c in cases}
    for number, (query, vector) in enumerate(zip(queries, vectors)):
        rotation = number % len(cases)
        for case in cases[rotation:] + cases[:rotation]:
            started = time.perf_counter()
            found = _search(table, case, vector, " ".join(analyzer.tokens(query)))
            times[case].append(time.perf_counter() - started)
            rankings[case].append([str(x) for x in found["id"].to_pylist()])
    out: dict[str, Any] = {"queries": len(queries), "search_ms": {c: ms(v) for c, v in times.items()}}
    if params.get("vector_index"):
        exact = [
            [str(x) for x in _search(table, "dense", v, "", exact=True)["id"].to_pylist()] for v in vectors
        ]
        rankings["dense, exact"] = exact
        out["recall_at_10"] = _recall(exact, rankings["dense"])
        refined, spent = [], []  # LanceDB's own remedy for PQ's coarse distances: re-rank 10x the candidates
        for vector in vectors:
            started = time.perf_counter()
            found = _search(table, "dense", vector, "", refine=REFINE)
            spent.append(time.perf_counter() - started)
            refined.append([str(x) for x in found["id"].to_pylist()])
        out["search_ms"][f"dense, refine_factor {REFINE}"] = ms(spent)
        out["recall_at_10_refined"] = _recall(exact, refined)
    out["rankings"] = {
        c: rankings[c] for c in ("lexical", "dense", "hybrid", "dense, exact") if c in rankings
    }
    return out


def _recall(exact: list[list[str]], found: list[list[str]]) -> float:
    return round(statistics.mean(len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(exact, found)), 4)


def job_same_chunks(params: dict[str, Any]) -> dict[str, Any]:
    """Whether LanceDB is given what semsearch stored: the same chunk ids, texts and vectors."""
    import numpy as np

    import semsearch
    from benchmarks.synthetic import HashEncoder, indexed_chunks, sentence_pool, synthetic_stories
    from semsearch.text.scripts import to_simplified

    encoder = HashEncoder()
    ours = {
        cid: text
        for doc in synthetic_stories(params["n"], seed=params["seed"], pool=sentence_pool())
        for cid, text in indexed_chunks(doc, encoder)
    }
    index = semsearch.Index.load(params["path"], model=encoder)
    rows = list(index.export_rows(vectors=True))
    theirs = {}
    for row in rows:
        title, text = row["title"], row["text"]
        theirs[row["chunk_id"]] = text if not title or title in text else f"{title}\n{text}"
    same_ids = set(ours) == set(theirs)
    same_text = sum(ours.get(cid) == text for cid, text in theirs.items())
    sample = rows[:2000]
    mine = encoder.encode([to_simplified(ours.get(r["chunk_id"], "")) for r in sample])
    stored = np.asarray([r["vector"] for r in sample], dtype=np.float32)
    return {
        "semsearch_chunks": len(theirs),
        "lancedb_chunks": len(ours),
        "same_ids": same_ids,
        "same_texts": same_text,
        "max_vector_difference": float(np.abs(mine - stored).max()),
    }


def run_size(runner: Runner, n: int) -> dict[str, Any]:
    """LanceDB at ``n`` chunks: build, open (fresh processes), warm, all children of ``runner``."""
    args = runner.args
    folder = runner.work / f"lancedb-s{args.seed}-n{n}"
    vector_index = recommended_vector_index(n)
    module = "benchmarks.scale_lancedb"
    entry: dict[str, Any] = {}
    semsearch_index = runner.built(n, "Flat")
    if semsearch_index is not None and n <= 100_000:
        entry["same_chunks"] = runner.child(
            "same_chunks",
            {"n": n, "seed": args.seed, "path": str(runner.index_path(n, "Flat"))},
            module=module,
        )
    params = {
        "n": n,
        "seed": args.seed,
        "dir": str(folder),
        "vector_index": vector_index,
        "repeats": args.repeats,
    }
    entry["build"] = runner.child("build", params, module=module)
    if "failed" in entry["build"]:
        shutil.rmtree(folder, ignore_errors=True)
        return entry
    opens = [
        runner.child("open", {"dir": str(folder), "queries_file": str(runner.queries_file)}, module=module)
        for _ in range(args.load_repeats)
    ]
    good = [o for o in opens if "failed" not in o]
    if good:
        rows = entry["build"]["rows"]
        base = runner.baseline.get("rss_model_mib")
        final = statistics.median(max(o["rss_after_queries_mib"].values()) for o in good)
        entry["open"] = {
            "open_s": round(statistics.median(o["open_s"] for o in good), 4),
            "open_s_all": [o["open_s"] for o in good],
            "import_s": round(statistics.median(o["import_s"] for o in good), 3),
            "rss_before_open_mib": round(statistics.median(o["rss_before_open_mib"] for o in good), 1),
            "rss_after_open_mib": round(statistics.median(o["rss_after_open_mib"] for o in good), 1),
            "rss_after_queries_mib": {
                c: statistics.median(o["rss_after_queries_mib"][c] for o in good) for c in MEMORY_CASES
            },
            "rss_final_mib": round(final, 1),
            "kib_per_chunk_after_queries": round((final - base) * 1024 / rows, 2) if base else None,
            "kib_per_chunk_beyond_start": round(
                (final - statistics.median(o["rss_before_open_mib"] for o in good)) * 1024 / rows, 2
            ),
            "load_average": [good[0]["load_average"][0], good[-1]["load_average"][1]],
        }
    else:
        entry["open"] = {"failed": opens[0]["failed"]}
    warm = runner.child(
        "warm",
        {"dir": str(folder), "queries_file": str(runner.queries_file), "vector_index": vector_index},
        module=module,
    )
    runner.rankings.setdefault("lancedb", {})[str(n)] = warm.pop("rankings", None)
    entry["warm"] = warm
    ours = (runner.rankings.get("sizes") or {}).get(str(n)) or {}
    theirs = runner.rankings["lancedb"][str(n)] or {}
    if ours.get("dense") and theirs.get("dense, exact" if vector_index else "dense"):
        exact = theirs["dense, exact" if vector_index else "dense"]
        entry["dense_exact_vs_semsearch_flat"] = round(
            statistics.mean(len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(ours["dense"], exact)), 4
        )
    return entry
