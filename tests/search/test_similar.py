"""Related stories (issue 25): ``index.similar(doc_id)`` finds stories like a stored one, never itself."""

import pytest

from semsearch import Document, InputError
from tests.support.backends import build_on

DOCS = [
    Document("moon1", "嫦娥六号完成月球背面采样，返回器在内蒙古四子王旗着陆场安全着陆，带回月背样品。", metadata={"source": "新华社", "date": "2024-06-25"}),
    Document("moon2", "嫦娥六号返回器携带月球背面样品成功着陆，科研人员将对月背样品开展研究。", metadata={"source": "人民日报", "date": "2024-06-26"}),
    Document("moon3", "探月工程四期嫦娥七号计划在月球南极着陆，寻找水冰存在的证据。", metadata={"source": "新华社", "date": "2024-07-01"}),
    Document("grid1", "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区经验在全市推广。", metadata={"source": "新华社"}),
    Document("grid2", "网格员上门服务，帮助老人办理医保和社保业务，基层治理水平不断提升。", metadata={"source": "人民日报"}),
    Document("rice", "今年早稻收割基本结束，全省粮食产量稳中有增，农民收入持续增长。", metadata={"source": "新华社"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def related(backend, new_location):
    return build_on(backend, new_location, DOCS)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_stories_like_a_stored_one_leave_it_out(related, mode):
    found = related.similar("moon1", k=3, mode=mode)
    assert "moon1" not in [s.doc_id for s in found]
    assert found[0].doc_id == "moon2" and [s.rank for s in found] == list(range(1, len(found) + 1))
    assert found[0].passages and found[0].passages[0].doc_id == "moon2"


def test_similar_takes_k_and_a_filter(related):
    found = related.similar("grid1", k=5)
    assert len(found) == 5 and found[0].doc_id == "grid2"
    assert [s.doc_id for s in related.similar("moon1", k=5, where={"source": "新华社"})][0] == "moon3"
    assert all(s.source == "新华社" for s in related.similar("moon1", k=5, where={"source": "新华社"}))


def test_an_unknown_story_is_an_input_error(related):
    with pytest.raises(InputError, match="no document 'nope' in this index"):
        related.similar("nope")
