"""Load on `semsearch serve`: concurrent clients on loopback, with and without a writer, on a copy of an index.

    python -m benchmarks.serve --index /work/idx/xwlb [--clients 8] [--seconds 60] [--writer/--no-writer]

- the index is copied to a temporary folder (never changed in place: the engine rewrites files, so hard
  links are not safe) and served by ``semsearch serve`` on 127.0.0.1 at a free port, with
  ``--allow-writes`` and a random ``$SEMSEARCH_API_TOKEN``; the run waits for /api/health, then warms up;
- the workload is fixed and seeded: titles and phrases of stories drawn from the index plus a few English
  questions, sent to search (hybrid, lexical, dense; passages), search grouped by story, facets and
  similar; each client thread (httpx, one keep-alive Client each) loops over it from its own offset;
- the writer adds a story made of real sentences with a unique marker word, then removes the one it added
  before, pausing between changes. After an add's answer a lexical search for the marker must find the
  story; after a remove's answer none may. Reader threads check too: they search the writer's markers, and
  every answer is checked against when each change was acknowledged (:class:`Ledger`);
- with the writer, runs with and without it are interleaved (``--rounds`` slices each), so their ratio
  means something on a shared machine. Per endpoint and mode: p50/p95/p99, requests/s and errors (any
  non-2xx or exception; the first message is kept). Saved as ``results/serve-latest.json`` with every
  request's timing (``rankings_file``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import git_commit, machine, percentiles, write_result
from benchmarks.synthetic import CLAUSE, TITLE_STRIP, sentence_pool, split_sentences, synthetic_stories

NAME = "serve"
HOST = "127.0.0.1"
K = 10
ENGLISH_QUERIES = (
    "economic growth and employment",
    "flood control and disaster relief",
    "space station launch",
    "poverty alleviation in rural areas",
    "trade cooperation with Africa",
)
TITLES = 30  # story titles drawn from the index as queries
PHRASES = 10  # and the longest clauses of their sentences
MIN_PHRASE_CHARS = 6
SIMILAR = 10  # stories whose "more like this" is asked
POOL_STORIES = 40  # stories whose sentences the writer's stories are made of
PAGE = 100  # documents per /api/documents page when sampling
PROBE_EVERY = 8  # with a writer, every 8th request of a reader searches a writer's marker
WRITE_PAUSE_S = 1.0  # the writer's pause after each change (a newsroom's pace, not a bulk load)
HEALTH_TIMEOUT_S = 1800.0  # loading an 85k-chunk index and its model on a busy machine takes minutes
REQUEST_TIMEOUT_S = 120.0
WARMUP_CALLS = 30
MARKER_PREFIX = "servebench"

# Labels of the workload's requests, one source for the runner, the report and the tests.
SEARCH_LABELS = {"hybrid": "search hybrid", "lexical": "search lexical", "dense": "search dense"}
GROUPED = "search hybrid, grouped by story"
FACETS = "facets by month"
SIMILAR_LABEL = "similar stories"
PROBE = "search lexical, writer's marker"
ADD, REMOVE = "write: add a story", "write: remove a story"
CHECK_ADD, CHECK_REMOVE = "check: marker after add", "check: marker after remove"


@dataclass(frozen=True)
class Call:
    """One request of the workload: its label in the report, and what is sent."""

    label: str
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sample:
    """One answered (or failed) request: when it was sent (monotonic s), how long it took, what it returned."""

    label: str
    sent: float
    seconds: float
    error: str | None
    doc_ids: tuple[str, ...] = ()
    answer: Any = None


@dataclass(frozen=True)
class Violation:
    """A consistency failure: ``doc_id`` was returned after its removal was acknowledged, or missed after its add."""

    kind: str
    doc_id: str
    label: str
    after_s: float  # how long after the acknowledgement the request was sent

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "doc_id": self.doc_id,
            "label": self.label,
            "after_s": round(self.after_s, 4),
        }


@dataclass
class Story:
    """A writer's story and when its changes happened (monotonic seconds; None: not yet)."""

    doc_id: str
    marker: str
    added: float | None = None  # the add was acknowledged
    removing: float | None = None  # the remove was sent
    removed: float | None = None  # the remove was acknowledged


