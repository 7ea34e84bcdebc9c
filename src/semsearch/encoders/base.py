"""What semsearch needs from an embedding model (:class:`Encoder`), and the batching every build goes through.

Each encoder has an ``identity`` string recorded in the index, so an index is never searched with
vectors from another model; :func:`embed_passages` embeds identical texts once, cached ones not at
all, longest first; :func:`check_vectors` checks and normalises what a model returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from semsearch.defaults import DEFAULT_BATCH_SIZE
from semsearch.errors import EncoderError, InputError

if TYPE_CHECKING:
    from semsearch.encoders.cache import EmbeddingCache


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
