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


def test_searches_during_changes_saves_and_merges_always_see_a_whole_generation(tmp_path, monkeypatch):
    """Format 2: threads search while one writer adds and removes pairs of stories, saving every time.

    Small merge tiers make almost every save merge segments (rewriting the rows searches are reading)
    and purge what was removed two saves before. A search must always find the fixed stories, ranked
    and scored as at the start, and the changing ones in whole pairs (a change adds or removes both).
    """
    import semsearch.storage.local.segmented as segmented
    from tests.support.keyword_encoder import KeywordEncoder

    monkeypatch.setattr(segmented, "TIER_BASE", 1)
    monkeypatch.setattr(segmented, "MERGE_FACTOR", 2)
    encoder = KeywordEncoder()
    fixed = [Document(doc_id=f"fixed{i}", text=f"olive harbour {i}. " + "olive " * i) for i in range(1, 6)]
    path = tmp_path / "idx"
    # no near-duplicate folding: a pair's two stories differ by one letter
    semsearch.Index.build(fixed, model=encoder, cache=False, dedup=False).save(path)
    index = semsearch.Index.load(path, model=encoder)

    def answer(mode: str) -> list:
        """Dense: ids and scores; lexical: ids (BM25's statistics move with the corpus, its order here not)."""
        return [
            (h.chunk_id, round(h.score, 5) if mode == "dense" else None)
            for h in index.search("olive", k=5, mode=mode)
        ]

    expected = {mode: answer(mode) for mode in ("dense", "lexical")}
    stop = threading.Event()
    errors: list[BaseException] = []
    searches = [0]

    def searcher() -> None:
        while not stop.is_set():
            try:
                for mode in ("dense", "lexical"):
                    found = answer(mode)
                    assert found == expected[mode], (mode, found)
                    pairs = [
                        h.doc_id for h in index.search("melon", k=50, mode=mode) if h.doc_id.startswith("m")
                    ]
                    assert len(pairs) % 2 == 0, pairs
                searches[0] += 1
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)
                return

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for step in range(30):
            index.add(
                [
                    Document(doc_id=f"m{step}{side}", text=f"melon field {step} harvest {side}.")
                    for side in "ab"
                ]
            )
            if step % 3 == 2:
                index.remove([f"m{step - 1}a", f"m{step - 1}b"])
            index.save()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert searches[0] > 10
    assert semsearch.Index.load(path, model=encoder).verify() == []
