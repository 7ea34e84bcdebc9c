"""The segmented index (on-disk format 2): what a change writes, what readers see, what a failure leaves.

A change writes new segment files and deletion bitmaps and never rewrites a published file; small
segments merge by size; a reader keeps the generation it loaded until the rows it needs are purged,
then is told to load again; a save that fails keeps the change (and the writer lock) for the next
try; a writer or build that dies leaves nothing a later writer does not clear. The keyword encoder
keeps these fast (no model). Kills at random points are in tests/durability/test_crashes.py.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import semsearch.storage.local.segmented as segmented
import semsearch.storage.local.segments as segments
import semsearch.storage.locks as locks
from semsearch import (
    Document,
    Index,
    IndexChangedError,
    IndexCorruptError,
    IndexLockedError,
    IndexWriteError,
    InputError,
)
from tests.support.keyword_encoder import KeywordEncoder
from tests.support.paths import ROOT

ENCODER = KeywordEncoder()


def _docs(count: int, start: int = 0, word: str = "apple") -> list[Document]:
    return [
        Document(doc_id=f"{word}{i}", text=f"{word} river {i} harbour.\n\n{word} valley number {i} mountain.")
        for i in range(start, start + count)
    ]


def _load(path: Path) -> Index:
    return Index.load(path, model=ENCODER)


def _layout(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))["layout"]


def _segment_files(path: Path) -> dict[str, tuple[int, int, int]]:
    """Each segment file's (inode, size, mtime): a rewritten file changes at least one."""
    folder = path / f"segments.{_layout(path)['epoch']}"
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _answer(index: Index, query: str, mode: str) -> tuple[list[float], set[int]]:
    """The top five scores, and the chunks scoring above the fifth (which of several tied at the cut-off
    FAISS returns depends on where the rows lie)."""
    hits = index.search(query, k=5, mode=mode)
    scores = [round(h.score, 5) for h in hits]
    return scores, {h.chunk_id for h in hits if round(h.score, 5) > scores[-1]}


def _ids(index: Index, query: str, mode: str = "dense") -> set[str]:
    return {hit.doc_id for hit in index.search(query, k=50, mode=mode)}


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    Index.build(_docs(6), model=ENCODER, cache=False).save(path)
    return path


def test_a_change_adds_files_and_never_rewrites_published_ones(saved):
    before = _segment_files(saved)
    index = _load(saved)
    index.add(_docs(2, word="pear"))
    index.save()
    after = _segment_files(saved)
    assert {name: after.get(name) for name in before} == before  # same inode, size and time: untouched
    assert len(after) > len(before)
    assert len(_layout(saved)["segments"]) == 2
    assert _ids(_load(saved), "pear", mode="lexical") == {"pear0", "pear1"}


def test_a_removal_writes_a_deletion_bitmap_and_hides_the_rows(saved):
    index = _load(saved)
    index.remove(["apple1"])
    index.save()
    [segment] = _layout(saved)["segments"]
    assert segment["deletes"] is not None
    name = f"{segment['name']}.del.{segment['deletes']['generation']}.npy"
    assert (saved / f"segments.{_layout(saved)['epoch']}" / name).is_file()
    reloaded = _load(saved)
    assert "apple1" not in reloaded.doc_ids()
    for mode in ("dense", "lexical", "hybrid"):
        assert "apple1" not in _ids(reloaded, "apple river", mode)
    assert len(reloaded) == reloaded.manifest.counts.chunks == 5  # short paragraphs: one chunk a document
    assert reloaded.verify() == []


def test_small_changes_merge_so_segments_stay_few(tmp_path):
    path = tmp_path / "idx"
    Index.build(_docs(1), model=ENCODER, cache=False).save(path)
    for i in range(1, 41):
        index = _load(path)
        index.add(_docs(1, start=i))
        if i % 5 == 0:
            index.remove([f"apple{i - 3}"])
        index.save()
    layout = _layout(path)
    assert len(layout["segments"]) < 16, [s["rows"] for s in layout["segments"]]
    index = _load(path)
    assert len(index.doc_ids()) == 41 - 8
    assert len(index) == index.manifest.counts.chunks == 33
    assert index.verify() == []
    assert sorted(_segment_files(path)) == sorted(
        name for s in layout["segments"] for name in _segment_files(path) if name.startswith(s["name"] + ".")
    )  # nothing left over from merged-away segments


