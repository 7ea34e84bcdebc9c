"""What every reader shares: the skip record, field names for records, safe file reading, decoding."""

from __future__ import annotations

import codecs
import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from semsearch.dates import DATE_FIELDS, DATE_KEY, normalize_date
from semsearch.errors import InputError
from semsearch.records import SOURCE_KEY, Document, Skipped, check_doc_id

log = logging.getLogger("semsearch.readers.ingest")

# Candidates tried, in order, when a file is not valid UTF-8. GB18030 is a superset of GBK and GB2312.
LEGACY_ENCODINGS = ("gb18030", "big5")
_BINARY_SNIFF_BYTES = 8192

# Where records (JSONL lines, CSV rows) keep an article's parts when the user names no field.
TEXT_FIELDS = ("text", "content", "body", "article", "contents", "正文", "内容")
TITLE_FIELDS = ("title", "headline", "name", "标题")
ID_FIELDS = ("id", "_id", "doc_id", "docid", "guid", "uuid", "编号")  # guid: RSS's item id


@dataclass(frozen=True)
class FieldNames:
    """Which field of a record (JSONL line, CSV row) holds the text, title and id; None: look for one.

    Looked for among common names (``text``, ``content``, ``body``…; ``title``, ``headline``…;
    ``id``, ``_id``, ``guid``…). A named field that a record lacks makes that record skipped, with the reason.
    Every other field (and what a page says of itself: date, author, outlet) is metadata;
    ``metadata=["date", "source"]`` keeps only those keys, ``drop=["paragraphs"]`` keeps all but those
    (in any format read from files).
    """

    text: str | None = None
    title: str | None = None
    id: str | None = None
    metadata: Sequence[str] | None = None
    drop: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("text", "title", "id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InputError(f"the {name} field name must be a non-empty string, not {value!r}")
        for name in ("metadata", "drop"):
            value = getattr(self, name)
            if value is None and name == "metadata":
                continue
            if isinstance(value, str) or not all(isinstance(v, str) and v.strip() for v in value):
                raise InputError(
                    f"{name} must be a list of field names, like {name}=['date', 'source'], not {value!r}"
                )
            object.__setattr__(self, name, tuple(v.strip() for v in value))

    def choose(self, doc: Document) -> Document:
        """``doc`` with only the metadata these names keep (itself when they keep everything)."""
        if self.metadata is None and not self.drop:
            return doc
        kept = {
            key: value
            for key, value in doc.metadata.items()
            if (self.metadata is None or key in self.metadata) and key not in self.drop
        }
        return doc if kept == dict(doc.metadata) else replace(doc, metadata=kept)


class UndecodableError(InputError):
    """A file that is not text in any supported encoding."""


class NotRegularFileError(InputError):
    """A path that is a FIFO, socket or device: reading it could block forever."""


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file; a FIFO, socket or device is refused.

    The file is opened without blocking and checked on the open descriptor, so a FIFO cannot hang the
    open, nor one swapped in after a check hang the read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"{path}: not a regular file ({_kind_of(mode)}); only files are read")
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file (see :func:`open_regular`)."""
    with open_regular(path) as handle:
        return handle.read()


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file"


class Decoded(NamedTuple):
    """A whole file's text and the encoding it was decoded from."""

    text: str
    encoding: str


def decode_file(path: Path, data: bytes) -> Decoded | Skipped:
    """A file's text, or Skipped with the reason when it is empty or not text in a supported encoding."""
    if not data.strip():
        return Skipped(str(path), "empty file")
    try:
        return Decoded(*decode_bytes(data, str(path)))
    except UndecodableError as exc:
        return Skipped(str(path), str(exc).removeprefix(f"{path}: "))


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


def pick_field(keys: Iterable[str], named: str | None, candidates: tuple[str, ...]) -> str | None:
    """The key to read: the one named, else the first candidate present (case-insensitive)."""
    keys = list(keys)
    if named is not None:
        return named if named in keys else None
    lower = {k.lower(): k for k in keys if isinstance(k, str)}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    return None


