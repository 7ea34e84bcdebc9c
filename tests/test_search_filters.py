"""Filtered search: metadata on hits, and filters applied before the top-k cut on both sides."""

import json

import pytest

from semsearch import Document, InputError
from tests.conftest import build_on

TOPICS = [
    "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解",
    "社区网格员上门走访独居老人，帮助解决生活难题",
    "网格化管理让基层治理更加精细，群众诉求有人办",
]
OTHER = "乡村振兴示范村建设带动农民增收，村集体经济年收入突破百万元"


def _docs():
    docs = []
    for i in range(30):  # strong matches for 网格员, from 新华社, dated 2024-01
        docs.append(
            Document(
                f"x{i:02d}",
                f"第{i}篇报道。{TOPICS[i % 3]}，第{i}个社区经验。",
                title=f"基层治理{i}",
                metadata={"source": "新华社", "date": f"2024-01-{i % 28 + 1:02d}", "page": i},
            )
        )
    for i in range(10):  # weak matches, from 人民日报, dated 2024-06
        docs.append(
            Document(
                f"r{i:02d}",
                f"第{i}篇报道。{OTHER}，第{i}个村庄，网格员也参与了。",
                title=f"乡村振兴{i}",
                metadata={"source": "人民日报", "pub_date": f"2024/6/{i + 1}"},
            )
        )
    return docs


@pytest.fixture(scope="module")
def news_index(backend, new_location):
    return build_on(backend, new_location, _docs())


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_filter_is_applied_before_the_cut_so_k_hits_come_back(news_index, mode):
    unfiltered = news_index.search("网格员", k=5, mode=mode)
    assert all(h.metadata["source"] == "新华社" for h in unfiltered)  # the filtered ones rank low
    hits = news_index.search("网格员", k=5, mode=mode, where={"source": "人民日报"})
    assert len(hits) == 5
    assert all(h.doc_id.startswith("r") and h.metadata["source"] == "人民日报" for h in hits)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]


def test_date_range_returns_only_hits_in_range_and_k_of_them(news_index):
    hits = news_index.search("网格员", k=4, where={"date": {"$gte": "2024-06-03", "$lte": "2024-06-08"}})
    assert len(hits) == 4
    assert all("2024-06-03" <= h.metadata["date"] <= "2024-06-08" for h in hits)
    assert hits[0].metadata["pub_date"].startswith("2024/6/")  # the original kept; date normalised


def test_hits_carry_metadata_in_python_and_json(news_index):
    [hit] = news_index.search("网格员", k=1, where={"doc_id": "x07"})
    assert hit.doc_id == "x07" and hit.metadata == {"source": "新华社", "date": "2024-01-08", "page": 7}
    data = hit.to_dict()
    assert data["metadata"] == {"source": "新华社", "date": "2024-01-08", "page": 7}
    assert data["duplicates"] == []
    json.dumps(data, ensure_ascii=False)


def test_or_in_and_numbers(news_index):
    hits = news_index.search(
        "网格员", k=50, mode="dense", where={"$or": [{"page": {"$in": [1, 2]}}, {"title": "乡村振兴3"}]}
    )
    assert sorted(h.doc_id for h in hits) == ["r03", "x01", "x02"]
    assert news_index.search("网格员", k=5, where={"source": "央视"}) == []
    batch = news_index.search_batch(["网格员", "乡村振兴"], k=3, where={"source": {"$ne": "新华社"}})
    assert [len(hits) for hits in batch] == [3, 3]
    assert all(h.metadata["source"] == "人民日报" for hits in batch for h in hits)


def test_malformed_filter_is_an_input_error(news_index):
    with pytest.raises(InputError, match=r"unknown operator '\$like'"):
        news_index.search("网格员", where={"source": {"$like": "新%"}})


def test_a_change_is_seen_by_the_next_filtered_search(backend, new_location):
    index = build_on(backend, new_location, _docs())  # a private copy: this test changes it
    assert index.search("网格员", k=3, where={"source": "央视"}) == []
    index.add(
        [Document("c1", "央视记者跟随网格员走访社区，记录基层治理的变化。", metadata={"source": "央视"})]
    )
    assert [h.doc_id for h in index.search("网格员", k=3, where={"source": "央视"})] == ["c1"]
    index.remove(["c1"])
    assert index.search("网格员", k=3, where={"source": "央视"}) == []
