"""A writer killed at any moment never breaks the index; readers loading meanwhile always get a whole one."""

import collections
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

from semsearch import Document, Index
from tests.support.paths import ROOT

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

    def __init__(self, script, path, step: int, env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
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
            if not self._changed.wait_for(lambda: len(self.times(kind)) >= count, timeout):
                raise AssertionError(f"the writer did not report {kind!r} {count} times in {timeout} s")
            return self.times(kind)[count - 1]

    def times(self, kind: str) -> list[float]:
        """When the writer reported ``kind``, each time (monotonic clock)."""
        return [t for k, _, t in self.events if k == kind]

    def kill(self) -> list[int]:
        """SIGKILL the writer; returns the steps of every save it completed."""
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()
        self._reader.join(timeout=30)
        return [step for kind, step, _ in self.events if kind == "saved"]


def _unfinished_files(path) -> list[str]:
    """Files the manifest does not name: what a change or save killed half-way leaves behind.

    Format 2 names its store, BM25 folder and segments folder by epoch, and the segments' files in
    its layout (tantivy's own files inside ``lexical.EPOCH/`` are tantivy's business).
    """
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    if manifest["files"]:
        named = {f["name"] for f in manifest["files"].values()}
        return [p.name for p in path.iterdir() if p.name not in named and p.name != "manifest.json"]
    layout = manifest["layout"]
    epoch = layout["epoch"]
    top = {"manifest.json", f"documents.{epoch}.sqlite", f"lexical.{epoch}", f"segments.{epoch}"}
    named = set()
    for segment in layout["segments"]:
        suffixes = ["flat.faiss", "ids.npy", "rows.npy", "days.npy"] + (
            ["ann.faiss"] if "ann" in segment["files"] else []
        )
        named |= {f"{segment['name']}.{suffix}" for suffix in suffixes}
        if segment["deletes"]:
            named.add(f"{segment['name']}.del.{segment['deletes']['generation']}.npy")
    return [p.name for p in path.iterdir() if p.name not in top] + [
        p.name for p in (path / f"segments.{epoch}").iterdir() if p.name not in named
    ]


def test_killing_a_writer_at_random_points_never_breaks_the_index(local_only, living_index, tmp_path):
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
    living_index.add([Document(doc_id="crash", text="崩溃测试文档初始版。\n\n初始正文。")])
    living_index.save()
    step, saves, mid_save = 0, 0, 0
    cycle = save_time = 0.0
    for n in range(kills):
        writer = Writer(script, living_index.path, step)
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
        mid_save += bool(_unfinished_files(living_index.path))
        loaded = Index.load(living_index.path)  # must load: checksums, counts and files all agree
        crash = [c.text for c in loaded.chunks() if c.doc_id == "crash"]
        present = crash[0].split("\n")[0] if crash else None
        assert present in (_state(last), _state(last + 1)), (present, last, done)
        assert len(loaded) == loaded.manifest.counts.chunks
        assert len(loaded.search("崩溃测试文档", k=3, mode="lexical")) == (1 if present else 0)
        assert not [p.name for p in living_index.path.parent.iterdir() if ".tmp-" in p.name]
        step = last + 2 if present == _state(last + 1) and present != _state(last) else last + 1
    # The next whole save clears what the killed writers left behind.
    Index.load(living_index.path).save()
    assert _unfinished_files(living_index.path) == []
    # Some kills must have hit a save half-way, or the test did not test what it claims.
    assert mid_save >= 1, (
        f"none of {kills} kills interrupted a save (cycle {cycle:.3f} s, save {save_time:.3f} s)"
    )
    print(f"crash test: {kills} kills, {saves} completed saves, {mid_save} kills in the middle of a save")


def test_readers_loading_while_a_writer_saves_always_get_a_whole_index(
    local_only, living_index, tmp_path, caplog
):
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    living_index.add([Document(doc_id="crash", text="崩溃测试文档初始版。\n\n初始正文。")])
    living_index.save()
    writer = Writer(script, living_index.path, 0)
    loads = 0
    try:
        writer.wait_for("saved", 1)  # start-up done: from here the writer saves over and over
        while len(writer.times("saved")) < 6:
            loaded = Index.load(living_index.path)
            assert len(loaded) == loaded.manifest.counts.chunks == len(list(loaded.chunks()))
            loads += 1
    finally:
        saves = len(writer.kill())
    assert loads > 5 and saves >= 6, (loads, saves)
    # A generation pruned under a reader means: read the new manifest, not "rebuild BM25 from the terms".
    assert "rebuilding BM25" not in caplog.text


MERGER = textwrap.dedent(
    """
    import sys
    from semsearch import Document, Index
    from tests.support.keyword_encoder import KeywordEncoder

    ENCODER = KeywordEncoder()
    path, start = sys.argv[1], int(sys.argv[2])

    def crash(step):
        return Document(doc_id="crash", text="crash version %d apple.\\n\\nriver harbour %d." % (step, step))

    def filler(n, step):
        return Document(doc_id="filler%d" % n, text="valley %d mountain %d.\\n\\napple river." % (n, step))

    step = start
    while True:
        kind = step % 12
        print("saving", step, flush=True)
        if kind == 11:  # a rebuild published over the index
            docs = [crash(step)] + [filler(n, step) for n in range(8)]
            Index.build(docs, model=ENCODER, cache=False).save(path)
        elif kind == 10:  # merge every segment, purge every removed row
            Index.load(path, model=ENCODER).optimize()
        else:  # an update (deletion bitmaps) and a new segment; the eighth small segment starts a merge
            index = Index.load(path, model=ENCODER)
            index.add([crash(step), filler(step % 8, step)])
            index.save()
        print("saved", step, flush=True)
        step += 1
    """
)


def _merger_version(step: int) -> int:
    """The version of document "crash" after the MERGER's ``step`` (an optimize changes no document)."""
    return step - 1 if step % 12 == 10 else step


def test_killing_merges_optimizes_and_rebuilds_never_breaks_the_index(local_only, tmp_path):
    """SIGKILL a writer that updates (new segments, deletion bitmaps, automatic merges), optimizes and
    rebuilds over the published index, at random moments: every load afterwards is a whole index,
    before or after the step the kill interrupted, and ``verify`` finds every file's checksum right."""
    from tests.support.keyword_encoder import KeywordEncoder

    encoder = KeywordEncoder()
    kills = int(os.environ.get("SEMSEARCH_CRASH_KILLS", "30"))
    script = tmp_path / "merger.py"
    script.write_text(MERGER, encoding="utf-8")
    path = tmp_path / "idx"
    first = Document(doc_id="crash", text="crash version -1 apple.\n\nriver harbour.")
    Index.build([first], model=encoder, cache=False).save(path)
    rng = random.Random(2027)
    step, saves, mid_save, segments_seen = 0, 0, 0, set()
    interrupted: collections.Counter[str] = collections.Counter()
    cycle = 0.0
    env = {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    for n in range(kills):
        writer = Writer(script, path, step, env=env)
        if n == 0:
            first_saved, fourth = writer.wait_for("saved", 1), writer.wait_for("saved", 4)
            cycle = (fourth - first_saved) / 3
        writer.wait_for("saved", 1)  # after start-up (the first step imports FAISS and tantivy)
        time.sleep(rng.uniform(0, 1.5 * cycle))  # the writer is always inside a step: anywhere in one
        done = writer.kill()
        saves += len(done)
        last = done[-1] if done else step - 1
        mid_save += bool(_unfinished_files(path))
        interrupted[{10: "optimize", 11: "rebuild"}.get((last + 1) % 12, "update")] += 1
        loaded = Index.load(path, model=encoder)
        assert loaded.verify() == []
        assert len(loaded) == loaded.manifest.counts.chunks
        crash = [c.text for c in loaded.chunks() if c.doc_id == "crash"]
        version = int(crash[0].split()[2])
        allowed = {_merger_version(last) if last >= 0 else -1, _merger_version(last + 1)}
        assert version in allowed, (version, last, done)
        segments_seen.add(len(json.loads((path / "manifest.json").read_text("utf-8"))["layout"]["segments"]))
        step = last + 2 if version == _merger_version(last + 1) != _merger_version(last) else last + 1
    Index.load(path, model=encoder).save()
    assert _unfinished_files(path) == []
    assert mid_save >= 1, f"none of {kills} kills interrupted a step (cycle {cycle:.3f} s)"
    assert len(segments_seen) > 1, segments_seen  # the kills found the index in more than one layout
    print(
        f"merge/rebuild crash test: {kills} kills ({dict(interrupted)}), {saves} completed steps, "
        f"{mid_save} left files of an unfinished step"
    )
