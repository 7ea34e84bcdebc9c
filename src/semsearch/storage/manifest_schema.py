"""Format 1 of the index manifest: its constants and the check of a manifest read from disk.

:func:`validate` is the one place a manifest's JSON is checked before :class:`~semsearch.storage.manifest.Manifest`
types it: every key's type and range, no unknown keys inside the parts semsearch reads, and file
names that are plain names of the format, so nothing outside the index can be named.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

from semsearch.defaults import FEEDBACKS, METHODS, NORMS
from semsearch.errors import IndexCorruptError, IndexFormatError
from semsearch.records import FusionConfig
from semsearch.storage.index_types import index_type_problem
from semsearch.text.analyzer import TERMS, user_word_problem

FORMAT_NAME = "semsearch-index"
FORMAT_VERSION = (
    2  # the newest this semsearch reads and writes: 2, segments (semsearch.storage.local.segmented)
)
FILES_FORMAT = 1  # format 1: every part one file per generation, rewritten whole by each save
SEGMENTS_FORMAT = 2
METRIC = "inner_product"
FUSION_KEYS = frozenset(field.name for field in dataclasses.fields(FusionConfig))
REQUIRED_KEYS = ("encoder", "dimension", "files", "counts", "index_type")


def validate(data: object, source: Path | str = "the manifest", *, files: bool = True) -> None:
    """Raise IndexCorruptError (or IndexFormatError for a newer format) unless ``data`` is a manifest we read.

    The one place a manifest read from disk is checked before it is typed: every key's type and
    range, no unknown keys inside the parts semsearch reads, and file names that are plain names of
    the format (``vectors.3.faiss``), so nothing outside the index can be named.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise IndexCorruptError(f"{source} is not a semsearch manifest; rebuild the index")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise IndexCorruptError(f"{source} has no valid format_version ({_show(version)}); rebuild the index")
    if version > FORMAT_VERSION:
        where = Path(source).parent if isinstance(source, Path) else source
        raise IndexFormatError(
            f"{where} was written in index format {version} by a newer semsearch; this one reads formats up to "
            f"{FORMAT_VERSION}. Upgrade semsearch (pip install -U semsearch) or rebuild the index with this version."
        )
    for key in (*REQUIRED_KEYS, "chunking"):
        if key not in data:
            raise IndexCorruptError(f"{source} lacks {key!r}; rebuild the index")
    _Schema(source).check(data, files=files and version < SEGMENTS_FORMAT)
    if version >= SEGMENTS_FORMAT:
        check_layout(data.get("layout"), source)


