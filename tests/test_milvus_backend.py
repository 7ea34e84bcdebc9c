"""The Milvus backend against milvus-lite, embedded and as a local server: locations, writes, both searches."""

from types import SimpleNamespace

import numpy as np
import pytest

from semsearch.errors import IndexNotFoundError, InputError
from semsearch.pipeline.prepare import prepare
from semsearch.readers.ingest import read_sources
from semsearch.storage.local.lexical import Analyzer, LexicalIndex
from semsearch.storage.locations import is_milvus_location, parse_location
from semsearch.text.chunk import ChunkingConfig

pytest.importorskip("pymilvus")

from semsearch.storage.milvus.store import MilvusStore, milvus_index_type

DIM = 16
QUERIES = ["网格化管理如何推动基层治理", "乡村振兴", "網格員", "党建引领"]


# ---------------------------------------------------------------------- locations


def test_locations_parse_and_never_show_credentials(monkeypatch):
    monkeypatch.delenv("SEMSEARCH_MILVUS_TOKEN", raising=False)
    lite = parse_location("milvus-lite:indexes/news.db#seeds")
    assert (lite.lite, lite.uri, lite.collection) == (True, "indexes/news.db", "seeds")
    assert str(lite) == "milvus-lite:indexes/news.db#seeds"
    server = parse_location("milvus://alice:s3cret@db.example:19531#news")
    assert (server.uri, server.collection, server.token) == (
        "http://db.example:19531",
        "news",
        "alice:s3cret",
    )
    assert "s3cret" not in str(server) and "s3cret" not in repr(server)
    assert parse_location("milvus://db.example#news").uri == "http://db.example:19530"
    assert parse_location("milvus+https://db.example:443#news").uri == "https://db.example:443"
    monkeypatch.setenv("SEMSEARCH_MILVUS_TOKEN", "api-key")
    assert parse_location("milvus://db.example#news").token == "api-key"
    assert is_milvus_location("milvus-lite:x.db#a") and not is_milvus_location("indexes/seeds")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("milvus://host:19530", "names no valid collection"),
        ("milvus://host:19530#9lives", "names no valid collection"),
        ("milvus://host:19530#my__index", "may not contain '__'"),
        ("milvus-lite:news#seeds", "ending in .db"),
        ("milvus://#seeds", "no HOST"),
        ("milvus://host:port#seeds", "invalid port"),
    ],
)
def test_malformed_locations_are_clear_errors(value, message):
    with pytest.raises(InputError, match=message):
        parse_location(value)


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


# ---------------------------------------------------------------------- the store


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


# Both slow: an embedded milvus-lite takes about 3 s to start for each test, the server is a process.
@pytest.fixture(params=[pytest.param(p, marks=pytest.mark.slow) for p in ("embedded", "server")])
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


# ---------------------------------------------------------------------- through Index and the CLI


def _cli(*args, cwd):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "semsearch", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.slow  # CLI subprocesses, each loading the model
def test_cli_builds_changes_and_queries_a_milvus_index_like_a_local_one(tmp_path, seeds_index, seeds_dir):
    import json

    target = "milvus-lite:indexes/news.db#seeds"  # relative: inside the working directory
    built = _cli("build", str(seeds_dir), "-o", target, "--no-progress", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert f"built {target}: 5 docs, {len(seeds_index)} chunks" in built.stdout
    for query in ("网格化管理如何推动基层治理", "乡村振兴", "網格員"):
        out = _cli("query", "-i", target, "-k", "5", "--json", query, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        hits = json.loads(out.stdout)
        assert [h["chunk_id"] for h in hits] == [h.chunk_id for h in seeds_index.search(query, k=5)]
    info = _cli("info", "-i", target, "--json", cwd=tmp_path)
    assert json.loads(info.stdout)["counts"]["chunks"] == len(seeds_index)
    removed = _cli("remove", "-i", target, "002_04edc0192fabf55a", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    docs = _cli("docs", "-i", target, "--json", cwd=tmp_path)
    assert "002_04edc0192fabf55a" not in docs.stdout and "000_d06f920685a293a0" in docs.stdout
    # Nothing but the database was written (milvus-lite keeps it in a folder): no lock file anywhere.
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.parts[:2] == ("indexes", "news.db") for p in written)


@pytest.mark.slow
def test_loading_with_another_model_is_a_mismatch_on_every_backend(any_seeds_index, minilm_path, tmp_path):
    from semsearch import Index, IndexMismatchError

    where = any_seeds_index.path or any_seeds_index.save(tmp_path / "seeds")
    with pytest.raises(IndexMismatchError, match="was built with .*the model given is"):
        Index.load(where, model=minilm_path)


@pytest.mark.slow
def test_an_interrupted_build_is_never_loaded_as_a_whole_index(tmp_path, seeds_dir, monkeypatch):
    import semsearch.pipeline.build
    import semsearch.storage.milvus.engine
    from semsearch import Index, IndexCorruptError

    with pytest.raises(IndexNotFoundError, match="no milvus-lite database"):
        Index.load(f"milvus-lite:{tmp_path / 'none.db'}#seeds")
    location = f"milvus-lite:{tmp_path / 'half.db'}#seeds"
    monkeypatch.setattr(semsearch.storage.milvus.engine.MilvusEngine, "batch_chunks", 10)
    embed = semsearch.pipeline.build.embed_chunks
    calls = []

    def stopped_after_the_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return embed(*args, **kwargs)

    monkeypatch.setattr(semsearch.pipeline.build, "embed_chunks", stopped_after_the_first_batch)
    with pytest.raises(KeyboardInterrupt):
        Index.build([seeds_dir], engine=location)
    assert (tmp_path / "half.db").exists()
    with pytest.raises(IndexCorruptError, match="its build did not finish"):
        Index.load(location)


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


@pytest.mark.slow  # an embedded milvus-lite starts
def test_info_says_when_split_bm25_needs_reweighting_and_reweighting_clears_it(tmp_path, capsys):
    from semsearch import Document, Index
    from semsearch.cli.render import describe_lexical, print_info
    from semsearch.storage.milvus.engine import reweight
    from tests.keyword_encoder import KeywordEncoder

    at = f"milvus-lite:{tmp_path / 'drift.db'}#news"
    short = [Document(f"s{i}", f"apple river {i}号。") for i in range(6)]
    index = Index.build(short, engine=at, model=KeywordEncoder(), cache=False, dedup=False)
    info = index.info()
    assert "needs_reweighting" not in info["lexical"]
    assert info["storage"] == "Milvus (semsearch-milvus/2, 5 collections)" and info["bytes_on_disk"] > 0
    local = Index.build(short, model=KeywordEncoder(), cache=False)
    local.save(tmp_path / "local")
    assert Index.load(tmp_path / "local").info()["storage"] == "directory"
    print_info({**info, "bytes_on_disk": None})  # a server's size is not known here
    shown = capsys.readouterr().out
    assert "storage: Milvus (semsearch-milvus/2" in shown and "size on disk: not known" in shown
    long = "，".join(f"peach mountain 第{i}段" for i in range(60))
    index.add([Document("long", long)])  # the average length jumps: old rows' weights are now off
    lexical = index.info()["lexical"]
    assert lexical["needs_reweighting"] is True
    assert "drifted since rows were weighted" in describe_lexical(lexical)
    assert reweight(at) > 0
    assert "needs_reweighting" not in Index.load(at, model=KeywordEncoder()).info()["lexical"]
    assert "drifted" not in describe_lexical(Index.load(at, model=KeywordEncoder()).info()["lexical"])
