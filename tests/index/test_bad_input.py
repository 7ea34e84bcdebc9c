"""Bad input tried on purpose, end to end: each gets a clear error or a documented behaviour, no data lost.

(Empty, binary and undecodable files, bad JSONL lines and duplicate ids are in tests/readers/; damaged
index files and newer formats in tests/storage/local/test_directory.py; another model in
tests/encoders/other_models/; big files and queries in tests/index/heavy/test_bad_input.py.)
"""

import pytest

from semsearch import (
    Document,
    EmptyCorpusError,
    EmptyQueryError,
    Index,
    read_sources,
)

TRADITIONAL = (
    "梧州零距離網梧州日訊記者陳雨燕三月二十二日市委書記蔣連生到藤縣調研農村基層黨建社會治理和鄉村振興工作。"
)


SIMPLIFIED = "走中国特色社会主义乡村振兴道路，首要原则是坚持党管农村工作。"


def test_a_folder_of_mixed_encodings_reads_every_file_right(tmp_path):
    (tmp_path / "utf8.txt").write_text(SIMPLIFIED, encoding="utf-8")
    (tmp_path / "bom.txt").write_text(SIMPLIFIED, encoding="utf-8-sig")
    (tmp_path / "gbk.txt").write_bytes(SIMPLIFIED.encode("gb18030"))
    (tmp_path / "big5.txt").write_bytes(TRADITIONAL.encode("big5"))
    (tmp_path / "utf16.txt").write_text(TRADITIONAL, encoding="utf-16")
    docs = {d.doc_id: d for d in read_sources([tmp_path]).documents}
    assert {k: d.text for k, d in docs.items()} == {
        "utf8": SIMPLIFIED,
        "bom": SIMPLIFIED,
        "gbk": SIMPLIFIED,
        "big5": TRADITIONAL,
        "utf16": TRADITIONAL,
    }


def test_a_folder_with_nothing_indexable_names_what_was_skipped(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "chrome.txt").write_text("上一版\n版面导航\n版权所有\n", encoding="utf-8")
    with pytest.raises(EmptyCorpusError) as error:
        Index.build([tmp_path])
    assert "empty.txt" in str(error.value) and "chrome.txt" in str(error.value)


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x00\x1b\x7f", "\u200b\u200d"])
def test_queries_with_nothing_to_search_are_a_clear_error_in_every_mode(seeds_index, query):
    for mode in ("hybrid", "dense", "lexical"):
        with pytest.raises(EmptyQueryError, match="query 1 is empty"):
            seeds_index.search(query, mode=mode)


def test_a_query_of_only_stop_words_finds_nothing_lexically_but_still_answers_densely(seeds_index):
    assert seeds_index.search("的了吗", k=3, mode="lexical") == []
    assert len(seeds_index.search("的了吗", k=3, mode="hybrid")) == 3


def test_documents_without_text_are_skipped_not_fatal_when_others_have_text():
    index = Index.build(
        [Document(doc_id="blank", text="\u3000\n\n  "), Document(doc_id="ok", text=SIMPLIFIED)]
    )
    assert index.doc_ids() == ["ok"]
    assert [s.reason for s in index.skipped] == ["no text left after cleaning"]
