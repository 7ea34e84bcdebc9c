"""How good an index is on labelled questions, and which hybrid fusion suits its model.

Judgments come in the BEIR layout (``queries.jsonl``, ``qrels.tsv``); Recall@k, MRR@10, nDCG@10 come out.

>>> judgments = read_judgments("../shared/data/cmrc2018/trial")   # queries.jsonl + qrels.tsv
>>> evaluate(index, judgments)["hybrid"]["MRR@10"]
>>> tuning = tune_fusion(index, judgments); index.fusion = tuning.best

Relevance is judged per document (the qrels name corpus ids, which are the index's document ids):
a document counts once, at the rank of its best chunk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from semsearch.defaults import DEFAULT_NORM, EVALUATED_MODES, Mode
from semsearch.errors import InputError
from semsearch.records import QUERY_TIME_DEFAULTS, FusionConfig
from semsearch.search.fusion import fuse
from semsearch.search.searcher import (
    Candidate,
    Searcher,
    SearchOptions,
    SideRankings,
    deepen,
    prepare_query,
    ranked_side,
)

if TYPE_CHECKING:
    from semsearch.records import Chunk, Hit


class Index(Protocol):
    """What evaluation and tuning read of an index (:class:`semsearch.Index` has it)."""

    fusion: FusionConfig

    def search_batch(
        self, queries: Sequence[str], k: int = 10, *, mode: Mode = ..., max_per_doc: int | None = ...
    ) -> list[list[Hit]]:
        """One best-first list of hits per query."""
        ...

    def searcher(self) -> Searcher:
        """The index's ranking."""
        ...

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk."""
        ...

    def doc_ids(self) -> list[str]:
        """Every document id."""
        ...


METRICS = ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10")
EVALUATED_K = 10  # documents ranked per question: the metrics look at the top 10
EVALUATION_BATCH = 64  # questions embedded and searched together
# How tune_fusion ranks settings: MRR@10, then R@10, then nDCG@10.
RANKING = ("MRR@10", "R@10", "nDCG@10")
# The grid tune_fusion searches, simplest first (fewer candidates; RRF before weighted), so that a tie
# goes to the simpler setting. Weights 0 and 1 are one side alone (ties broken by the other), so the
# tuned fusion is never worse on the tuning questions than the better side by itself.
RRF_KS = (5, 10, 20, 30, 60, 100)
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 1.0)
DEPTHS = (10, 20, 50, 100)


@dataclass(frozen=True)
class Judgments:
    """Labelled questions: query id → text, and query id → the ids of the relevant documents."""

    queries: Mapping[str, str]
    relevant: Mapping[str, frozenset[str]]

    def __len__(self) -> int:
        return len(self.queries)


def read_judgments(folder: str | Path) -> Judgments:
    """Read ``queries.jsonl`` and ``qrels.tsv`` (BEIR layout) from ``folder``.

    Queries without text or without a relevant document cannot be scored and are left out.
    Raises InputError naming the missing or malformed file.
    """
    folder = Path(folder)
    for name in ("queries.jsonl", "qrels.tsv"):
        if not (folder / name).is_file():
            raise InputError(f"{folder} is not a BEIR folder: {name} is missing")
    queries: dict[str, str] = {}
    for number, row in enumerate(_jsonl(folder / "queries.jsonl"), start=1):
        if not isinstance(row, dict) or "_id" not in row or not isinstance(row.get("text"), str):
            raise InputError(
                f"{folder / 'queries.jsonl'} line {number}: expected {{'_id': ..., 'text': ...}}"
            )
        queries[str(row["_id"])] = row["text"]
    relevant: dict[str, set[str]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[0] == "query-id" or not line.strip():
                continue
            try:
                if len(parts) < 3:
                    raise ValueError("fewer than 3 columns")
                score = float(parts[2])
            except ValueError as exc:
                raise InputError(
                    f"{folder / 'qrels.tsv'} line {number}: expected query-id, corpus-id, score ({exc})"
                ) from None
            if score > 0:
                relevant.setdefault(parts[0], set()).add(parts[1])
    kept = {q: t for q, t in queries.items() if q in relevant and t.strip()}
    if not kept:
        raise InputError(f"{folder}: no query has both text and a relevant document in qrels.tsv")
    return Judgments(kept, {q: frozenset(relevant[q]) for q in kept})


def read_corpus(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of a BEIR folder's ``corpus.jsonl`` (``_id``, ``text``, optional ``title``)."""
    path = Path(folder) / "corpus.jsonl"
    if not path.is_file():
        raise InputError(f"{folder} is not a BEIR folder: corpus.jsonl is missing")
    return list(_jsonl(path))


def _jsonl(path: Path) -> Iterable[Any]:
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:  # ValueError: not UTF-8, not JSON, or an integer of over 4,300 digits
                    row = json.loads(line.decode("utf-8"))
                except ValueError as exc:
                    raise InputError(f"{path} line {number} is not JSON ({exc})") from None
                yield row


# ---------------------------------------------------------------------- metrics


