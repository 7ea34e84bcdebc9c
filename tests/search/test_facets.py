"""Coverage counts (issue 25): ``index.facets`` counts stories per month, day, year or metadata value."""

import pytest

from semsearch import Document, InputError
from tests.support.backends import build_on


def _docs():
    docs = []
    for i in range(9):  # stories about 网格员: three in January, none in February, ...
        month = (1, 1, 1, 3, 3, 4, 6, 6, 6)[i]
        docs.append(
            Document(
                f"g{i}",
                f"第{i}篇：网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区经验在全市推广。",
                metadata={
                    "date": f"2024-{month:02d}-{i + 1:02d}",
                    "source": "人民日报" if i < 3 else "新华社",
                },
            )
        )
    docs.append(
        Document(
            "rice",
            "今年早稻收割基本结束，全省粮食产量稳中有增，农民增收。",
            metadata={"date": "2023-12-30", "source": "新华社"},
        )
    )
    docs.append(
        Document(
            "nodate",
            "网格员上门服务，帮助老人办理医保和社保业务，群众点赞。",
            metadata={"source": "央视", "author": ["张三", "李四"]},
        )
    )
    return docs


@pytest.fixture(scope="module")
def covered(backend, new_location):
    return build_on(backend, new_location, _docs())


def test_every_story_per_month_with_empty_months_and_undated_ones(covered):
    facets = covered.facets(by="date:month")
    assert [(c.value, c.count) for c in facets.counts] == [
        ("2023-12", 1), ("2024-01", 3), ("2024-02", 0), ("2024-03", 2), ("2024-04", 1), ("2024-05", 0), ("2024-06", 3),
    ]  # fmt: skip
    assert (facets.stories, facets.missing, facets.query) == (11, 1, None)
    assert [(c.value, c.count) for c in covered.facets(by="date:year").counts] == [("2023", 1), ("2024", 9)]
    days = covered.facets(by="date:day", where={"date": {"$gte": "2024-06-01"}})
    assert [c.value for c in days.counts if c.count] == ["2024-06-07", "2024-06-08", "2024-06-09"]
    assert days.stories == 3 and days.missing == 0


def test_stories_per_outlet_or_author_most_frequent_first(covered):
    assert [(c.value, c.count) for c in covered.facets(by="source").counts] == [
        ("新华社", 7),
        ("人民日报", 3),
        ("央视", 1),
    ]
    january = covered.facets(by="source", where={"date": {"$lt": "2024-02-01"}})
    assert [(c.value, c.count) for c in january.counts] == [("人民日报", 3), ("新华社", 1)]
    authors = covered.facets(by="author")
    assert [(c.value, c.count) for c in authors.counts] == [
        ("张三", 1),
        ("李四", 1),
    ] and authors.missing == 10


def test_a_query_counts_its_top_stories(covered):
    facets = covered.facets("网格员", by="date:month", top=4, mode="lexical")
    assert facets.stories == 4 and facets.top == 4 and facets.query == "网格员"
    assert sum(c.count for c in facets.counts) + facets.missing == 4
    everything = covered.facets("网格员", by="source", mode="lexical")
    assert {c.value: c.count for c in everything.counts} == {
        "新华社": 6,
        "人民日报": 3,
        "央视": 1,
    }  # not 'rice'
    assert everything.to_dict()["counts"][0] == {"value": "新华社", "count": 6}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"by": "date:week"}, "unknown date facet 'date:week'"),
        ({"by": ""}, "by must be one of date:day"),
        ({"where": {"sorce": "新华社"}}, "no document has the key 'sorce'"),
        ({"query": "网格员", "top": 0}, "top must be a positive number"),
        ({"by": "auther"}, "no document has the key 'auther'; filter on one of: author, date"),
    ],
)
def test_bad_facets_are_input_errors(covered, options, message):
    with pytest.raises(InputError, match=message):
        covered.facets(**options)