class Ledger:
    """The writer's stories, shared by every thread: which answers contradict an acknowledged change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stories: dict[str, Story] = {}
        self._order: list[str] = []
        self.violations: list[Violation] = []
        self.checked = 0  # answers checked against the ledger

    def adding(self, doc_id: str, marker: str) -> None:
        """The writer is about to add ``doc_id`` (findable by ``marker``)."""
        with self._lock:
            self._stories[doc_id] = Story(doc_id, marker)
            self._order.append(doc_id)

    def added(self, doc_id: str, at: float) -> None:
        with self._lock:
            self._stories[doc_id].added = at

    def removing(self, doc_id: str, at: float) -> None:
        with self._lock:
            self._stories[doc_id].removing = at

    def removed(self, doc_id: str, at: float) -> None:
        with self._lock:
            self._stories[doc_id].removed = at

    def probe(self, rng: random.Random) -> Story | None:
        """A story to search for: the newest added one half of the time, else one of the last five."""
        with self._lock:
            known = [self._stories[d] for d in self._order if self._stories[d].added is not None]
            if not known:
                return None
            story = known[-1] if rng.random() < 0.5 else rng.choice(known[-5:])
            return Story(**vars(story))

    def check(self, sample: Sample, received: float, expect: str | None = None) -> list[Violation]:
        """Violations in ``sample``'s answer; ``expect``: a probed story's id, which must be there if it was live.

        A story removed (acknowledged) before the request was sent must not be returned. A probed story
        whose add was acknowledged before the request was sent, and whose remove was not sent before the
        answer came, must be returned. A request in flight across a change may see either side.
        """
        found: list[Violation] = []
        with self._lock:
            self.checked += 1
            for doc_id in sample.doc_ids:
                story = self._stories.get(doc_id)
                if story is not None and story.removed is not None and story.removed < sample.sent:
                    found.append(
                        Violation("returned after removal", doc_id, sample.label, sample.sent - story.removed)
                    )
            if expect is not None:
                story = self._stories[expect]
                live = story.added is not None and story.added < sample.sent
                if (
                    live
                    and (story.removing is None or story.removing > received)
                    and story.doc_id not in sample.doc_ids
                ):
                    found.append(
                        Violation("missing after add", story.doc_id, sample.label, sample.sent - story.added)
                    )
            self.violations.extend(found)
        return found


def doc_ids_of(answer: Any) -> tuple[str, ...]:
    """The story ids a search, similar or facets answer returns (hits, grouped stories and their passages)."""
    if not isinstance(answer, dict):
        return ()
    ids: list[str] = []
    for hit in answer.get("results") or ():
        if isinstance(hit, dict):
            ids.extend(str(x["doc_id"]) for x in [hit, *hit.get("passages", ())] if "doc_id" in x)
    return tuple(dict.fromkeys(ids))


def send(client: httpx.Client, call: Call) -> Sample:
    """Send ``call``; any exception or non-2xx answer is an error whose first line is kept."""
    sent = time.monotonic()
    try:
        response = client.request(call.method, call.path, params=call.params, json=call.body)
        seconds = time.monotonic() - sent
        if not response.is_success:
            return Sample(call.label, sent, seconds, f"{response.status_code}: {response.text[:300]}")
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Sample(call.label, sent, time.monotonic() - sent, f"{type(exc).__name__}: {exc}"[:300])
    return Sample(call.label, sent, seconds, None, doc_ids_of(answer), answer)


def search_call(query: str, mode: str, label: str, **options: Any) -> Call:
    return Call(label, "POST", "/api/search", body={"query": query, "k": K, "mode": mode, **options})


def probe_call(story: Story) -> Call:
    return search_call(story.marker, "lexical", PROBE)


def workload(queries: Sequence[str], similar_ids: Sequence[str], seed: int = 0) -> list[Call]:
    """The fixed request mix: every query in each search mode, grouped and as facets; similar for each id."""
    calls = [search_call(q, mode, label) for q in queries for mode, label in SEARCH_LABELS.items()]
    calls += [search_call(q, "hybrid", GROUPED, group="document") for q in queries]
    calls += [Call(FACETS, "GET", "/api/facets", params={"query": q, "by": "date:month"}) for q in queries]
    calls += [Call(SIMILAR_LABEL, "GET", f"/api/documents/{d}/similar", params={"k": K}) for d in similar_ids]
    random.Random(seed).shuffle(calls)
    return calls


@dataclass
class Reader:
    """One client thread's loop over the workload, from its own offset, until the deadline."""

    calls: Sequence[Call]
    offset: int
    ledger: Ledger | None  # None: no writer in this run, nothing to check
    seed: int
    probes: bool = True  # every PROBE_EVERY-th request searches a writer's marker (while it writes)
    samples: list[Sample] = field(default_factory=list)
    finished: float = 0.0  # when its last answer came (monotonic s)

    def run(self, client: httpx.Client, deadline: float) -> None:
        rng = random.Random(self.seed)
        for n in itertools.count():
            if time.monotonic() >= deadline:
                self.finished = time.monotonic()
                return
            story = None
            if self.ledger is not None and self.probes and n % PROBE_EVERY == PROBE_EVERY - 1:
                story = self.ledger.probe(rng)
            call = probe_call(story) if story else self.calls[(self.offset + n) % len(self.calls)]
            sample = send(client, call)
            if self.ledger is not None and sample.error is None:
                self.ledger.check(sample, time.monotonic(), story.doc_id if story else None)
            self.samples.append(
                Sample(sample.label, sample.sent, sample.seconds, sample.error, sample.doc_ids)
            )


