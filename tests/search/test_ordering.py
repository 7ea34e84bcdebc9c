"""Order and recency (issue 25): ``sort="date"`` (newest first among the relevant) and ``recency=HALF_LIFE``."""

import pytest

from semsearch import Document, InputError
from semsearch.search.ordering import half_life_days
from tests.support.backends import build_on


def _docs():
    docs = []
    for i in range(12):  # one story a month, all about 网格员; the odd ones from 人民日报
        docs.append(
            Document(
                f"m{i + 1:02d}",
                f"第{i + 1}月：网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，第{i}个社区经验。",
                title=f"基层治理{i + 1}月",
                metadata={"date": f"2024-{i + 1:02d}-15", "source": "人民日报" if i % 2 else "新华社"},
            )
        )
    docs.append(
        Document(
            "undated", "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。", metadata={"source": "新华社"}
        )
    )
    docs.append(
        Document("moon", "嫦娥六号完成月球背面采样，返回器安全着陆。", metadata={"date": "2024-12-31"})
    )
    return docs


@pytest.fixture(scope="module")
def dated(backend, new_location):
    return build_on(backend, new_location, _docs())


@pytest.mark.parametrize("group", [None, "document"])
def test_sort_by_date_gives_the_newest_relevant_first_and_k_of_them(dated, group):
    # "Relevant" is the RERANK_DEPTH best: in this small index, every story that shares a word (lexical)
    found = dated.search("网格员 基层治理", k=4, mode="lexical", sort="date", group=group)
    assert [r.doc_id for r in found] == ["m12", "m11", "m10", "m09"]
    assert [r.rank for r in found] == [1, 2, 3, 4]
    filtered = dated.search(
        "网格员", k=3, mode="lexical", sort="date", group=group, where={"source": "新华社"}
    )
    assert [r.doc_id for r in filtered] == ["m11", "m09", "m07"]  # still k under a filter
    everything = dated.search("网格员", k=14, mode="lexical", sort="date", group=group)
    assert everything[-1].doc_id == "undated"  # no date: last


def test_sort_by_date_in_hybrid_mode_orders_what_it_finds_by_date(dated):
    found = dated.search("网格员", k=5, sort="date", group="document")
    days = [s.date for s in found]
    assert len(found) == 5 and days == sorted(days, reverse=True)


def test_recency_halves_the_score_per_half_life_of_age(dated):
    import datetime as dt

    plain = {s.doc_id: s.score for s in dated.search("网格员", k=14, group="document", mode="dense")}
    recent = dated.search("网格员", k=14, group="document", mode="dense", recency="30d")
    assert len(recent) == 14
    newest = max(dt.date.fromisoformat(s.date) for s in recent if s.date)
    for story in recent:
        if story.date is None:
            continue
        age = (newest - dt.date.fromisoformat(story.date)).days
        assert story.scores["recency"] == pytest.approx(0.5 ** (age / 30))
        assert story.score == pytest.approx(plain[story.doc_id] * 0.5 ** (age / 30))
        assert story.scores["relevance"] == pytest.approx(plain[story.doc_id])
    assert [s.score for s in recent] == sorted((s.score for s in recent), reverse=True)
    ids = [s.doc_id for s in recent]
    assert ids.index("m12") < ids.index("m01")  # a year older: about 2**-12 of its relevance


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sort": "newest"}, "sort must be one of 'relevance', 'date'"),
        ({"recency": "soon"}, "recency must be a half-life such as '30d'"),
        ({"recency": "0d"}, "a recency half-life must be a positive time"),
    ],
)
def test_bad_sort_or_recency_is_an_input_error(dated, options, message):
    with pytest.raises(InputError, match=message):
        dated.search("网格员", **options)


def test_half_lives_read_as_days():
    assert (half_life_days("2w"), half_life_days("12h"), half_life_days(30), half_life_days(None)) == (
        14.0,
        0.5,
        30.0,
        None,
    )