def test_optimize_leaves_one_segment_without_dead_rows_and_the_same_answers(saved):
    index = _load(saved)
    index.add(_docs(3, word="pear"))
    index.save()
    index.remove(["apple2", "pear1"])
    index.save()
    queries = ["apple river", "pear valley", "harbour mountain"]
    before = {(q, m): _answer(index, q, m) for q in queries for m in ("dense", "lexical")}
    index.optimize()
    [segment] = _layout(saved)["segments"]
    assert segment["deletes"] is None and segment["rows"] == 7
    after_load = _load(saved)
    assert {(q, m): _answer(after_load, q, m) for q in queries for m in ("dense", "lexical")} == before
    assert after_load.verify() == []


def test_optimize_switches_the_index_type_from_the_stored_vectors_and_back(saved, monkeypatch):
    """Issue 23: a growing archive moves to an approximate index (and back) without embedding anything again."""
    import semsearch.storage.local.segments as segments

    monkeypatch.setattr(segments, "EXACT_ROWS", 4)  # an approximate index for a segment of 12 rows
    monkeypatch.setattr(segmented, "EXACT_ROWS", 4)
    index = _load(saved)
    queries = ["apple river 3", "valley number 5", "harbour mountain"]
    exact = {q: _answer(index, q, "dense") for q in queries}
    layout = _layout(saved)
    with pytest.raises(InputError, match="IVF9999999"):
        index.optimize(index_type="IVF9999999,PQ3")
    assert index.manifest.index_type == "Flat" and _layout(saved) == layout
    index.optimize(index_type="IVF2,Flat")
    [segment] = _layout(saved)["segments"]
    assert "ann" in segment["files"], segment
    reloaded = _load(saved)
    assert reloaded.manifest.index_type == "IVF2,Flat" and "IVF2,Flat" in reloaded.manifest.faiss_class
    reloaded.search_params = reloaded.search_params.__class__(nprobe=2, ef_search=16)  # every list: exact
    assert {q: _answer(reloaded, q, "dense") for q in queries} == exact
    assert reloaded.verify() == []
    reloaded.optimize(index_type="Flat")
    [segment] = _layout(saved)["segments"]
    assert "ann" not in segment["files"]
    back = _load(saved)
    assert back.manifest.index_type == "Flat" and {q: _answer(back, q, "dense") for q in queries} == exact


def test_a_reader_keeps_the_generation_it_loaded(saved):
    reader = _load(saved)
    writer = _load(saved)
    writer.add(_docs(2, word="pear"))
    writer.remove(["apple0"])
    writer.save()
    assert "apple0" in reader.doc_ids() and "pear0" not in reader.doc_ids()
    assert "pear0" not in _ids(reader, "pear", mode="lexical")
    assert "apple0" in _ids(reader, "apple river", mode="dense")
    assert {"pear0", "pear1"} <= set(_load(saved).doc_ids())


def test_a_reader_two_saves_behind_is_told_to_load_again(saved):
    reader = _load(saved)
    writer = _load(saved)
    writer.remove(["apple0", "apple1", "apple2", "apple3", "apple4", "apple5"])
    writer.save()
    writer.add(_docs(1, word="pear"))
    writer.save()  # purges what the first save removed: the reader's generation is gone for good
    with pytest.raises(IndexChangedError, match="load the index again"):
        reader.search("apple river", k=3, mode="dense")
    assert _ids(_load(saved), "apple river") == {"pear0"}


