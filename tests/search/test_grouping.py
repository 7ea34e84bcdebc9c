"""Story-level results (issue 25): ``search(group="document")`` gives one result per story with its best passages."""

import json

import pytest

from semsearch import Document, InputError
from semsearch.records import StoryHit
from semsearch.search.grouping import group_hits, story_score
from tests.support.backends import build_on

GRID = [  # three paragraphs long enough to be three chunks
    "网格员每天走访社区，收集群众诉求，推动矛盾纠纷就地化解，社区里的大事小情都能及时掌握。",
    "网格员还负责排查安全隐患，把发现的问题上报到网格化管理平台，由相关部门限时处理。",
    "网格员队伍的培训由街道统一组织，每季度一次，内容包括政策法规、沟通技巧和应急处置。",
]


def stories():
    """One long story about 网格员 (three passages), five short ones, two on another topic."""
    docs = [
        Document(
            "long",
            "\n\n".join(GRID),
            title="网格员的一天",
            metadata={"source": "新华社", "date": "2024-03-01"},
        )
    ]
    for i in range(5):
        docs.append(
            Document(
                f"s{i}",
                f"第{i}个社区的网格员上门服务，帮助老人办理医保和社保业务。",
                title=f"社区服务{i}",
                metadata={"source": "人民日报" if i % 2 else "新华社", "date": f"2024-0{i + 1}-10"},
            )
        )
    docs += [
        Document("rice", "今年早稻收割基本结束，全省粮食产量稳中有增。", metadata={"source": "新华社"}),
        Document("moon", "嫦娥六号完成月球背面采样，返回器安全着陆。", metadata={"source": "新华社"}),
    ]
    return docs


@pytest.fixture(scope="module")
def story_index(backend, new_location):
    return build_on(backend, new_location, stories())


def test_passages_of_one_story_become_one_result_with_its_best_passages(story_index):
    passages = story_index.search("网格员", k=5, mode="dense")
    assert len({h.doc_id for h in passages}) < 5  # ungrouped: one story fills several places
    found = story_index.search("网格员", k=5, mode="dense", group="document")
    assert len(found) == 5 and all(isinstance(s, StoryHit) for s in found)
    assert len({s.doc_id for s in found}) == 5 and [s.rank for s in found] == [1, 2, 3, 4, 5]
    long = next(s for s in found if s.doc_id == "long")
    assert len(long.passages) == 3 and {p.doc_id for p in long.passages} == {"long"}
    assert [p.score for p in long.passages] == sorted((p.score for p in long.passages), reverse=True)
    assert long.score == long.passages[0].score  # "max": the story's best passage
    assert long.passages[0].highlights and long.source == "新华社" and long.date == "2024-03-01"
    # ranked as one hit per document is
    assert [s.doc_id for s in found] == [
        h.doc_id for h in story_index.search("网格员", k=5, mode="dense", max_per_doc=1)
    ]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_grouped_search_keeps_k_stories_under_a_filter_and_max_per_doc(story_index, mode):
    found = story_index.search("网格员", k=3, mode=mode, group="document", where={"source": "新华社"})
    assert len(found) == 3 and all(s.source == "新华社" for s in found)
    one = story_index.search("网格员", k=6, mode=mode, group="document", max_per_doc=1)
    assert len(one) == 6 and all(len(s.passages) == 1 for s in one)


def test_a_story_is_json_with_its_passages(story_index):
    [story] = story_index.search("网格员的一天", k=1, group="document", where={"doc_id": "long"})
    data = json.loads(json.dumps(story.to_dict(), ensure_ascii=False))
    assert (data["doc_id"], data["source"], data["date"], data["rank"]) == ("long", "新华社", "2024-03-01", 1)
    assert len(data["passages"]) == 3 and data["passages"][0]["doc_id"] == "long"
    assert data["passages"][0]["highlights"]
    batch = story_index.search_batch(["网格员", "嫦娥六号"], k=2, group="document")
    assert [len(b) for b in batch] == [2, 2] and batch[1][0].doc_id == "moon"


def test_a_bad_group_is_an_input_error(story_index):
    with pytest.raises(InputError, match="group must be None"):
        story_index.search("网格员", group="story")


def test_story_scores():
    assert (story_score([0.9, 0.6], "max"), story_score([0.9, 0.6], "sum")) == (0.9, 1.5)
    assert story_score([0.9, 0.6], "decay") == pytest.approx(1.2)
    assert group_hits([], 3) == []


def test_grouped_hybrid_search_fuses_at_the_depth_of_the_passage_search(monkeypatch):
    """Hybrid scores depend on how deep each side was read; a grouped search read k × 4 and lost 0.02 R@1.

    Its stories must be the passage search's (each once) whenever that depth yields k stories.
    """
    from semsearch import Index
    from semsearch.search.searcher import Searcher
    from tests.support.keyword_encoder import KeywordEncoder

    more = [  # enough chunks that k × 4 and the fusion depth differ
        Document(
            f"n{i}",
            f"第{i}号通知：{'网格员' if i % 3 else '志愿者'}在{i % 7}号社区值班，处理居民反映的问题。",
        )
        for i in range(60)
    ]
    index = Index.build([*stories(), *more], model=KeywordEncoder(), cache=False)
    depths: list[int] = []
    candidates = Searcher.candidates

    def recorded(self, mode, text, vector, depth, *args, **kwargs):
        depths.append(depth)
        return candidates(self, mode, text, vector, depth, *args, **kwargs)

    monkeypatch.setattr(Searcher, "candidates", recorded)
    fusion_depth = index.fusion.depth
    k = fusion_depth // 2  # k × 4 passages read by the old rule would be twice the fusion depth
    found = index.search("网格员 社区", k=k, mode="hybrid", group="document")
    assert depths[0] == max(k, fusion_depth), depths
    passages = index.search("网格员 社区", k=fusion_depth, mode="hybrid")
    first_seen = list(dict.fromkeys(h.doc_id for h in passages))
    assert [s.doc_id for s in found] == first_seen[: len(found)]
