"""Read sources (files, folders, JSONL, Document objects) into Documents, detecting encodings.

Text files may be UTF-8 (with or without BOM), UTF-16 with a BOM, GB18030/GBK or Big5. A file that
decodes as none of them, is binary or is empty is skipped and reported, never half-read.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DuplicateDocumentError, InputError
from .records import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".text", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
# Candidates tried, in order, when a file is not valid UTF-8. GB18030 is a superset of GBK and GB2312.
LEGACY_ENCODINGS = ("gb18030", "big5")
_BINARY_SNIFF_BYTES = 8192

Source = str | os.PathLike[str] | Document


@dataclass(frozen=True)
class Skipped:
    """A source, or one line of a JSONL source, that was not indexed, and why."""

    source: str
    reason: str


@dataclass
class IngestReport:
    """What reading the sources produced: the documents, and what was skipped with reasons."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class UndecodableError(InputError):
    """A file that is not text in any supported encoding."""


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data`` as UTF-8 (BOM optional), UTF-16 (BOM required), GB18030 or Big5.

    Returns ``(text, encoding)``. Raises :class:`UndecodableError` naming ``name`` otherwise.
    GB18030 and Big5 both accept most double-byte strings, so when UTF-8 fails the choice between
    them is made by charset-normalizer, which scores how plausible each decoding is.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UndecodableError(
                f"{name}: starts with a UTF-8 BOM but is not valid UTF-8 ({exc})"
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise UndecodableError(
                f"{name}: starts with a UTF-16 BOM but is not valid UTF-16 ({exc})"
            ) from None
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise UndecodableError(f"{name}: looks binary (contains NUL bytes), not a text file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decodable = []
    for encoding in LEGACY_ENCODINGS:
        try:
            decodable.append((encoding, data.decode(encoding)))
        except UnicodeDecodeError:
            continue
    if not decodable:
        raise UndecodableError(f"{name}: not valid UTF-8, GB18030/GBK or Big5 text")
    if len(decodable) == 1:
        return decodable[0][1], decodable[0][0]
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)).best()
    chosen = best.encoding if best is not None else LEGACY_ENCODINGS[0]
    for encoding, text in decodable:
        if encoding == chosen:
            return text, encoding
    return decodable[0][1], decodable[0][0]


def read_sources(sources: Iterable[Source]) -> IngestReport:
    """Read every source into Documents; folders are walked recursively in sorted order.

    Document ids are stable: a text file's path relative to the folder given (without suffix), or
    its stem when the file itself is given; a JSONL line's ``id`` (or BEIR ``_id``) field.
    Raises :class:`InputError` for a path that does not exist or a file type it cannot read, and
    :class:`DuplicateDocumentError` when two sources give the same document id.
    """
    if isinstance(sources, (str, os.PathLike, Document)):
        sources = [sources]
    report = IngestReport()
    seen: dict[str, str] = {}
    for source in sources:
        for item in _read_one_source(source):
            if isinstance(item, Skipped):
                log.warning("skipped %s: %s", item.source, item.reason)
                report.skipped.append(item)
                continue
            if item.doc_id in seen:
                raise DuplicateDocumentError(
                    f"document id {item.doc_id!r} is given twice: by {seen[item.doc_id]} and by "
                    f"{item.source or '(a Document object)'}; give each document its own id"
                )
            seen[item.doc_id] = item.source or "(a Document object)"
            report.documents.append(item)
    return report


def _read_one_source(source: Source) -> Iterator[Document | Skipped]:
    if isinstance(source, Document):
        if not isinstance(source.doc_id, str) or not source.doc_id.strip():
            raise InputError(
                f"Document has an empty doc_id (text starts {source.text[:30]!r}); give it an id"
            )
        yield source
        return
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"cannot read {source!r}: give a file or folder path, or a semsearch.Document")
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_visible(p.relative_to(path)))
        for file in files:
            if _kind(file) is None:
                log.debug("ignoring %s: not a .txt or .jsonl file", file)
                continue
            doc_id = _strip_suffix(file.relative_to(path).as_posix())
            yield from _read_file(file, doc_id)
        return
    if _kind(path) is None:
        raise InputError(
            f"{path}: unsupported file type; semsearch reads {', '.join(TEXT_SUFFIXES + JSONL_SUFFIXES)}"
        )
    yield from _read_file(path, _strip_suffix(path.name))


def _read_file(path: Path, doc_id: str) -> Iterator[Document | Skipped]:
    if _kind(path) == "jsonl":
        yield from _read_jsonl(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(str(path), f"cannot be read ({exc.strerror or exc})")
        return
    if not data.strip():
        yield Skipped(str(path), "empty file")
        return
    try:
        text, encoding = decode_bytes(data, str(path))
    except UndecodableError as exc:
        yield Skipped(str(path), str(exc).removeprefix(f"{path}: "))
        return
    yield Document(doc_id=doc_id, text=text, source=str(path), encoding=encoding)


def _read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            lines = handle.read().split(b"\n")
    except (OSError, EOFError) as exc:
        yield Skipped(str(path), f"cannot be read ({exc})")
        return
    stem = _strip_suffix(path.name)
    for number, raw in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not raw.strip():
            continue
        try:
            line, _ = decode_bytes(raw, where)
            record = json.loads(line)
        except (UndecodableError, json.JSONDecodeError) as exc:
            yield Skipped(where, f"invalid JSON line ({exc})")
            continue
        if not isinstance(record, dict):
            yield Skipped(where, "a JSON line must be an object with at least a 'text' field")
            continue
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            yield Skipped(where, "no 'text' field (or it is empty)")
            continue
        raw_id = record.get("id", record.get("_id"))
        if raw_id is None or not str(raw_id).strip():
            doc_id = f"{stem}:{number}"
            log.warning("%s has no 'id' field; using %r, which changes if lines move", where, doc_id)
        else:
            doc_id = str(raw_id)
        title = record.get("title") or ""
        metadata = {k: v for k, v in record.items() if k not in {"id", "_id", "title", "text"}}
        yield Document(
            doc_id=doc_id, text=text, title=str(title), source=where, encoding="utf-8", metadata=metadata
        )


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return None


def _strip_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in JSONL_SUFFIXES + TEXT_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_visible(relative: Path) -> bool:
    return not any(part.startswith(".") for part in relative.parts)
