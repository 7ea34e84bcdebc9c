"""benchmarks/serve.py computes what it claims: client loop, percentiles, consistency bookkeeping (never speed).

The server here is a fake speaking the HTTP contract through httpx.MockTransport (no socket): an
in-memory story store whose lexical search finds a marker in a story's text. A variant that keeps serving
removed stories for a while must be caught by the consistency check.
"""

import json
import threading

import httpx
import pytest
from benchmarks import serve


class FakeServer:
    """The contract's endpoints the benchmark uses, over a dict of stories; ``stale`` removals lag."""

    def __init__(self, stale: int = 0, fail_every: int = 0, hold_adds: threading.Event | None = None) -> None:
        self.lock = threading.Lock()
        self.stories = {f"real-{n}": f"real story {n} 经济 发展" for n in range(5)}
        self.ghosts: dict[str, list] = {}  # removed, still served: doc_id -> [text, searches left]
        self.stale = stale
        self.fail_every = fail_every
        self.hold_adds = hold_adds  # an add is answered once this is set (reads go on meanwhile)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.hold_adds is not None and request.method == "POST" and request.url.path == "/api/documents":
            self.hold_adds.wait()
        with self.lock:
            self.calls += 1
            if self.fail_every and self.calls % self.fail_every == 0:
                return httpx.Response(500, json={"error": "something broke"})
            return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/api/search":
            query = json.loads(request.content)["query"]
            visible = {**self.stories, **{d: text for d, (text, _) in self.ghosts.items()}}
            for doc_id, ghost in list(self.ghosts.items()):
                ghost[1] -= 1
                if ghost[1] <= 0:
                    del self.ghosts[doc_id]
            found = [d for d, text in visible.items() if query in text]
            return httpx.Response(200, json={"results": [{"doc_id": d, "title": d} for d in found]})
        if path == "/api/documents" and method == "POST":
            for doc in json.loads(request.content)["documents"]:
                self.stories[doc["doc_id"]] = doc["text"]
            return httpx.Response(200, json={"added": 1})
        if path.startswith("/api/documents/") and method == "DELETE":
            doc_id = path.rsplit("/", 1)[1]
            text = self.stories.pop(doc_id, None)
            if text is None:
                return httpx.Response(404, json={"error": f"no document {doc_id!r}"})
            if self.stale:
                self.ghosts[doc_id] = [text, self.stale]
            return httpx.Response(200, json={"removed": 1})
        if path.endswith("/similar"):
            return httpx.Response(200, json={"results": [{"doc_id": "real-1", "passages": []}]})
        if path == "/api/facets":
            return httpx.Response(200, json={"by": "date:month", "counts": []})
        return httpx.Response(404, json={"error": "no such path"})

    def client(self) -> httpx.Client:
        return httpx.Client(base_url="http://fake", transport=httpx.MockTransport(self))


def _stories():
    texts = ["第一句话说经济。第二句话说发展。第三句话说民生。\n第四句话讲科技。第五句话讲教育。"] * 3
    return serve.writer_stories(texts, seed=1, run="t")


def test_doc_ids_are_read_from_hits_stories_and_their_passages_once_each():
    answer = {
        "results": [
            {"doc_id": "a", "passages": [{"doc_id": "a"}, {"doc_id": "a"}]},
            {"doc_id": "b"},
        ]
    }
    assert serve.doc_ids_of(answer) == ("a", "b")
    assert serve.doc_ids_of({"by": "date:month", "counts": []}) == ()


def test_a_non_2xx_answer_or_an_exception_is_an_error_with_its_message():
    def handler(request):
        if request.url.path == "/boom":
            raise httpx.ConnectError("refused")
        return httpx.Response(400, json={"error": "query is empty"})

    with httpx.Client(base_url="http://fake", transport=httpx.MockTransport(handler)) as client:
        bad = serve.send(client, serve.Call("x", "GET", "/api/search"))
        boom = serve.send(client, serve.Call("y", "GET", "/boom"))
    assert bad.error.startswith("400: ") and "query is empty" in bad.error
    assert boom.error == "ConnectError: refused"


