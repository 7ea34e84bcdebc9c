"""Filters on metadata: parsed once, matched as Mongo and Chroma users expect, and applied before the top-k cut.

The first part checks the filter language on records; the second, filtered search through an index on
every backend (metadata on hits, k hits whatever the filter, changes seen at once).
"""

import json

import pytest

from semsearch import Document, InputError
from semsearch.filters import AllOf, AnyOf, Condition, keys_of, matching, parse_where
from tests.support.backends import build_on

XINHUA = {
    "doc_id": "a",
    "source": "新华社",
    "title": "嫦娥六号",
    "date": "2024-03-08",
    "page": 3,
    "tags": ["航天", "月球"],
}


PEOPLE = {"doc_id": "b", "source": "人民日报", "title": "乡村振兴", "date": "2024-07-01", "page": 12}


UNDATED = {"doc_id": "c", "source": "央视", "title": "快讯"}


RECORDS = [XINHUA, PEOPLE, UNDATED]


def ids(where):
    return [RECORDS[i]["doc_id"] for i in matching(RECORDS, parse_where(where))]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"source": "新华社"}, ["a"]),
        ({"source": {"$eq": "新华社"}}, ["a"]),
        ({"source": {"$in": ["新华社", "人民日报"]}}, ["a", "b"]),
        ({"source": {"$nin": ["新华社"]}}, ["b", "c"]),
        ({"source": {"$ne": "新华社"}}, ["b", "c"]),
        ({"date": {"$gte": "2024-01-01", "$lt": "2024-07-01"}}, ["a"]),  # the example
        ({"date": {"$lte": "2024-07-01"}}, ["a", "b"]),
        ({"date": {"$gt": "2024/3/8"}}, ["b"]),  # a date written another way is read as a date
        ({"date": {"$ne": "2024-03-08"}}, ["b", "c"]),  # a missing key is "not equal"
        ({"page": {"$gt": 5}}, ["b"]),
        ({"page": {"$gt": "5"}}, []),  # numbers compare with numbers only
        ({"tags": "月球"}, ["a"]),  # a list value matches when an element does
        ({"doc_id": {"$in": ["a", "c"]}}, ["a", "c"]),
        ({"title": "乡村振兴"}, ["b"]),
        ({"$or": [{"source": "央视"}, {"page": {"$gte": 10}}]}, ["b", "c"]),
        ({"$and": [{"source": {"$ne": "央视"}}, {"date": {"$gte": "2024-06-01"}}]}, ["b"]),
        ({"$or": [{"$and": [{"source": "新华社"}, {"page": 3}]}, {"doc_id": "c"}]}, ["a", "c"]),
        ({"missing": None}, ["a", "b", "c"]),
        ({"source": "新华社", "page": 12}, []),  # several keys: all must hold
        ({}, ["a", "b", "c"]),
        (None, ["a", "b", "c"]),
    ],
)
def test_filters_select_what_mongo_and_chroma_users_expect(where, expected):
    assert ids(where) == expected


def test_parsed_filter_is_typed_and_reusable():
    where = parse_where({"source": {"$in": ["新华社"]}, "$or": [{"page": 3}, {"page": 4}]})
    assert where == AllOf(
        (
            Condition("source", "$in", ("新华社",)),
            AnyOf((Condition("page", "$eq", 3), Condition("page", "$eq", 4))),
        )
    )
    assert parse_where(where) is where
    assert keys_of(where) == {"source", "page"}


def test_true_is_not_one():
    assert matching([{"flag": True}, {"flag": 1}], parse_where({"flag": True})) == [0]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"source": {"$regex": "新"}}, r"where\.source has an unknown operator '\$regex'"),
        ({"$not": {"source": "x"}}, r"unknown operator '\$not'"),
        ({"source": {"$in": "新华社"}}, r"where\.source\.\$in takes a list of values"),
        ({"$and": []}, r"where\.\$and takes a non-empty list"),
        ({"$or": {"a": 1}}, r"where\.\$or takes a non-empty list"),
        ({"$or": [{"a": 1}, "b"]}, r"where\.\$or\[1\] must be a non-empty mapping"),
        ({"tags": ["a", "b"]}, r"where\.tags is a list .* or an operator mapping"),
        ({"source": {}}, r"where\.source is an empty mapping"),
        ({"date": {"$gte": None}}, r"compares with a number or a string"),
        ({"page": {"$in": [{"x": 1}]}}, r"where\.page\.\$in is a dict"),
        ({"page": float("nan")}, "NaN"),
        ("source=新华社", "where must be a mapping"),
        ({5: "x"}, "has a key 5"),
    ],
)
def test_malformed_filters_are_input_errors_naming_the_part(where, message):
    with pytest.raises(InputError, match=message):
        parse_where(where)


