"""A filtered BM25 search split into rare and common terms (MaxScore) finds exactly what the whole disjunction finds."""

import random

import numpy as np
import pytest

from semsearch.storage.local import tantivy_bm25
from semsearch.storage.local.tantivy_bm25 import LexicalFilter, TantivyBM25
from semsearch.text.analyzer import Analyzer

COMMON = [f"c{i}" for i in range(6)]  # each in a third to two thirds of the chunks
RARE = [f"r{i}" for i in range(400)]  # each in a few chunks


def corpus(n: int = 3000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = [c for i, c in enumerate(COMMON) if rng.random() < 0.33 + 0.06 * i]
        words += [w for w in COMMON if rng.random() < 0.2]  # repeats: term frequencies above one
        words += rng.sample(RARE, rng.randint(1, 4))
        words += ["filler"] * rng.randint(0, 30)  # filler of varied length, so that scores rarely tie
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts


@pytest.fixture(autouse=True)
def split_small_indexes(monkeypatch):
    monkeypatch.setattr(tantivy_bm25, "SPLIT_MIN_CHUNKS", 0)  # these indexes are small


@pytest.fixture(scope="module")
def bm25(tmp_path_factory):
    path = tmp_path_factory.mktemp("split") / "bm25"
    index = TantivyBM25.create(path, Analyzer())
    texts = corpus()
    index.add(range(len(texts)), range(len(texts)), texts, [i % 365 for i in range(len(texts))], generation=1)
    index.commit()
    yield index
    index.close()


def whole(bm25: TantivyBM25, query: str, depth: int, where: LexicalFilter, monkeypatch) -> list:
    """The search with no split: the whole disjunction."""
    with monkeypatch.context() as patch:
        patch.setattr(tantivy_bm25, "SPLIT_MIN_CHUNKS", 10**9)
        return bm25.search(query, depth, where)


def assert_same(found: list, expected: list) -> None:
    assert [row for row, _, _ in found] == [row for row, _, _ in expected]
    assert np.allclose([s for *_, s in found], [s for *_, s in expected], rtol=1e-5)


def queries(count: int = 60, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.sample(COMMON, rng.randint(1, 4)) + rng.sample(RARE, rng.randint(1, 3)))
        for _ in range(count)
    ]


FILTERS = {
    "none": LexicalFilter(),
    "days": LexicalFilter(days=(30, 120)),
    "excluded": LexicalFilter(excluded=np.arange(0, 3000, 3)),
    "rows": LexicalFilter(rows=np.arange(0, 3000, 2)),
    "rows after the search": LexicalFilter(rows=np.arange(0, 3000, 7)),
    "generation": LexicalFilter(max_gen=1, days=(0, 200)),
}


@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("depth", [1, 10, 50])
def test_the_split_search_finds_what_the_whole_disjunction_finds(bm25, monkeypatch, name, depth):
    if name == "rows after the search":
        monkeypatch.setattr(tantivy_bm25, "TERM_SET_LIMIT", 100)  # applied after the search, deepening it
    where = FILTERS[name]
    for query in queries():
        assert_same(bm25.search(query, depth, where), whole(bm25, query, depth, where, monkeypatch))


def test_most_filtered_queries_are_answered_by_a_split(bm25):
    reader = bm25._current()
    clauses, _ = bm25._clauses(LexicalFilter(days=(0, 240)))
    answered = 0
    for query in queries():
        split = bm25._split(reader, bm25.query_terms(query))
        assert split is not None and set(split.common) <= set(COMMON) and set(split.rare) <= set(RARE)
        answered += bm25._split_best(reader.searcher, split, clauses, 10) is not None
    assert answered >= len(queries()) * 0.8


def test_a_chunk_of_common_terms_only_that_outscores_the_rest_is_found(tmp_path, monkeypatch):
    """The split's first search cannot see it; its bound sends the search to the whole disjunction."""
    bm25 = TantivyBM25.create(tmp_path / "bm25", Analyzer())
    texts = [" ".join(["c0", "c1"] + ["filler"] * 40) for _ in range(20)] + [" ".join(["filler"] * 40)] * 180
    texts += [" ".join(["r1"] + ["filler"] * 60)] * 2  # the two rare-term chunks: long, so they score little
    texts += ["c0 c0 c0 c1 c1 c1"]  # common terms only, short and repeated: the best chunk
    bm25.add(range(len(texts)), range(len(texts)), texts, [0] * len(texts), generation=1)
    bm25.commit()
    where = LexicalFilter(days=(0, 0))
    assert bm25._split(bm25._current(), ["c0", "c1", "r1"])  # the query is split
    found = bm25.search("c0 c1 r1", 2, where)
    assert found[0][0] == len(texts) - 1
    assert_same(found, whole(bm25, "c0 c1 r1", 2, where, monkeypatch))
    bm25.close()


def test_best_scores_are_read_again_after_a_commit(tmp_path, monkeypatch):
    """A commit can raise a common term's best score; a bound from before it would hide the new chunk."""
    bm25 = TantivyBM25.create(tmp_path / "bm25", Analyzer())
    texts = [" ".join(["c0"] + ["filler"] * 50)] * 40 + [" ".join(["filler"] * 50)] * 355
    texts += [" ".join(["r1"] + ["filler"] * 60)] * 5  # c0 is common (10 %), r1 rare (1.25 %)
    bm25.add(range(len(texts)), range(len(texts)), texts, [0] * len(texts), generation=1)
    bm25.commit()
    where = LexicalFilter(days=(0, 0))
    reader = bm25._current()
    split = bm25._split(reader, ["c0", "r1"])
    clauses, _ = bm25._clauses(where)
    assert (
        split is not None and bm25._split_best(reader.searcher, split, clauses, 3) is not None
    )  # r1's chunks are the best
    bm25.add([len(texts)], [len(texts)], ["c0 c0 c0 c0"], [0], generation=2)  # c0 alone, short, repeated
    bm25.commit()
    found = bm25.search("c0 r1", 3, where)
    assert found[0][0] == len(texts)  # the new chunk outscores r1's, which c0's old best score could not
    assert_same(found, whole(bm25, "c0 r1", 3, where, monkeypatch))
    bm25.close()
