"""The contract of an index's parts (semsearch.backend), run against every backend by parametrisation.

A second backend adds a factory to BACKENDS: a function from documents to the Parts holding them.
"""

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from semsearch import Document, Index
from semsearch.backend import Parts
from tests.keyword_encoder import KeywordEncoder

DOCS = [
    Document("fruit", "apple banana cherry, the fruit stall opens early every morning."),
    Document("coast", "ocean harbour island, the ferry crosses twice a day in summer."),
    Document("hills", "mountain valley forest, the trail climbs for three long hours."),
]


def local_parts(docs: Sequence[Document]) -> Parts:
    """FAISS, bm25s and SQLite, as Index.build makes them."""
    return Index.build(docs, model=KeywordEncoder(), cache=False).searcher().parts


BACKENDS: dict[str, Callable[[Sequence[Document]], Parts]] = {"local": local_parts}


@pytest.fixture(params=sorted(BACKENDS))
def parts(request) -> Parts:
    return BACKENDS[request.param](DOCS)


def _chunk_of(parts: Parts, doc_id: str) -> int:
    return next(c.chunk_id for c in parts.chunks.iter_chunks() if c.doc_id == doc_id)


def test_vectors_find_the_nearest_chunk_and_forget_deleted_ones(parts):
    encoder = KeywordEncoder()
    query = encoder.encode_queries(["harbour ocean"])
    coast = _chunk_of(parts, "coast")
    hits = parts.vectors.search(query, 3)
    assert hits.ranking(0)[0].chunk_id == coast and len(parts.vectors) == 3
    assert parts.vectors.dimension == encoder.dimension
    assert np.allclose(parts.vectors.reconstruct([coast])[0], encoder.vector(DOCS[1].text), atol=1e-5)
    only = _chunk_of(parts, "hills")
    assert [c for c, _ in parts.vectors.search(query, 3, allowed=np.array([only])).ranking(0)] == [only]
    parts.vectors.delete([coast])
    assert len(parts.vectors) == 2 and coast not in [c for c, _ in parts.vectors.search(query, 3).ranking(0)]
    parts.vectors.add(encoder.encode_passages([DOCS[1].text]), np.array([coast], dtype=np.int64))
    assert parts.vectors.search(query, 1).ranking(0)[0].chunk_id == coast


def test_lexical_side_scores_shared_terms_and_changes(parts):
    coast = _chunk_of(parts, "coast")
    assert [c for c, _ in parts.lexical.search("ferry harbour", 10)] == [coast]
    assert parts.lexical.query_terms("ferry ferry harbour") == ["ferry", "harbour"]
    changed = parts.lexical.changed([coast], [7], ["a ferry to the river"])
    assert [c for c, _ in changed.search("ferry", 10)] == [7] and len(changed) == 3
    assert changed.spec()["scorer"]


def test_chunk_store_gives_typed_rows_and_removes_whole_documents(parts):
    coast = _chunk_of(parts, "coast")
    row = parts.chunks.rows([coast, 12345])[coast]
    assert row.doc_id == "coast" and row.text in DOCS[1].text and 12345 not in parts.chunks.rows([12345])
    assert parts.chunks.doc_of([coast]) == {coast: "coast"}
    assert parts.chunks.document("coast").raw_text == DOCS[1].text and parts.chunks.document("nope") is None
    assert parts.chunks.doc_ids() == ["coast", "fruit", "hills"]
    assert parts.chunks.content_hashes()["coast"] == DOCS[1].content_hash
    assert parts.chunks.remove(["coast"]) == [coast]
    assert parts.chunks.counts().documents == 2 and "coast" not in parts.chunks.doc_ids()
