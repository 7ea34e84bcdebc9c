"""A Milvus rebuild killed with SIGKILL at random points leaves the old index or the new one, whole (issue 24, item 5).

A rebuild used to drop the index's collections first: a kill part-way destroyed the previous index. Now
it writes a new generation beside it and points the name at it in one step once complete. Each round
here starts a rebuild in a child process (milvus-lite embedded in it, so the kill takes the database's
own writer down mid-write), kills it at a random moment, and then checks, in a fresh process, that the
index loads as exactly one of the two corpora, whole.
"""

import json
import random
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("pymilvus")

KILLS = int(__import__("os").environ.get("SEMSEARCH_TEST_KILLS", "30"))
CORPUS = """
from semsearch import Document
def corpus(name):
    texts = ["apple banana cherry fruit stall", "ocean harbour island ferry", "mountain valley forest trail"]
    return [Document(f"{name}{i:03d}", f"{texts[i % 3]} {name} number {i} " * 3) for i in range(120)]
"""
BUILD = (
    CORPUS
    + """
import sys
import semsearch.storage.milvus.engine as engine
from semsearch import Index
from tests.support.keyword_encoder import KeywordEncoder
engine.MilvusEngine.batch_chunks = 12  # many batches: kills land inside writing, not only before it
print("started", flush=True)
Index.build(corpus(sys.argv[2]), engine=sys.argv[1], model=KeywordEncoder(), cache=False, dedup=False)
print("done", flush=True)
"""
)
CHECK = """
import json, sys
from semsearch import Index
from semsearch.storage.locations import parse_location
from semsearch.storage.milvus.schema import connect
from tests.support.keyword_encoder import KeywordEncoder
index = Index.load(sys.argv[1], model=KeywordEncoder())
ids = index.doc_ids()
hits = index.search("ocean harbour", k=3)
result = {"ids": ids, "problems": index.verify(), "documents": index.manifest.counts.documents,
          "chunks": len(index), "hits": [h.doc_id for h in hits]}
print(json.dumps(result))
"""


def _check(at: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHECK, at], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_milvus_rebuild_killed_at_random_points_leaves_one_whole_index(tmp_path):
    at = f"milvus-lite:{tmp_path / 'news.db'}#news"
    first = subprocess.run(
        [sys.executable, "-c", BUILD, at, "old"], capture_output=True, text=True, timeout=600
    )
    assert first.returncode == 0, first.stderr[-2000:]
    corpora = {name: [f"{name}{i:03d}" for i in range(120)] for name in ("old", "new")}
    started = time.monotonic()
    timed = subprocess.run(
        [sys.executable, "-c", BUILD, at, "new"], capture_output=True, text=True, timeout=600
    )
    assert timed.returncode == 0, timed.stderr[-2000:]
    whole = time.monotonic() - started  # a rebuild from start to end, process start included
    current = "new"
    rng = random.Random(24)
    outcomes = {"kept the old": 0, "the new one": 0}
    for round_ in range(KILLS):
        target = "old" if current == "new" else "new"
        child = subprocess.Popen(
            [sys.executable, "-c", BUILD, at, target],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.0, whole))
        child.send_signal(signal.SIGKILL)
        child.wait()
        found = _check(at)
        assert found["problems"] == [], (round_, found["problems"])
        assert found["ids"] in (corpora["old"], corpora["new"]), (round_, found["ids"][:5], len(found["ids"]))
        assert found["documents"] == 120 and found["chunks"] == 120 and found["hits"], (round_, found)
        now = found["ids"][0][:3]
        outcomes["the new one" if now == target else "kept the old"] += 1
        current = now
    print(f"{KILLS} kills: {outcomes}")
    assert outcomes["kept the old"] > 0  # the kills did land inside rebuilds
    finished = subprocess.run(
        [sys.executable, "-c", BUILD, at, "old"], capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert _check(at)["ids"] == corpora["old"]
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pymilvus import MilvusClient; print(MilvusClient(uri=sys.argv[1]).list_collections())",
            str(tmp_path / "news.db"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.stdout.count("news__g") == 5, listed.stdout  # unfinished generations were dropped
