"""Bad input at size: good files beside bad ones, a megabyte on one line, a 100 kB query."""

import logging

from semsearch import ChunkingConfig, Index, chunk_document, clean_text, load_encoder, read_sources
from semsearch.search.searcher import MAX_QUERY_CHARS

SIMPLIFIED = "走中国特色社会主义乡村振兴道路，首要原则是坚持党管农村工作。"


def test_good_files_are_indexed_beside_bad_ones(tmp_path, caplog):
    (tmp_path / "good.txt").write_text(SIMPLIFIED, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 64)
    (tmp_path / "bad.jsonl").write_text(
        '{"id": "j1", "text": "网格员激励机制在全市推开。"}\n{broken\n', encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING):
        index = Index.build([tmp_path])
    assert index.doc_ids() == ["good", "j1"]
    reasons = " ".join(f"{s.origin}: {s.reason}" for s in index.skipped)
    assert "empty.txt" in reasons and "binary.txt" in reasons and "bad.jsonl:2" in reasons


def test_a_huge_single_line_file_is_cut_to_the_window_with_a_warning(tmp_path, caplog):
    line = "网格员每天走访群众收集诉求并及时协调解决问题" * 16000  # ~1 MB of UTF-8, no sentence end at all
    (tmp_path / "huge.txt").write_text(line, encoding="utf-8")
    [doc] = read_sources([tmp_path]).documents
    encoder = load_encoder()
    clean = clean_text(doc.text)
    with caplog.at_level(logging.WARNING):
        chunks = chunk_document(
            doc.doc_id, clean, count_tokens=encoder.count_tokens, config=ChunkingConfig(max_tokens=512)
        )
    assert any("cutting it inside the clause" in r.message for r in caplog.records)
    assert all(c.n_tokens <= 512 for c in chunks)
    assert "".join(c.text for c in chunks) == line


def test_a_100_kb_query_is_cut_to_the_maximum_with_a_warning(seeds_index, caplog):
    query = "网格化管理如何推动基层治理" * 8000
    with caplog.at_level(logging.WARNING):
        hits = seeds_index.search(query, k=3)
    assert len(hits) == 3
    assert any(f"searching with its first {MAX_QUERY_CHARS}" in r.message for r in caplog.records)
