"""A living index: add, update and remove documents; durable saves; locks; concurrent readers."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from semsearch import (
    Document,
    EmbeddingCache,
    Index,
    IndexChangedError,
    IndexLockedError,
    InputError,
    load_encoder,
)
from semsearch.storage.locks import write_lock
from tests.conftest import ROOT

NEW = Document(
    doc_id="news/grid-platform",
    text="梧州市上线智慧网格平台。\n\n网格员可以用手机上报安全隐患，平台覆盖全市一百二十个行政村，群众办事不出村。",
)
NEW_V2 = Document(
    doc_id="news/grid-platform",
    text="梧州市上线智慧网格平台。\n\n平台接入了无人机巡查，山林防火隐患可以实时发现，并推送给就近的护林员处理。",
)


@pytest.fixture
def index(saved_seeds_index, new_location):
    """A private, saved copy of the seeds index to change, on each backend (a directory, Milvus)."""
    target = new_location()
    Index.load(saved_seeds_index).save(target)  # saving elsewhere copies: the loaded object follows the copy
    return Index.load(target)


def _ids(hits):
    return [h.doc_id for h in hits]


def test_add_makes_a_new_document_searchable_in_every_mode(index):
    before = len(index)
    report = index.add([NEW])
    assert report.added == (NEW.doc_id,) and report.chunks_added == len(index) - before >= 1
    for mode in ("dense", "lexical", "hybrid"):
        assert index.search("智慧网格平台上报隐患", k=3, mode=mode)[0].doc_id == NEW.doc_id, mode


def test_unchanged_documents_cost_nothing(index, seeds_dir):
    report = index.add([seeds_dir])
    assert len(report.unchanged) == 5 and not report.changed
    assert report.embedded == 0 and report.chunks_added == 0


def test_a_changed_document_replaces_its_chunks(index):
    index.add([NEW])
    report = index.update([NEW_V2])
    assert report.updated == (NEW.doc_id,) and report.chunks_removed >= 1
    texts = " ".join(c.text for c in index.chunks() if c.doc_id == NEW.doc_id)
    assert "无人机" in texts and "手机上报" not in texts
    for mode in ("dense", "lexical"):
        hits = index.search("网格员用手机上报安全隐患", k=len(index), mode=mode)
        assert not any("手机上报" in h.text for h in hits), mode


def test_removed_documents_vanish_from_dense_and_lexical_results(index):
    gone = "001_2a3c1398cfc30887"
    report = index.remove([gone])
    assert report.removed == (gone,) and report.chunks_removed > 0
    assert gone not in index.doc_ids()
    for mode in ("dense", "lexical", "hybrid"):
        assert gone not in _ids(index.search("修文镇全科网格员", k=len(index), mode=mode)), mode
    assert len(index) == index.manifest.counts.chunks


def test_bad_changes_change_nothing(index):
    before = (index.doc_ids(), len(index))
    with pytest.raises(InputError, match="no document 'nope'"):
        index.remove(["000_d06f920685a293a0", "nope"])
    with pytest.raises(InputError, match="not in the index.*use add"):
        index.update([NEW])
    assert (index.doc_ids(), len(index)) == before


def test_changes_survive_save_and_load(index):
    index.add([NEW])
    index.remove(["002_04edc0192fabf55a"])
    index.save()
    loaded = Index.load(index.path)
    assert loaded.doc_ids() == index.doc_ids()
    for mode in ("dense", "lexical"):
        query = "智慧网格平台"
        assert [h.chunk_id for h in loaded.search(query, k=5, mode=mode)] == [
            h.chunk_id for h in index.search(query, k=5, mode=mode)
        ]


@pytest.mark.slow
@pytest.mark.parametrize("index_type", ["HNSW32", "IVF4,Flat"])
def test_approximate_indexes_can_remove(seeds_dir, index_type):
    index = Index.build([seeds_dir], index_type=index_type)
    index.remove(["003_0a8f1e061dc44cdc"])
    index.add([NEW])
    assert len(index) == index.manifest.counts.chunks
    hits = index.search("智慧网格平台上报隐患", k=len(index), mode="dense")
    assert hits[0].doc_id == NEW.doc_id
    assert "003_0a8f1e061dc44cdc" not in _ids(hits)


class CountingEncoder:
    """The real bundled encoder, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        self.inner = load_encoder()
        self.passages = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_passages(self, texts):
        self.passages += len(texts)
        return self.inner.encode_passages(texts)


