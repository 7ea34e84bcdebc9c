"""The Milvus store against milvus-lite, embedded and as a local server: writes, both searches, reopening."""

from types import SimpleNamespace

import numpy as np
import pytest

from semsearch.errors import IndexNotFoundError
from semsearch.pipeline.prepare import prepare
from semsearch.readers.ingest import read_sources
from semsearch.storage.local.lexical import Analyzer, LexicalIndex
from semsearch.storage.locations import parse_location
from semsearch.storage.milvus.store import MilvusStore
from semsearch.text.chunk import ChunkingConfig

DIM = 16
QUERIES = ["网格化管理如何推动基层治理", "乡村振兴", "網格員", "党建引领"]


def _prepared(seeds_dir):
    """The seeds cleaned and chunked (by characters: no model needed), as a build prepares them."""
    documents = read_sources([seeds_dir]).documents
    prepared, _ = prepare(documents, SimpleNamespace(count_tokens=len), ChunkingConfig(max_tokens=200))
    return prepared


def _manifest(index_type="Flat"):
    analyzer = Analyzer()
    lexical = LexicalIndex.build(analyzer, [], []).spec()
    return {
        "encoder": {"kind": "test", "identity": "random-16"},
        "dimension": DIM,
        "index_type": index_type,
        "lexical": lexical,
    }


@pytest.fixture(params=["embedded", "server"])
def location(request, tmp_path):
    if request.param == "embedded":
        return parse_location(f"milvus-lite:{tmp_path / 'test.db'}#seeds")
    server = request.getfixturevalue("milvus_server")
    name = f"t{abs(hash(request.node.nodeid)) % 10**8}"
    return parse_location(f"milvus://{server}#{name}")


@pytest.fixture
def written(location, seeds_dir):
    prepared = _prepared(seeds_dir)
    chunks = [c for entry in prepared for c in entry.chunks]
    vectors = np.random.default_rng(7).standard_normal((len(chunks), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = MilvusStore.create(location, _manifest(), Analyzer())
    half = sum(len(e.chunks) for e in prepared[:2])
    store.write(prepared[:2], vectors[:half])  # two batches, as a streaming build writes them
    store.write(prepared[2:], vectors[half:])
    store.publish()  # the new generation becomes the index at its location
    yield store, prepared, chunks, vectors
    store.close()


def _local_lexical(chunks):
    return LexicalIndex.build(Analyzer(), [c.chunk_id for c in chunks], [c.text for c in chunks])


def test_lexical_search_scores_as_bm25s_does(written):
    store, _, chunks, _ = written
    store.reweight()  # the first batch froze a shorter average length; a build weighs with the final one
    local = _local_lexical(chunks)
    for query in QUERIES:
        expected = local.search(query, 10)
        found = store.reads.search_lexical(query, 10)
        assert [c for c, _ in found[:5]] == [c for c, _ in expected[:5]], query
        np.testing.assert_allclose([s for _, s in found], [s for _, s in expected], rtol=1e-5)


def test_simplified_query_finds_traditional_text(written):
    store, _, chunks, _ = written
    found = {c for c, _ in store.reads.search_lexical("网格员", 10)}
    assert any("網格員" in c.text for c in chunks if c.chunk_id in found)
    assert not any("網格員" in c.text for c in chunks if c.chunk_id not in found and "网格员" not in c.text)


def test_dense_search_matches_brute_force(written):
    store, _, chunks, vectors = written
    queries = vectors[[0, 5, 17]] + 0.01
    ids = np.array([c.chunk_id for c in chunks])
    for query, found in zip(queries, store.reads.search_dense(queries, 7)):
        scores = vectors @ query
        top = ids[np.argsort(-scores)[:7]]
        assert [c for c, _ in found] == top.tolist()
        np.testing.assert_allclose([s for _, s in found], np.sort(scores)[::-1][:7], rtol=1e-5)


def test_rows_documents_and_counts_read_back(written):
    store, prepared, chunks, _ = written
    rows = store.reads.fetch([chunks[3].chunk_id, chunks[0].chunk_id])
    row = rows[chunks[3].chunk_id]
    assert (row.text, row.start, row.end, row.doc_id) == (
        chunks[3].text,
        chunks[3].start,
        chunks[3].end,
        chunks[3].doc_id,
    )
    entry = prepared[1]
    record = store.reads.document(entry.document.doc_id)
    assert (record.raw_text, record.clean_text, record.title) == (
        entry.document.text,
        entry.clean.text,
        entry.title,
    )
    assert store.reads.document("nope") is None
    assert store.reads.content_hashes() == {e.document.doc_id: e.document.content_hash for e in prepared}
    assert store.reads.counts()["chunks"] == len(chunks) == len(store.reads)
    assert [c.chunk_id for c in store.reads.iter_chunks()] == [
        c.chunk_id for c in sorted(chunks, key=lambda c: (c.doc_id, c.ordinal))
    ]


def test_removing_a_document_removes_it_from_both_sides_and_reopening_keeps_everything(written, location):
    store, prepared, chunks, vectors = written
    gone = prepared[0].document.doc_id
    removed = store.remove([gone])
    assert sorted(removed) == sorted(c.chunk_id for c in prepared[0].chunks)
    kept = [c for c in chunks if c.doc_id != gone]
    store.reweight()
    reopened = MilvusStore.open(location)
    assert len(reopened.reads) == len(kept) and gone not in reopened.reads.doc_ids()
    local = _local_lexical(kept)
    for query in QUERIES:
        expected = local.search(query, 10)
        found = reopened.reads.search_lexical(query, 10)
        assert not set(removed) & {c for c, _ in found}
        np.testing.assert_allclose([s for _, s in found], [s for _, s in expected], rtol=1e-5)
    dense = reopened.reads.search_dense(vectors[:1], len(chunks))[0]
    assert not set(removed) & {c for c, _ in dense} and len(dense) == len(kept)
    reopened.close()


def test_opening_a_missing_index_names_the_way_out(location, written):
    missing = parse_location(str(location).rsplit("#", 1)[0] + "#nothing_here")
    with pytest.raises(IndexNotFoundError, match="no semsearch index there.*semsearch build"):
        MilvusStore.open(missing)
