"""Lexical analysis, fusion and the dense side on Traditional text, on CMRC 2018: chosen on trial, reported on dev.

    python -m benchmarks.lexical [--data ../shared/data/cmrc2018] [--name lexical]

1. Lexical variants, each alone: jieba words (semsearch before), CJK character bigrams, both in one
   BM25 field, both as two BM25 fields fused (weight chosen on trial), and plain ``bm25s`` over the
   character bigrams of the raw text (no folding) as the baseline to beat.
2. Hybrid fusion candidates over the dense side and the chosen lexical side: weighted fusion with each
   per-query normalisation (``semsearch.search.fusion.NORMS``), and RRF; each one's weight/k and depth is
   tuned on trial (best MRR@10, then R@10, then nDCG@10; the simpler setting on a tie) and reported on dev.
3. The dense side on Traditional text (CMRC converted with OpenCC s2t): passages embedded as written
   or converted to Simplified, against Simplified and Traditional questions.

Dev is only reported, never used to choose. Passage vectors come from the semsearch embedding cache,
query vectors from the same cache under the encoder identity + ``#query``, so a second run encodes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED, Timer, git_commit, load_beir, write_result
from semsearch import Document, Index
from semsearch.defaults import NORMS
from semsearch.encoders.base import embed_passages, embed_queries
from semsearch.encoders.cache import EmbeddingCache
from semsearch.records import FusionConfig
from semsearch.search.evaluation import dedupe, score_runs
from semsearch.search.fusion import fuse
from semsearch.storage.local.lexical import LexicalIndex
from semsearch.text.analyzer import STOPWORDS, Analyzer, bigrams, normalize
from semsearch.text.scripts import embedding_texts

DEPTH = 100
Ranked = list[tuple[int, float]]
TermsOf = Callable[[str], list[str]]


@dataclass
class Split:
    """One CMRC split as an index: its chunks, questions and judgments, and its dense rankings."""

    name: str
    index: Index
    ids: np.ndarray
    texts: list[str]
    owner: dict[int, str]
    queries: dict[str, str]
    relevant: dict[str, frozenset[str]]

    def score(self, lists: dict[str, Sequence[tuple[int, Any]]]) -> dict[str, float]:
        """Document-level metrics of chunk rankings (a document counts once, at its best chunk)."""
        runs = {q: dedupe(self.owner[cid] for cid, *_ in ranked) for q, ranked in lists.items()}
        return score_runs(runs, self.relevant)


def load_split(folder: Path, convert: Callable[[str], str] | None = None) -> Split:
    """Build the library's index over a BEIR folder (text converted by ``convert`` if given)."""
    corpus, queries, qrels = load_beir(folder)
    docs = [
        Document(
            doc_id=str(r["_id"]),
            text=convert(r["text"]) if convert else r["text"],
            title=r.get("title", ""),
        )
        for r in corpus
    ]
    index = Index.build(docs)
    chunks = list(index.chunks())
    return Split(
        name=folder.name,
        index=index,
        ids=np.array([c.chunk_id for c in chunks], dtype=np.int64),
        texts=[c.text for c in chunks],
        owner={c.chunk_id: c.doc_id for c in chunks},
        queries=queries,
        relevant={q: frozenset(r) for q, r in qrels.items()},
    )


# ---------------------------------------------------------------- dense side


def passage_vectors(index: Index, texts: Sequence[str]) -> np.ndarray:
    """Passage vectors of ``texts`` (embedding cache first)."""
    return embed_passages(index.encoder, texts, cache=EmbeddingCache())


def query_vectors(index: Index, texts: Sequence[str]) -> np.ndarray:
    """Query vectors of ``texts``, cached under the encoder identity + ``#query``."""
    encoder, cache = index.encoder, EmbeddingCache()
    key = encoder.identity + "#query"
    found = cache.get_many(key, list(texts), encoder.dimension)
    todo = list(dict.fromkeys(t for t in texts if t not in found))
    for first in range(0, len(todo), 64):
        batch = todo[first : first + 64]
        vectors = embed_queries(encoder, batch)
        cache.put_many(key, batch, vectors)
        found.update(zip(batch, vectors))
    return np.stack([found[t] for t in texts])


