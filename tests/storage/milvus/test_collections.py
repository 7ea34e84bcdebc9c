"""Which collections semsearch may replace, how a rebuild replaces them, and a change that fails (issue 24).

Item 4: a build into a collection that is not semsearch's dropped it; item 5: a rebuild stopped part-way
destroyed the old index; item 6: after one failed insert every later change on the Index failed.
"""

import numpy as np
import pytest

from semsearch import Document, Index
from semsearch.errors import InputError
from semsearch.storage.locations import parse_location
from semsearch.storage.milvus.schema import connect
from tests.support.keyword_encoder import KeywordEncoder

TEXTS = [
    "apple banana cherry, the fruit stall.",
    "ocean harbour island ferry.",
    "mountain valley forest trail.",
]


def _docs(prefix, count=3):
    return [Document(f"{prefix}{i}", TEXTS[i % 3] + f" {prefix} {i}") for i in range(count)]


def _foreign(at, name="users", rows=10):
    """Another program's collection ``name`` with ``rows`` rows at the database or server of ``at``."""
    location = parse_location(at)
    client = connect(location)
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [0.1, 0.2, 0.3, float(i)]} for i in range(rows)])
    client.flush(name)
    return location, client


def _rows(client, name):
    return len(client.query(name, filter="id >= 0", output_fields=["id"]))


def test_a_build_or_save_never_replaces_a_collection_that_is_not_semsearchs(milvus_at):
    at = milvus_at("users")
    location_name = parse_location(at).collection
    _, client = _foreign(at, location_name)
    try:
        with pytest.raises(InputError, match="not a semsearch index"):
            Index.build(_docs("a"), engine=at, model=KeywordEncoder(), cache=False)
        local = Index.build(_docs("a"), model=KeywordEncoder(), cache=False)
        with pytest.raises(InputError, match="not a semsearch index"):
            local.save(at)
        assert client.has_collection(location_name) and _rows(client, location_name) == 10
    finally:
        client.close()


def test_a_collection_named_like_a_part_of_the_index_is_left_alone(milvus_at):
    """A foreign NAME__docs beside a semsearch NAME built before generations is not dropped by a rebuild."""
    at = milvus_at()
    Index.build(_docs("a"), engine=at, model=KeywordEncoder(), cache=False)
    location = parse_location(at)
    other = f"{location.collection}__gffffffffffffff"  # a generation's name, but not semsearch's collection
    _, client = _foreign(at, other, rows=3)
    try:
        rebuilt = Index.build(_docs("b"), engine=at, model=KeywordEncoder(), cache=False)
        assert rebuilt.doc_ids() == ["b0", "b1", "b2"]
        assert client.has_collection(other) and _rows(client, other) == 3
    finally:
        client.close()


def test_a_rebuild_that_stops_part_way_leaves_the_old_index_whole(milvus_at, monkeypatch):
    import semsearch.storage.milvus.store as store

    at = milvus_at()
    Index.build(_docs("old", 5), engine=at, model=KeywordEncoder(), cache=False)
    real = store.MilvusStore._write
    calls = []

    def stopped(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(store.MilvusStore, "_write", stopped)
    monkeypatch.setattr("semsearch.storage.milvus.engine.MilvusEngine.batch_chunks", 2)
    with pytest.raises(KeyboardInterrupt):
        Index.build(_docs("new", 6), engine=at, model=KeywordEncoder(), cache=False)
    monkeypatch.undo()
    old = Index.load(at, model=KeywordEncoder())
    assert old.doc_ids() == [f"old{i}" for i in range(5)] and old.verify() == []
    new = Index.build(_docs("new", 6), engine=at, model=KeywordEncoder(), cache=False)
    assert new.doc_ids() == [f"new{i}" for i in range(6)]
    assert Index.load(at, model=KeywordEncoder()).doc_ids() == [f"new{i}" for i in range(6)]
    client = connect(parse_location(at))
    try:  # the old generation and the unfinished one are gone: five collections are left
        names = [n for n in client.list_collections() if n.startswith(parse_location(at).collection)]
        assert len(names) == 5, names
    finally:
        client.close()


def test_a_failed_change_leaves_the_index_usable_and_as_it_was(milvus_at, monkeypatch):
    import semsearch.storage.milvus.store as store

    at = milvus_at()
    index = Index.build(_docs("a"), engine=at, model=KeywordEncoder(), cache=False)
    before = (index.doc_ids(), len(index), index.manifest.counts.documents)
    real = store.MilvusStore._put
    failures = []

    def failing_once(self, method, collection, rows, batch):
        if not failures and collection.endswith("__docs"):  # chunks written, documents not: half-way
            failures.append(1)
            raise RuntimeError("the server went away")
        return real(self, method, collection, rows, batch)

    monkeypatch.setattr(store.MilvusStore, "_put", failing_once)
    with pytest.raises(RuntimeError, match="went away"):
        index.add([Document("b", "ocean harbour ferry again")])
    assert failures
    assert (index.doc_ids(), len(index)) == before[:2]
    assert index.add([Document("c", "mountain trail again")]).added == ("c",)
    assert index.remove(["a0"]).removed == ("a0",)
    assert index.doc_ids() == ["a1", "a2", "c"] and index.verify() == []
    index.save()
    again = Index.load(at, model=KeywordEncoder())
    assert again.doc_ids() == ["a1", "a2", "c"] and again.manifest.counts.documents == 3
    hits = again.search("ocean harbour", k=5)
    assert "b" not in {h.doc_id for h in hits} and np.isfinite([h.score for h in hits]).all()


def test_parts_a_killed_drop_left_without_their_chunk_collection_are_dropped_by_the_next_build(milvus_at):
    """Found by the kill test: a rebuild killed while dropping an old generation left its other parts."""
    from semsearch.storage.milvus import collections as layout
    from semsearch.storage.milvus.schema import create_collections, milvus_index_type

    at = milvus_at()
    Index.build(_docs("a"), engine=at, model=KeywordEncoder(), cache=False)
    location = parse_location(at)
    client = connect(location)
    try:
        orphan = layout.new_generation(location)
        create_collections(location, client, orphan, 8, milvus_index_type("Flat"), {})
        client.drop_collection(orphan.chunks)  # killed right after dropping the chunk collection
        assert client.has_collection(orphan.docs)
        Index.build(_docs("b"), engine=at, model=KeywordEncoder(), cache=False)
        names = [n for n in client.list_collections() if n.startswith(location.collection)]
        assert not any(n.startswith(orphan.chunks) for n in names) and len(names) == 5, names
    finally:
        client.close()
