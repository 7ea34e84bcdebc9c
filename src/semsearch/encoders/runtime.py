"""Where and on how many threads a model runs: the process's CPUs, ``$SEMSEARCH_THREADS``, the GPU.

One policy for every runtime (OpenVINO, torch, FAISS's OpenMP threads), so processes sharing a
machine do not oversubscribe it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from semsearch.defaults import DEVICES
from semsearch.errors import EncoderError, InputError

THREADS_ENV = "SEMSEARCH_THREADS"


def default_threads() -> int:
    """Threads for the encoder and FAISS: ``$SEMSEARCH_THREADS``, else the CPUs this process may use.

    Honouring the CPU affinity (and ``OMP_NUM_THREADS``, which Ray sets for its workers) keeps
    several processes on one machine from oversubscribing it.
    """
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            return check_threads(value, name)
    return available_cpus()


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def threads_setting(threads: int | None) -> int | None:
    """``threads`` checked, else ``$SEMSEARCH_THREADS``, else None (the library's own choice)."""
    if threads is not None:
        return check_threads(threads)
    env = os.environ.get(THREADS_ENV, "").strip()
    return check_threads(env, THREADS_ENV) if env else None


def check_threads(value: object, what: str = "threads") -> int:
    """Validate a thread count given by a user (argument or environment variable)."""
    try:
        threads = int(str(value))
    except ValueError:
        threads = 0
    if threads < 1:
        raise InputError(f"{what} must be a positive whole number of threads, not {value!r}")
    return threads


def resolve_device(device: str | None) -> Literal["cpu", "cuda"]:
    """``auto`` → ``cuda`` when an NVIDIA GPU and torch with CUDA are present, else ``cpu``.

    ``cuda`` without a usable GPU raises :class:`EncoderError` saying what is missing.
    """
    device = (device or "auto").lower()
    if device not in DEVICES:
        raise InputError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cpu":
        return "cpu"
    problem = cuda_problem()
    if problem is None:
        return "cuda"
    if device == "auto":
        return "cpu"
    raise EncoderError(f"device 'cuda' is not available: {problem}; use --device cpu (or auto)")


def cuda_problem() -> str | None:
    """Why the bundled model cannot run on an NVIDIA GPU here, or None when it can.

    Checks the driver first so a machine without one never pays for importing torch.
    """
    if not Path("/proc/driver/nvidia/version").exists():
        return "no NVIDIA driver found (/proc/driver/nvidia/version is missing)"
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "the GPU runtime needs torch with CUDA: pip install 'semsearch[gpu]'"
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device (a CPU-only build of torch, or no GPU)"
    return None
