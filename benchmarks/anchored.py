"""A stand-in encoder whose vectors have the geometry of real news embeddings, at any corpus size.

:class:`~benchmarks.synthetic.HashEncoder` costs microseconds a text, but its vectors (random projections
of hashed character n-grams) are near-uniform in 384 dimensions: no approximate index finds their
neighbours well (IVF4096,SQ8 at 1M: recall@10 0.48 at nprobe 16, 0.72 at 256), which says nothing about
an archive embedded by a real model. Embedding a million chunks with the bundled model takes hours
here, so :class:`AnchoredEncoder` places each text on the real embeddings instead:

- the anchors are the bundled model's passage vectors already in the embedding cache (:func:`make_anchors`:
  41,373 in the first run, the chunks of the first ~6,000 新闻联播 stories and CMRC 2018's paragraphs;
  8,815 in a fresh checkout's, the chunks of the first 2,000 stories) and each one's ten nearest anchors
  (the results record how many);
- a passage goes to a point on the segment between an anchor and one of its ten nearest neighbours, both
  and the point along the segment picked by a hash of the text: a million such points densify the real
  vectors' manifold (its topics and their sizes) the way a ten-times-larger archive of the same news
  would, instead of filling the sphere evenly;
- the queries are real: headlines of later stories (never indexed), embedded by the bundled model as
  queries, looked up by text (:meth:`AnchoredEncoder.remember`).

A passage's vector does not depend on what it says (the dense and lexical sides of a hybrid search
disagree), so recall here measures an approximate index against exact search on vectors shaped like
real ones, and times measure the engine; answers mean nothing. The anchors hold CCTV-derived vectors:
they stay in the git-ignored ``indexes/`` folder.

    python -m benchmarks.anchored --queries 300     # make the anchors file once (embeds the queries)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT

ANCHORS = ROOT / "indexes/scale-engine/anchors-xwlb-e5.npz"
NEIGHBOURS = 10  # a passage lies between an anchor and one of this many nearest anchors


@dataclass(frozen=True)
class Anchors:
    """Real passage vectors, each one's nearest others, and real queries with their vectors."""

    vectors: np.ndarray  # (m, 384) float32, unit
    neighbours: np.ndarray  # (m, NEIGHBOURS) int32, nearest first, never the anchor itself
    query_texts: tuple[str, ...]
    query_vectors: np.ndarray  # (q, 384) float32, unit

    @classmethod
    def read(cls, path: Path = ANCHORS) -> Anchors:
        if not path.exists():
            raise SystemExit(f"no anchors at {path}: make them with `python -m benchmarks.anchored`")
        with np.load(path) as data:
            return cls(
                data["vectors"],
                data["neighbours"],
                tuple(json.loads(str(data["query_texts"]))),
                data["query_vectors"],
            )


def make_anchors(queries: int, path: Path = ANCHORS) -> dict[str, Any]:
    """Every passage vector of the bundled model in the embedding cache, each one's nearest others, and
    the headlines of the last ``queries`` 新闻联播 stories (later than any the cache holds) embedded as
    queries; saved to ``path``."""
    import sqlite3

    import faiss

    from benchmarks.common import read_xwlb
    from semsearch import load_encoder
    from semsearch.encoders.cache import default_cache_path
    from semsearch.text.scripts import to_simplified

    encoder = load_encoder()
    with contextlib.closing(sqlite3.connect(f"file:{default_cache_path()}?mode=ro", uri=True)) as db:
        blobs = [
            row[0]
            for row in db.execute(
                "SELECT vector FROM embeddings WHERE encoder = ? AND dim = ? ORDER BY text_hash",
                (encoder.identity, encoder.dimension),
            )
        ]
    if len(blobs) < 1000:
        raise SystemExit(f"only {len(blobs)} cached vectors of {encoder.identity}: build a real index first")
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), encoder.dimension).copy()
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [row["title"] for row in read_xwlb()[-queries:]]
    started = time.perf_counter()
    query_vectors = encoder.encode_queries([to_simplified(t) for t in texts])
    embedded_s = time.perf_counter() - started
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, found = index.search(vectors, NEIGHBOURS + 1)
    neighbours = np.asarray(
        [[j for j in row if j != i][:NEIGHBOURS] for i, row in enumerate(found)], dtype=np.int32
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        vectors=vectors.astype(np.float32),
        neighbours=neighbours,
        query_texts=np.asarray(json.dumps(texts, ensure_ascii=False)),
        query_vectors=query_vectors.astype(np.float32),
    )
    return {
        "anchors": len(vectors),
        "queries": len(texts),
        "query_s": round(embedded_s, 1),
        "path": str(path),
    }


class AnchoredEncoder:
    """semsearch's Encoder protocol over :class:`Anchors`: a passage's vector is a point between an anchor
    and one of its nearest anchors, both picked by a hash of the text; queries are looked up.

    >>> index = semsearch.Index.build(docs, model=AnchoredEncoder(), cache=False)  # doctest: +SKIP
    """

    dimension = 384
    max_tokens = 512
    identity = "bench/anchored-xwlb-e5@1"

    def __init__(self, anchors: Anchors | None = None) -> None:
        self.anchors = anchors or Anchors.read()
        self._remembered: dict[str, np.ndarray] = {}

    def _point(self, text: str) -> np.ndarray:
        code = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        vectors, neighbours = self.anchors.vectors, self.anchors.neighbours
        first = code % len(vectors)
        second = int(neighbours[first, (code >> 32) % NEIGHBOURS])
        along = ((code >> 40) & 0xFFFF) / 0xFFFF  # where on the segment, 0 to 1
        point = (1.0 - along) * vectors[first] + along * vectors[second]
        return point / np.linalg.norm(point)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's point (a function of the text alone: the same text, the same vector)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._point(text)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The real query vector of a remembered query; any other text is placed like a passage."""
        return np.stack([self._remembered[t] if t in self._remembered else self._point(t) for t in texts])

    def remember(self, queries: Sequence[str]) -> float:
        """Look the anchors' real queries up by text (also as semsearch gives them: Traditional folded)."""
        from semsearch.text.scripts import to_simplified

        known = dict(zip(self.anchors.query_texts, self.anchors.query_vectors))
        for query in queries:
            if query in known:
                self._remembered[query] = known[query]
                self._remembered[to_simplified(query.strip())] = known[query]
        return 0.0

    def count_tokens(self, text: str) -> int:
        """One token per character, plus the two special tokens (as HashEncoder counts)."""
        return len(text) + 2

    def spec(self) -> dict[str, Any]:
        """A custom encoder: loaded again with ``Index.load(path, model=AnchoredEncoder())``."""
        return {"kind": "bench-anchored-xwlb-e5", "anchors": len(self.anchors.vectors)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300, help="headlines of the last stories, as queries")
    args = parser.parse_args(argv)
    print(json.dumps(make_anchors(args.queries), ensure_ascii=False))


if __name__ == "__main__":
    main()
