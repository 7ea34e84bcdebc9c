"""More builds with the bundled model: approximate index types, other chunk sizes, the cache, embed_script."""

import pytest

from semsearch import Document, EmbeddingCache, Index, InputError, load_encoder
from tests.support.corpora import GRID_PLATFORM as NEW


def test_approximate_index_type_is_recorded_and_searchable(tmp_path, seeds_dir):
    index = Index.build([seeds_dir], index_type="HNSW32")
    assert index.manifest.index_type == "HNSW32"
    index.save(tmp_path / "hnsw")
    loaded = Index.load(tmp_path / "hnsw")
    assert "HNSW" in loaded.manifest.faiss_class
    exact = Index.build([seeds_dir]).search("道德银行积分存折", k=3)
    assert loaded.search("道德银行积分存折", k=3)[0].chunk_id == exact[0].chunk_id


def test_smaller_chunks_fit_the_window_given(seeds_dir):
    index = Index.build([seeds_dir], max_tokens=128)
    assert index.manifest.chunking.max_tokens == 128
    assert max(c.n_tokens for c in index.chunks()) <= 128
    assert len(index) > 56


@pytest.mark.parametrize("index_type", ["HNSW32", "IVF4,Flat"])
def test_approximate_indexes_can_remove(seeds_dir, index_type):
    index = Index.build([seeds_dir], index_type=index_type)
    index.remove(["003_0a8f1e061dc44cdc"])
    index.add([NEW])
    assert len(index) == index.manifest.counts.chunks
    hits = index.search("智慧网格平台上报隐患", k=len(index), mode="dense")
    assert hits[0].doc_id == NEW.doc_id
    assert "003_0a8f1e061dc44cdc" not in [h.doc_id for h in hits]


class CountingEncoder:
    """The real bundled encoder, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        self.inner = load_encoder()
        self.passages = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_passages(self, texts):
        self.passages += len(texts)
        return self.inner.encode_passages(texts)


def test_rebuilding_reuses_cached_embeddings(seeds_dir, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    encoder = CountingEncoder()
    first = Index.build([seeds_dir], model=encoder, cache=cache)
    embedded = encoder.passages
    assert embedded == len({c.text for c in first.chunks()})
    Index.build([seeds_dir], model=encoder, cache=cache, max_tokens=200)  # re-chunked: only new texts
    rechunked = encoder.passages - embedded
    assert 0 < rechunked < len(first)
    Index.build([seeds_dir], model=encoder, cache=cache)
    assert encoder.passages == embedded + rechunked  # nothing new
    assert cache.stats().vectors[encoder.identity] == embedded + rechunked
    assert cache.clear() == embedded + rechunked and cache.stats().vectors == {}


def test_traditional_text_is_embedded_as_simplified_and_the_setting_is_recorded(tmp_path):
    simplified = "这些网格员每周入户走访，记录群众反映的问题并及时上报处理。"
    traditional = "這些網格員每週入戶走訪，記錄群眾反映的問題並及時上報處理。"
    query = "网格员多久入户走访一次"
    built = {
        name: Index.build([Document(doc_id="a", text=text)], **options)
        for name, text, options in (
            ("simplified", simplified, {}),
            ("traditional", traditional, {}),
            ("as-written", traditional, {"embed_script": "as-written"}),
        )
    }
    score = {name: index.search(query, k=1, mode="dense")[0].score for name, index in built.items()}
    assert score["traditional"] == pytest.approx(score["simplified"], abs=1e-6)
    assert score["as-written"] != pytest.approx(score["simplified"], abs=1e-4)
    built["traditional"].save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded.embed_script == "simplified" and "網格員" in loaded.search(query, k=1)[0].text
    with pytest.raises(InputError, match="embed_script must be one of"):
        Index.build([Document(doc_id="a", text=simplified)], embed_script="pinyin")
