"""The storage seam's contract (semsearch.storage.base), run against every engine by parametrisation.

Each engine is created through its Storage and changed only through ``Engine.apply``; the tests read it
only through the Protocols' read side. They run on the directory engine, on Milvus through milvus-lite
embedded and through a milvus-lite server (the last two in the slow tier; see conftest.BACKENDS).
Where engines differ, the Protocol says so (``durability``) and the test asks it.
"""

from collections.abc import Sequence

import numpy as np
import pytest

from semsearch import Document
from semsearch.defaults import BM25_K1
from semsearch.filters import parse_where
from semsearch.records import DuplicateOf, WriteBatch
from semsearch.storage.base import Engine
from semsearch.storage.locations import parse_location, storage_for
from semsearch.text.dedup import DedupConfig, Deduplicator
from tests.support.corpora import FRUIT_COAST_HILLS as DOCS
from tests.support.engines import ENCODER, batch_of, index_spec, manifest_for


@pytest.fixture
def new_engine(new_location):
    """A function giving a new engine, at a new place on the backend under test, holding ``docs``."""
    made: list[Engine] = []

    def make(docs: Sequence[Document] = DOCS) -> Engine:
        location = parse_location(new_location("contract"))
        engine = storage_for(location).create(location, index_spec())
        engine.apply(batch_of(docs, dedup=Deduplicator(DedupConfig())))
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def chunk_of(engine: Engine, doc_id: str) -> int:
    return engine.parts.chunks.chunk_ids_by_doc()[doc_id][0]


def test_vectors_find_the_nearest_chunk_among_those_allowed(new_engine):
    engine = new_engine()
    query = ENCODER.encode_queries(["harbour ocean"])
    coast, hills = chunk_of(engine, "coast"), chunk_of(engine, "hills")
    vectors = engine.parts.vectors
    assert vectors.search(query, 3).ranking(0)[0].chunk_id == coast and len(vectors) == 3
    assert vectors.dimension == ENCODER.dimension
    assert np.allclose(vectors.reconstruct([coast])[0], ENCODER.vector(DOCS[1].text), atol=1e-5)
    only_hills = engine.parts.chunks.select(parse_where({"doc_id": "hills"}))  # the engine's own selection
    assert len(only_hills) == 1
    assert [c for c, _ in vectors.search(query, 3, allowed=only_hills).ranking(0)] == [hills]


def test_lexical_side_scores_shared_terms_and_says_how(new_engine):
    engine = new_engine()
    lexical = engine.parts.lexical
    assert [c for c, _ in lexical.search("ferry harbour", 10)] == [chunk_of(engine, "coast")]
    assert (
        lexical.search("ferry", 10, allowed=engine.parts.chunks.select(parse_where({"doc_id": "hills"})))
        == []
    )
    assert lexical.query_terms("ferry ferry harbour") == ["ferry", "harbour"]
    assert lexical.spec()["scorer"] and lexical.spec()["k1"] == BM25_K1 and not lexical.needs_reweighting


def test_lexical_side_counts_the_chunks_holding_each_term(new_engine):
    engine = new_engine()
    # "the" is in all three chunks, "harbour" in one, "ferry" in one, "kiwi" in none; order is kept.
    terms = ["kiwi", "the", "harbour", "ferry"]
    assert engine.parts.lexical.document_frequencies(terms) == [0, 3, 1, 1]
    assert engine.parts.lexical.document_frequencies([]) == []


def test_documents_come_back_as_typed_records(new_engine):
    engine = new_engine()
    chunks = engine.parts.chunks
    coast = chunk_of(engine, "coast")
    row = chunks.rows([coast, 12345])[coast]
    assert row.doc_id == "coast" and row.text in DOCS[1].text and 12345 not in chunks.rows([12345])
    assert chunks.doc_of([coast]) == {coast: "coast"}
    assert chunks.document("coast").raw_text == DOCS[1].text and chunks.document("nope") is None
    assert chunks.doc_ids() == ["coast", "fruit", "hills"]
    assert chunks.content_hashes()["coast"] == DOCS[1].content_hash
    assert chunks.content_hashes(["coast", "nope"]) == {"coast": DOCS[1].content_hash}
    assert [s.doc_id for s in chunks.summaries()] == ["coast", "fruit", "hills"]
    assert chunks.summaries()[0].fields()["doc_id"] == "coast" and chunks.summaries()[0].chunks == 1
    assert [r.doc_id for r in chunks.iter_chunk_rows()] == ["coast", "fruit", "hills"]
    assert [c.doc_id for c in chunks.iter_chunks()] == ["coast", "fruit", "hills"]
    assert chunks.counts().documents == 3 and chunks.counts().chunks == 3
    assert sorted(f.doc_id for f in chunks.signatures()) == ["coast", "fruit", "hills"]