def test_a_story_returned_by_a_request_sent_after_its_removal_was_acknowledged_is_a_violation():
    ledger = serve.Ledger()
    ledger.adding("s1", "m")
    ledger.added("s1", 1.0)
    ledger.removing("s1", 2.0)
    ledger.removed("s1", 3.0)
    in_flight = serve.Sample("search", sent=2.5, seconds=1.0, error=None, doc_ids=("s1",))
    after = serve.Sample("search", sent=3.5, seconds=0.1, error=None, doc_ids=("x", "s1"))
    assert (
        ledger.check(in_flight, received=3.5) == []
    )  # sent before the acknowledgement: either answer is fine
    [violation] = ledger.check(after, received=3.6)
    assert (violation.kind, violation.doc_id, violation.after_s) == ("returned after removal", "s1", 0.5)
    assert ledger.checked == 2 and ledger.violations == [violation]


def test_a_probed_story_missing_after_its_add_was_acknowledged_is_a_violation_unless_a_remove_began():
    ledger = serve.Ledger()
    ledger.adding("s1", "m")
    early = serve.Sample("probe", sent=0.5, seconds=0.1, error=None)
    assert ledger.check(early, received=0.6, expect="s1") == []  # the add was not acknowledged yet
    ledger.added("s1", 1.0)
    late = serve.Sample("probe", sent=1.5, seconds=0.1, error=None)
    [violation] = ledger.check(late, received=1.6, expect="s1")
    assert violation.kind == "missing after add"
    ledger.removing("s1", 1.55)  # the remove was sent before this answer came: a miss is allowed
    assert ledger.check(late, received=1.6, expect="s1") == []
    found = serve.Sample("probe", sent=1.5, seconds=0.1, error=None, doc_ids=("s1",))
    assert ledger.check(found, received=1.6, expect="s1") == []


def test_probes_pick_only_stories_whose_add_was_acknowledged():
    import random

    ledger = serve.Ledger()
    assert ledger.probe(random.Random(0)) is None
    ledger.adding("s1", "m1")
    assert ledger.probe(random.Random(0)) is None
    ledger.added("s1", 1.0)
    assert ledger.probe(random.Random(0)).marker == "m1"


def test_summary_gives_nearest_rank_percentiles_in_ms_rates_and_the_first_error():
    samples = [serve.Sample("a", 0.0, n / 1000, None) for n in range(1, 101)]
    samples += [serve.Sample("a", 0.0, 0.5, "500: x"), serve.Sample("a", 0.0, 0.5, "500: y")]
    out = serve.summary(samples, seconds=10.0)["a"]
    assert out == {
        "requests": 102,
        "per_s": 10.0,
        "errors": 2,
        "first_error": "500: x",
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
    }


def test_markers_are_unique_words_of_letters():
    words = [serve.marker(n, "qz") for n in range(30 * 26)]
    assert len(set(words)) == len(words)
    assert all(w.isascii() and w.isalpha() and w.startswith(serve.MARKER_PREFIX + "qz") for w in words)


def test_writer_stories_are_seeded_unique_and_carry_their_marker():
    first, second = list(zip(range(5), _stories())), list(zip(range(5), _stories()))
    assert first == second
    stories = [s for _, s in first]
    assert len({s["doc_id"] for s in stories}) == len({s["marker"] for s in stories}) == 5
    assert all(s["marker"] in s["text"] and s["title"] for s in stories)


def test_the_workload_is_seeded_and_covers_every_endpoint_and_mode():
    calls = serve.workload(["经济发展", "economy"], ["real-1"], seed=3)
    assert calls == serve.workload(["经济发展", "economy"], ["real-1"], seed=3)
    labels = {c.label for c in calls}
    assert labels == {*serve.SEARCH_LABELS.values(), serve.GROUPED, serve.FACETS, serve.SIMILAR_LABEL}
    assert len(calls) == 2 * 5 + 1
    modes = {c.body["mode"] for c in calls if c.label in serve.SEARCH_LABELS.values()}
    assert modes == {"hybrid", "lexical", "dense"}