def test_a_failed_save_keeps_the_change_and_the_lock_until_saved_again(saved, monkeypatch):
    index = _load(saved)
    index.add(_docs(2, word="pear"))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segmented, "_write_manifest", full)
    with pytest.raises(IndexWriteError, match="No space left.*keeps its changes"):
        index.save()
    monkeypatch.undo()
    assert "pear0" not in _load(saved).doc_ids()  # what is published is the old index
    original = locks.acquire
    monkeypatch.setattr(locks, "acquire", lambda path, owner, timeout=0.2: original(path, owner, timeout))
    with pytest.raises(IndexLockedError):
        _load(saved).add(_docs(1, word="plum"))  # another writer must wait: the change is not saved yet
    monkeypatch.undo()
    index.save()
    assert {"pear0", "pear1"} <= set(_load(saved).doc_ids())
    assert _load(saved).verify() == []


STOPPED_WRITER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[2])
    from semsearch import Document, Index
    from tests.support.keyword_encoder import KeywordEncoder
    index = Index.load(sys.argv[1], model=KeywordEncoder())
    index.add([Document(doc_id="ghost", text="ghost lemon harbour.")])
    index.remove(["apple0"])
    os._exit(0)  # gone before saving: no clean-up of any kind
    """
)


def test_a_change_a_stopped_writer_never_saved_is_invisible_then_undone(saved, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(STOPPED_WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, str(script), str(saved), str(ROOT)], check=True, env=env)
    reader = _load(saved)
    assert "ghost" not in reader.doc_ids() and "apple0" in reader.doc_ids()
    assert "ghost" not in _ids(reader, "ghost lemon", mode="lexical")
    assert "ghost" not in _ids(reader, "lemon", mode="dense")
    writer = _load(saved)
    writer.add(_docs(1, word="pear"))
    writer.save()
    after = _load(saved)
    assert "ghost" not in after.doc_ids() and {"apple0", "pear0"} <= set(after.doc_ids())
    assert after.verify() == []
    named = {
        n for s in _layout(saved)["segments"] for n in _segment_files(saved) if n.startswith(s["name"] + ".")
    }
    assert set(_segment_files(saved)) == named  # the stopped writer's segment is gone


BUILDER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[3])
    from semsearch import Document, Index
    from tests.support.keyword_encoder import KeywordEncoder

    def progress(done, total):
        print("building", flush=True)
        if sys.argv[2] == "die":
            os._exit(0)
        time.sleep(60)

    docs = [Document(doc_id=f"d{i}", text=f"plum harbour {i}.") for i in range(40)]
    Index.build(docs, model=KeywordEncoder(), cache=False, batch_size=8, progress=progress, engine=sys.argv[1])
    """
)


