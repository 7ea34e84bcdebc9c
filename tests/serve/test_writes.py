"""Writes through a real ``semsearch serve --allow-writes`` with a token: auth, consistency, concurrency.

Each write is saved before it answers: after POST answers, a search finds the story; after DELETE
answers, no search returns it. Slow tier (a server process with the model).
"""

from __future__ import annotations

import threading

import httpx
import pytest

from semsearch import Index
from tests.serve.conftest import TOKEN

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WORD = "蓝鲸观测站"  # in no seed


def story(doc_id: str, extra: str = "") -> dict:
    return {
        "doc_id": doc_id,
        "title": f"{WORD}建成",
        "text": f"沿海新建的{WORD}今天投入使用，科研人员将长期记录鲸类的迁徙路线。{extra}\n观测数据将向公众开放。",
        "metadata": {"date": "2024-05-01", "source": "测试社"},
    }


def found(base: str, doc_id: str, query: str = WORD) -> bool:
    for mode in ("lexical", "hybrid"):
        answer = httpx.post(f"{base}/api/search", json={"query": query, "k": 20, "mode": mode}, timeout=120)
        assert answer.status_code == 200, answer.text
        if doc_id in {h["doc_id"] for h in answer.json()["results"]}:
            return True
    return False


def documents(base: str) -> list[dict]:
    return httpx.get(f"{base}/api/documents", params={"limit": 1000}, timeout=60).json()["documents"]


def test_unauthorised_writes_get_401_and_change_nothing(writable_server_url):
    base = writable_server_url
    before = documents(base)
    victim = before[0]["doc_id"]
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
    ):
        answers = [
            httpx.post(f"{base}/api/documents", json={"documents": [story("intruder")]}, headers=headers),
            httpx.put(
                f"{base}/api/documents/{victim}",
                json={"text": "被改写的正文，讲了别的事情。"},
                headers=headers,
            ),
            httpx.delete(f"{base}/api/documents/{victim}", headers=headers),
            httpx.post(f"{base}/api/sync", json={"sources": ["seeds"]}, headers=headers),
        ]
        assert [a.status_code for a in answers] == [401] * 4, [a.text for a in answers]
    assert documents(base) == before
    assert not found(base, "intruder")


