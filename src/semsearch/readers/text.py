"""Plain text files (``.txt``): decoded in any supported encoding, the text kept exactly as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..records import Document
from .common import Skipped, UndecodableError, decode_bytes


def read_text(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from a text file's bytes, or Skipped when empty or not text."""
    if not data.strip():
        yield Skipped(str(path), "empty file")
        return
    try:
        text, encoding = decode_bytes(data, str(path))
    except UndecodableError as exc:
        yield Skipped(str(path), str(exc).removeprefix(f"{path}: "))
        return
    yield Document(doc_id=doc_id, text=text, source=str(path), encoding=encoding)
