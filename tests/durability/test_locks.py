"""One lock per index: a second writer is refused while the first holds it, whatever name the index is given."""

from __future__ import annotations

import subprocess
import sys

import pytest

from semsearch import Index, IndexLockedError
from semsearch.storage.locks import write_lock
from tests.support.cli import assert_one_line_error, run
from tests.support.corpora import GRID_PLATFORM as NEW
from tests.support.hostile import SEED_ID, loads_whole, manifest


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(local_only, living_index, monkeypatch):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from semsearch.storage.locks import write_lock\n"
            f"with write_lock(Path({str(living_index.path)!r})):\n print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLockedError, match="another process is writing"):
            with write_lock(living_index.path, timeout=0.3):
                pass
        import semsearch.storage.locks

        original = semsearch.storage.locks.acquire
        monkeypatch.setattr(
            semsearch.storage.locks,
            "acquire",
            lambda path, owner, timeout=0.3: original(path, owner, timeout),
        )
        # Format 1 takes the lock to save; format 2 from the first change to its save: refused either way.
        with pytest.raises(IndexLockedError):
            living_index.add([NEW])
            living_index.save()
        monkeypatch.undo()
    finally:
        holder.kill()
        holder.wait()
    living_index.add([NEW])  # free again
    living_index.save()
    assert NEW.doc_id in Index.load(living_index.path).doc_ids()


def test_a_symlink_to_an_index_takes_the_same_lock(index_copy, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(index_copy, target_is_directory=True)
    before = manifest(index_copy)["generation"]
    with write_lock(index_copy):
        result = run("remove", "-i", str(link), SEED_ID)
    message = assert_one_line_error(result, 1)
    assert "writing" in message
    assert manifest(index_copy)["generation"] == before


@pytest.mark.parametrize("fixture", ["format1_copy", "index_copy"])
def test_a_dotdot_path_never_puts_a_lock_inside_the_index(request, fixture):
    index_copy = request.getfixturevalue(fixture)
    inner = next(p for p in sorted(index_copy.iterdir()) if p.is_dir())  # bm25.G.bm25s/ or lexical.EPOCH/
    before = {p.relative_to(index_copy) for p in index_copy.rglob("*")}
    result = run("remove", "-i", f"{inner}/..", SEED_ID)
    assert result.returncode == 0, result.stderr
    # tantivy keeps its own lock files in its folder (.tantivy-*.lock); semsearch's is .NAME.lock beside the index
    ours = [p for p in index_copy.rglob("*.lock") if not p.name.startswith(".tantivy-")]
    assert ours == [], before
    assert (index_copy.parent / f".{index_copy.name}.lock").exists()
    assert loads_whole(index_copy) > 0
    assert run("query", "-i", str(index_copy), "--mode", "lexical", "网格").returncode == 0
