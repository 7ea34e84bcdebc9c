"""The server's rules in process (fast tier): token, read-only, start-up refusals, body limit, errors as JSON.

The same rules through a real ``semsearch serve`` are in test_api.py (slow tier).
"""

from __future__ import annotations

import json

import pytest

from semsearch.errors import InputError
from semsearch.serve.limits import MAX_BATCH, MAX_BODY_BYTES, MAX_K, MAX_QUERY_CHARS
from semsearch.serve.security import check_start, is_loopback, token_matches
from semsearch.serve.settings import ServerSettings

TOKEN = "s3cret-token"


# ---------------------------------------------------------------------- start-up and the token


def test_writes_without_a_token_are_refused_on_any_address():
    for host in ("127.0.0.1", "0.0.0.0", "::1"):
        with pytest.raises(InputError, match=r"--allow-writes needs a token: set \$SEMSEARCH_API_TOKEN"):
            check_start(ServerSettings(host=host, allow_writes=True, token=None))
    with pytest.raises(InputError, match="needs a token"):
        check_start(ServerSettings(allow_writes=True, token=""))


def test_a_non_loopback_address_is_allowed_read_only_with_a_warning():
    assert check_start(ServerSettings()) == []
    assert check_start(ServerSettings(host="localhost")) == []
    (warning,) = check_start(ServerSettings(host="0.0.0.0"))
    assert "0.0.0.0" in warning and "anyone" in warning
    (warning,) = check_start(ServerSettings(host="0.0.0.0", allow_writes=True, token=TOKEN))
    assert "writes still need the token" in warning


def test_loopback_addresses():
    assert (
        is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1") and is_loopback("[::1]")
    )
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_the_token_must_match_exactly_as_a_bearer():
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer {TOKEN}", TOKEN)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer "):
        assert not token_matches(header, TOKEN), header
    assert not token_matches("Bearer ", "") and not token_matches("Bearer x", None)


def test_settings_never_show_the_token():
    assert TOKEN not in repr(ServerSettings(allow_writes=True, token=TOKEN))


# ---------------------------------------------------------------------- in process: reads, errors, limits


def test_health_and_a_search(app_client, seeds_index):
    health = app_client.get("/api/health").json()
    assert health["status"] == "ok" and health["chunks"] == len(seeds_index)
    assert health["documents"] == seeds_index.manifest.counts.documents
    found = app_client.get("/api/search", params={"q": "乡村振兴", "k": 3})
    assert found.status_code == 200
    expected = [h.chunk_id for h in seeds_index.search("乡村振兴", k=3)]
    assert [h["chunk_id"] for h in found.json()["results"]] == expected