def _measure(fake: FakeServer, clients: int = 3, seconds: float = 0.6):
    calls = serve.workload(["经济", "发展", "story"], ["real-1"], seed=0)
    writer = serve.Writer(_stories(), serve.Ledger(), pause=0.01)
    return serve.measure(fake.client, calls, clients, seconds, writer=writer, rounds=2), writer


def test_a_run_against_a_consistent_server_counts_every_request_and_finds_no_violation():
    fake = FakeServer()
    measured, writer = _measure(fake)
    (on, on_samples), (off, off_samples) = measured
    assert (on["writer"], off["writer"]) == (True, False) and on["clients"] == 3
    assert on["errors"] == off["errors"] == 0 and on["first_error"] is None
    assert on["requests"] == len(on_samples) and off["requests"] == len(off_samples)
    assert fake.calls == len(on_samples) + len(off_samples)  # every request sent was recorded once
    assert sum(e["requests"] for e in on["endpoints"].values()) == on["requests"]
    assert on["endpoints"][serve.ADD]["requests"] >= 2 and on["endpoints"][serve.REMOVE]["requests"] >= 1
    assert on["endpoints"][serve.PROBE]["requests"] >= 1  # readers searched the writer's markers
    assert not any(label.startswith(("write", "check")) or label == serve.PROBE for label in off["endpoints"])
    assert on["consistency"]["violations"] == 0 and on["consistency"]["answers_checked"] > 0
    assert off["consistency"] == {"answers_checked": off["requests"], "violations": 0, "examples": []}
    assert len(on["load_average"]) == len(off["load_average"]) == 2  # two interleaved slices each


def test_a_server_still_serving_removed_stories_is_caught_with_the_writer_and_after_it():
    fake = FakeServer(stale=10**9)
    [(on, _), (off, _)], _ = _measure(fake)
    assert on["consistency"]["violations"] > 0 and off["consistency"]["violations"] > 0
    kinds = {v["kind"] for v in on["consistency"]["examples"] + off["consistency"]["examples"]}
    assert kinds == {"returned after removal"}


def test_failed_requests_are_counted_with_the_first_message():
    fake = FakeServer(fail_every=7)
    [(on, _), (off, _)], _ = _measure(fake)
    assert on["errors"] > 0 and off["errors"] > 0
    assert off["first_error"].endswith(
        "500: " + json.dumps({"error": "something broke"}, separators=(",", ":"))
    )


def test_an_index_that_is_not_a_directory_with_a_manifest_is_refused_in_one_line(tmp_path):
    with pytest.raises(SystemExit, match="not an index directory"):
        serve.copy_index(tmp_path / "nowhere", tmp_path)


