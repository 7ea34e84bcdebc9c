"""Damaging a saved index at random (hypothesis), then using it: what tests/index/test_damaged_index.py draws from.

Hypothesis damages a saved index the ways issue 16 lists — wrong types and values anywhere in the
manifest, file names that are paths, truncated files, flipped bits, files replaced by junk — with
the checksums left stale or recomputed (so the damage reaches the parsers behind them, as an index
made on purpose would), then loads it, searches it in every mode and reads its documents.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis import strategies as st

import semsearch
from semsearch import SemsearchError
from tests.support.hostile import refresh_checksums

PATH_NAMES = (
    "../outside",
    "/etc/passwd",
    "/usr",
    "",
    ".",
    "..",
    "a/b",
    "~",
    "vectors.1.faiss",
    "chunks.1.sqlite",
    "bm25.1.bm25s",
    "manifest.json",
    "nul\x00byte",
    "vectors.99.faiss",
)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(PATH_NAMES)
)


JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON value (the value's own path first)."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@st.composite
def damages(draw: st.DrawFn) -> dict[str, Any]:
    """One way to damage an index: what to do, where, and whether to recompute the checksums."""
    kind = draw(st.sampled_from(["value", "delete", "file name", "truncate", "flip", "junk"]))
    return {
        "kind": kind,
        "pick": draw(st.integers(min_value=0, max_value=10**6)),
        "value": draw(JSON_VALUES),
        "name": draw(st.sampled_from(PATH_NAMES)),
        "offset": draw(st.floats(min_value=0, max_value=1)),
        "bit": draw(st.integers(min_value=0, max_value=7)),
        "junk": draw(st.binary(max_size=64)),
        "recompute": draw(st.booleans()),
        "verify": draw(st.booleans()),
    }


def _damage(index: Path, how: dict[str, Any]) -> None:
    manifest_file = index / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    kind = how["kind"]
    if kind in ("value", "delete", "file name"):
        if kind == "file name" and manifest.get("files"):
            roles = sorted(manifest["files"])
            manifest["files"][roles[how["pick"] % len(roles)]]["name"] = how["name"]
        elif kind == "file name":  # format 2: the names are the layout's epoch and segment names
            layout = manifest["layout"]
            named = [layout, *layout["segments"]]
            target = named[how["pick"] % len(named)]
            target["epoch" if target is layout else "name"] = how["name"]
        else:
            paths = _paths(manifest)[1:] if kind == "delete" else _paths(manifest)
            path = paths[how["pick"] % len(paths)]
            manifest = _set(manifest, path, how["value"], delete=kind == "delete")
        manifest_file.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    else:
        files = sorted(p for p in index.rglob("*") if p.is_file())
        target = files[how["pick"] % len(files)]
        data = bytearray(target.read_bytes())
        at = min(len(data) - 1, int(how["offset"] * len(data))) if data else 0
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            data[at] ^= 1 << how["bit"]
        else:
            data[at : at + len(how["junk"])] = how["junk"]
        target.write_bytes(bytes(data))
        if how["recompute"] and target.name != "manifest.json":
            try:
                refresh_checksums(index)
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # the manifest itself is what got damaged: nothing to recompute
    if how["recompute"] and kind == "file name":
        try:
            refresh_checksums(index)
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            pass


def _use(index: Path, verify: bool) -> None:
    loaded = semsearch.Index.load(index, verify=verify)
    for mode in ("lexical", "dense", "hybrid"):
        loaded.search("网格员 走访", k=3, mode=mode)
    loaded.info()
    ids = loaded.doc_ids()
    if ids:
        loaded.document(ids[0])
    list(loaded.chunks())


def check(saved: Path, how: dict[str, Any]) -> None:
    """Damage a copy of the index at ``saved`` as ``how`` says, then use it: only a SemsearchError may come out."""
    with tempfile.TemporaryDirectory(prefix="semsearch-damaged-") as tmp:
        index = Path(tmp) / "index"
        shutil.copytree(saved, index)
        _damage(index, how)
        try:
            _use(index, how["verify"])
        except SemsearchError:
            pass


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