def dense_lists(
    ids: np.ndarray, passages: np.ndarray, queries: np.ndarray, qids: Sequence[str]
) -> dict[str, Ranked]:
    """Exact inner-product top ``DEPTH`` per query (what a Flat index returns)."""
    scores = queries @ passages.T
    out = {}
    for row, qid in enumerate(qids):
        top = np.argsort(-scores[row], kind="stable")[:DEPTH]
        out[qid] = [(int(ids[i]), float(scores[row, i])) for i in top]
    return out


# ---------------------------------------------------------------- lexical variants


class Bm25Side:
    """BM25 (bm25s, Lucene variant) over any term function, searched like LexicalIndex.search."""

    def __init__(
        self, ids: np.ndarray, texts: Sequence[str], doc_terms: TermsOf, query_terms: TermsOf, **params: Any
    ) -> None:
        import bm25s

        self.ids, self.query_terms = ids, query_terms
        self.bm25 = bm25s.BM25(**params)
        self.bm25.index([doc_terms(t) for t in texts], show_progress=False)

    def search(self, query: str, depth: int) -> Ranked:
        terms = [t for t in dict.fromkeys(self.query_terms(query)) if t in self.bm25.vocab_dict]
        if not terms:
            return []
        scores = self.bm25.get_scores(terms)
        positive = np.flatnonzero(scores > 0)
        order = positive[np.lexsort((self.ids[positive], -scores[positive]))][:depth]
        return [(int(self.ids[i]), float(scores[i])) for i in order]


def raw_bigrams(text: str) -> list[str]:
    """Every pair of adjacent characters of the text as written, whitespace removed (the plain baseline)."""
    chars = "".join(text.split())
    return [chars[i : i + 2] for i in range(len(chars) - 1)]


def cjk_raw_bigrams(text: str) -> list[str]:
    """Bigrams of runs of letters/digits only (no punctuation pairs), without folding."""
    out: list[str] = []
    for run in re.findall(r"[^\W_]+", text):
        out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return out


def lexical_variants() -> dict[str, tuple[str, Callable[[Split], Any]]]:
    """Name → (description, factory of a searcher over a split's chunks)."""

    def library(terms: str) -> Callable[[Split], Any]:
        return lambda split: LexicalIndex.build(Analyzer(terms=terms), split.ids.tolist(), split.texts)

    def custom(
        doc_terms: TermsOf, query_terms: TermsOf | None = None, **params: Any
    ) -> Callable[[Split], Any]:
        return lambda split: Bm25Side(split.ids, split.texts, doc_terms, query_terms or doc_terms, **params)

    words = Analyzer(terms="words")
    bigram_only = Analyzer(terms="bigrams")

    def apart(text: str) -> list[str]:  # bigrams marked, so a 2-character word and its bigram stay apart
        return words.tokens(text) + ["\u2082" + t for t in bigrams(normalize(text))]

    def bigrams_no_stop(text: str) -> list[str]:
        return [t for t in bigram_only.tokens(text) if t not in STOPWORDS]

    return {
        "plain-bigrams": (
            "plain bm25s over character bigrams of the raw text (no folding)",
            custom(raw_bigrams),
        ),
        "plain-bigrams-nopunct": (
            "plain bm25s over bigrams of letter/digit runs (no folding, no punctuation pairs)",
            custom(cjk_raw_bigrams),
        ),
        "plain-bigrams-folded": (
            "plain bm25s over bigrams of folded letter/digit runs",
            custom(lambda t: cjk_raw_bigrams(normalize(t))),
        ),
        "words": ("jieba search-mode words, folded, stop words out (semsearch before)", library("words")),
        "bigrams": ("folded CJK bigrams + Latin words/numbers", library("bigrams")),
        "bigrams-nostop": (
            "as bigrams, bigrams that are stop words out",
            custom(bigrams_no_stop, k1=1.2, b=0.75, method="lucene"),
        ),
        "words+bigrams": (
            "words and bigrams in one field (a 2-character word and its bigram are one term)",
            library("words+bigrams"),
        ),
        "words+bigrams-apart": (
            "words and bigrams in one field, bigrams marked apart from words",
            custom(apart, k1=1.2, b=0.75, method="lucene"),
        ),
    }


def fuse_fields(words: Ranked, grams: Ranked, weight: float, norm: str) -> Ranked:
    """Two lexical fields fused per query: ``weight`` × words + (1 − weight) × bigrams, both normalised."""
    config = FusionConfig("weighted", weight=weight, depth=DEPTH, norm=norm)
    return [(cid, score) for cid, score, _ in fuse(words, grams, config, DEPTH)]