def test_the_index_is_copied_not_linked(tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    (index / "manifest.json").write_text("{}")
    copy = serve.copy_index(index, tmp_path / "scratch")
    (copy / "manifest.json").write_text('{"changed": 1}')
    assert (index / "manifest.json").read_text() == "{}"


def test_the_report_section_shows_both_conditions_their_ratio_and_the_checks(tmp_path, monkeypatch):
    from tests.test_benchmarks import _machine, _render

    [(on, _), (off, _)], _ = _measure(FakeServer())
    on["endpoints"][serve.SEARCH_LABELS["hybrid"]].update(p50=20.0, p99=80.0)
    off["endpoints"][serve.SEARCH_LABELS["hybrid"]].update(p50=10.0, p99=40.0)
    on["reads_per_s"], off["reads_per_s"] = 50.0, 100.0
    result = {
        "machine": _machine([1.5, 2.0, 2.5]),
        "measured_at": "now",
        "index": "/idx/xwlb",
        "chunks": 85000,
        "documents": 19000,
        "server": {"healthy_after_s": 12.5, "peak_rss_mib": 900.0},
        "parameters": {
            "clients": [3],
            "seconds": 0.6,
            "rounds": 2,
            "write_pause_s": 0.01,
            "k": 10,
            "seed": 0,
            "probe_every": 8,
            "queries": ["经济", "发展", "story"],
            "similar_ids": ["real-1"],
            "calls": 16,
        },
        "runs": [on, off],
    }
    text = _render(tmp_path, monkeypatch, serve=result)
    section = text[text.index("## Search server under load") :]
    assert "--clients 3 --seconds 0.6" in section and "85,000 chunks, 19,000 stories" in section
    hybrid = on["endpoints"][serve.SEARCH_LABELS["hybrid"]]
    assert f"| 3 | on | 50 | 20 | 80 | {hybrid['per_s']:g} | 0 |" in section
    assert "| 3 | off | 100 | 10 | 40 |" in section
    assert "3 clients: hybrid p50 2.00×, p99 2.00×, reads/s 0.50×" in section
    adds, removes = on["endpoints"][serve.ADD]["requests"], on["endpoints"][serve.REMOVE]["requests"]
    assert f"| {adds} / {removes} | {on['consistency']['answers_checked']} | 0 |" in section
    assert "| search lexical, writer's marker |" in section and "every 8th request" in section
    assert "serve" not in text[text.index("Not yet run") :]


def test_phrases_are_the_longest_clause_of_a_sentence():
    assert serve.phrase_of("据报道，全国蔬菜供应总体形势平稳，价格回落。") == "全国蔬菜供应总体形势平稳"
    assert serve.phrase_of("") == ""


def test_a_write_in_flight_at_the_deadline_does_not_stretch_the_time_rates_are_taken_over():
    held = 2.0  # the add is answered this long after the slice's deadline
    released = threading.Event()
    fake = FakeServer(hold_adds=released)
    threading.Timer(0.3 + held, released.set).start()
    calls = serve.workload(["经济"], [], seed=0)
    writer = serve.Writer(_stories(), serve.Ledger(), pause=0.01)
    part = serve.run_slice(fake.client, calls, 2, 0.3, writer=writer)
    assert released.is_set()  # the slice waited for the writer's answer
    assert part.seconds < 0.3 + held  # but its time is the readers'
    assert [s.label for s in writer.samples][:2] == [serve.ADD, serve.CHECK_ADD]


@pytest.mark.slow
def test_a_short_run_against_a_real_server_on_the_seeds_has_no_errors_and_no_violations(
    saved_seeds_index, tmp_path, monkeypatch
):
    pytest.importorskip("fastapi")
    from benchmarks import common

    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    at_start = {**common.machine(), "load_average": [-1.0, -1.0, -1.0]}
    monkeypatch.setattr(serve, "machine", lambda: at_start)
    before = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in saved_seeds_index.rglob("*")}
    serve.main(
        ["--index", str(saved_seeds_index), "--clients", "2", "--seconds", "6", "--write-pause", "0.1"]
        + ["--scratch", str(tmp_path)]
    )
    result = json.loads((tmp_path / "results" / "serve-latest.json").read_text(encoding="utf-8"))
    on, off = result["runs"]
    assert result["machine"] == at_start  # described before the run, not after its own load
    assert (on["writer"], off["writer"]) == (True, False)
    assert on["errors"] == off["errors"] == 0, on["first_error"] or off["first_error"]
    assert on["endpoints"][serve.ADD]["requests"] >= 1 and on["endpoints"][serve.CHECK_ADD]["errors"] == 0
    assert on["consistency"]["violations"] == 0 and on["consistency"]["answers_checked"] > 0
    assert result["documents"] == 5 and set(off["endpoints"]) >= set(serve.SEARCH_LABELS.values())
    after = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in saved_seeds_index.rglob("*")}
    assert after == before  # the original index was not written
    assert list(tmp_path.glob("serve-bench-*")) == []  # the copy is gone
