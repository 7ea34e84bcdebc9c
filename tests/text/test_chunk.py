"""Chunking cleaned text by paragraph into spans that fit the model's window, measured in its tokens."""

import logging

import pytest

from semsearch import ChunkingConfig, InputError, chunk_document, clean_text
from semsearch.text.chunk import chunk_id_for

SENTENCE_END = tuple("。！？!?；;…”’」』）)")


def _chunks(text, e5, **config):
    clean = clean_text(text)
    cfg = ChunkingConfig(max_tokens=config.pop("max_tokens", e5.max_tokens), **config)
    return clean, chunk_document("doc", clean, count_tokens=e5.count_tokens, config=cfg)


def test_every_chunk_is_an_exact_span_of_the_cleaned_text(seed_texts, e5):
    for raw in seed_texts.values():
        clean, chunks = _chunks(raw, e5)
        assert chunks
        for chunk in chunks:
            assert clean.text[chunk.start : chunk.end] == chunk.text
            assert chunk.n_tokens == e5.count_tokens(chunk.text) <= e5.max_tokens
        starts = [c.start for c in chunks]
        assert starts == sorted(starts)
        assert all(a.end < b.start for a, b in zip(chunks, chunks[1:]))  # no overlap


def test_all_paragraph_text_is_in_some_chunk(seed_texts, e5):
    for raw in seed_texts.values():
        clean, chunks = _chunks(raw, e5)
        covered = "".join(c.text for c in chunks).replace("\n", "")
        assert covered == clean.text.replace("\n", "")


def test_heading_joins_the_paragraph_it_introduces(seed_texts, e5):
    _, chunks = _chunks(seed_texts["003_0a8f1e061dc44cdc"], e5)
    [chunk] = [c for c in chunks if c.text.startswith("聚焦强根基")]
    assert chunk.text.startswith("聚焦强根基,夯实基层组织体系\n加强基层党组织建设")
    assert chunk.paragraph == 2
    _, page = _chunks(seed_texts["004_8f871e82e7ea0e07"], e5)
    assert page[0].text.startswith(
        "我市高质量实施党建引领乡村治理提质增效行动\n党建引领聚合力 文明新风入人心\n“又积累了"
    )


def test_tiny_fragment_merges_with_a_neighbour(seed_texts, e5):
    _, chunks = _chunks(seed_texts["004_8f871e82e7ea0e07"], e5)
    [chunk] = [c for c in chunks if "既要塑形" in c.text]
    assert chunk.text.startswith("加强农村精神文明建设\n乡村振兴,既要塑形,也要铸魂。\n《行动方案》提出")
    assert all(len(c.text) >= 30 for c in chunks)


def test_long_paragraph_is_split_at_sentence_ends_in_model_tokens(seed_texts, e5):
    # one 2,000-character paragraph: the four body paragraphs of seed 003 glued together
    clean003 = clean_text(seed_texts["003_0a8f1e061dc44cdc"])
    long = "".join(p.text for p in clean003.paragraphs if p.kind == "body")
    assert len(long) > 1400 and e5.count_tokens(long) > e5.max_tokens
    clean, chunks = _chunks(long, e5)
    assert len(chunks) >= 3
    assert {c.pieces for c in chunks} == {len(chunks)}
    assert [c.piece for c in chunks] == list(range(1, len(chunks) + 1))
    assert all(c.paragraph == 1 for c in chunks)
    for chunk in chunks:
        assert e5.count_tokens(chunk.text) <= e5.max_tokens
        assert chunk.text.endswith(SENTENCE_END)
    assert "".join(c.text for c in chunks) == long
    sizes = [c.n_tokens for c in chunks]
    assert max(sizes) < 2 * min(sizes)  # balanced, not one full piece and a scrap


@pytest.mark.parametrize("max_tokens", [40, 64, 128, 200])
def test_no_chunk_exceeds_a_small_window(seed_texts, e5, max_tokens):
    for raw in seed_texts.values():
        clean, chunks = _chunks(raw, e5, max_tokens=max_tokens)
        assert all(e5.count_tokens(c.text) <= max_tokens for c in chunks)
        assert "".join(c.text for c in chunks).replace("\n", "") == clean.text.replace("\n", "")


def test_a_clause_longer_than_the_window_is_cut_with_a_warning(e5, caplog):
    text = "乡村振兴示范村建设" * 60  # no punctuation at all
    with caplog.at_level(logging.WARNING, logger="semsearch.text.chunk"):
        _, chunks = _chunks(text, e5, max_tokens=64)
    assert len(chunks) > 1
    assert all(e5.count_tokens(c.text) <= 64 for c in chunks)
    assert "".join(c.text for c in chunks) == text
    assert any("cutting it inside the clause" in r.message for r in caplog.records)


def test_chunking_is_deterministic_and_ids_are_stable(seed_texts, e5):
    raw = seed_texts["001_2a3c1398cfc30887"]
    assert _chunks(raw, e5) == _chunks(raw, e5)
    _, chunks = _chunks(raw, e5)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert all(0 <= c.chunk_id < 2**63 for c in chunks)
    assert chunk_id_for("doc", 0) == chunks[0].chunk_id
    assert chunk_id_for("000_d06f920685a293a0", 3) == 4897306788817768616  # pinned: ids must not drift


def test_chunking_config_is_validated():
    with pytest.raises(InputError, match="max_tokens"):
        ChunkingConfig(max_tokens=0)
    with pytest.raises(InputError, match="min_chars"):
        ChunkingConfig(max_tokens=100, min_chars=-1)


def test_a_huge_paragraph_is_never_tokenised_whole(e5, monkeypatch):
    """Issue 16 item 17: one 200,000-character line is cut by probing windows, not by tokenising it all
    (tokenising a megabyte paragraph whole cost hundreds of MiB at peak); the chunks are the same."""
    import semsearch.text.chunk

    sentence = "县里组织网格员走访独居老人，帮助他们安装燃气报警器，排查安全隐患。"
    clean = clean_text(sentence * (200_000 // len(sentence)))
    seen: list[int] = []

    def counting(text: str) -> int:
        seen.append(len(text))
        return e5.count_tokens(text)

    config = ChunkingConfig(max_tokens=e5.max_tokens)
    chunks = chunk_document("big", clean, count_tokens=counting, config=config)
    assert max(seen) <= 8 * e5.max_tokens < len(clean.text) // 10
    assert all(c.n_tokens <= e5.max_tokens for c in chunks)
    assert "".join(c.text for c in chunks) == clean.text
    monkeypatch.setattr(semsearch.text.chunk, "_PROBE_CHARS_PER_TOKEN", 10**9)  # no probe: every span whole
    assert chunk_document("big", clean, count_tokens=e5.count_tokens, config=config) == chunks