# ---------------------------------------------------------------- fusion tuning

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 1.0)
RRF_KS = (5, 10, 20, 30, 60, 100)
DEPTHS = (10, 20, 50, 100)


def rank_key(metrics: dict[str, float]) -> tuple[float, ...]:
    return (metrics["MRR@10"], metrics["R@10"], metrics["nDCG@10"])


def hybrid_lists(
    dense: dict[str, Ranked], lexical: dict[str, Ranked], config: FusionConfig
) -> dict[str, Any]:
    return {
        q: fuse(dense[q][: config.depth], lexical[q][: config.depth], config, config.depth) for q in dense
    }


def tune_candidates(split: Split, dense: dict[str, Ranked], lexical: dict[str, Ranked]) -> dict[str, Any]:
    """For RRF and each norm, the best setting on ``split`` (first in grid order wins a tie: smaller depth)."""
    grids: dict[str, list[FusionConfig]] = {
        "rrf": [FusionConfig("rrf", rrf_k=float(k), depth=d) for d, k in itertools.product(DEPTHS, RRF_KS)]
    }
    for norm in NORMS:
        grids[f"weighted/{norm}"] = [
            FusionConfig("weighted", weight=w, depth=d, norm=norm)
            for d, w in itertools.product(DEPTHS, WEIGHTS)
            if 0 < w < 1
        ]
    out = {}
    for name, grid in grids.items():
        trials = [(c, split.score(hybrid_lists(dense, lexical, c))) for c in grid]
        best_key = max(rank_key(m) for _, m in trials)
        config, metrics = next((c, m) for c, m in trials if rank_key(m) == best_key)
        out[name] = {
            "config": dataclasses.asdict(config),
            "metrics": metrics,
            "curve": [{"weight": c.weight, "rrf_k": c.rrf_k, "depth": c.depth, **m} for c, m in trials],
        }
    return out


# ---------------------------------------------------------------- run


