"""Property-based tests (hypothesis) of the cleaner and the chunker on generated dirty text."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch import ChunkingConfig, chunk_document, clean_text
from tests.support.text import assert_nothing_lost_but_reported

# Pieces of the dirt found in real pages: readings glued after characters, doubled punctuation,
# ideographic and non-breaking spaces, chrome lines, headings, blank lines, Latin and digits.
PIECES = st.sampled_from(
    [
        "網(wǎng)",
        "黨(dǎng)",
        "?(lǐng)",
        "网格",
        "乡村振兴",
        "基层治理",
        "修文鎮",
        "。",
        "，",
        ",,",
        ",、",
        ",。",
        "！",
        "？",
        "；",
        "…",
        "\u3000",
        "\u00a0",
        " ",
        "\t",
        "\n",
        "\n\n",
        "\n\u3000\u3000",
        "上一版",
        "版面导航",
        "版权所有",
        "ICP备12345678号",
        "责任编辑：张三",
        "（记者 李四）",
        "GDP",
        "2023年",
        "30万元",
        "“",
        "”",
        "(",
        ")",
        "第一章",
        "核心提示:",
    ]
)


DIRTY = st.lists(PIECES, min_size=0, max_size=120).map("".join)


PROFILE = settings(
    max_examples=int(os.environ.get("SEMSEARCH_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROFILE
@given(DIRTY)
def test_cleaning_loses_nothing_it_does_not_report(raw):
    result = clean_text(raw)
    assert_nothing_lost_but_reported(raw, result)


@PROFILE
@given(DIRTY)
def test_cleaning_is_deterministic_and_paragraph_spans_point_at_their_text(raw):
    result = clean_text(raw)
    assert clean_text(raw) == result
    assert result.text == "\n".join(p.text for p in result.paragraphs)
    for p in result.paragraphs:
        assert result.text[p.start : p.end] == p.text and p.text.strip() == p.text and p.text


@PROFILE
@given(DIRTY, st.integers(min_value=8, max_value=80), st.integers(min_value=0, max_value=40))
def test_chunks_are_exact_ordered_spans_that_fit_and_cover_every_paragraph(raw, max_tokens, min_chars):
    clean = clean_text(raw)
    config = ChunkingConfig(max_tokens=max_tokens, min_chars=min_chars)
    count = len  # one token per character: the chunker must work with any counting function
    chunks = chunk_document("doc", clean, count_tokens=count, config=config)
    assert chunks == chunk_document("doc", clean, count_tokens=count, config=config)
    for chunk in chunks:
        assert clean.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and count(chunk.text) <= max_tokens
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    # Nothing but whitespace falls between chunks, before the first or after the last.
    edges = [0, *(x for c in chunks for x in (c.start, c.end)), len(clean.text)]
    gaps = [clean.text[a:b] for a, b in zip(edges[::2], edges[1::2])]
    assert all(not gap.strip() for gap in gaps), gaps
    assert len({c.chunk_id for c in chunks}) == len(chunks)