def is_valid_unicode(value: Any) -> bool:
    """False when a string inside ``value`` holds a lone surrogate (JSON allows one; UTF-8 does not)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, Mapping):
        return all(is_valid_unicode(k) and is_valid_unicode(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_valid_unicode(v) for v in value)
    return True


def record_to_document(
    record: Mapping[str, Any], where: str, fallback_id: str, fields: FieldNames, *, what: str = "record"
) -> Document | Skipped:
    """One record (a JSONL object, a CSV row) as a Document, or Skipped saying which field is missing.

    The text, title and id fields are the ones ``fields`` names, or found among common names; every
    other key is kept as metadata, with the date normalised under ``date``.
    """
    text_key = pick_field(record.keys(), fields.text, TEXT_FIELDS)
    text = record.get(text_key) if text_key is not None else None
    if not isinstance(text, str) or not text.strip():
        if fields.text is not None:
            return Skipped(
                where, f"no {fields.text!r} field (or it is empty); it was named as the text field"
            )
        present = ", ".join(map(repr, list(record.keys())[:8])) or "no fields"
        looked = ", ".join(map(repr, TEXT_FIELDS[:4]))
        return Skipped(
            where,
            f"no text field, or it is empty (looked for {looked}…; this {what} has {present}); "
            "name the field with --text-field (fields=FieldNames(text=...) in Python)",
        )
    title_key = pick_field(record.keys(), fields.title, TITLE_FIELDS)
    id_key = pick_field(record.keys(), fields.id, ID_FIELDS)
    raw_id = record.get(id_key) if id_key is not None else None
    if raw_id is None or not str(raw_id).strip():
        doc_id = fallback_id
        log.warning("%s has no id field; using %r, which changes if records move", where, doc_id)
    else:
        doc_id = str(raw_id).strip()
    try:
        check_doc_id(doc_id, f"this {what}")
    except InputError as exc:
        return Skipped(where, str(exc))
    title = record.get(title_key) if title_key is not None else ""
    used = {text_key, title_key, id_key}
    metadata = normalize_metadata({k: v for k, v in record.items() if k not in used})
    return Document(
        doc_id=doc_id,
        text=text,
        title=str(title or "").strip(),
        origin=where,
        encoding="utf-8",
        metadata=metadata,
    )


def normalize_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` with its date, found under a common name, also written as ``date: YYYY-MM-DD``.

    A ``date`` written another way keeps its original form as ``date_raw``. A date that does not
    parse is left as it is (and cannot be compared with others in a date filter).
    """
    out = dict(metadata)
    for key in _date_keys(out):
        day = normalize_date(out[key])
        if day is None:
            continue
        if DATE_KEY in out and out[DATE_KEY] != day:
            out["date_raw"] = out[DATE_KEY]
        out[DATE_KEY] = day
        break
    return out


def _date_keys(metadata: Mapping[str, Any]) -> list[str]:
    lower = {k.lower(): k for k in metadata if isinstance(k, str)}
    return [lower[name] for name in DATE_FIELDS if name in lower]


# Labelled lines of a news page, e.g. 发布时间：2026-01-16 08:00 | 来源：新华社 | 作者：李华 — in the first blocks of a page
_LINE_FIELDS = {"发布时间": DATE_KEY, "发布日期": DATE_KEY, "日期": DATE_KEY, "时间": DATE_KEY}
_LINE_FIELDS |= {"来源": SOURCE_KEY, "作者": "author"}
_LABELLED = re.compile(
    r"(?P<label>" + "|".join(_LINE_FIELDS) + r")\s*[:：]\s*"
    r"(?P<value>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?|[^\s|｜丨/，,]+)"
)
HEAD_BLOCKS = 5  # date and outlet lines are looked for in this many first blocks


def labelled_fields(text: str) -> dict[str, str]:
    r"""Date, outlet and author from labelled lines among the first blocks (``发布时间：2026-01-16``).

    >>> labelled_fields("标题\n\n发布时间：2026-01-16 来源：新华社\n\n正文")
    {'date': '2026-01-16', 'source': '新华社'}
    """
    fields: dict[str, str] = {}
    for block in text.split("\n\n")[:HEAD_BLOCKS]:
        if len(block) > 80:  # a paragraph of the story, not a dateline
            continue
        for found in _LABELLED.finditer(block):
            key, value = _LINE_FIELDS[found["label"]], found["value"].strip()
            if key == DATE_KEY:
                value = normalize_date(value) or ""
            if value:
                fields.setdefault(key, value)
    return fields
