"""How a build or a change embeds chunk texts: batch size, embedding cache, progress, Ray.

:func:`embed_chunks` is the one call both :mod:`semsearch.pipeline.build` and :mod:`semsearch.pipeline.changes` make;
it hands the texts to :func:`semsearch.encoders.base.embed_passages` (or to Ray workers) in the script the
index embeds in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from semsearch.defaults import DEFAULT_BATCH_SIZE, on_off
from semsearch.encoders.base import Encoder, embed_passages
from semsearch.encoders.cache import EmbeddingCache
from semsearch.text.scripts import DEFAULT_EMBED_SCRIPT, EmbedScript, check_embed_script, embedding_texts

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class EmbedOptions:
    """How chunk texts are embedded: batch size, embedding cache, progress, and the script given to the encoder.

    ``script`` (:mod:`semsearch.text.scripts`): Traditional converted to "simplified", or "as-written".
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    cache: EmbeddingCache | bool | None = True
    progress: bool | ProgressCallback = False
    script: EmbedScript = DEFAULT_EMBED_SCRIPT
    ray: bool | str = (
        False  # embed on Ray: True for a local cluster (or $RAY_ADDRESS), or a cluster's address
    )


def embed_chunks(
    encoder: Encoder, texts: Sequence[str], options: EmbedOptions, stats: dict[str, int] | None = None
) -> np.ndarray:
    """The passage vectors of chunks' indexed ``texts`` (cached ones not embedded again; ``stats["embedded"]`` counts the rest).

    Progress is counted in characters: the time to embed a text grows with its length, and the longest
    go first, so a count of texts would promise far too long at the start.
    """
    sizes = [max(len(t), 1) for t in texts]
    progress = progress_callback(options.progress, sum(sizes))
    embed: Callable[..., np.ndarray] = embed_passages
    if options.ray:
        from semsearch.encoders.ray_workers import embed_with_ray

        address = None if options.ray is True else str(options.ray)
        embed = functools.partial(embed_with_ray, address=address)
    try:
        return embed(
            encoder,
            embedding_texts(list(texts), check_embed_script(options.script)),
            batch_size=options.batch_size,
            cache=resolve_cache(options.cache),
            progress=progress,
            stats=stats,
            weights=sizes,
        )
    finally:
        if callable(getattr(progress, "close", None)):
            progress.close()  # type: ignore[union-attr]


def resolve_cache(cache: EmbeddingCache | bool | None) -> EmbeddingCache | None:
    """The embedding cache ``cache`` asks for: True the default one, False or None none."""
    return on_off(cache, EmbeddingCache, "cache")


def progress_callback(progress: bool | ProgressCallback, total: int) -> Callable[[int], None] | None:
    """A per-batch callback: a tqdm bar for True, the caller's ``progress(done, total)``, or None.

    ``done`` and ``total`` count characters of text to embed (see :func:`embed_chunks`).
    """
    if progress is False or progress is None:
        return None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="char", unit_scale=True, desc="embedding", leave=False)

        def update(n: int) -> None:
            bar.update(n)

        update.close = bar.close  # type: ignore[attr-defined]
        return update
    done = 0

    def forward(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return forward
