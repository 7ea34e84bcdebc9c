"""Starting ``semsearch serve``: the refusals (one line, exit 2, before the index is opened), and Milvus.

Slow tier: the command runs in a child process, as users run it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import TOKEN, running_server
from tests.support.cli import assert_one_line_error, run
from tests.support.paths import SEEDS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_a_writable_start_without_a_token_is_refused(saved_seeds_index, host):
    result = run(
        "serve",
        "-i",
        str(saved_seeds_index),
        "--host",
        host,
        "--allow-writes",
        env={"SEMSEARCH_API_TOKEN": ""},
    )
    line = assert_one_line_error(result, 2)
    assert "--allow-writes needs a token: set $SEMSEARCH_API_TOKEN" in line


def test_an_index_that_cannot_be_opened_is_one_line(tmp_path):
    result = run("serve", "-i", str(tmp_path / "nothing"))
    line = assert_one_line_error(result, 2)
    assert "nothing" in line


def test_a_server_over_milvus_lite(tmp_path):
    """The same API over a Milvus location (milvus-lite embedded in the server): reads and writes."""
    pytest.importorskip("pymilvus")
    location = f"milvus-lite:{tmp_path / 'news.db'}#seeds"
    built = run("build", str(SEEDS), "-o", location, "--no-progress")
    assert built.returncode == 0, built.stderr
    with running_server(location, tmp_path / "server.log", token=TOKEN, args=("--allow-writes",)) as base:
        health = httpx.get(f"{base}/api/health").json()
        assert health["status"] == "ok" and health["documents"] == len(list(SEEDS.glob("*.txt")))
        hits = httpx.get(f"{base}/api/search", params={"q": "乡村振兴", "k": 3}, timeout=120).json()[
            "results"
        ]
        assert len(hits) == 3 and all(h["highlights"] is not None for h in hits)
        assert httpx.get(f"{base}/api/documents/nope").status_code == 404
        auth = {"Authorization": f"Bearer {TOKEN}"}
        doc = {"doc_id": "milvus-new", "text": "蓝鲸观测站在沿海建成，科研人员将长期记录鲸类的迁徙路线。"}
        assert (
            httpx.post(
                f"{base}/api/documents", json={"documents": [doc]}, headers=auth, timeout=300
            ).status_code
            == 200
        )
        query = {"query": "蓝鲸观测站", "k": 5, "mode": "lexical"}
        found = httpx.post(f"{base}/api/search", json=query, timeout=120).json()["results"]
        assert "milvus-new" in {h["doc_id"] for h in found}
        assert httpx.delete(f"{base}/api/documents/milvus-new", headers=auth, timeout=300).status_code == 200
        found = httpx.post(f"{base}/api/search", json=query, timeout=120).json()["results"]
        assert "milvus-new" not in {h["doc_id"] for h in found}


def test_a_port_in_use_is_one_line_before_the_index_is_opened(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "-i", str(tmp_path / "not-even-an-index"), "--port", str(port))
    line = assert_one_line_error(result, 2)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
