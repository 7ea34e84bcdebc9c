"""Milvus without a Milvus: FAISS index types mapped or refused, connections tried again (no server started)."""

from types import SimpleNamespace

import pytest

from semsearch.errors import InputError
from semsearch.storage.locations import parse_location
from semsearch.storage.milvus.schema import milvus_index_type


@pytest.mark.parametrize(
    ("faiss", "milvus", "params"),
    [
        ("Flat", "FLAT", {}),
        ("HNSW32", "HNSW", {"M": 32, "efConstruction": 200}),
        ("IVF256,Flat", "IVF_FLAT", {"nlist": 256}),
        ("IVF64,SQ8", "IVF_SQ8", {"nlist": 64}),
    ],
)
def test_faiss_factory_strings_map_to_milvus_indexes(faiss, milvus, params):
    kind = milvus_index_type(faiss)
    assert (kind.milvus, kind.params) == (milvus, params)


@pytest.mark.parametrize("faiss", ["IVF256,PQ16", "HNSW32,SQ8", "OPQ16,IVF256,PQ16", "PQ16", "LSH", ""])
def test_index_types_milvus_cannot_build_are_refused(faiss):
    with pytest.raises(InputError, match="no Milvus equivalent.*only pretends"):
        milvus_index_type(faiss)


def test_index_types_milvus_only_pretends_to_build_are_refused_before_embedding(tmp_path, seeds_dir):
    from semsearch import Index

    with pytest.raises(InputError, match="no Milvus equivalent"):
        Index.build(
            [seeds_dir], engine=f"milvus-lite:{tmp_path / 'x.db'}#seeds", index_type="IVF16,PQ8", cache=False
        )
    assert not (tmp_path / "x.db").exists()


def test_a_server_that_drops_the_first_connection_is_tried_again(monkeypatch):
    """A milvus-lite server that has just sent this process a gRPC GOAWAY ("too_many_pings" after idle
    keep-alives) refuses one connection and accepts the next: connect tries a server three times."""
    import semsearch.storage.milvus.schema as schema
    from semsearch.errors import BackendError

    attempts: list[dict] = []

    def flaky(failures):
        class Client:
            def __init__(self, **kwargs):
                attempts.append(kwargs)
                if len(attempts) <= failures:
                    raise ConnectionError("Fail connecting to server on 127.0.0.1:1")

        return SimpleNamespace(MilvusClient=Client)

    monkeypatch.setattr(schema.time, "sleep", lambda seconds: None)
    server = parse_location("milvus://127.0.0.1:1#news")
    monkeypatch.setattr(schema, "pymilvus", lambda: flaky(1))
    assert schema.connect(server) is not None and len(attempts) == 2
    attempts.clear()
    monkeypatch.setattr(schema, "pymilvus", lambda: flaky(99))
    with pytest.raises(BackendError, match="cannot connect to Milvus at .*Fail connecting"):
        schema.connect(server)
    assert len(attempts) == schema.CONNECT_ATTEMPTS
