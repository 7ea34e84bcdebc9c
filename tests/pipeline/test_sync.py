"""Keeping an index in step with a folder (issue 25): ``Index.sync`` adds, updates and removes, and only what its sources hold."""

import json
import os
import signal
import time

import pytest

from semsearch import Document, Index, InputError
from tests.support.backends import build_on

TEXTS = {
    "a": "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区经验在全市推广。",
    "b": "今年早稻收割基本结束，全省粮食产量稳中有增，农民收入持续增长。",
    "c": "嫦娥六号完成月球背面采样，返回器在内蒙古四子王旗着陆场安全着陆。",
}
RECORDS = [
    {"id": "f1", "text": "乡村振兴示范村建设带动了农民增收，村集体经济年收入突破百万元。"},
    {"id": "f2", "text": "县委书记到乡镇调研基层党建工作，听取各村党支部书记的汇报。"},
]


def _write(path, text, age=60.0):
    path.write_text(text, encoding="utf-8")
    old = time.time() - age  # written a minute ago: settled
    os.utime(path, (old, old))


def _feed(path, records, age=60.0):
    _write(path, "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", age)


@pytest.fixture
def crawl(tmp_path, backend, new_location):
    folder = tmp_path / "crawl"
    folder.mkdir()
    for name in ("a", "b"):
        _write(folder / f"{name}.txt", TEXTS[name])
    _feed(folder / "feed.jsonl", RECORDS)
    index = build_on(backend, new_location, [folder])
    index.add([Document("typed", "这是在Python里加入的一篇文章，不来自任何文件夹，同步时应当保留。")])
    return folder, index


def test_sync_adds_updates_and_removes_what_changed_in_the_folder(crawl):
    folder, index = crawl
    _write(folder / "a.txt", TEXTS["a"] + "\n\n网格员队伍的培训由街道统一组织，每季度一次。")
    (folder / "b.txt").unlink()
    _write(folder / "c.txt", TEXTS["c"])
    _feed(folder / "feed.jsonl", RECORDS[:1])  # f2 dropped from the feed
    report = index.sync(folder)
    assert (report.added, report.updated, report.removed) == (("c",), ("a",), ("b", "f2"))
    assert set(report.unchanged) == {"f1"} and report.waiting == ()
    assert sorted(index.doc_ids()) == ["a", "c", "f1", "typed"]  # "typed" came from elsewhere: kept
    assert index.search("嫦娥六号", k=1)[0].doc_id == "c"
    again = index.sync(folder)
    assert not again.changed and set(again.unchanged) == {"a", "c", "f1"}
    assert "0 added, 0 updated, 3 unchanged, 0 removed" in again.summary()


def test_a_file_still_being_written_waits_for_the_next_pass(crawl):
    folder, index = crawl
    _write(folder / "a.txt", "写了一半", age=0.0)  # modified just now
    _write(folder / "c.txt", TEXTS["c"], age=0.0)
    report = index.sync(folder, settle=30)
    assert report.updated == () and report.added == () and report.removed == ()
    assert sorted(os.path.basename(f) for f in report.waiting) == ["a.txt", "c.txt"]
    assert "2 files still being written (next pass)" in report.summary()
    assert index.search("网格员", k=1)[0].doc_id == "a"  # the indexed version stays
    assert index.sync(folder, settle=0).added == ("c",)


def test_a_missing_source_changes_nothing(crawl, tmp_path):
    folder, index = crawl
    before = sorted(index.doc_ids())
    with pytest.raises(InputError, match="no such file or folder"):
        index.sync(tmp_path / "unmounted")
    assert sorted(index.doc_ids()) == before
    with pytest.raises(InputError, match="settle must be a number of seconds"):
        index.sync(folder, settle=-1)


def test_only_documents_from_the_given_sources_are_removed(crawl, tmp_path):
    folder, index = crawl
    other = tmp_path / "other"
    other.mkdir()
    _write(other / "c.txt", TEXTS["c"])
    index.add([other / "c.txt"])
    report = index.sync(folder / "feed.jsonl")  # one file of the folder: a.txt and b.txt are not its
    assert report.removed == () and "c" in index.doc_ids() and "a" in index.doc_ids()


def test_ctrl_c_during_a_change_lets_it_finish_whole(crawl):
    folder, index = crawl
    engine = index._engine
    apply = engine.apply

    def interrupted(batch):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives while the change is written
        return apply(batch)

    engine.apply = interrupted
    _write(folder / "c.txt", TEXTS["c"])
    (folder / "b.txt").unlink()
    try:
        with pytest.raises(KeyboardInterrupt):
            index.sync(folder)
    finally:
        engine.apply = apply
    assert "c" in index.doc_ids() and "b" not in index.doc_ids()  # the whole change, not half
    assert index.search("嫦娥六号", k=1)[0].doc_id == "c"


def test_deferred_interrupts_run_the_block_then_raise():
    # In a child process: a real SIGINT late in a long test session (native libraries loaded) is not
    # what this checks, and is not safe to send there.
    import subprocess
    import sys

    code = (
        "import signal\n"
        "from semsearch.storage.interrupts import deferred_interrupts\n"
        "done = []\n"
        "try:\n"
        "    with deferred_interrupts():\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "        done.append('after')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted after', done)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "interrupted after ['after']", result.stderr


def test_sync_of_a_saved_index_survives_a_reload(crawl, tmp_path, backend):
    if backend != "local":
        pytest.skip("the directory format")
    folder, index = crawl
    index.save(tmp_path / "idx")
    _write(folder / "c.txt", TEXTS["c"])
    loaded = Index.load(tmp_path / "idx")
    assert loaded.sync(folder).added == ("c",)
    loaded.save()
    assert "c" in Index.load(tmp_path / "idx").doc_ids()


def test_a_reprint_already_recorded_is_unchanged_at_the_next_pass(crawl):
    folder, index = crawl
    _write(folder / "reprint.txt", TEXTS["a"])  # the same story again: recorded as a duplicate of "a"
    first = index.sync(folder)
    assert first.duplicates == ("reprint",) and first.changed
    again = index.sync(folder)
    assert not again.changed and "reprint" in again.unchanged