def test_a_dead_build_is_swept_by_the_next_save_but_a_running_one_is_kept(tmp_path):
    target = tmp_path / "idx"
    script = tmp_path / "builder.py"
    script.write_text(BUILDER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [sys.executable, str(script), str(target), "die", str(ROOT)],
        check=True,
        env=env,
        stdout=subprocess.PIPE,
    )
    [dead] = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-")]
    running = subprocess.Popen(
        [sys.executable, str(script), str(target), "wait", str(ROOT)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert running.stdout.readline().strip() == "building"
        [alive] = [p for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp-") and p != dead]
        Index.build(_docs(2), model=ENCODER, cache=False).save(target)
        assert not dead.exists() and alive.exists()
    finally:
        running.kill()
        running.wait()
    index = _load(target)
    index.add(_docs(1, word="pear"))
    index.save()  # a save of the published index sweeps only at a build's publish...
    Index.build(_docs(2), model=ENCODER, cache=False).save(target)  # ...and at a rebuild's
    assert not alive.exists()
    assert not list(target.rglob(".building"))


def test_verify_names_a_damaged_segment_file_and_a_load_checks_sizes(saved):
    folder = saved / f"segments.{_layout(saved)['epoch']}"
    [ids] = folder.glob("*.ids.npy")
    data = bytearray(ids.read_bytes())
    data[-1] ^= 0xFF  # same size: only the checksum can tell
    ids.write_bytes(bytes(data))
    problems = _load(saved).verify()
    assert any(ids.name in p and "SHA-256" in p for p in problems), problems
    ids.write_bytes(bytes(data[:-8]))
    with pytest.raises(IndexCorruptError, match=f"{ids.name} is .* bytes, the manifest says"):
        _load(saved)


def test_merges_stop_at_the_segment_size_cap(tmp_path, monkeypatch):
    """Merging holds a segment's vectors in memory twice: no merge (nor optimize) makes one above the cap."""
    monkeypatch.setattr(segmented, "MAX_SEGMENT_ROWS", 4)
    monkeypatch.setattr(segmented, "TIER_BASE", 1)
    path = tmp_path / "idx"
    Index.build(_docs(3), model=ENCODER, cache=False).save(path)
    for i in range(3, 25):
        index = _load(path)
        index.add(_docs(1, start=i))
        index.save()
        assert all(s["rows"] <= 4 for s in _layout(path)["segments"])
    index = _load(path)
    index.remove(["apple5", "apple6"])
    index.save()
    before = {
        q: (_answer(index, q, "dense"), _answer(index, q, "lexical")) for q in ("apple river", "valley 7")
    }
    index.optimize()
    rows = [s["rows"] for s in _layout(path)["segments"]]
    assert max(rows) <= 4 and sum(rows) == 23 and all(s["deletes"] is None for s in _layout(path)["segments"])
    assert len(rows) == 6  # 23 rows packed four to a segment
    after = _load(path)
    assert {q: (_answer(after, q, "dense"), _answer(after, q, "lexical")) for q in before} == before
    assert after.verify() == []
    assert "apple5" not in after.doc_ids() and len(after.doc_ids()) == 23


def test_refresh_moves_a_reader_on_to_what_was_saved_since(saved):
    reader = _load(saved)
    assert reader.refresh() is False  # nothing saved since: nothing to do
    writer = _load(saved)
    writer.remove(["apple0"])
    writer.save()
    writer.add(_docs(1, word="pear"))
    writer.save()  # two saves: the reader's generation is purged
    with pytest.raises(IndexChangedError):
        reader.search("apple river", k=6, mode="dense")
    assert reader.refresh() is True
    assert "pear0" in reader.doc_ids() and "apple0" not in reader.doc_ids()
    assert "pear0" in _ids(reader, "pear", mode="lexical") and "apple0" not in _ids(reader, "apple river")
    assert reader.manifest.generation == _load(saved).manifest.generation
    reader.add(_docs(1, word="plum"))  # a writer now: it holds the lock, nobody else saves meanwhile
    assert reader.refresh() is False
    reader.save()
    assert "plum0" in _load(saved).doc_ids()


def test_refresh_keeps_unsaved_changes_of_a_format_1_index(tmp_path):
    """Format 1 changes live in memory until the save: a refresh would drop them, so it refuses."""
    from tests.support.formats import save_format1

    path = save_format1(Index.build(_docs(3), model=ENCODER, cache=False), tmp_path / "f1")
    reader, writer = _load(path), _load(path)
    reader.add(_docs(1, word="plum"))
    writer.add(_docs(1, word="pear"))
    writer.save()
    with pytest.raises(InputError, match="not saved"):
        reader.refresh()
    fresh = _load(path)
    assert fresh.refresh() is False and "pear0" in fresh.doc_ids()


def test_a_build_without_a_location_sweeps_the_folders_killed_builds_left(tmp_path, monkeypatch):
    """A build not yet saved stages in the temporary directory; one killed with -9 cannot clean up, so
    the next build removes the folders no live process holds (never a running build's)."""
    import tempfile

    from semsearch.storage.local import staging

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "semsearch-build-deadbeef"
    dead.mkdir()
    (dead / staging.HELD).touch()  # marked, but nobody holds the mark
    (dead / "vectors").write_bytes(b"x" * 100)
    alive = tmp_path / "semsearch-build-alive123"
    alive.mkdir()
    handle = staging.hold(alive)
    unmarked = tmp_path / "semsearch-build-justmade"
    unmarked.mkdir()  # a build's first instant, before its mark: kept
    other = tmp_path / "someone-elses-folder"
    other.mkdir()
    try:
        index = Index.build(_docs(2), model=ENCODER, cache=False)
        assert not dead.exists() and alive.exists() and unmarked.exists() and other.exists()
        assert len(index.search("apple", k=2, mode="lexical")) == 2
    finally:
        handle.close()


def test_a_segment_array_whose_header_does_not_parse_is_corrupt_not_a_syntax_error(saved):
    """numpy parses an .npy header with tokenize and ast: a flipped byte there raised SyntaxError."""
    folder = saved / f"segments.{_layout(saved)['epoch']}"
    [ids] = folder.glob("*.ids.npy")
    data = bytearray(ids.read_bytes())
    close = data.index(b")", data.index(b"'shape': ("))
    data[close : close + 1] = b"("  # same size: only parsing the header can tell
    ids.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=f"{ids.name} is not a readable array"):
        _load(saved)


def _lexical_segments(path: Path) -> int:
    meta = path / f"lexical.{_layout(path)['epoch']}" / "meta.json"
    return len(json.loads(meta.read_text(encoding="utf-8"))["segments"])


def test_a_build_commits_bm25_once_so_its_batches_make_one_tantivy_segment(tmp_path, monkeypatch):
    """Issue 23: committing every batch left 12 tantivy segments at 1M chunks, and a search visits each."""
    monkeypatch.setattr(segmented.SegmentedEngine, "batch_chunks", 4)
    built = Index.build(_docs(24), model=ENCODER, cache=False)  # six batches (tantivy merges eight)
    assert _ids(built, "apple river", mode="lexical") == {f"apple{i}" for i in range(24)}  # read: committed
    built.add(_docs(5, word="pear"))
    built.save(tmp_path / "idx")
    assert _lexical_segments(tmp_path / "idx") == 2  # the build's batches, then what was added before saving
    index = _load(tmp_path / "idx")
    assert len(_ids(index, "apple river pear", mode="lexical")) == 29
    assert index.verify() == []
    index.add(_docs(1, word="plum"))  # a change to a saved index commits at once, as before
    assert _lexical_segments(tmp_path / "idx") == 3


@pytest.mark.parametrize(
    ("owner", "step"),
    [(segmented.VersionedStore, "apply"), (segmented.SegmentedEngine, "_mark_deleted")],
    ids=["before-bm25", "after-bm25"],
)
def test_a_failed_change_of_an_unsaved_build_keeps_the_batches_before_it(tmp_path, monkeypatch, owner, step):
    """A build's BM25 documents wait uncommitted: undoing a failed change must not drop the earlier ones."""
    monkeypatch.setattr(segmented.SegmentedEngine, "batch_chunks", 4)
    built = Index.build(_docs(12), model=ENCODER, cache=False)
    real = getattr(owner, step)
    calls = []

    def fail_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, step, fail_once)
    with pytest.raises(Exception, match="No space left"):
        built.add(_docs(8, word="pear"))
    built.add(_docs(3, word="plum"))
    assert not _ids(built, "pear", mode="lexical")
    assert _ids(built, "apple", mode="lexical") == {f"apple{i}" for i in range(12)}
    assert _ids(built, "plum", mode="lexical") == {"plum0", "plum1", "plum2"}
    built.save(tmp_path / "idx")
    assert _load(tmp_path / "idx").verify() == []


def test_every_commit_gives_freed_memory_back(saved, monkeypatch):
    """Issue 23: 200 changes grew a writer by 144 MiB of freed pages glibc kept; a trim per commit, 62."""
    import semsearch.storage.local.freed_memory as freed_memory

    assert freed_memory.release_freed_memory() is sys.platform.startswith("linux")  # glibc here
    calls = []
    monkeypatch.setattr(segmented, "release_freed_memory", lambda: calls.append(1))
    index = _load(saved)
    index.add(_docs(1, word="pear"))
    index.save()
    index.remove(["pear0"])
    index.save()
    assert len(calls) == 2
    Index.build(_docs(2), model=ENCODER, cache=False).save(saved.parent / "other")
    assert len(calls) == 3


def test_approximate_segments_re_score_only_the_best_candidates_of_all_of_them(tmp_path, monkeypatch):
    """Every approximate segment's candidates are pooled and only the best RERANK × k are read and
    re-scored: as many rows a query whatever the number of segments, and the exact answers when every
    inverted list is probed."""
    monkeypatch.setattr(segmented, "MAX_SEGMENT_ROWS", 30)
    monkeypatch.setattr(segments, "EXACT_ROWS", 4)
    monkeypatch.setattr(segmented, "EXACT_ROWS", 4)
    path = tmp_path / "idx"
    Index.build(_docs(120), model=ENCODER, cache=False).save(path)
    queries = ("apple river", "valley 7", "mountain 12 harbour", "number 99")
    exact = {q: _answer(_load(path), q, "dense") for q in queries}
    _load(path).optimize(index_type="IVF2,Flat")  # nprobe (16) covers both lists: exact candidates
    approximate = _load(path)
    assert sum("ann" in s["files"] for s in _layout(path)["segments"]) >= 3
    read: list[int] = []
    pick = segments.FlatFile.pick

    def counted(self: segments.FlatFile, positions: np.ndarray) -> np.ndarray:
        read.append(len(positions))
        return pick(self, positions)

    monkeypatch.setattr(segments.FlatFile, "pick", counted)
    for query in queries:
        read.clear()
        assert _answer(approximate, query, "dense") == exact[query]
        assert 0 < sum(read) <= 5 * segments.RERANK, read


def _ivf_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """60 stories whose segments (of more than four rows) each get an IVF2,Flat index."""
    monkeypatch.setattr(segments, "EXACT_ROWS", 4)
    monkeypatch.setattr(segmented, "EXACT_ROWS", 4)
    path = tmp_path / "idx"
    Index.build(_docs(60), model=ENCODER, cache=False).save(path)
    _load(path).optimize(index_type="IVF2,Flat")
    return path


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the process's mappings (Linux)")
def test_an_ivf_index_is_read_into_memory_after_its_mapped_searches_and_answers_the_same(
    tmp_path, monkeypatch
):
    """FAISS's mapped inverted lists fault pages in on every search (4x slower here): after RESIDENT_AFTER
    searches through the mapping an IVF segment reads its index into memory; a load only maps it."""
    monkeypatch.setattr(segments, "RESIDENT_AFTER", 2)
    path = _ivf_index(tmp_path, monkeypatch)
    ann = [p for p in path.rglob("*.ann.faiss")]
    assert len(ann) == 1

    def mapped() -> bool:
        gc.collect()  # indexes no longer referenced (the optimize's) unmap their files
        return str(ann[0]) in Path("/proc/self/maps").read_text(encoding="utf-8")

    index = _load(path)
    assert mapped()
    first = _answer(index, "apple river 7", "dense")
    assert mapped()  # a one-shot query never reads it
    _answer(index, "valley 3", "dense")
    assert mapped()
    _answer(index, "valley 4", "dense")  # the third search reads it
    assert not mapped()
    assert [_answer(index, q, "dense") for q in ("apple river 7", "valley 12")] == [
        first,
        _answer(_load(path), "valley 12", "dense"),
    ]


def test_a_reader_a_save_behind_still_searches_approximate_segments_a_writer_merged_away(
    tmp_path, monkeypatch
):
    """A save deletes the files of segments it merged away; a reader loaded before it re-ranks from their
    vectors and reads their IVF index into memory through descriptors it opened at load."""
    monkeypatch.setattr(segments, "RESIDENT_AFTER", 0)  # the first search reads the IVF index
    monkeypatch.setattr(segmented, "MAX_SEGMENT_ROWS", 30)
    path = _ivf_index(tmp_path, monkeypatch)
    reader = _load(path)
    before = {q: _answer(_load(path), q, "dense") for q in ("apple river 7", "valley 12")}
    read_by_reader = {p.name for p in path.rglob("*.ann.faiss")}
    writer = _load(path)
    writer.remove(["apple1", "apple40"])
    writer.optimize()  # rewrites both segments without their dead rows
    assert not read_by_reader & {p.name for p in path.rglob("*.ann.faiss")}  # the reader's files are gone
    assert {q: _answer(reader, q, "dense") for q in before} == before