# ---------------------------------------------------------------------- filtered search


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


def test_a_filter_key_no_document_has_is_an_error_listing_the_keys(news_index):
    # Issue 25: `--where sorce=新华社` (a typo) silently gave no hits.
    with pytest.raises(
        InputError,
        match=r"no document has the key 'sorce'; filter on one of: date, doc_id, origin, page, pub_date, source, title",
    ):
        news_index.search("网格员", where={"sorce": "新华社"})
    with pytest.raises(InputError, match="'sorce'"):
        news_index.documents(where={"$or": [{"source": "新华社"}, {"sorce": "新华社"}]})
    assert news_index.search("网格员", k=3, where={"source": "央视"}) == []  # a known key, no match: fine


def test_origin_is_the_file_and_source_the_outlet(backend, new_location, tmp_path):
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"id": "w1", "text": "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。", "source": "新华社"},
        {"id": "w2", "text": "乡村振兴示范村建设带动了农民增收，村集体经济年收入突破百万元。"},
    ]
    feed.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    index = build_on(backend, new_location, [feed])
    [hit] = index.search("网格员", k=1, where={"source": "新华社"})
    assert (hit.doc_id, hit.source, hit.origin) == ("w1", "新华社", f"{feed}:1")
    assert hit.to_dict()["origin"] == f"{feed}:1" and hit.to_dict()["source"] == "新华社"
    [other] = index.search("乡村振兴", k=1, where={"origin": f"{feed}:2"})
    assert (other.doc_id, other.source) == ("w2", "")  # no outlet: never the file's name
    assert [d["doc_id"] for d in index.documents(where={"source": "新华社"})] == ["w1"]


# ---------------------------------------------------------------------- limits and dates (issue 24)


def _nested(depth):
    where = {"page": 1}
    for _ in range(depth):
        where = {"$and": [where]}
    return where


def _cli_where(json_text):
    from argparse import Namespace

    from semsearch.cli.options import where

    return where(Namespace(where_json=json_text, where=None, since=None, until=None))


def test_a_filter_nested_too_deep_is_one_clear_error_not_a_recursion_error():
    """Issue 24, item 13: 900 levels raised RecursionError in Python and a traceback from --where-json."""
    from semsearch.filters import MAX_DEPTH

    assert parse_where(_nested(MAX_DEPTH - 1)).matches({"page": 1})
    for depth in (MAX_DEPTH + 1, 900, 5000):
        with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} levels"):
            parse_where(_nested(depth))
    for depth in (900, 100_000):
        text = '{"$and": [' * depth + '{"page": 1}' + "]}" * depth
        with pytest.raises(InputError, match="--where-json"):
            _cli_where(text)


def test_a_filter_too_large_or_a_number_too_long_is_one_clear_error():
    from semsearch.filters import MAX_CONDITIONS

    with pytest.raises(InputError, match=f"more than {MAX_CONDITIONS} values"):
        parse_where({"page": {"$in": list(range(MAX_CONDITIONS + 1))}})
    with pytest.raises(InputError, match=r"where\.page is an integer outside the 64-bit range"):
        parse_where({"page": 10**5000})
    with pytest.raises(InputError, match="--where-json has a number"):
        _cli_where('{"page": ' + "9" * 5000 + "}")
    assert _cli_where('{"page": 9223372036854775807}') == {"page": 9223372036854775807}


@pytest.mark.parametrize("operator", ["$gt", "$gte", "$lt", "$lte"])
def test_a_date_compared_with_what_is_no_date_is_refused_as_since_is(operator):
    """Issue 24, item 16: {"date": {"$gte": "yesterday"}} matched nothing, silently; --since refuses it."""
    with pytest.raises(InputError, match=r"where\.date\.\$g?l?te?.*'yesterday' is not a date"):
        parse_where({"date": {operator: "yesterday"}})
    with pytest.raises(InputError, match="is not a date"):
        parse_where({"$or": [{"page": 1}, {"date": {operator: "June"}}]})
    assert parse_where({"date": {operator: "2024/6/5"}}) == Condition("date", operator, "2024-06-05")
