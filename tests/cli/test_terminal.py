"""What the command prints from an index: every string from the sources escaped on a terminal (issue 24, item 11).

Ids, titles, sources and duplicate ids are the sources' text: an escape sequence in one retitled the
terminal or cleared it, and U+202E reversed what followed. `docs`, `query` (its "also published as"
line too), their --json and `export` JSONL are checked in this process (no child, no model load per call).
"""

import json

import pytest

from semsearch import Document, Index
from semsearch.cli import main

EVIL_ID = "evil\x1b]0;pwned\x07\u202eid"
EVIL_DUP = "copy\x1b[2J\x9b1m"
EVIL_TITLE = "\x1b[2J\u202etitle\x9b31m"
EVIL_SOURCE = "src\u202e\x1b[5m"
TEXT = "网格员走村入户收集群众诉求，推动矛盾纠纷就地化解，社区治理更加精细。"
ACTING = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture(scope="module")
def evil_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("evil") / "idx"
    docs = [
        Document(EVIL_ID, TEXT, title=EVIL_TITLE, metadata={"source": EVIL_SOURCE, "date": "2024-01-02"}),
        Document(EVIL_DUP, TEXT, title="copy", origin="dup\u202e.txt"),  # folded into EVIL_ID as a duplicate
        Document("plain", "乡村振兴示范村建设带动农民增收。", title="plain"),
    ]
    Index.build(docs).save(path)
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_docs_and_query_escape_every_string_from_the_sources(evil_index, capsys):
    listed = _run(capsys, "docs", "-i", str(evil_index))
    found = _run(capsys, "query", "-i", str(evil_index), "网格员 诉求", "-k", "2")
    for shown in (listed, found):
        assert not any(ch in shown for ch in ACTING), repr(shown)
        assert "\\x1b" in shown and "\\u202e" in shown
    assert "also published as" in found and "copy\\x1b[2J\\x9b1m" in found


def test_json_output_and_export_keep_the_values_exactly_but_show_nothing_that_acts(
    evil_index, capsys, tmp_path
):
    listed = _run(capsys, "docs", "-i", str(evil_index), "--json")
    found = _run(capsys, "query", "-i", str(evil_index), "网格员 诉求", "-k", "2", "--json")
    out = tmp_path / "chunks.jsonl"
    main(["export", "-i", str(evil_index), "-o", str(out)])
    exported = out.read_text(encoding="utf-8")
    for text in (listed, found, exported):
        assert not any(ch in text for ch in ACTING), repr(text[:200])
    docs = [json.loads(line) for line in listed.splitlines()]
    assert {d["doc_id"] for d in docs} == {EVIL_ID, "plain"}
    assert {d["title"] for d in docs} == {EVIL_TITLE, "plain"}
    assert json.loads(found)[0]["doc_id"] == EVIL_ID
    rows = [json.loads(line) for line in exported.splitlines()]
    assert EVIL_ID in {r["doc_id"] for r in rows} and EVIL_TITLE in {r["title"] for r in rows}