def recall_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = set(relevant)
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top ``k``, else 0."""
    relevant = set(relevant)
    return next((1.0 / r for r, d in enumerate(ranked[:k], start=1) if d in relevant), 0.0)


def ndcg_at(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    relevant = set(relevant)
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranked[:k], start=1) if d in relevant)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def score_runs(runs: Mapping[str, Sequence[str]], relevant: Mapping[str, Iterable[str]]) -> dict[str, float]:
    """Mean R@1/5/10, MRR@10 and nDCG@10 of ranked document ids per query (a missing run scores 0)."""
    totals = dict.fromkeys(METRICS, 0.0)
    for qid, wanted in relevant.items():
        ranked = runs.get(qid, [])
        totals["R@1"] += recall_at(ranked, wanted, 1)
        totals["R@5"] += recall_at(ranked, wanted, 5)
        totals["R@10"] += recall_at(ranked, wanted, 10)
        totals["MRR@10"] += mrr_at(ranked, wanted, 10)
        totals["nDCG@10"] += ndcg_at(ranked, wanted, 10)
    return {name: round(value / max(1, len(relevant)), 4) for name, value in totals.items()}


def dedupe(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in order of first appearance: a document counts once, at its best chunk's rank."""
    return list(dict.fromkeys(doc_ids))


# ---------------------------------------------------------------------- an index on judgments


class RankedDoc(NamedTuple):
    """One document of a query's ranking: its id and the score of its best chunk."""

    doc_id: str
    score: float


Run = dict[str, list[RankedDoc]]
"""Query id → its ranked documents, best first (what benchmarks save to compute any metric later)."""


def run_queries(
    index: Index,
    judgments: Judgments,
    mode: Mode,
    *,
    k: int = EVALUATED_K,
    progress: Callable[[int], None] | None = None,
) -> Run:
    """Each judged query's ``k`` best documents in ``mode``, best first (``max_per_doc=1``: a document once)."""
    qids = list(judgments.queries)
    run: Run = {}
    for start in range(0, len(qids), EVALUATION_BATCH):
        batch = qids[start : start + EVALUATION_BATCH]
        results = index.search_batch([judgments.queries[q] for q in batch], k=k, mode=mode, max_per_doc=1)
        run.update(
            {qid: [RankedDoc(h.doc_id, float(h.score)) for h in hits] for qid, hits in zip(batch, results)}
        )
        if progress is not None:
            progress(len(batch))
    return run


def per_query(
    run: Mapping[str, Sequence[RankedDoc]], relevant: Mapping[str, Iterable[str]]
) -> dict[str, list[float]]:
    """Each metric's value for every judged query (in ``relevant``'s order): the input of a bootstrap."""
    values: dict[str, list[float]] = {name: [] for name in METRICS}
    for qid, wanted in relevant.items():
        ranked = [d.doc_id for d in run.get(qid, [])]
        values["R@1"].append(recall_at(ranked, wanted, 1))
        values["R@5"].append(recall_at(ranked, wanted, 5))
        values["R@10"].append(recall_at(ranked, wanted, 10))
        values["MRR@10"].append(mrr_at(ranked, wanted, 10))
        values["nDCG@10"].append(ndcg_at(ranked, wanted, 10))
    return values


