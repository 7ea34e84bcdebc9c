"""Reading around a hit: its paragraph with the paragraphs before and after it."""

import json

import pytest

from semsearch import Document, Index, InputError
from tests.test_cli import run

PARAGRAPHS = [
    "县委书记到乡镇调研基层党建工作，听取各村党支部书记的汇报。",
    "调研组先后走访了五个行政村，详细了解村集体经济发展情况。",
    "在网格化管理服务中心，网格员演示了智慧平台如何上报安全隐患。",
    "调研组强调，要把网格员队伍建设作为基层治理的重要抓手来抓。",
    "会议要求各乡镇结合实际，制定切实可行的工作方案并抓好落实。",
]


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    index = Index.build([Document("a1", "\n\n".join(PARAGRAPHS), title="调研")])
    path = tmp_path_factory.mktemp("ctx") / "idx"
    index.save(path)
    return index, path


def test_context_gives_the_hit_paragraph_and_its_neighbours_with_their_numbers(article):
    index, _ = article
    [hit] = index.search("智慧平台上报安全隐患", k=1, mode="lexical")
    assert hit.paragraph == 3
    around = index.context(hit, before=1, after=1)
    assert [(p.paragraph, p.in_hit) for p in around] == [(2, False), (3, True), (4, False)]
    assert [p.text for p in around] == PARAGRAPHS[1:4]
    clean = index.document("a1")["clean_text"]
    assert all(clean[p.start : p.end] == p.text for p in around)
    assert [p.paragraph for p in index.context(hit, before=0, after=0)] == [3]
    assert [p.paragraph for p in index.context(hit, before=5, after=5)] == [1, 2, 3, 4, 5]


def test_context_arguments_are_checked(article):
    index, _ = article
    [hit] = index.search("网格员", k=1)
    with pytest.raises(InputError, match="before must be a non-negative integer"):
        index.context(hit, before=-1)
    with pytest.raises(InputError, match="takes a Hit"):
        index.context("a1")


@pytest.mark.slow
def test_query_context_on_the_command_line(article):
    _, path = article
    result = run(
        "query", "-i", str(path), "--mode", "lexical", "-k", "1", "--context", "1", "--json", "智慧平台"
    )
    assert result.returncode == 0, result.stderr
    [hit] = json.loads(result.stdout)
    assert [(c["paragraph"], c["in_hit"]) for c in hit["context"]] == [(2, False), (3, True), (4, False)]
    shown = run("query", "-i", str(path), "--mode", "lexical", "-k", "1", "--context", "1", "智慧平台").stdout
    assert "> ¶3: 在网格化管理服务中心" in shown and "  ¶2: 调研组先后走访" in shown
