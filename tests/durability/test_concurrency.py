"""Threads at once: many searching one index agree with one; a change while others search; two saving."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import semsearch
from semsearch import Document
from tests.support.corpora import GRID_PLATFORM as NEW
from tests.support.hostile import SHORT


def test_many_threads_searching_one_index_agree_with_one_thread(seeds_index):
    queries = [
        "乡村振兴",
        "网格员",
        "grid management",
        "道德银行",
        "袁崇焕故里",
        "产业扶贫",
        "台风",
        "党建引领",
    ]
    modes = ["hybrid", "dense", "lexical"]
    expected = {
        (q, m): [h.chunk_id for h in seeds_index.search(q, k=5, mode=m)] for q in queries for m in modes
    }
    jobs = [(q, m) for q in queries for m in modes] * 4
    random.Random(7).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda job: [h.chunk_id for h in seeds_index.search(job[0], k=5, mode=job[1])], jobs)
        )
    assert all(result == expected[job] for job, result in zip(jobs, results))


def test_changing_while_other_threads_search_is_serialised(living_index):
    """Writers take the index's lock; searches running meanwhile see the old or the new state."""
    stop = threading.Event()
    errors = []

    def searcher():
        while not stop.is_set():
            try:
                hits = living_index.search("智慧网格平台", k=3, mode="lexical")
                assert all(h.text for h in hits)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            living_index.add([NEW])
            living_index.remove([NEW.doc_id])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []


def test_two_threads_saving_one_index_both_succeed(index_copy):
    index = semsearch.Index.load(index_copy)
    index.add([Document(doc_id="new", text=SHORT)])
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def save() -> None:
        start.wait()
        try:
            index.save()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert "new" in semsearch.Index.load(index_copy).doc_ids()