def evaluate(
    index: Index,
    judgments: Judgments,
    modes: Sequence[Mode] = EVALUATED_MODES,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """R@1/5/10, MRR@10 and nDCG@10 of each search mode of ``index`` on ``judgments``.

    Each query's ten best documents are found with ``max_per_doc=1``. Raises InputError if none
    of the relevant documents is in the index (the judgments belong to another corpus).
    """
    _check_overlap(index, judgments)
    table: dict[str, dict[str, float]] = {}
    for mode in modes:
        run = run_queries(index, judgments, mode, progress=progress)
        table[mode] = score_runs({q: [d.doc_id for d in docs] for q, docs in run.items()}, judgments.relevant)
    return table


@dataclass(frozen=True)
class FusionTuning:
    """What :func:`tune_fusion` tried: the winner, each side alone, and every setting with its metrics."""

    best: FusionConfig
    metrics: dict[str, float]
    sides: dict[str, dict[str, float]]
    trials: list[tuple[FusionConfig, dict[str, float]]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the full grid)."""
        return {"best": self.best.to_manifest(), "metrics": self.metrics, "sides": self.sides}


def tune_fusion(
    index: Index,
    judgments: Judgments,
    *,
    progress: Callable[[int], None] | None = None,
) -> FusionTuning:
    """Grid-search hybrid fusion (RRF constant, weighted fusion's weight, candidate depth) on ``judgments``.

    The best setting by MRR@10, then R@10, then nDCG@10 wins; on a tie the index's own setting, else
    the simplest (fewest candidates, RRF before weighted). Set it with ``index.fusion = tuning.best``.
    Tune on questions you will not report on (the CMRC trial split, not dev), and on the model the
    index uses: a model weak on your language gets a small dense weight. Each query is embedded once,
    and each setting is measured as :func:`evaluate` measures it (the same candidate depths, fusion and
    one hit per document), from each side's rankings fetched once per depth. Every setting keeps the
    index's coverage threshold and feedback; queries the lexical side is silent on get the dense
    ranking under each; the query plan (coverage, feedback) is made once per query, as a search makes
    it, since every setting tried keeps the index's.
    """
    _check_overlap(index, judgments)
    owner = {c.chunk_id: c.doc_id for c in index.chunks()}
    qids = list(judgments.queries)
    searcher = index.searcher()
    options = SearchOptions(k=EVALUATED_K, mode="hybrid", max_per_doc=1)  # what evaluate searches with
    grid = fusion_grid(index.fusion)
    total = len(searcher.parts.vectors)
    starts = sorted(
        {min(total, max(options.wanted, config.depth)) for config in grid} | {min(total, options.wanted)}
    )
    texts = {qid: prepare_query(judgments.queries[qid], n) for n, qid in enumerate(qids)}
    vectors: dict[str, np.ndarray] = {}
    lists: dict[tuple[str, int], SideRankings] = {}
    speaks: dict[str, bool] = {}

    def planned(qid: str, depth: int) -> SideRankings:
        found = searcher.sides([texts[qid]], depth, vectors[qid])[0]
        return found._replace(speaks=speaks[qid])

    for first in range(0, len(qids), EVALUATION_BATCH):
        batch = qids[first : first + EVALUATION_BATCH]
        embedded = searcher.embed_queries([texts[q] for q in batch])
        for row, qid in enumerate(batch):  # the query plan a hybrid search makes: coverage, feedback
            plan = searcher.plan(texts[qid], embedded[row : row + 1])
            speaks[qid] = plan.speaks
            vectors[qid] = embedded[row : row + 1] if plan.vector is None else plan.vector
        for qid in batch:
            for depth in starts:
                lists[qid, depth] = planned(qid, depth)
        if progress is not None:
            progress(len(batch))

    def at(qid: str, depth: int) -> SideRankings:
        if (qid, depth) not in lists:  # a deeper search than any start: fetched as a search would
            lists[qid, depth] = planned(qid, depth)
        return lists[qid, depth]

    def documents(qid: str, ranked_at: Callable[[int], list[Candidate]], start: int) -> list[str]:
        picked = deepen(
            ranked_at,
            lambda ranked: searcher.select(ranked, options, owner=lambda _: owner),
            options,
            start,
            total,
        )
        return [owner[c.chunk_id] for c in picked]

    def measure(config: FusionConfig) -> dict[str, float]:
        start = max(options.wanted, config.depth)
        runs = {
            qid: documents(
                qid,
                lambda depth, qid=qid: [  # type: ignore[misc]
                    Candidate._make(c)
                    for c in fuse(
                        at(qid, depth).dense,
                        at(qid, depth).lexical if at(qid, depth).speaks else [],
                        config,
                        depth,
                    )
                ],
                start,
            )
            for qid in qids
        }
        return score_runs(runs, judgments.relevant)

    trials = [(config, measure(config)) for config in grid]
    best, metrics = max(trials, key=lambda t: rank_key(t[1]))  # max keeps the first of equals
    sides = {
        side: score_runs(
            {
                qid: documents(
                    qid,
                    lambda depth, qid=qid, side=side: ranked_side(getattr(at(qid, depth), side), side),  # type: ignore[misc]
                    options.wanted,
                )
                for qid in qids
            },
            judgments.relevant,
        )
        for side in ("dense", "lexical")
    }
    return FusionTuning(best=best, metrics=metrics, sides=sides, trials=trials)


def rank_key(metrics: Mapping[str, float]) -> tuple[float, ...]:
    """What tuning maximises: MRR@10, then R@10, then nDCG@10."""
    return tuple(metrics[name] for name in RANKING)


def fusion_grid(current: FusionConfig | None = None) -> list[FusionConfig]:
    """The settings :func:`tune_fusion` tries, ``current`` first, then simplest first (with ``current``'s coverage and feedback)."""
    grid = [current] if current is not None and current.depth <= max(DEPTHS) else []
    kept = {name: getattr(current, name) for name in QUERY_TIME_DEFAULTS} if current is not None else {}
    for depth in DEPTHS:
        grid += [FusionConfig("rrf", rrf_k=float(k), depth=depth, **kept) for k in RRF_KS]
        grid += [FusionConfig("weighted", weight=w, depth=depth, norm=DEFAULT_NORM, **kept) for w in WEIGHTS]
    return list(dict.fromkeys(grid))


def _check_overlap(index: Index, judgments: Judgments) -> None:
    if not len(judgments):
        raise InputError("no judged queries to evaluate on")
    known = set(index.doc_ids())
    wanted = set().union(*judgments.relevant.values())
    if not wanted & known:
        example = ", ".join(sorted(wanted)[:3])
        raise InputError(
            f"none of the {len(wanted)} relevant documents (e.g. {example}) is in this index; "
            "evaluate on questions about the indexed corpus (qrels corpus ids are document ids)"
        )
