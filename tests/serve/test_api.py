"""The JSON API through a real ``semsearch serve`` (a child process on 127.0.0.1), read-only: every read endpoint.

Slow tier: the server loads the index and the model once per session.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.encoders import jsonable_encoder

from semsearch.serve.limits import MAX_BODY_BYTES

pytestmark = pytest.mark.slow

QUERY = "乡村振兴"


def get(base: str, path: str, **params) -> httpx.Response:
    return httpx.get(f"{base}{path}", params=params, timeout=120)


def post(base: str, path: str, body: object, **options) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=120, **options)


def raw_post(base: str, body: bytes, *, declared: int) -> bytes:
    """POST ``body`` to /api/search claiming ``declared`` bytes (no client library allows the lie): the answer."""
    url = urlsplit(base)
    head = (
        f"POST /api/search HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head.encode() + body)
        return sock.recv(65536)


def test_health_and_info(server_url, seeds_index):
    health = get(server_url, "/api/health").json()
    assert health == {
        "status": "ok",
        "chunks": len(seeds_index),
        "documents": seeds_index.manifest.counts.documents,
        "generation": health["generation"],
    }
    assert isinstance(health["generation"], int)
    info = get(server_url, "/api/info").json()
    assert info["counts"]["chunks"] == len(seeds_index)
    assert info["encoder"] == seeds_index.info()["encoder"]


def test_search_by_post_and_get_gives_what_the_library_gives(server_url, seeds_index):
    expected = [h.to_dict() for h in seeds_index.search(QUERY, k=4)]
    posted = post(server_url, "/api/search", {"query": QUERY, "k": 4}).json()
    assert posted["query"] == QUERY and posted["group"] is None and posted["took_ms"] >= 0
    assert [r["chunk_id"] for r in posted["results"]] == [h["chunk_id"] for h in expected]
    assert posted["results"][0]["highlights"] == expected[0]["highlights"]
    fetched = get(server_url, "/api/search", q=QUERY, k=4).json()
    assert [r["chunk_id"] for r in fetched["results"]] == [h["chunk_id"] for h in expected]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_and_stories(server_url, seeds_index, mode):
    answer = post(server_url, "/api/search", {"query": QUERY, "k": 3, "mode": mode, "group": "document"})
    assert answer.status_code == 200
    stories = answer.json()["results"]
    expected = seeds_index.search(QUERY, k=3, mode=mode, group="document")
    assert [s["doc_id"] for s in stories] == [s.doc_id for s in expected]
    assert all(s["passages"] for s in stories)


def test_context_with_a_search_and_for_a_hit(server_url):
    hit = post(server_url, "/api/search", {"query": QUERY, "k": 1, "context": 1}).json()["results"][0]
    assert any(p["in_hit"] for p in hit["context"])
    around = get(
        server_url,
        f"/api/documents/{hit['doc_id']}/context",
        start=hit["start"],
        end=hit["end"],
        before=1,
        after=1,
    )
    assert around.status_code == 200
    assert around.json()["context"] == hit["context"]


def test_batch_search(server_url):
    answer = post(server_url, "/api/search/batch", {"queries": [QUERY, "脱贫攻坚"], "k": 2})
    results = answer.json()["results"]
    assert len(results) == 2 and all(len(found) == 2 for found in results)
    single = post(server_url, "/api/search", {"query": "脱贫攻坚", "k": 2}).json()["results"]
    assert [r["chunk_id"] for r in results[1]] == [r["chunk_id"] for r in single]


def test_documents_pages_one_document_and_similar(server_url, seeds_index):
    listed = get(server_url, "/api/documents").json()
    assert listed["total"] == len(seeds_index.doc_ids())
    assert [d["doc_id"] for d in listed["documents"]] == [d["doc_id"] for d in seeds_index.documents()]
    page = get(server_url, "/api/documents", limit=2, offset=1).json()
    assert page["total"] == listed["total"] and page["documents"] == listed["documents"][1:3]
    doc_id = listed["documents"][0]["doc_id"]
    one = get(server_url, f"/api/documents/{doc_id}").json()
    assert one == jsonable_encoder(seeds_index.document(doc_id))
    similar = get(server_url, f"/api/documents/{doc_id}/similar", k=2).json()["results"]
    assert [s["doc_id"] for s in similar] == [s.doc_id for s in seeds_index.similar(doc_id, 2)]
    assert doc_id not in [s["doc_id"] for s in similar]


def test_facets(server_url, seeds_index):
    answer = get(server_url, "/api/facets", query=QUERY, top=3).json()
    assert answer == seeds_index.facets(QUERY, top=3).to_dict()
    assert get(server_url, "/api/facets").json() == seeds_index.facets().to_dict()


def test_errors_are_one_json_line_with_their_status(server_url):
    cases = [
        (post(server_url, "/api/search", {"query": "", "k": 3}), 400, "is empty"),
        (post(server_url, "/api/search", {"query": "x", "k": 1000}), 400, "k: "),
        (get(server_url, "/api/search", q="x", since="yesterday"), 400, "since 'yesterday'"),
        (get(server_url, "/api/documents/nope"), 404, "no document 'nope'"),
        (get(server_url, "/api/documents/nope/similar"), 404, "no document 'nope'"),
        (get(server_url, "/api/nowhere"), 404, "no such path"),
        (httpx.delete(f"{server_url}/api/documents/x", timeout=60), 403, "read-only"),
    ]
    for answer, status, part in cases:
        assert answer.status_code == status, answer.text
        assert list(answer.json()) == ["error"] and part in answer.json()["error"]
        assert "Traceback" not in answer.text


def test_an_oversized_body_is_413_even_with_a_lying_or_missing_length(server_url):
    big = b'{"query": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    assert post(server_url, "/api/search", None, content=big).status_code == 413

    def chunked():  # no Content-Length at all
        for _ in range(4):
            yield b"y" * (MAX_BODY_BYTES // 3)

    answer = httpx.post(f"{server_url}/api/search", content=chunked(), timeout=60)
    assert answer.status_code == 413 and "1 MiB" in answer.json()["error"]
    assert raw_post(server_url, b'{"query": "x"}', declared=10 * MAX_BODY_BYTES).startswith(b"HTTP/1.1 413")
    assert get(server_url, "/api/health").status_code == 200  # and the server still answers


def test_concurrent_searches_all_answer(server_url):
    from concurrent.futures import ThreadPoolExecutor

    queries = [QUERY, "脱贫攻坚", "党建", "乡村", "经济发展", "基层治理"] * 4
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda q: client.get(f"{server_url}/api/search", params={"q": q, "k": 3}), queries)
        )
    assert [a.status_code for a in answers] == [200] * len(queries)
    assert all(a.json()["query"] == q for a, q in zip(answers, queries))