@pytest.mark.slow
def test_rebuilding_reuses_cached_embeddings(seeds_dir, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    encoder = CountingEncoder()
    first = Index.build([seeds_dir], model=encoder, cache=cache)
    embedded = encoder.passages
    assert embedded == len({c.text for c in first.chunks()})
    Index.build([seeds_dir], model=encoder, cache=cache, max_tokens=200)  # re-chunked: only new texts
    rechunked = encoder.passages - embedded
    assert 0 < rechunked < len(first)
    Index.build([seeds_dir], model=encoder, cache=cache)
    assert encoder.passages == embedded + rechunked  # nothing new
    assert cache.stats().vectors[encoder.identity] == embedded + rechunked
    assert cache.clear() == embedded + rechunked and cache.stats().vectors == {}


def test_a_stale_index_object_cannot_overwrite_a_newer_save(local_only, index):
    other = Index.load(index.path)
    index.add([NEW])
    index.save()
    other.remove(["000_d06f920685a293a0"])
    with pytest.raises(IndexChangedError, match="changed on disk since.*load it again"):
        other.save()
    assert NEW.doc_id in Index.load(index.path).doc_ids()


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(local_only, index, monkeypatch):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from semsearch.storage.locks import write_lock\n"
            f"with write_lock(Path({str(index.path)!r})):\n print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLockedError, match="another process is writing"):
            with write_lock(index.path, timeout=0.3):
                pass
        index.add([NEW])
        import semsearch.storage.local.directory

        original = semsearch.storage.local.directory.write_lock
        monkeypatch.setattr(
            semsearch.storage.local.directory, "write_lock", lambda path, timeout=0.3: original(path, timeout)
        )
        with pytest.raises(IndexLockedError):
            index.save()
        monkeypatch.undo()
    finally:
        holder.kill()
        holder.wait()
    index.save()  # free again
    assert NEW.doc_id in Index.load(index.path).doc_ids()


@pytest.mark.slow
def test_many_threads_searching_one_index_agree_with_one_thread(seeds_index):
    queries = [
        "乡村振兴",
        "网格员",
        "grid management",
        "道德银行",
        "袁崇焕故里",
        "产业扶贫",
        "台风",
        "党建引领",
    ]
    modes = ["hybrid", "dense", "lexical"]
    expected = {
        (q, m): [h.chunk_id for h in seeds_index.search(q, k=5, mode=m)] for q in queries for m in modes
    }
    jobs = [(q, m) for q in queries for m in modes] * 4
    random.Random(7).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda job: [h.chunk_id for h in seeds_index.search(job[0], k=5, mode=job[1])], jobs)
        )
    assert all(result == expected[job] for job, result in zip(jobs, results))


def test_changing_while_other_threads_search_is_serialised(index):
    """Writers take the index's lock; searches running meanwhile see the old or the new state."""
    stop = threading.Event()
    errors = []

    def searcher():
        while not stop.is_set():
            try:
                hits = index.search("智慧网格平台", k=3, mode="lexical")
                assert all(h.text for h in hits)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            index.add([NEW])
            index.remove([NEW.doc_id])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []


# ---------------------------------------------------------------------- crashes

WRITER = textwrap.dedent(
    """
    import sys
    from semsearch import Document, Index
    path, start = sys.argv[1], int(sys.argv[2])
    step = start
    while True:
        index = Index.load(path)
        doc = Document(doc_id="crash", text="崩溃测试文档第%d版。\\n\\n这是一段用于测试的正文，内容随版本变化：%d。" % (step, step))
        if step % 3 == 2:
            index.remove(["crash"])
        else:
            index.add([doc])
        print("saving", step, flush=True)
        index.save(path)
        print("saved", step, flush=True)
        step += 1
    """
)


def _state(step: int) -> str | None:
    """The first line of document "crash" after ``step`` (-1: the initial version; None: removed)."""
    if step < 0:
        return "崩溃测试文档初始版。"
    return None if step % 3 == 2 else f"崩溃测试文档第{step}版。"