def test_add_is_found_update_is_seen_delete_is_gone(writable_server_url, tmp_path):
    base = writable_server_url
    added = httpx.post(
        f"{base}/api/documents", json={"documents": [story("whale-1")]}, headers=AUTH, timeout=300
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == ["whale-1"] and added.json()["chunks_added"] >= 1
    assert found(base, "whale-1")  # right after the answer
    assert httpx.get(f"{base}/api/documents/whale-1").json()["metadata"]["source"] == "测试社"

    changed = story("whale-1", "观测站还新增了海豚声呐阵列。")
    updated = httpx.put(f"{base}/api/documents/whale-1", json={k: v for k, v in changed.items() if k != "doc_id"},
                        headers=AUTH, timeout=300)  # fmt: skip
    assert updated.status_code == 200 and updated.json()["updated"] == ["whale-1"]
    assert found(base, "whale-1", "海豚声呐阵列")

    removed = httpx.delete(f"{base}/api/documents/whale-1", headers=AUTH, timeout=300)
    assert removed.status_code == 200 and removed.json()["removed"] == ["whale-1"]
    assert not found(base, "whale-1")
    assert httpx.get(f"{base}/api/documents/whale-1").status_code == 404


def test_writes_to_unknown_documents_are_404(writable_server_url):
    base = writable_server_url
    assert httpx.delete(f"{base}/api/documents/nobody", headers=AUTH).status_code == 404
    answer = httpx.put(
        f"{base}/api/documents/nobody", json={"text": "一篇不存在的新闻，讲了很多事情。"}, headers=AUTH
    )
    assert answer.status_code == 404 and "nobody" in answer.json()["error"]
    bad = httpx.post(f"{base}/api/documents", json={"documents": [{"doc_id": "", "text": "x"}]}, headers=AUTH)
    assert bad.status_code == 400 and list(bad.json()) == ["error"]


def test_a_write_is_saved_before_it_answers(writable_server_url):
    base = writable_server_url
    info = httpx.get(f"{base}/api/info").json()
    answer = httpx.post(
        f"{base}/api/documents", json={"documents": [story("whale-saved")]}, headers=AUTH, timeout=300
    )
    assert answer.status_code == 200
    try:
        on_disk = Index.load(info["path"], verify=False)  # another process's view: what was saved
        assert "whale-saved" in on_disk.doc_ids()
        assert httpx.get(f"{base}/api/health").json()["generation"] == on_disk.manifest.generation
    finally:
        assert httpx.delete(f"{base}/api/documents/whale-saved", headers=AUTH, timeout=300).status_code == 200
    assert "whale-saved" not in Index.load(info["path"], verify=False).doc_ids()


def test_sync_from_a_folder(writable_server_url, tmp_path):
    base = writable_server_url
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "whale-sync.txt").write_text(f"{WORD}的第二期工程\n\n{story('x')['text']}", encoding="utf-8")
    waiting = httpx.post(
        f"{base}/api/sync", json={"sources": [str(folder)]}, headers=AUTH, timeout=300
    ).json()
    assert waiting["added"] == [] and waiting["waiting"]  # written moments ago: it may still be being written
    answer = httpx.post(
        f"{base}/api/sync", json={"sources": [str(folder)], "settle": 0}, headers=AUTH, timeout=300
    )
    assert answer.status_code == 200, answer.text
    (doc_id,) = answer.json()["added"]
    assert found(base, doc_id)
    (folder / "whale-sync.txt").unlink()
    answer = httpx.post(
        f"{base}/api/sync", json={"sources": [str(folder)], "settle": 0}, headers=AUTH, timeout=300
    )
    assert answer.json()["removed"] == [doc_id] and not found(base, doc_id)
    missing = httpx.post(f"{base}/api/sync", json={"sources": [str(tmp_path / "gone")]}, headers=AUTH)
    assert missing.status_code == 400 and "gone" in missing.json()["error"]


def test_searches_during_writes_all_answer_and_see_whole_changes(writable_server_url):
    base = writable_server_url
    stop = threading.Event()
    statuses: list[int] = []
    torn: list[str] = []

    def reader() -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                answer = client.post(f"{base}/api/search", json={"query": WORD, "k": 20, "mode": "lexical"})
                statuses.append(answer.status_code)
                if answer.status_code == 200:  # a story is there with all its passages, or not at all
                    ids = [h["doc_id"] for h in answer.json()["results"]]
                    if "whale-c" in ids and ids.count("whale-c") != chunks:
                        torn.append(str(ids))

    two = story("whale-c")
    two["text"] = (
        f"{WORD}第一段：沿海新建的观测站今天投入使用，科研人员将长期记录鲸类的迁徙路线和季节变化。\n"
        f"{WORD}第二段：观测数据将向公众开放共享，中小学生也可以预约参观，了解海洋生物保护的知识。"
    )
    first = httpx.post(f"{base}/api/documents", json={"documents": [two]}, headers=AUTH, timeout=300).json()
    chunks = first["chunks_added"]
    assert chunks == 2  # two passages: a reader must see both or neither
    assert httpx.delete(f"{base}/api/documents/whale-c", headers=AUTH, timeout=300).status_code == 200
    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(3):
            assert (
                httpx.post(
                    f"{base}/api/documents", json={"documents": [two]}, headers=AUTH, timeout=300
                ).status_code
                == 200
            )
            assert found(base, "whale-c")
            assert httpx.delete(f"{base}/api/documents/whale-c", headers=AUTH, timeout=300).status_code == 200
            assert not found(base, "whale-c")
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert statuses and set(statuses) == {200}
    assert torn == []
