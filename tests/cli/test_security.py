"""Issue 16, security items 1-6: an index from someone else, two names for one index, hostile text.

Each test plays the attack through the ``semsearch`` command as a user would meet it, and checks
what the user must be able to rely on: nothing outside the index is read or written, nothing the
index ships is executed, and the terminal shows data, never control sequences. Item 2 (one lock per
index, whatever its name) is in tests/durability/test_locks.py; what Python users see of the same
attacks in tests/index/test_security.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, run
from tests.support.hostile import (
    HOSTILE_ID,
    HOSTILE_TITLE,
    SEED_ID,
    checksum,
    edit_manifest,
    loads_whole,
    manifest,
    role_path,
)

NEW_ARTICLE = "新闻联播测试文章。\n\n县里组织网格员走访独居老人，帮助他们安装燃气报警器，排查安全隐患。"


# ------------------------------------------------------------------ 1. writes never follow symlinks


@pytest.mark.parametrize("command", ["add", "remove", "build"])
def test_a_save_never_follows_a_symlink_the_index_ships(index_copy, tmp_path, seeds_dir, command):
    outside = tmp_path / "precious.txt"
    outside.write_text("the user's own file\n", encoding="utf-8")
    (index_copy / "manifest.json.tmp").symlink_to(outside)
    article = tmp_path / "new.txt"
    article.write_text(NEW_ARTICLE, encoding="utf-8")
    args = {
        "add": ["add", "-i", str(index_copy), str(article), "--no-progress"],
        "remove": ["remove", "-i", str(index_copy), SEED_ID],
        "build": ["build", str(seeds_dir), "-o", str(index_copy), "--no-progress"],
    }[command]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert outside.read_text(encoding="utf-8") == "the user's own file\n"
    assert not (index_copy / "manifest.json").is_symlink()
    assert loads_whole(index_copy) > 0


def test_a_save_never_writes_through_a_symlinked_generation_name(format1_copy, tmp_path):
    """Sibling of item 1: symlinks planted under the names the next generations would take."""
    index_copy = format1_copy
    outside = tmp_path / "precious.txt"
    outside.write_text("the user's own file\n", encoding="utf-8")
    generation = manifest(index_copy)["generation"]
    for gen in range(generation + 1, generation + 4):
        for name in (f"vectors.{gen}.faiss", f"chunks.{gen}.sqlite", f"lexical.{gen}.json"):
            (index_copy / name).symlink_to(outside)
    result = run("remove", "-i", str(index_copy), SEED_ID)
    assert result.returncode == 0, result.stderr
    assert outside.read_text(encoding="utf-8") == "the user's own file\n"
    for role in ("vectors", "chunks", "lexical"):
        assert not role_path(index_copy, role).is_symlink()
    assert loads_whole(index_copy) > 0


# ------------------------------------------------------------------ 3. build -o over a folder that is not an index


@pytest.mark.parametrize(
    "manifest_text",
    ["{not json", json.dumps({"generation": 3}), json.dumps({"name": "my-web-app", "version": "1.0"})],
)
def test_build_refuses_a_folder_whose_manifest_is_not_a_semsearch_manifest(
    tmp_path, seeds_dir, manifest_text
):
    folder = tmp_path / "webapp"
    folder.mkdir()
    files = {
        "manifest.json": manifest_text,
        "bundle.1.js": "console.log(1)",
        "main.2.css": "body{}",
        "draft.tmp": "notes",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = run("build", str(seeds_dir), "-o", str(folder), "--no-progress")
    message = assert_one_line_error(result, 2)
    assert str(folder) in message and "not a semsearch index" in message
    assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} == files


def test_a_change_never_writes_through_a_symlinked_segment_name(index_copy, tmp_path, seeds_dir):
    """Format 2: symlinks planted under the names the next segments and deletion bitmaps would take."""
    outside = tmp_path / "precious.txt"
    outside.write_text("the user's own file\n", encoding="utf-8")
    layout = manifest(index_copy)["layout"]
    folder = index_copy / f"segments.{layout['epoch']}"
    generation = manifest(index_copy)["generation"]
    planted = [
        folder / f"s{n:08d}.{suffix}"
        for n in range(layout["next_segment"], layout["next_segment"] + 3)
        for suffix in ("flat.faiss", "ids.npy", "rows.npy", "days.npy")
    ] + [
        folder / f"{s['name']}.del.{g}.npy"
        for s in layout["segments"]
        for g in range(generation + 1, generation + 4)
    ]
    for path in planted:
        path.symlink_to(outside)
    article = tmp_path / "new.txt"
    article.write_text(NEW_ARTICLE, encoding="utf-8")
    for args in (
        ["remove", "-i", str(index_copy), SEED_ID],
        ["add", "-i", str(index_copy), str(article), "--no-progress"],
    ):
        result = run(*args)
        assert result.returncode == 0, result.stderr
    assert outside.read_text(encoding="utf-8") == "the user's own file\n"
    assert not [p for p in index_copy.rglob("*") if p.is_symlink()]
    assert loads_whole(index_copy) > 0


@pytest.mark.parametrize("fixture", ["format1_copy", "index_copy"])
def test_saving_an_index_deletes_only_files_its_format_names(request, fixture):
    index_copy = request.getfixturevalue(fixture)
    strangers = ["bundle.1.js", "main.2.css", "draft.tmp", "notes.7.txt", "vectors.bak"]
    for name in strangers:
        (index_copy / name).write_text("the user's", encoding="utf-8")
    result = run("remove", "-i", str(index_copy), SEED_ID)
    assert result.returncode == 0, result.stderr
    assert all((index_copy / name).read_text(encoding="utf-8") == "the user's" for name in strangers)


# ------------------------------------------------------------------ 4. nothing an index ships is executed


def _plant_model(index: Path) -> Path:
    """A 'model' inside the index whose custom module would leave a marker if it were ever imported."""
    model = index / "model"
    model.mkdir()
    marker = index.parent / "PWNED"
    (model / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nclass Evil:\n    pass\n",
        encoding="utf-8",
    )
    (model / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "evil.Evil"}]), encoding="utf-8"
    )
    (model / "config.json").write_text(
        json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "evil.Evil"}})
    )
    (model / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {}}))
    return marker


@pytest.mark.parametrize("spelling", ["absolute", "relative"])
def test_an_index_never_loads_a_model_it_ships(index_copy, spelling):
    marker = _plant_model(index_copy)
    model = str(index_copy / "model") if spelling == "absolute" else "model"
    edit_manifest(
        index_copy,
        lambda m: m.update(
            encoder={
                "kind": "sentence-transformers",
                "model": model,
                "query_prefix": "",
                "passage_prefix": "",
                "identity": "sentence-transformers/model#0|q=''|p=''|d=384",
            }
        ),
    )
    result = run("query", "-i", str(index_copy), "网格员", cwd=index_copy if spelling == "relative" else None)
    message = assert_one_line_error(result, 1)
    assert "inside the index" in message and "model" in message
    assert not marker.exists()


# ------------------------------------------------------------------ 5. manifest paths stay inside the index


def _point_vectors_at(index: Path, name: str, target: Path) -> None:
    size, digest = checksum(target)
    edit_manifest(index, lambda m: m["files"]["vectors"].update(name=name, bytes=size, sha256=digest))


@pytest.mark.parametrize("spelling", ["dotdot", "absolute", "nested"])
def test_manifest_file_names_cannot_leave_the_index(format1_copy, tmp_path, spelling):
    index_copy = format1_copy
    outside = tmp_path / "elsewhere" / "vectors.1.faiss"
    outside.parent.mkdir()
    shutil.copy(role_path(index_copy, "vectors"), outside)
    name = {
        "dotdot": "../elsewhere/vectors.1.faiss",
        "absolute": str(outside),
        "nested": "sub/vectors.1.faiss",
    }[spelling]
    if spelling == "nested":
        (index_copy / "sub").mkdir()
        shutil.copy(outside, index_copy / "sub" / "vectors.1.faiss")
    _point_vectors_at(index_copy, name, outside)
    message = assert_one_line_error(run("query", "-i", str(index_copy), "网格员"), 1)
    assert "vectors" in message and "plain" in message


@pytest.mark.parametrize(
    ("part", "name"),
    [
        ("epoch", "../elsewhere"),
        ("epoch", "/etc"),
        ("segment", "../../etc/passwd"),
        ("segment", "/etc/passwd"),
    ],
)
def test_segmented_layout_names_cannot_leave_the_index(index_copy, part, name):
    """Format 2 builds every file name from its epoch and segment names: both must be plain names."""

    def change(m: dict) -> None:
        if part == "epoch":
            m["layout"]["epoch"] = name
        else:
            m["layout"]["segments"][0]["name"] = name

    edit_manifest(index_copy, change)
    message = assert_one_line_error(run("query", "-i", str(index_copy), "网格员"), 1)
    assert "layout" in message and "malformed" in message


def test_a_system_file_named_as_the_vectors_leaks_nothing(format1_copy):
    index_copy = format1_copy
    passwd = Path("/etc/passwd")
    first_line = passwd.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    _point_vectors_at(index_copy, str(passwd), passwd)
    result = run("query", "-i", str(index_copy), "网格员")
    message = assert_one_line_error(result, 1)
    assert first_line[:8] not in result.stderr + result.stdout
    assert "plain" in message


def test_a_directory_entry_cannot_walk_the_file_system(format1_copy):
    index_copy = format1_copy
    edit_manifest(index_copy, lambda m: m["files"]["bm25"].update(name="/usr"))
    message = assert_one_line_error(run("query", "-i", str(index_copy), "网格员", timeout=60), 1)
    assert "/usr" in message and "plain" in message


def _segmented_member(index: Path, which: str) -> Path:
    layout = manifest(index)["layout"]
    return {
        "segment file": index / f"segments.{layout['epoch']}" / f"{layout['segments'][0]['name']}.flat.faiss",
        "store": index / f"documents.{layout['epoch']}.sqlite",
        "lexical folder": index / f"lexical.{layout['epoch']}",
    }[which]


@pytest.mark.parametrize("which", ["vectors", "segment file", "store", "lexical folder"])
def test_a_symlink_inside_the_index_cannot_stand_in_for_one_of_its_files(request, tmp_path, which):
    index_copy = request.getfixturevalue("format1_copy" if which == "vectors" else "index_copy")
    vectors = role_path(index_copy, "vectors") if which == "vectors" else _segmented_member(index_copy, which)
    outside = tmp_path / "outside.faiss"
    shutil.move(vectors, outside)
    vectors.symlink_to(outside)
    message = assert_one_line_error(run("query", "-i", str(index_copy), "网格员"), 1)
    assert vectors.name in message and "symlink" in message


# ------------------------------------------------------------------ 6. the terminal shows data, never control sequences


def _controls(text: str) -> list[str]:
    allowed = {"\n", "\t"}
    return [
        ch for ch in text if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch == "\u202e") and ch not in allowed
    ]


@pytest.mark.parametrize("color", ["never", "always"])
def test_query_prints_no_control_characters_from_the_data(hostile_index, color):
    result = run("query", "-i", str(hostile_index), "--color", color, "网格员")
    assert result.returncode == 0, result.stderr
    shown = result.stdout.replace("\033[1;33m", "").replace("\033[0m", "")
    assert _controls(shown) == [], shown
    assert "标题" in shown and "doc" in shown


def test_query_json_keeps_the_data_exact(hostile_index):
    result = run("query", "-i", str(hostile_index), "--json", "网格员")
    assert result.returncode == 0, result.stderr
    hit = json.loads(result.stdout)[0]
    assert hit["title"] == HOSTILE_TITLE and hit["doc_id"] == HOSTILE_ID


def test_errors_and_stdin_echo_print_no_control_characters(hostile_index, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(hostile_index, copy)
    result = run("remove", "-i", str(copy), "\x1b[2Jmissing")
    assert_one_line_error(result, 2)
    assert _controls(result.stderr) == [], result.stderr
    echoed = run("query", "-i", str(hostile_index), stdin="网格员\x1b]0;pwned\x07\n")
    assert echoed.returncode == 0, echoed.stderr
    assert _controls(echoed.stdout) == [], echoed.stdout


def test_explain_prints_no_control_characters(tmp_path):
    source = tmp_path / "news.jsonl"
    record = {
        "id": HOSTILE_ID,
        "title": "t",
        "text": "网格员走访独居老人，帮助安装燃气报警器。\n\n责任编辑：\x1b[2J王五",
    }
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run("build", str(source), "-o", str(tmp_path / "idx"), "--explain", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert _controls(result.stdout) == [], result.stdout
