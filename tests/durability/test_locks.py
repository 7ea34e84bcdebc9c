"""One lock per index: a second writer is refused while the first holds it, whatever name the index is given."""

from __future__ import annotations

import subprocess
import sys

import pytest

from semsearch import Index, IndexLockedError
from semsearch.storage.locks import write_lock
from tests.support.cli import assert_one_line_error, run
from tests.support.corpora import GRID_PLATFORM as NEW
from tests.support.hostile import SEED_ID, loads_whole, manifest, role_path


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
        living_index.add([NEW])
        import semsearch.storage.local.directory

        original = semsearch.storage.local.directory.write_lock
        monkeypatch.setattr(
            semsearch.storage.local.directory, "write_lock", lambda path, timeout=0.3: original(path, timeout)
        )
        with pytest.raises(IndexLockedError):
            living_index.save()
        monkeypatch.undo()
    finally:
        holder.kill()
        holder.wait()
    living_index.save()  # free again
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


def test_a_dotdot_path_never_puts_a_lock_inside_the_index(index_copy):
    bm25 = role_path(index_copy, "bm25")
    before = {p.relative_to(index_copy) for p in index_copy.rglob("*")}
    result = run("remove", "-i", f"{bm25}/..", SEED_ID)
    assert result.returncode == 0, result.stderr
    after = manifest(index_copy)
    for entry in after["files"].values():
        member = index_copy / entry["name"]
        if member.is_dir():
            assert sorted(p.name for p in member.iterdir() if p.name.startswith(".")) == []
    assert not any(p.name.endswith(".lock") for p in index_copy.rglob("*")), before
    assert loads_whole(index_copy) > 0
    assert run("query", "-i", str(index_copy), "--mode", "lexical", "网格").returncode == 0
