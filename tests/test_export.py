"""Exporting chunks: never into an index, and a file that cannot be written is one line (issue 24, item 12)."""

import json

import pytest

from semsearch import Document, Index, InputError
from semsearch.export import export_chunks
from tests.support.keyword_encoder import KeywordEncoder


@pytest.fixture
def saved(tmp_path):
    index = Index.build(
        [Document("a", "apple banana cherry"), Document("b", "ocean harbour ferry")],
        model=KeywordEncoder(),
        cache=False,
    )
    index.save(tmp_path / "idx")
    return Index.load(tmp_path / "idx", model=KeywordEncoder())


def test_an_export_into_an_index_is_refused_and_the_index_still_loads(saved, tmp_path):
    manifest = tmp_path / "idx" / "manifest.json"
    before = manifest.read_bytes()
    other = Index.build([Document("c", "mountain valley")], model=KeywordEncoder(), cache=False)
    other.save(tmp_path / "other")
    for target in (
        manifest,
        tmp_path / "idx" / "chunks.jsonl",
        tmp_path / "idx" / ".." / "idx" / "new" / "x.jsonl",
        tmp_path / "other" / "manifest.json",  # another index's folder as well
    ):
        for fmt in ("jsonl", "parquet"):
            with pytest.raises(InputError, match="inside the index") as caught:
                export_chunks(saved, target, format=fmt)
            assert "\n" not in str(caught.value)
    assert manifest.read_bytes() == before
    assert Index.load(tmp_path / "idx", model=KeywordEncoder()).doc_ids() == ["a", "b"]
    assert Index.load(tmp_path / "other", model=KeywordEncoder()).doc_ids() == ["c"]
    assert export_chunks(saved, tmp_path / "chunks.jsonl") == 2  # beside the index is fine


@pytest.mark.parametrize("target", ["folder", "/proc/self/mem", "missing/dir/x.jsonl"])
def test_an_output_that_cannot_be_written_is_one_line(saved, tmp_path, target):
    path = tmp_path / target if not target.startswith("/") else target
    if target == "folder":
        (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="cannot write the export") as caught:
        export_chunks(saved, path)
    assert "\n" not in str(caught.value)


def test_an_export_still_writes_every_chunk(saved, tmp_path):
    out = tmp_path / "out.jsonl"
    assert export_chunks(saved, out) == 2
    assert [json.loads(line)["doc_id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["a", "b"]