def test_a_batch_removes_whole_documents_from_every_part_and_is_seen_at_once(new_engine):
    engine = new_engine()
    coast = chunk_of(engine, "coast")
    assert engine.apply(WriteBatch(removed=("coast",))) == [coast]
    parts = engine.parts
    assert "coast" not in parts.chunks.doc_ids() and parts.chunks.counts().documents == 2
    assert len(parts.vectors) == len(parts.lexical) == 2
    assert parts.lexical.search("ferry harbour", 10) == []
    assert coast not in [
        c for c, _ in parts.vectors.search(ENCODER.encode_queries(["harbour"]), 3).ranking(0)
    ]


def test_removing_and_storing_one_id_in_a_batch_is_an_update(new_engine):
    engine = new_engine()
    changed = Document("coast", "river delta harbour, the barge crosses once a day in winter.")
    engine.apply(batch_of([changed], removed=["coast"]))
    parts = engine.parts
    assert parts.chunks.content_hashes(["coast"]) == {"coast": changed.content_hash}
    assert [parts.chunks.doc_of([c])[c] for c, _ in parts.lexical.search("barge", 10)] == ["coast"]
    assert parts.lexical.search("ferry", 10) == [] and len(parts.vectors) == 3


def test_duplicates_are_recorded_for_the_kept_document_and_go_with_it(new_engine):
    engine = new_engine()
    copy = Document("coast-copy", DOCS[1].text, title="Coast", origin="wire.jsonl:3")
    engine.apply(WriteBatch(duplicates=(DuplicateOf(copy, "coast", 1.0),)))
    [record] = engine.parts.chunks.duplicates_of(["coast"])["coast"]
    assert (record.doc_id, record.of_doc_id, record.origin, record.similarity) == (
        "coast-copy",
        "coast",
        "wire.jsonl:3",
        1.0,
    )
    assert engine.parts.chunks.counts().duplicates == 1 and "coast-copy" not in engine.parts.chunks.doc_ids()
    engine.apply(WriteBatch(removed=("coast",)))
    assert engine.parts.chunks.duplicates_of(["coast"]) == {} and engine.parts.chunks.counts().duplicates == 0


def test_near_duplicate_candidates_come_from_the_stored_signatures(new_engine):
    engine = new_engine()
    chunks = engine.parts.chunks
    from semsearch.text.dedup import band_keys

    coast = next(f for f in chunks.signatures() if f.doc_id == "coast")
    candidates = chunks.similar_signatures(band_keys(coast.minhash, DedupConfig()))
    assert candidates is None or "coast" in [f.doc_id for f in candidates]  # None: read every signature


def test_a_commit_makes_the_change_durable_and_a_reopened_engine_sees_it(new_engine):
    engine = new_engine()
    location = engine.location
    manifest = engine.commit(manifest_for(engine), location)
    engine.apply(WriteBatch(removed=("hills",)))
    reopened = storage_for(location).open(location).engine
    try:
        # The engine's one promise about durability: on-apply engines hold the removal already;
        # on-commit engines only once committed.
        expected = ["coast", "fruit"] if engine.durability == "on-apply" else ["coast", "fruit", "hills"]
        assert reopened.parts.chunks.doc_ids() == expected
    finally:
        reopened.close()
    engine.commit(manifest_for(engine), location, expect_generation=manifest.generation)
    again = storage_for(location).open(location)
    try:
        assert again.engine.parts.chunks.doc_ids() == ["coast", "fruit"]
        assert again.manifest.counts.chunks == 2
        query = ENCODER.encode_queries(["apple"])
        assert again.engine.parts.vectors.search(query, 1).ranking(0)[0].chunk_id == chunk_of(engine, "fruit")
    finally:
        again.engine.close()
