"""A milvus-lite database another process has open, or a file that is not one, is one line (issue 24, item 8)."""

import sqlite3
import subprocess
import sys
import time

import pytest

from semsearch import Document, Index
from semsearch.errors import IndexLockedError, InputError
from tests.support.keyword_encoder import KeywordEncoder

HOLD = """
import sys, time
from semsearch import Document, Index
from tests.support.keyword_encoder import KeywordEncoder
index = Index.build([Document("a", "apple banana cherry")], engine=sys.argv[1], model=KeywordEncoder(), cache=False)
print("open", flush=True)
time.sleep(120)
"""


def test_a_database_open_in_another_process_is_said_to_be_in_use(tmp_path, caplog, capfd):
    path = tmp_path / "news.db"
    at = f"milvus-lite:{path}#news"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, at], stdout=subprocess.PIPE, text=True)  # a writer
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        started = time.monotonic()
        with pytest.raises(IndexLockedError) as caught:
            Index.load(at, model=KeywordEncoder())
        message = str(caught.value)
        assert "in use by another process" in message and f"pid {holder.pid}" in message
        assert "\n" not in message and time.monotonic() - started < 60
        with pytest.raises(IndexLockedError, match="in use"):  # a second writer alike
            Index.build([Document("b", "ocean")], engine=at, model=KeywordEncoder(), cache=False)
        ours = [r for r in caplog.records if r.name.split(".")[0] in ("semsearch", "pymilvus", "milvus_lite")]
        assert not any("Traceback" in r.getMessage() or r.exc_info for r in ours), ours  # not Ray's threads'
        assert "Traceback" not in capfd.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert Index.load(at, model=KeywordEncoder()).doc_ids() == ["a"]  # free again once it is closed


def test_another_programs_file_named_db_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("create table users (name text)")
    before = path.read_bytes()
    for attempt in (
        lambda: Index.load(f"milvus-lite:{path}#news"),
        lambda: Index.build(
            [Document("a", "apple")], engine=f"milvus-lite:{path}#news", model=KeywordEncoder()
        ),
    ):
        with pytest.raises(InputError, match="is a file, not a milvus-lite database") as caught:
            attempt()
        assert "\n" not in str(caught.value)
    assert path.read_bytes() == before
