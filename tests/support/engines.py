"""The storage seam as the pipeline uses it: a WriteBatch for documents, the spec and manifest of a new engine.

All with the keyword encoder (tests.support.keyword_encoder), titles not indexed, chunks of at most 64 tokens.
"""

from collections.abc import Sequence

import numpy as np

from semsearch import Document
from semsearch.defaults import BM25_B, BM25_K1
from semsearch.pipeline.prepare import prepare_all
from semsearch.records import WriteBatch
from semsearch.storage.base import Engine, IndexSpec
from semsearch.storage.manifest import Manifest
from semsearch.text.analyzer import Analyzer
from semsearch.text.chunk import ChunkingConfig
from semsearch.text.dedup import DedupConfig, Deduplicator
from semsearch.text.titles import indexed_texts
from tests.support.keyword_encoder import KeywordEncoder

TITLES = "none"


ENCODER = KeywordEncoder()


def batch_of(
    docs: Sequence[Document], removed: Sequence[str] = (), dedup: Deduplicator | None = None
) -> WriteBatch:
    """What the pipeline hands an engine for ``docs``: prepared documents, one vector and text per chunk."""
    prepared = prepare_all(docs, ENCODER, ChunkingConfig(max_tokens=64, min_chars=5), dedup, TITLES)
    texts = indexed_texts(prepared.documents, TITLES)
    vectors = ENCODER.encode_passages(texts) if texts else np.zeros((0, ENCODER.dimension), np.float32)
    return WriteBatch(
        removed=tuple(removed),
        documents=tuple(prepared.documents),
        vectors=vectors,
        texts=tuple(texts),
        fingerprints=tuple(prepared.fingerprints),
        duplicates=tuple(prepared.duplicates),
    )


def index_spec() -> IndexSpec:
    """What a new engine for these documents is created with (Flat vectors, the default analyzer and BM25)."""
    return IndexSpec(ENCODER.dimension, "Flat", Analyzer(), TITLES, DedupConfig(), BM25_K1, BM25_B)


def manifest_for(engine: Engine) -> Manifest:
    parts = engine.parts
    return Manifest.from_dict(
        {
            "format": "semsearch-index",
            "format_version": 1,
            "encoder": {"identity": ENCODER.identity, "kind": "tests-keyword"},
            "dimension": ENCODER.dimension,
            "index_type": "Flat",
            "chunking": {
                "max_tokens": 64,
                "min_chars": 5,
                "heading_max_chars": 40,
                "cleaner_version": 2,
                "titles": TITLES,
            },
            "counts": {"chunks": len(parts.vectors), "documents": parts.chunks.counts().documents},
            "lexical": parts.lexical.spec(),
            "files": {},
            "dedup": {"threshold": 0.8, "num_perm": 128, "shingle": 5},
        },
        files=False,
    )