def test_a_read_only_server_refuses_every_write_with_403(app_client, seeds_index):
    before = app_client.get("/api/documents").json()
    doc_id = before["documents"][0]["doc_id"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path, body in (
        (
            "POST",
            "/api/documents",
            {"documents": [{"doc_id": "new", "text": "乡村振兴的新故事，讲了很多。"}]},
        ),
        ("PUT", f"/api/documents/{doc_id}", {"text": "改写的正文，讲了很多别的事情。"}),
        ("DELETE", f"/api/documents/{doc_id}", None),
        ("POST", "/api/sync", {"sources": ["seeds"]}),
    ):
        answer = app_client.request(method, path, json=body, headers=auth)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json() == {"error": "this server is read-only; start it with --allow-writes"}
    assert app_client.get("/api/documents").json() == before


def test_writes_without_the_right_token_get_401_and_change_nothing(seeds_index):
    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    app = create_app(seeds_index, ServerSettings(allow_writes=True, token=TOKEN))
    with TestClient(app, raise_server_exceptions=False) as client:
        before = client.get("/api/documents").json()
        doc_id = before["documents"][0]["doc_id"]
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            answer = client.delete(f"/api/documents/{doc_id}", headers=headers)
            assert answer.status_code == 401, answer.text
            assert "Authorization: Bearer TOKEN" in answer.json()["error"]
            assert answer.headers["www-authenticate"] == "Bearer"
            added = client.post(
                "/api/documents",
                json={"documents": [{"doc_id": "intruder", "text": "不该出现的故事，讲了很多事情。"}]},
                headers=headers,
            )
            assert added.status_code == 401
        assert client.get("/api/documents").json() == before


def test_a_body_over_the_limit_gets_413_before_it_is_parsed(app_client):
    big = json.dumps({"query": "乡" * (MAX_BODY_BYTES // 3 + 10)}).encode()  # 3 bytes a character
    assert len(big) > MAX_BODY_BYTES
    answer = app_client.post("/api/search", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "over the server's limit of 1 MiB" in answer.json()["error"]

    def chunks():  # no Content-Length: sent chunked, counted as it arrives
        for _ in range(3):
            yield b"x" * (MAX_BODY_BYTES // 2)

    answer = app_client.post("/api/search", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_a_declared_length_over_the_limit_is_refused_whatever_follows(app_client):
    answer = app_client.post(
        "/api/search",
        content=b'{"query": "x"}',
        headers={"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)},
    )
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("body", "culprit"),
    [
        ({"query": "x", "k": MAX_K + 1}, "k: Input should be less than or equal to 100"),
        ({"query": "x", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"query": "x" * (MAX_QUERY_CHARS + 1)}, "query: String should have at most 2000 characters"),
        ({"query": "x", "mode": "fuzzy"}, "mode: Input should be 'hybrid', 'dense' or 'lexical'"),
        ({"query": "x", "kk": 3}, "kk: Extra inputs are not permitted"),
        ({"k": 3}, "query: Field required"),
        ({"query": "   "}, "is empty"),
        ({"query": "x", "since": "2024-13-01"}, "since '2024-13-01' is not a date"),
        (
            {"query": "x", "since": "2024-05-01", "until": "2024-01-01"},
            "since 2024-05-01 is after until 2024-01-01",
        ),
        ({"query": "x", "where": {"nosuchkey": "y"}}, "nosuchkey"),
    ],
)
def test_bad_input_is_400_with_one_line_naming_it(app_client, body, culprit):
    answer = app_client.post("/api/search", json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert culprit in error and "\n" not in error and "Traceback" not in error


def test_malformed_bodies_and_parameters_are_400(app_client):
    answer = app_client.post("/api/search", content=b"{bad", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json() == {"error": "the body is not valid JSON"}
    answer = app_client.post("/api/search", content=b"query=x")  # a form, not JSON
    assert answer.status_code == 400 and "Content-Type: application/json" in answer.json()["error"]
    answer = app_client.get("/api/search", params={"q": "x", "where": "{not json"})
    assert answer.status_code == 400 and answer.json()["error"].startswith("where is not valid JSON")
    answer = app_client.get("/api/documents", params={"limit": "many"})
    assert answer.status_code == 400 and answer.json()["error"].startswith("limit: ")
    answer = app_client.post("/api/search/batch", json={"queries": ["x"] * (MAX_BATCH + 1)})
    assert answer.status_code == 400 and answer.json()["error"].startswith("queries: ")


def test_unknown_documents_and_paths_are_404(app_client):
    for path in (
        "/api/documents/nope",
        "/api/documents/nope/similar",
        "/api/documents/nope/context?start=0&end=5",
    ):
        answer = app_client.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert "'nope'" in answer.json()["error"]
    answer = app_client.get("/api/nothing-here")
    assert answer.status_code == 404 and answer.json() == {"error": "no such path: /api/nothing-here"}


def test_an_unexpected_failure_is_500_with_a_generic_line_and_no_traceback(seeds_index, monkeypatch, caplog):
    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /home/x")

    client = TestClient(create_app(seeds_index), raise_server_exceptions=False)
    monkeypatch.setattr(type(seeds_index), "info", broken)
    answer = client.get("/api/info")
    assert answer.status_code == 500
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert answer.json()["error"].startswith("the server failed to answer this request")
    assert "secret internals" in caplog.text  # the traceback goes to the server's log


def test_a_request_over_its_time_budget_is_503(seeds_index, monkeypatch):
    import time

    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    client = TestClient(
        create_app(seeds_index, ServerSettings(time_budget=0.2)), raise_server_exceptions=False
    )
    monkeypatch.setattr(type(seeds_index), "info", lambda self: time.sleep(2) or {})
    answer = client.get("/api/info")
    assert answer.status_code == 503
    assert "time budget of 0.2 s" in answer.json()["error"]


def test_no_cors_unless_an_origin_is_given(app_client, seeds_index):
    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    origin = {"Origin": "https://cms.example.org"}
    assert "access-control-allow-origin" not in app_client.get("/api/health", headers=origin).headers
    allowed = TestClient(create_app(seeds_index, ServerSettings(cors_origins=("https://cms.example.org",))))
    answer = allowed.get("/api/health", headers=origin)
    assert answer.headers["access-control-allow-origin"] == "https://cms.example.org"
    other = allowed.get("/api/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_the_openapi_schema_lists_the_endpoints(app_client):
    paths = app_client.get("/openapi.json").json()["paths"]
    for path in ("/api/health", "/api/search", "/api/search/batch", "/api/facets", "/api/documents",
                 "/api/documents/{doc_id}", "/api/documents/{doc_id}/similar", "/api/sync"):  # fmt: skip
        assert path in paths, path


@pytest.mark.parametrize(
    "error",
    [
        "BackendError",
        "IndexCorruptError",
        "IndexChangedError",
        "IndexNotFoundError",
        "IndexLockedError",
        "IndexWriteError",
    ],
)
def test_an_index_that_cannot_be_read_now_is_503_with_its_line(seeds_index, monkeypatch, error):
    from fastapi.testclient import TestClient

    import semsearch.errors
    from semsearch.serve.app import create_app

    def unreadable(self):
        raise getattr(semsearch.errors, error)("the Milvus server at 127.0.0.1:1 cannot be reached; start it")

    client = TestClient(create_app(seeds_index), raise_server_exceptions=False)
    monkeypatch.setattr(type(seeds_index), "info", unreadable)
    answer = client.get("/api/info")
    assert answer.status_code == 503
    assert answer.json() == {"error": "the Milvus server at 127.0.0.1:1 cannot be reached; start it"}


def test_semsearch_and_its_help_do_not_import_the_server_stack():
    import subprocess
    import sys

    from tests.support.paths import ROOT

    code = (
        "import sys, semsearch; from semsearch.cli.parser import build_parser; "
        "build_parser().parse_args(['serve', '-i', 'x']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'pydantic')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_server_moves_on_to_what_another_process_saved(index_copy, e5):
    """A change saved by another writer (the command, a script) is served within a few seconds, not never."""
    import time

    from fastapi.testclient import TestClient

    from semsearch import Document, Index
    from semsearch.serve.app import create_app

    served = Index.load(index_copy, model=e5)
    with TestClient(create_app(served, ServerSettings(refresh_every=0.2))) as client:
        before = client.get("/api/health").json()
        other = Index.load(index_copy, model=e5)  # another writer of the same folder
        other.add([Document("elsewhere", "另一个进程写入的新闻：蓝鲸观测站建成，科研人员将记录鲸类迁徙。")])
        other.save()
        deadline = time.monotonic() + 60
        while client.get("/api/documents/elsewhere").status_code == 404:
            assert time.monotonic() < deadline, "the server never saw the other writer's story"
            time.sleep(0.2)
        after = client.get("/api/health").json()
        assert after["documents"] == before["documents"] + 1 and after["generation"] > before["generation"]


def test_the_page_is_served_at_the_root_and_under_static(seeds_index, tmp_path):
    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    (tmp_path / "index.html").write_text("<!doctype html><p>the page</p>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log('hi');", encoding="utf-8")
    client = TestClient(create_app(seeds_index, static=tmp_path), raise_server_exceptions=False)
    root = client.get("/")
    assert (
        root.status_code == 200
        and "the page" in root.text
        and root.headers["content-type"].startswith("text/html")
    )
    assert client.get("/static/app.js").text == "console.log('hi');"
    assert client.get("/app.js").status_code == 200
    assert client.get("/api/health").json()["status"] == "ok"  # the API is not hidden by the page
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "no such path: /api/nothing"}
    assert client.get("/static/../../pyproject.toml").status_code == 404
    posted = client.post("/api/nothing", json={})
    assert posted.status_code in (404, 405) and list(posted.json()) == ["error"]


def test_an_index_not_open_yet_is_503_until_a_refresh_opens_it(saved_seeds_index, tmp_path):
    """A server started while its index could not be opened (its engine down) answers 503, then serves it."""
    import shutil
    import time

    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app
    from semsearch.storage.locations import DirectoryLocation

    later = tmp_path / "later"
    settings = ServerSettings(refresh_every=0.2)
    app = create_app(None, settings, location=DirectoryLocation(later), problem="the engine is down")
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/api/health", "/api/search?q=x", "/api/documents"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert answer.json()["error"].startswith(f"the index at {later} cannot be opened now (")
        assert client.post("/api/documents", json={"documents": []}).status_code == 403  # the rules first
        shutil.copytree(saved_seeds_index, later)
        deadline = time.monotonic() + 120
        while client.get("/api/health").status_code != 200:
            assert time.monotonic() < deadline, client.get("/api/health").text
            time.sleep(0.2)
        assert client.get("/api/search", params={"q": "乡村振兴", "k": 2}).json()["results"]


def test_a_story_removed_between_a_search_and_its_context_is_searched_again(seeds_index, monkeypatch):
    from fastapi.testclient import TestClient

    from semsearch.errors import UnknownDocumentError
    from semsearch.serve.app import create_app

    real, calls = type(seeds_index).around, []

    def racing(self, doc_id, *args):
        calls.append(doc_id)
        if len(calls) == 1:  # a writer removed it just after the search
            raise UnknownDocumentError(
                f"document {doc_id!r} of this hit is no longer in the index; search again"
            )
        return real(self, doc_id, *args)

    monkeypatch.setattr(type(seeds_index), "around", racing)
    client = TestClient(create_app(seeds_index), raise_server_exceptions=False)
    answer = client.post("/api/search", json={"query": "乡村振兴", "k": 2, "context": 1})
    assert answer.status_code == 200, answer.text
    assert all(hit["context"] for hit in answer.json()["results"])
    assert len(calls) == 3  # the first hit failed once, then both hits of the second search


def test_opening_later_uses_the_threads_and_device_given_and_keeps_the_problem(tmp_path, monkeypatch):
    from semsearch.errors import BackendError
    from semsearch.index import Index
    from semsearch.serve.app import Served
    from semsearch.storage.locations import DirectoryLocation

    asked = []

    def load(location, **options):
        asked.append(options)
        raise BackendError("the Milvus server at 127.0.0.1:1 is still down; start it")

    monkeypatch.setattr(Index, "load", staticmethod(load))
    served = Served(
        None, ServerSettings(), DirectoryLocation(tmp_path), "was down", {"threads": 1, "device": "cpu"}
    )
    served.refresh()
    assert asked == [{"threads": 1, "device": "cpu"}]
    assert (
        served.opened is None and served.problem == "the Milvus server at 127.0.0.1:1 is still down; start it"
    )


def test_ids_holding_slashes_are_served_on_every_document_route():
    """Files in folders are named by their relative path ("feeds/2024/a"): every /documents/ID route takes them."""
    from fastapi.testclient import TestClient

    from semsearch import Document, Index
    from semsearch.serve.app import create_app
    from tests.support.keyword_encoder import KeywordEncoder

    index = Index.build(
        [
            Document("feeds/2024/a", "apple river harbour.\nvalley mountain apple river."),
            Document("feeds/2024/b", "apple river harbour valley, and a second apple story."),
        ],
        model=KeywordEncoder(),
        cache=False,
    )
    with TestClient(create_app(index), raise_server_exceptions=False) as client:
        assert client.get("/api/documents/feeds/2024/a").json()["doc_id"] == "feeds/2024/a"
        for encoded in ("feeds/2024/a", "feeds%2F2024%2Fa"):  # the page sends encodeURIComponent(id)
            similar = client.get(f"/api/documents/{encoded}/similar")
            assert similar.status_code == 200, similar.text
            assert [s["doc_id"] for s in similar.json()["results"]] == ["feeds/2024/b"]
            context = client.get(f"/api/documents/{encoded}/context?start=0&end=5")
            assert context.status_code == 200 and context.json()["context"][0]["in_hit"], context.text
        missing = client.get("/api/documents/feeds/2024/zzz")
        assert missing.status_code == 404 and "'feeds/2024/zzz'" in missing.json()["error"]
