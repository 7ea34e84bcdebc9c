"""Titles count: a source's title reaches the dense and the lexical side."""

import pytest

from semsearch import Document, Index, InputError
from semsearch.text.titles import indexed_text, title_prefix
from tests.support.backends import build_on

DOCS = [
    Document(
        "t1",
        title="嫦娥六号月背采样返回",
        text="这次任务首次实现了人类从月球背面采集样品，是又一标志性成果。",
    ),
    Document("t2", title="乡村振兴示范村", text="村集体经济年收入突破百万元，农民人均可支配收入持续增长。"),
    Document("t3", title="网格化管理", text="网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。"),
]


@pytest.fixture(scope="module")
def titled(backend, new_location):
    return build_on(backend, new_location, DOCS)


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_a_title_not_in_the_text_is_found_by_every_side(titled, mode):
    hits = titled.search("嫦娥六号", k=1, mode=mode)
    assert hits[0].doc_id == "t1"
    assert hits[0].text.startswith("这次任务")  # the hit shows the chunk text, not the title
    assert hits[0].title == "嫦娥六号月背采样返回"


def test_the_choice_is_in_the_manifest_and_none_behaves_as_before(titled):
    assert titled.manifest.chunking.titles == "every"
    before = Index.build(DOCS, titles="none")
    assert before.search("嫦娥六号", k=1, mode="lexical") == []
    with pytest.raises(InputError, match="titles must be one of every, first, none"):
        Index.build(DOCS, titles="all")


def test_an_older_index_keeps_indexing_without_titles(titled, tmp_path):
    legacy = Index.build(DOCS, titles="none")
    # as written before titles counted: the manifest has no titles key, read as "none"
    legacy = Index.load(legacy.save(tmp_path / "legacy"))
    assert "titles" not in legacy.manifest.to_dict()["chunking"]
    legacy.add([Document("t4", title="天宫空间站", text="样品将在完成交接后开展科学研究。")])
    assert legacy.search("交接", k=5, mode="lexical")[0].doc_id == "t4"  # the text still matches
    assert legacy.search("空间站", k=5, mode="lexical") == []  # the title alone does not


def test_prefix_rules():
    assert title_prefix("标题", "source", "every") == "标题"
    assert title_prefix("标题", "headline", "every") == ""  # already in the text
    assert title_prefix("标题", "source", "none") == ""
    assert indexed_text("正文。", 0, "标题", "every") == "标题\n正文。"
    assert indexed_text("正文。", 1, "标题", "first") == "正文。"
    assert indexed_text("标题说明的正文。", 0, "标题", "every") == "标题说明的正文。"  # never twice