@dataclass
class Writer:
    """Adds a story, checks its marker is found, removes the one added before, checks it is gone; repeats."""

    stories: Iterator[dict[str, Any]]  # {"doc_id", "text", "title", "metadata", "marker"}
    ledger: Ledger
    pause: float = WRITE_PAUSE_S
    samples: list[Sample] = field(default_factory=list)
    live: list[Story] = field(default_factory=list)

    def run(self, client: httpx.Client, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.add(client, next(self.stories))
            self.rest(deadline)
            if len(self.live) > 1 and time.monotonic() < deadline:
                self.remove(client, self.live.pop(0))
                self.rest(deadline)

    def rest(self, deadline: float) -> None:
        time.sleep(max(0.0, min(self.pause, deadline - time.monotonic())))

    def add(self, client: httpx.Client, story: dict[str, Any]) -> None:
        doc = {k: story[k] for k in ("doc_id", "text", "title", "metadata")}
        self.ledger.adding(story["doc_id"], story["marker"])
        sample = send(client, Call(ADD, "POST", "/api/documents", body={"documents": [doc]}))
        self.samples.append(sample)
        if sample.error is not None:
            return
        self.ledger.added(story["doc_id"], time.monotonic())
        entry = Story(story["doc_id"], story["marker"])
        self.live.append(entry)
        check = send(client, search_call(entry.marker, "lexical", CHECK_ADD))
        self.samples.append(check)
        if check.error is None:
            self.ledger.check(check, time.monotonic(), entry.doc_id)

    def remove(self, client: httpx.Client, story: Story) -> None:
        self.ledger.removing(story.doc_id, time.monotonic())
        sample = send(client, Call(REMOVE, "DELETE", f"/api/documents/{story.doc_id}"))
        self.samples.append(sample)
        if sample.error is not None:
            return
        self.ledger.removed(story.doc_id, time.monotonic())
        check = send(client, search_call(story.marker, "lexical", CHECK_REMOVE))
        self.samples.append(check)
        if check.error is None:
            self.ledger.check(check, time.monotonic())


def marker(number: int, run: str) -> str:
    """A word found nowhere else: the prefix, the run's letters and ``number`` in letters (Latin words are terms)."""
    letters = ""
    number += 1
    while number:
        number, digit = divmod(number - 1, 26)
        letters = chr(ord("a") + digit) + letters
    return f"{MARKER_PREFIX}{run}{letters}"


def writer_stories(texts: Sequence[str], seed: int, run: str) -> Iterator[dict[str, Any]]:
    """Endless synthetic stories made of the sentences of ``texts``, each with a unique marker word."""
    pool = sentence_pool([text.split("\n") for text in texts])
    for number, doc in enumerate(
        synthetic_stories(10**12, seed=seed, pool=pool, prefix=f"serve-bench-{run}-")
    ):
        word = marker(number, run)
        yield {
            "doc_id": doc.doc_id,
            "title": doc.title,
            "text": f"{word}。{doc.text}",
            "metadata": dict(doc.metadata),
            "marker": word,
        }


def summary(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    """Per label: requests, requests/s, errors, first error, p50/p95/p99 (ms) of the answered ones."""
    out: dict[str, Any] = {}
    for label in sorted({s.label for s in samples}):
        mine = [s for s in samples if s.label == label]
        ok = [s.seconds for s in mine if s.error is None]
        errors = [s.error for s in mine if s.error is not None]
        out[label] = {
            "requests": len(mine),
            "per_s": round(len(ok) / seconds, 2) if seconds > 0 else None,
            "errors": len(errors),
            "first_error": errors[0] if errors else None,
            **({k: round(v * 1000, 1) for k, v in percentiles(ok).items()} if ok else {}),
        }
    return out


@dataclass
class Slice:
    """What one timed slice of a run gave: samples of readers and writer, and its wall time."""

    samples: list[Sample]
    seconds: float
    load_before: tuple[float, ...]
    load_after: tuple[float, ...]
    consistency: tuple[int, list[Violation]] | None = (
        None  # answers checked, violations found (a writer's run)
    )


def run_slice(
    make_client: Callable[[], httpx.Client],
    calls: Sequence[Call],
    clients: int,
    seconds: float,
    *,
    writer: Writer | None = None,
    ledger: Ledger | None = None,
    seed: int = 0,
) -> Slice:
    """``clients`` reader threads (and the writer, if given) for ``seconds``.

    Every answer is checked against ``ledger`` (default: the writer's), also in a slice without the
    writer (stories it removed before must stay gone); readers probe markers only while it writes.
    The slice's time runs to the readers' last answer: a write still in flight at the deadline is
    waited for (the next slice starts after it) but does not stretch the time rates are taken over.
    """
    ledger = ledger or (writer.ledger if writer is not None else None)
    readers = [
        Reader(calls, i * len(calls) // clients, ledger, seed * 1000 + i, probes=writer is not None)
        for i in range(clients)
    ]
    checked, violations = (ledger.checked, len(ledger.violations)) if ledger else (0, 0)
    workers: list[Reader | Writer] = [*readers, *([writer] if writer else [])]
    before = len(writer.samples) if writer else 0
    errors: list[BaseException] = []
    connections = [make_client() for _ in workers]

    def work(worker: Reader | Writer, client: httpx.Client) -> None:
        try:
            worker.run(client, deadline)
        except BaseException as exc:  # a bug in the loop itself: re-raised below, never lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=pair, daemon=True) for pair in zip(workers, connections)]
    load_before = os.getloadavg()
    start = time.monotonic()
    deadline = start + seconds
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in connections:
            client.close()
    wall = max(r.finished for r in readers) - start
    if errors:
        raise errors[0]
    samples = [s for r in readers for s in r.samples] + (writer.samples[before:] if writer else [])
    found = (ledger.checked - checked, ledger.violations[violations:]) if ledger else None
    return Slice(samples, wall, load_before, os.getloadavg(), found)


def measure(
    make_client: Callable[[], httpx.Client],
    calls: Sequence[Call],
    clients: int,
    seconds: float,
    *,
    writer: Writer | None,
    rounds: int = 2,
    seed: int = 0,
) -> list[tuple[dict[str, Any], list[Sample]]]:
    """With a writer: ``rounds`` slices with it and without it, interleaved; without: one run.

    A saved record and the samples of each condition, the writer's first.
    """
    conditions = [True, False] if writer is not None else [False]
    slices: dict[bool, list[Slice]] = {c: [] for c in conditions}
    for round_ in range(rounds if writer is not None else 1):
        for with_writer in conditions:
            part = seconds / rounds if writer is not None else seconds
            slices[with_writer].append(
                run_slice(
                    make_client,
                    calls,
                    clients,
                    part,
                    writer=writer if with_writer else None,
                    ledger=writer.ledger if writer is not None else None,
                    seed=seed + round_,
                )
            )
    return [
        (
            record(clients, c, slices[c]),
            [s for part in slices[c] for s in part.samples],
        )
        for c in conditions
    ]


def record(clients: int, with_writer: bool, slices: list[Slice]) -> dict[str, Any]:
    """The saved figures of one condition (its slices pooled)."""
    samples = [s for part in slices for s in part.samples]
    seconds = sum(part.seconds for part in slices)
    errors = [s for s in samples if s.error is not None]
    reads = [s for s in samples if not s.label.startswith("write")]
    out: dict[str, Any] = {
        "clients": clients,
        "writer": with_writer,
        "seconds": round(seconds, 2),
        "requests": len(samples),
        "reads_per_s": round(sum(1 for s in reads if s.error is None) / seconds, 2),
        "errors": len(errors),
        "first_error": f"{errors[0].label}: {errors[0].error}" if errors else None,
        "endpoints": summary(samples, seconds),
        "load_average": [
            {
                "before": [round(x, 2) for x in part.load_before],
                "after": [round(x, 2) for x in part.load_after],
            }
            for part in slices
        ],
    }
    checks = [part.consistency for part in slices if part.consistency is not None]
    if checks:
        violations = [v for _, found in checks for v in found]
        out["consistency"] = {
            "answers_checked": sum(n for n, _ in checks),
            "violations": len(violations),
            "examples": [v.to_dict() for v in violations[:5]],
        }
    return out


def raw(samples_by_run: dict[str, list[Sample]]) -> dict[str, Any]:
    """Every request's label, send time (s from the first), latency (ms) and error, per run."""
    out = {}
    for name, samples in samples_by_run.items():
        first = min((s.sent for s in samples), default=0.0)
        out[name] = [
            [s.label, round(s.sent - first, 4), round(s.seconds * 1000, 2), s.error] for s in samples
        ]
    return out


# ---------------------------------------------------------------- the server and the workload it is given


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def copy_index(index: Path, scratch: Path) -> Path:
    """A full copy of the index directory (the engine rewrites files: a hard link would change the original)."""
    if not (index / "manifest.json").is_file():
        raise SystemExit(
            f"{index} is not an index directory (no manifest.json): benchmarks.serve copies a local index, "
            "build one with `semsearch build SOURCES -o DIR`"
        )
    return Path(shutil.copytree(index, scratch / "index", symlinks=False))


@dataclass
class Server:
    """``semsearch serve`` in a child process on a copy of an index; ``stop()`` ends it."""

    process: subprocess.Popen[bytes]
    base_url: str
    token: str
    log: Path
    started_s: float

    @classmethod
    def start(cls, index: Path, scratch: Path, timeout: float = HEALTH_TIMEOUT_S) -> Server:
        copy = copy_index(index, scratch)
        token, port, log = secrets.token_urlsafe(24), free_port(), scratch / "server.log"
        env = {**os.environ, "SEMSEARCH_API_TOKEN": token, "HF_HUB_OFFLINE": "1"}
        command = [
            sys.executable,
            "-m",
            "semsearch",
            "serve",
            "-i",
            str(copy),
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--allow-writes"], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        server = cls(process, f"http://{HOST}:{port}", token, log, 0.0)
        start = time.monotonic()
        while True:
            if process.poll() is not None:
                raise SystemExit(f"semsearch serve exited with {process.returncode}: {server.tail()}")
            try:
                if httpx.get(f"{server.base_url}/api/health", timeout=5).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - start > timeout:
                server.stop()
                raise SystemExit(f"semsearch serve was not healthy after {timeout:.0f} s: {server.tail()}")
            time.sleep(1)
        server.started_s = round(time.monotonic() - start, 2)
        return server

    def tail(self) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "(no output)"

    def peak_rss_mib(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=REQUEST_TIMEOUT_S,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Material:
    """What the workload is drawn from: queries, stories for "similar", texts for the writer's stories."""

    queries: list[str]
    similar_ids: list[str]
    texts: list[str]


def draw(client: httpx.Client, seed: int) -> Material:
    """Seeded story titles, clauses, ids and texts from the served index, plus the English questions."""
    rng = random.Random(seed)
    total = int(get(client, "/api/documents", {"limit": 1})["total"])
    if total == 0:
        raise SystemExit("the index holds no stories: nothing to draw queries from")
    rows: dict[str, dict[str, Any]] = {}
    offsets = sorted(rng.sample(range(0, total, PAGE), min(5, -(-total // PAGE))))
    for offset in offsets:
        for row in get(client, "/api/documents", {"limit": PAGE, "offset": offset})["documents"]:
            rows[row["doc_id"]] = row
    ids = sorted(rows)
    rng.shuffle(ids)
    titles = list(dict.fromkeys(rows[d]["title"].strip() for d in ids if rows[d].get("title", "").strip()))
    texts = [get(client, f"/api/documents/{d}")["clean_text"] for d in ids[:POOL_STORIES]]
    sentences = [s for text in texts for s in split_sentences(text.replace("\n", ""))]
    picked = rng.sample(sentences, min(PHRASES * 3, len(sentences)))
    phrases = list(dict.fromkeys(p for p in map(phrase_of, picked) if len(p) >= MIN_PHRASE_CHARS))
    queries = titles[:TITLES] + phrases[:PHRASES] + list(ENGLISH_QUERIES)
    return Material(queries, ids[:SIMILAR], texts)


def phrase_of(sentence: str) -> str:
    """The longest clause of ``sentence`` (a phrase a reader might type; the first is often "据报道")."""
    return max((c.strip(TITLE_STRIP) for c in CLAUSE.split(sentence)), key=len, default="")[:30]


def get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> Any:
    response = client.get(path, params=params)
    if not response.is_success:
        raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


def warm_up(client: httpx.Client, calls: Sequence[Call]) -> None:
    """One request of each label, then the first ``WARMUP_CALLS`` of the mix (model, caches, pages in memory)."""
    firsts = {c.label: c for c in reversed(calls)}
    for call in [*firsts.values(), *calls[:WARMUP_CALLS]]:
        sample = send(client, call)
        if sample.error is not None:
            raise SystemExit(f"warm-up request {call.label} failed: {sample.error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", required=True, help="an index directory (copied; the original is never changed)"
    )
    parser.add_argument("--clients", default="8", help="concurrent client threads; a list runs each: 1,4,8")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per condition")
    parser.add_argument(
        "--writer", action=argparse.BooleanOptionalAction, default=True, help="also run a writer"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved slices with and without the writer"
    )
    parser.add_argument(
        "--write-pause", type=float, default=WRITE_PAUSE_S, help="seconds between the writer's changes"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scratch", default=None, help="where the index copy goes (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    try:
        counts = [int(x) for x in args.clients.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"--clients must be numbers separated by commas, not {args.clients!r}") from None
    if not counts or min(counts) < 1 or args.seconds <= 0 or args.rounds < 1:
        raise SystemExit("--clients, --seconds and --rounds must be positive")
    scratch = Path(tempfile.mkdtemp(prefix="serve-bench-", dir=args.scratch))
    try:
        result, samples = run(Path(args.index), counts, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path = write_result(NAME, result, rankings=raw(samples))
    print(json.dumps([{k: v for k, v in r.items() if k != "endpoints"} for r in result["runs"]], indent=1))
    print(f"wrote {path}")


def run(
    index: Path, counts: list[int], args: argparse.Namespace, scratch: Path
) -> tuple[dict[str, Any], dict[str, list[Sample]]]:
    started = machine()  # the load average before this run's own load (write_result's would be after)
    server = Server.start(index, scratch)
    try:
        with server.client() as client:
            health = get(client, "/api/health")
            material = draw(client, args.seed)
            calls = workload(material.queries, material.similar_ids, args.seed)
            warm_up(client, calls)
        run_id = marker(secrets.randbelow(26**4), "")[len(MARKER_PREFIX) :]
        stories = writer_stories(material.texts, args.seed, run_id)
        runs, samples = [], {}
        for clients in counts:
            writer = Writer(stories, Ledger(), args.write_pause) if args.writer else None
            measured = measure(
                server.client, calls, clients, args.seconds, writer=writer, rounds=args.rounds, seed=args.seed
            )
            for rec, kept in measured:
                runs.append(rec)
                samples[f"{clients} clients, writer {'on' if rec['writer'] else 'off'}"] = kept
        peak = server.peak_rss_mib()
    finally:
        server.stop()
    result = {
        "commit": git_commit(),
        "machine": started,
        "index": str(index),
        "chunks": health.get("chunks"),
        "documents": health.get("documents"),
        "server": {"healthy_after_s": server.started_s, "peak_rss_mib": peak},
        "parameters": {
            "clients": counts,
            "seconds": args.seconds,
            "rounds": args.rounds if args.writer else 1,
            "write_pause_s": args.write_pause,
            "k": K,
            "seed": args.seed,
            "probe_every": PROBE_EVERY,
            "queries": material.queries,
            "similar_ids": material.similar_ids,
            "calls": len(calls),
        },
        "runs": runs,
    }
    return result, samples


if __name__ == "__main__":
    main()
