"""The Milvus engine through Index: an interrupted build is never loaded, split BM25 reweighted when it drifts."""

import pytest

from semsearch.errors import IndexNotFoundError


def test_an_interrupted_build_is_never_loaded_as_a_whole_index(tmp_path, seeds_dir, monkeypatch):
    import semsearch.pipeline.build
    import semsearch.storage.milvus.engine
    from semsearch import Index

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
    with pytest.raises(IndexNotFoundError, match="a build into it did not finish"):
        Index.load(location)


def test_info_says_when_split_bm25_needs_reweighting_and_reweighting_clears_it(tmp_path, capsys):
    from semsearch import Document, Index
    from semsearch.cli.render import describe_lexical, print_info
    from semsearch.storage.milvus.engine import reweight
    from tests.support.keyword_encoder import KeywordEncoder

    at = f"milvus-lite:{tmp_path / 'drift.db'}#news"
    short = [Document(f"s{i}", f"apple river {i}号。") for i in range(6)]
    index = Index.build(short, engine=at, model=KeywordEncoder(), cache=False, dedup=False)
    info = index.info()
    assert "needs_reweighting" not in info["lexical"]
    assert info["storage"] == "Milvus (semsearch-milvus/3, 5 collections)" and info["bytes_on_disk"] > 0
    local = Index.build(short, model=KeywordEncoder(), cache=False)
    local.save(tmp_path / "local")
    assert Index.load(tmp_path / "local").info()["storage"] == "directory"
    print_info({**info, "bytes_on_disk": None})  # a server's size is not known here
    shown = capsys.readouterr().out
    assert "storage: Milvus (semsearch-milvus/3" in shown and "size on disk: not known" in shown
    long = "，".join(f"peach mountain 第{i}段" for i in range(60))
    index.add([Document("long", long)])  # the average length jumps: old rows' weights are now off
    lexical = index.info()["lexical"]
    assert lexical["needs_reweighting"] is True
    assert "drifted since rows were weighted" in describe_lexical(lexical)
    assert reweight(at) > 0
    assert "needs_reweighting" not in Index.load(at, model=KeywordEncoder()).info()["lexical"]
    assert "drifted" not in describe_lexical(Index.load(at, model=KeywordEncoder()).info()["lexical"])


def test_optimize_into_another_index_type_is_refused_on_milvus_with_what_to_do(tmp_path):
    """Issue 23: the local engine switches index types from its stored vectors; Milvus says to rebuild."""
    from semsearch import Document, Index, InputError
    from tests.support.keyword_encoder import KeywordEncoder

    at = f"milvus-lite:{tmp_path / 'types.db'}#news"
    docs = [Document(f"d{i}", f"apple river {i} harbour valley mountain") for i in range(3)]
    index = Index.build(docs, engine=at, model=KeywordEncoder(), cache=False)
    with pytest.raises(InputError, match=r"built with \(Flat\).*--index-type HNSW32"):
        index.optimize(index_type="HNSW32")
    index.optimize(index_type="Flat")  # the type it has: compacting as before
    assert Index.load(at, model=KeywordEncoder()).manifest.index_type == "Flat"