_SEGMENT = re.compile(r"^s\d{8}$")
_EPOCH = re.compile(r"^[0-9a-f]{8}$")
SEGMENT_FILES = ("vectors", "ids", "rows", "days", "ann")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def check_layout(layout: object, source: Path | str) -> None:
    """Raise IndexCorruptError unless ``layout`` is a segmented index's layout semsearch wrote.

    Every name is a plain name of the format (``s00000001``, ``documents.<epoch>.sqlite``), sizes and
    checksums are of the right type, and nothing else is there: the files are named from these parts.
    """

    def fail(where: str, problem: str) -> IndexCorruptError:
        return IndexCorruptError(f"{source} is malformed: layout{where} {problem}; rebuild the index")

    if not isinstance(layout, dict) or set(layout) != {"epoch", "segments", "next_row", "next_segment"}:
        raise fail(
            "", f"must be a mapping of epoch, segments, next_row and next_segment, not {_show(layout)}"
        )
    if not isinstance(layout["epoch"], str) or not _EPOCH.match(layout["epoch"]):
        raise fail(".epoch", f"must be 8 hex digits, not {_show(layout['epoch'])}")
    for key in ("next_row", "next_segment"):
        value = layout[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 62:
            raise fail(f".{key}", f"must be a non-negative integer, not {_show(value)}")
    segments = layout["segments"]
    if not isinstance(segments, list) or len(segments) > 100_000:
        raise fail(".segments", f"must be a list, not {_show(segments)}")
    seen = set()
    for number, entry in enumerate(segments):
        where = f".segments[{number}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "rows", "files", "deletes"}:
            raise fail(where, f"must be a mapping of name, rows, files and deletes, not {_show(entry)}")
        if not isinstance(entry["name"], str) or not _SEGMENT.match(entry["name"]) or entry["name"] in seen:
            raise fail(
                f"{where}.name", f"must be a new segment name like s00000001, not {_show(entry['name'])}"
            )
        seen.add(entry["name"])
        rows = entry["rows"]
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 < rows < 1 << 40:
            raise fail(f"{where}.rows", f"must be a positive integer, not {_show(rows)}")
        files = entry["files"]
        if not isinstance(files, dict) or not {"vectors", "ids", "rows", "days"} <= set(files) <= set(
            SEGMENT_FILES
        ):
            raise fail(
                f"{where}.files", f"must list vectors, ids, rows, days and maybe ann, not {_show(files)}"
            )
        for role, checked in [
            *files.items(),
            *([("deletes", entry["deletes"])] if entry["deletes"] is not None else []),
        ]:
            _file_entry(checked, f"{where}.{role}", fail, generation=role == "deletes")


def _file_entry(entry: object, where: str, fail: Any, *, generation: bool = False) -> None:
    keys = {"bytes", "sha256", "generation"} if generation else {"bytes", "sha256"}
    if not isinstance(entry, dict) or set(entry) != keys:
        raise fail(where, f"must be a mapping of {', '.join(sorted(keys))}, not {_show(entry)}")
    for key in ("bytes", *(("generation",) if generation else ())):
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 62:
            raise fail(f"{where}.{key}", f"must be a non-negative integer, not {_show(value)}")
    if not isinstance(entry["sha256"], str) or not _SHA.match(entry["sha256"]):
        raise fail(f"{where}.sha256", f"must be 64 hex digits, not {_show(entry['sha256'])}")


# The files of format 1: role → extension; ``bm25`` is a directory, the others are files.
FILE_ROLES = {"vectors": "faiss", "chunks": "sqlite", "lexical": "json", "bm25": "bm25s"}
DIRECTORY_ROLES = frozenset({"bm25"})
MAX_GENERATION = 10**12
_MISSING = object()


def plain_file_name(role: str, name: object) -> bool:
    """Whether ``name`` is a plain file name the format gives the ``role`` file (``vectors.3.faiss``)."""
    if not isinstance(name, str) or role not in FILE_ROLES:
        return False
    stem, dot, rest = name.partition(".")
    gen, dot2, ext = rest.partition(".")
    return (
        stem == role
        and bool(dot and dot2)
        and gen.isascii()
        and gen.isdigit()
        and len(gen) <= 12
        and ext == FILE_ROLES[role]
    )


def _show(value: object) -> str:
    """A value as an error shows it: its type and a short repr (never the contradictory bare number)."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '…' if len(text) > 60 else text}"


class _Schema:
    """Format 1's schema, checked key by key; the first problem is an IndexCorruptError naming the key."""

    def __init__(self, source: Path | str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> IndexCorruptError:
        return IndexCorruptError(f"{self.source} is malformed: {where} {problem}; rebuild the index")

    def mapping(
        self,
        data: dict[str, Any],
        key: str,
        *,
        allowed: frozenset[str] | set[str] | None,
        required: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any] | None:
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail(f"{key!r}", f"must be a mapping, not {_show(value)}")
        if allowed is not None and set(value) - allowed:
            raise self.fail(f"{key!r}", f"has unknown keys {sorted(set(value) - allowed)}")
        if required - set(value):
            raise self.fail(f"{key!r}", f"lacks {sorted(required - set(value))}")
        return value

    def _required(self, data: dict[str, Any], key: str, **options: Any) -> dict[str, Any]:
        value = self.mapping(data, key, **options)
        if value is None:
            raise self.fail(f"{key!r}", "is missing")
        return value

    def integer(self, data: dict[str, Any], key: str, where: str, low: int, high: int) -> None:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{where}{key}", f"must be an integer from {low} to {high}, not {_show(value)}")

    def number(self, data: dict[str, Any], key: str, where: str, low: float, high: float) -> None:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise self.fail(f"{where}{key}", f"must be a number from {low:g} to {high:g}, not {_show(value)}")

    def string(
        self, data: dict[str, Any], key: str, where: str, *, choices: tuple[str, ...] = (), blank: bool = True
    ) -> None:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return
        if (
            not isinstance(value, str)
            or (not blank and not value.strip())
            or (choices and value not in choices)
        ):
            wanted = (
                f"one of {', '.join(map(repr, choices))}"
                if choices
                else "a string" + ("" if blank else " (not blank)")
            )
            raise self.fail(f"{where}{key}", f"must be {wanted}, not {_show(value)}")

    def check(self, data: dict[str, Any], *, files: bool = True) -> None:
        for key in ("semsearch_version", "created_at", "updated_at", "faiss_class"):
            self.string(data, key, "")
        self.string(data, "index_type", "", blank=False)
        problem = index_type_problem(data.get("index_type", "Flat"))
        if problem:
            raise self.fail(
                "'index_type'", f"{_show(data['index_type'])} {problem}; no index could have been built so"
            )
        self.string(data, "metric", "", choices=(METRIC,))
        self.number(data, "build_seconds", "", 0, 1e12)
        self.integer(data, "dimension", "", 1, 65536)
        self.integer(data, "generation", "", 1, MAX_GENERATION)
        if "normalized" in data and not isinstance(data["normalized"], bool):
            raise self.fail("'normalized'", f"must be true or false, not {_show(data['normalized'])}")
        encoder = self._required(data, "encoder", allowed=None, required={"identity"})
        self.string(encoder, "identity", "encoder.", blank=False)
        self.string(encoder, "kind", "encoder.", blank=False)
        self.string(encoder, "model", "encoder.")
        for key in ("query_prefix", "passage_prefix"):
            if encoder.get(key) is not None:
                self.string(encoder, key, "encoder.")
        chunking = self._required(data, "chunking", allowed=None, required={"max_tokens", "min_chars"})
        self.integer(chunking, "max_tokens", "chunking.", 8, 1 << 20)
        for key in ("min_chars", "heading_max_chars", "cleaner_version"):
            self.integer(chunking, key, "chunking.", 0, 1 << 30)
        counts = self._required(data, "counts", allowed=None, required={"chunks"})
        for key in counts:
            self.integer(counts, key, "counts.", 0, 1 << 62)
        params = self.mapping(data, "search_params", allowed={"ef_search", "nprobe"})
        for key in params or {}:
            self.integer(params or {}, key, "search_params.", 1, 1 << 20)
        fusion = self.mapping(data, "fusion", allowed=FUSION_KEYS)
        if fusion is not None:
            self.string(fusion, "method", "fusion.", choices=METHODS)
            self.string(fusion, "norm", "fusion.", choices=NORMS)
            self.string(fusion, "feedback", "fusion.", choices=FEEDBACKS)
            self.number(fusion, "rrf_k", "fusion.", 1e-9, 1e9)
            self.number(fusion, "weight", "fusion.", 0, 1)
            self.number(fusion, "min_coverage", "fusion.", 0, 1)
            self.number(fusion, "feedback_weight", "fusion.", 0, 1e9)
            self.integer(fusion, "depth", "fusion.", 1, 1 << 20)
            self.integer(fusion, "feedback_docs", "fusion.", 1, 1 << 20)
        lexical = self.mapping(
            data,
            "lexical",
            allowed={
                "analyzer_version",
                "tokenizer",
                "terms",
                "normalize",
                "stopwords",
                "user_words",
                "scorer",
                "k1",
                "b",
            },
        )
        if lexical:
            self.integer(lexical, "analyzer_version", "lexical.", 0, 1 << 30)
            self.integer(lexical, "stopwords", "lexical.", 0, 1 << 30)
            self.string(
                lexical,
                "tokenizer",
                "lexical.",
                choices=tuple(f"{s}/{m}" for s in ("jieba", "jieba-rs") for m in ("search", "precise")),
            )
            self.string(lexical, "terms", "lexical.", choices=TERMS)
            self.string(lexical, "normalize", "lexical.")
            self.string(lexical, "scorer", "lexical.")
            self.number(lexical, "k1", "lexical.", 0, 1e6)
            self.number(lexical, "b", "lexical.", 0, 1)
            words = lexical.get("user_words", [])
            if not isinstance(words, list) or any(user_word_problem(w) for w in words):
                raise self.fail(
                    "lexical.user_words",
                    f"must be a list of one-line words (not blank), not {_show(words)}",
                )
        if not files:  # kept in a server: nothing on disk to name
            if data["files"] != {}:
                raise self.fail(
                    "'files'", f"must be empty for an index kept in a server, not {_show(data['files'])}"
                )
            return
        listed = self._required(data, "files", allowed=set(FILE_ROLES), required={"vectors", "chunks"})
        for role, entry in listed.items():
            where = f"files.{role}"
            if not isinstance(entry, dict) or set(entry) - {"name", "bytes", "sha256", "kind"}:
                raise self.fail(
                    where, f"must be a mapping of name, bytes, sha256 and kind, not {_show(entry)}"
                )
            for key in ("name", "bytes", "sha256"):
                if key not in entry:
                    raise self.fail(where, f"lacks {key!r}")
            if not plain_file_name(role, entry["name"]):
                raise self.fail(
                    f"{where}.name",
                    f"is not a plain file name of this format ({role}.N.{FILE_ROLES[role]}) inside the index: "
                    f"{_show(entry['name'])}",
                )
            self.integer(entry, "bytes", f"{where}.", 0, 1 << 62)
            sha = entry["sha256"]
            if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise self.fail(f"{where}.sha256", f"must be 64 hex digits, not {_show(sha)}")
            kind = entry.get("kind", "file")
            if kind != ("dir" if role in DIRECTORY_ROLES else "file"):
                raise self.fail(
                    f"{where}.kind",
                    f"must be {'dir' if role in DIRECTORY_ROLES else 'file'}, not {_show(kind)}",
                )
        if "bm25" in listed and "lexical" not in listed:
            raise self.fail("files", "lists a BM25 index without the lexical terms it was built from")
