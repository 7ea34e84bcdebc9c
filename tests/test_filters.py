import pytest

from semsearch import InputError
from semsearch.filters import AllOf, AnyOf, Condition, keys_of, matching, parse_where

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
