"""Milvus without a Milvus: FAISS index types mapped or refused, the client's keep-alive (no server started)."""

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


def test_the_client_pings_a_server_only_as_its_keepalive_policy_allows(monkeypatch):
    """Issue 24, item 19: pymilvus pings every 10 s even when idle, which a gRPC server's default policy
    (no ping without a call, none sooner than 5 min) answers with GOAWAY "too_many_pings"; the suite then
    failed to reconnect now and then, and a retry hid it. The channel now pings only during calls, at
    most every 6 min, and a refused connection is reported at once, not retried."""
    import grpc

    import semsearch.storage.milvus.schema as schema
    from semsearch.errors import BackendError

    channels: list[dict] = []

    def refused(target, options=None, **kwargs):
        channels.append(dict(options or ()))
        raise ConnectionError(f"Fail connecting to server on {target}")

    monkeypatch.setattr(grpc, "insecure_channel", refused)
    with pytest.raises(BackendError, match="cannot connect to Milvus at .*Fail connecting"):
        schema.connect(parse_location("milvus://127.0.0.1:1#news"))
    assert len(channels) == 1  # no retry
    options = channels[0]
    assert options["grpc.keepalive_time_ms"] >= 300_000  # the server's default minimum ping interval
    assert not options["grpc.keepalive_permit_without_calls"]