def run(data: Path, traditional: Sequence[str] = ("trial", "dev")) -> dict[str, Any]:
    import opencc

    s2t, t2s = opencc.OpenCC("s2t").convert, opencc.OpenCC("t2s").convert
    result: dict[str, Any] = {"lexical": {}, "two_fields": {}, "fusion": {}, "traditional": {}}
    splits = {name: load_split(data / name) for name in ("trial", "dev")}
    dense: dict[str, dict[str, Ranked]] = {}
    for name, split in splits.items():
        qids = list(split.queries)
        with Timer() as t:  # as the library embeds them: converted to Simplified (embed_script)
            qv = query_vectors(split.index, embedding_texts([split.queries[q] for q in qids], "simplified"))
        passages = passage_vectors(split.index, embedding_texts(split.texts, "simplified"))
        dense[name] = dense_lists(split.ids, passages, qv, qids)
        result.setdefault("dense", {})[name] = split.score(dense[name])
        print(
            f"{name}: {len(split.ids)} chunks, {len(qids)} queries; dense {result['dense'][name]} ({t.seconds:.0f} s)"
        )

    # 1. lexical variants alone
    lexical: dict[str, dict[str, dict[str, Ranked]]] = {}
    for variant, (description, factory) in lexical_variants().items():
        row: dict[str, Any] = {"description": description}
        for name, split in splits.items():
            with Timer() as t:
                side = factory(split)
            lists = {q: side.search(text, DEPTH) for q, text in split.queries.items()}
            lexical.setdefault(variant, {})[name] = lists
            row[name] = {**split.score(lists), "build_s": round(t.seconds, 2)}
        result["lexical"][variant] = row
        print(f"lexical {variant:24} trial {row['trial']}  dev {row['dev']}")

    # 1b. words and bigrams as two fields, fused per query; weight and norm chosen on trial
    for norm in ("top", "minmax", "zscore"):
        curve = []
        for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            lists = {
                q: fuse_fields(lexical["words"]["trial"][q], lexical["bigrams"]["trial"][q], w, norm)
                for q in splits["trial"].queries
            }
            curve.append((w, splits["trial"].score(lists)))
        best_key = max(rank_key(m) for _, m in curve)
        w, trial_metrics = next((w, m) for w, m in curve if rank_key(m) == best_key)
        dev_lists = {
            q: fuse_fields(lexical["words"]["dev"][q], lexical["bigrams"]["dev"][q], w, norm)
            for q in splits["dev"].queries
        }
        result["two_fields"][norm] = {
            "words_weight": w,
            "trial": trial_metrics,
            "dev": splits["dev"].score(dev_lists),
            "curve": [{"words_weight": x, **m} for x, m in curve],
        }
        print(f"two fields {norm:7} w={w}: trial {trial_metrics} dev {result['two_fields'][norm]['dev']}")

    # choose the lexical side on trial among the library's variants (one field or two)
    candidates = {v: result["lexical"][v]["trial"] for v in ("words", "bigrams", "words+bigrams")}
    chosen = max(candidates, key=lambda v: rank_key(candidates[v]))
    result["lexical_choice"] = chosen
    print("lexical chosen on trial:", chosen)

    # 2. fusion candidates over dense + the chosen lexical side
    tuned = tune_candidates(splits["trial"], dense["trial"], lexical[chosen]["trial"])
    for name, entry in tuned.items():
        config = FusionConfig(**entry["config"])
        dev = splits["dev"].score(hybrid_lists(dense["dev"], lexical[chosen]["dev"], config))
        result["fusion"][name] = {
            "config": entry["config"],
            "trial": entry["metrics"],
            "dev": dev,
            "trial_curve": entry["curve"],
        }
        print(f"fusion {name:20} {entry['config']}: trial {entry['metrics']}  dev {dev}")
    # the previous default, for comparison (its setting was tuned on trial with the words lexical side)
    legacy = FusionConfig("weighted", weight=0.95, depth=50, norm="lexical-top")
    result["fusion"]["previous-default"] = {
        "config": dataclasses.asdict(legacy),
        "trial": splits["trial"].score(hybrid_lists(dense["trial"], lexical["words"]["trial"], legacy)),
        "dev": splits["dev"].score(hybrid_lists(dense["dev"], lexical["words"]["dev"], legacy)),
        "lexical": "words",
    }

    # 3. the dense side on Traditional text
    for name in traditional:
        trad = load_split(data / name, convert=s2t)
        qids = list(trad.queries)
        simp_q = [trad.queries[q] for q in qids]
        trad_q = [s2t(q) for q in simp_q]
        as_written = passage_vectors(trad.index, trad.texts)
        converted = passage_vectors(trad.index, [t2s(t) for t in trad.texts])
        cells: dict[str, Any] = {}
        for passages_name, passages in (("as-written", as_written), ("to-simplified", converted)):
            for q_name, texts in (("simplified-queries", simp_q), ("traditional-queries", trad_q)):
                if passages_name == "to-simplified":  # the setting converts queries too
                    texts = [t2s(t) for t in texts]
                lists = dense_lists(trad.ids, passages, query_vectors(trad.index, texts), qids)
                cells[f"{passages_name}/{q_name}"] = trad.score(lists)
        # the lexical side and hybrid on Traditional text, with the fusion chosen on (Simplified) trial
        lex = LexicalIndex.build(Analyzer(terms=chosen), trad.ids.tolist(), trad.texts)
        for q_name, texts in (("simplified-queries", simp_q), ("traditional-queries", trad_q)):
            lex_lists = {q: lex.search(t, DEPTH) for q, t in zip(qids, texts)}
            cells[f"lexical/{q_name}"] = trad.score(lex_lists)
            for passages_name, passages in (("as-written", as_written), ("to-simplified", converted)):
                qtexts = texts if passages_name == "as-written" else [t2s(t) for t in texts]
                dl = dense_lists(trad.ids, passages, query_vectors(trad.index, qtexts), qids)
                for fname, entry in result["fusion"].items():
                    if fname == "previous-default":
                        continue
                    config = FusionConfig(**entry["config"])
                    cells[f"hybrid {fname}/{passages_name}/{q_name}"] = trad.score(
                        hybrid_lists(dl, lex_lists, config)
                    )
        result["traditional"][name] = cells
        for cell, metrics in cells.items():
            print(f"traditional {name} {cell:60} {metrics}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=SHARED / "data/cmrc2018", help="folder with trial/ and dev/"
    )
    parser.add_argument("--name", default="lexical", help="result name (results/<name>-latest.json)")
    parser.add_argument(
        "--traditional", default="trial,dev", help="splits to measure on Traditional text (comma-separated)"
    )
    args = parser.parse_args(argv)
    result = run(args.data, [s for s in args.traditional.split(",") if s])
    print("saved", write_result(args.name, {"commit": git_commit(), "data": str(args.data), **result}))


if __name__ == "__main__":
    main()
