"""Reading around a hit: its paragraph with the paragraphs before and after it."""

import pytest

from semsearch import InputError
from tests.support.corpora import CONTEXT_PARAGRAPHS as PARAGRAPHS


def test_context_gives_the_hit_paragraph_and_its_neighbours_with_their_numbers(context_article):
    index, _ = context_article
    [hit] = index.search("智慧平台上报安全隐患", k=1, mode="lexical")
    assert hit.paragraph == 3
    around = index.context(hit, before=1, after=1)
    assert [(p.paragraph, p.in_hit) for p in around] == [(2, False), (3, True), (4, False)]
    assert [p.text for p in around] == PARAGRAPHS[1:4]
    clean = index.document("a1")["clean_text"]
    assert all(clean[p.start : p.end] == p.text for p in around)
    assert [p.paragraph for p in index.context(hit, before=0, after=0)] == [3]
    assert [p.paragraph for p in index.context(hit, before=5, after=5)] == [1, 2, 3, 4, 5]


def test_context_arguments_are_checked(context_article):
    index, _ = context_article
    [hit] = index.search("网格员", k=1)
    with pytest.raises(InputError, match="before must be a non-negative integer"):
        index.context(hit, before=-1)
    with pytest.raises(InputError, match="takes a Hit"):
        index.context("a1")
