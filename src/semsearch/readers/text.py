"""Plain text files (``.txt``): decoded in any supported encoding, the text kept exactly as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from semsearch.readers.common import decode_file
from semsearch.records import Document, Skipped


def read_text(path: Path, doc_id: str, data: bytes) -> Iterator[Document | Skipped]:
    """One Document from a text file's bytes, or Skipped when empty or not text."""
    decoded = decode_file(path, data)
    if isinstance(decoded, Skipped):
        yield decoded
        return
    yield Document(doc_id=doc_id, text=decoded.text, origin=str(path), encoding=decoded.encoding)