class Writer:
    """The WRITER script in a child process; what it reports ("saving N", "saved N") is timed as it comes."""

    def __init__(self, script, path, step: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.child = subprocess.Popen(
            [sys.executable, str(script), str(path), str(step)], stdout=subprocess.PIPE, text=True, env=env
        )
        self.events: list[tuple[str, int, float]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.child.stdout:
            if not line.endswith("\n"):  # killed half-way through printing it
                continue
            kind, step = line.split()
            with self._changed:
                self.events.append((kind, int(step), time.monotonic()))
                self._changed.notify_all()

    def wait_for(self, kind: str, count: int, timeout: float = 120.0) -> float:
        """Block until the writer has reported ``kind`` ``count`` times; returns when it did the last."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._times(kind)) >= count, timeout):
                raise AssertionError(f"the writer did not report {kind!r} {count} times in {timeout} s")
            return self._times(kind)[count - 1]

    def _times(self, kind: str) -> list[float]:
        return [t for k, _, t in self.events if k == kind]

    def kill(self) -> list[int]:
        """SIGKILL the writer; returns the steps of every save it completed."""
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()
        self._reader.join(timeout=30)
        return [step for kind, step, _ in self.events if kind == "saved"]


def _unfinished_files(path) -> list[str]:
    """Files of a generation the manifest does not name: what a save killed half-way leaves behind."""
    named = {f["name"] for f in json.loads((path / "manifest.json").read_text("utf-8"))["files"].values()}
    return [p.name for p in path.iterdir() if p.name not in named and p.name != "manifest.json"]


@pytest.mark.slow
def test_killing_a_writer_at_random_points_never_breaks_the_index(local_only, index, tmp_path):
    """SIGKILL a writer (load, change, save in a loop) at random moments, many times.

    The kill points are drawn over the writer's own measured load-change-save cycle, after its
    start-up, so they land everywhere in a save however fast or loaded the machine is. After every
    kill the index must load (manifest, checksums and counts agree) and hold either the state of the
    writer's last completed save or of the save it was in the middle of: nothing mixed.
    """
    kills = int(os.environ.get("SEMSEARCH_CRASH_KILLS", "30"))
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    rng = random.Random(2026)
    index.add([Document(doc_id="crash", text="崩溃测试文档初始版。\n\n初始正文。")])
    index.save()
    step, saves, mid_save = 0, 0, 0
    cycle = save_time = 0.0
    for n in range(kills):
        writer = Writer(script, index.path, step)
        if n == 0:  # measure this machine's load-change-save cycle and save, once, after start-up
            first, third = writer.wait_for("saved", 1), writer.wait_for("saved", 3)
            cycle = (third - first) / 2
            save_time = max(third - writer.wait_for("saving", 3), 0.001)
        if n % 2:  # every other kill lands inside a save: writing files, fsync, manifest swap, clean-up
            writer.wait_for("saving", 1)
            time.sleep(rng.uniform(0, 1.2 * save_time))
        else:  # the others anywhere in the cycle
            writer.wait_for("saved", 1)
            time.sleep(rng.uniform(0, 1.5 * cycle))
        done = writer.kill()
        saves += len(done)
        last = done[-1] if done else step - 1
        mid_save += bool(_unfinished_files(index.path))
        loaded = Index.load(index.path)  # must load: checksums, counts and files all agree
        crash = [c.text for c in loaded.chunks() if c.doc_id == "crash"]
        present = crash[0].split("\n")[0] if crash else None
        assert present in (_state(last), _state(last + 1)), (present, last, done)
        assert len(loaded) == loaded.manifest.counts.chunks
        assert len(loaded.search("崩溃测试文档", k=3, mode="lexical")) == (1 if present else 0)
        assert not [p.name for p in index.path.parent.iterdir() if ".tmp-" in p.name]
        step = last + 2 if present == _state(last + 1) and present != _state(last) else last + 1
    # The next whole save clears what the killed writers left behind.
    Index.load(index.path).save()
    assert _unfinished_files(index.path) == []
    # Some kills must have hit a save half-way, or the test did not test what it claims.
    assert mid_save >= 1, (
        f"none of {kills} kills interrupted a save (cycle {cycle:.3f} s, save {save_time:.3f} s)"
    )
    print(f"crash test: {kills} kills, {saves} completed saves, {mid_save} kills in the middle of a save")


@pytest.mark.slow
def test_readers_loading_while_a_writer_saves_always_get_a_whole_index(local_only, index, tmp_path, caplog):
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    index.add([Document(doc_id="crash", text="崩溃测试文档初始版。\n\n初始正文。")])
    index.save()
    writer = Writer(script, index.path, 0)
    loads = 0
    try:
        writer.wait_for("saved", 1)  # start-up done: from here the writer saves over and over
        while len(writer._times("saved")) < 6:
            loaded = Index.load(index.path)
            assert len(loaded) == loaded.manifest.counts.chunks == len(list(loaded.chunks()))
            loads += 1
    finally:
        saves = len(writer.kill())
    assert loads > 5 and saves >= 6, (loads, saves)
    # A generation pruned under a reader means: read the new manifest, not "rebuild BM25 from the terms".
    assert "rebuilding BM25" not in caplog.text
