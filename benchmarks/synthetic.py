"""Synthetic news at any size, and a stand-in encoder, so the storage engine can be measured alone.

- :func:`synthetic_stories`: 新闻联播-like stories recombined from the archive's real sentences, as many
  chunks as asked (a million chunks never sit in memory at once: it is a generator);
- :class:`HashEncoder`: a deterministic 384-d encoder (hashed character 1- and 2-grams, randomly
  projected) that costs microseconds a text, so a build or a search measures the engine, not a model.

The stories are CCTV's sentences in a new order: never commit them, nor an index built from them
(indexes go under the git-ignored ``indexes/`` folder or /tmp).

    python -m benchmarks.synthetic --chunks 20000 --check 5000    # chunk count and near-duplicates
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semsearch import Document

# A sentence ends at 。！？ (several in a row) and keeps the closing quotes or brackets after them.
SENTENCE = re.compile(r"[^。！？]+[。！？]+[”’」』）)]*")
CLAUSE = re.compile(r"[，、；：,;:。！？]")
TITLE_STRIP = "“”‘’「」『』《》【】（）() \u3000"
FIRST_DAY = _dt.date(2016, 1, 1)
DAYS = (_dt.date(2026, 1, 1) - FIRST_DAY).days  # ten years: a one-year date filter keeps about 10 %
MIN_SENTENCE_CHARS = 6  # shorter "sentences" are splitting debris (a lone closing quote…)
MIN_STORY_SENTENCES = 3  # a story of one or two sentences could repeat another by chance
MIN_CHARS = 30  # semsearch's default: a shorter paragraph is merged with a neighbour (chunk estimate)
CHUNK_CHARS = 480  # roughly what fits in a chunk beside the title (HashEncoder counts characters)


@dataclass(frozen=True)
class SentencePool:
    """What stories are recombined from: distinct real sentences and the real shape of stories.

    ``paragraph_counts``: paragraphs per real story (one entry per story, sampled from);
    ``sentence_weights``: how often a real paragraph has 1, 2, 3 and 4+ sentences (the 1–4 drawn).
    """

    sentences: tuple[str, ...]
    paragraph_counts: tuple[int, ...]
    sentence_weights: tuple[float, float, float, float]


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of ``paragraph`` (ending at 。！？), with any text after the last one as a sentence."""
    found = SENTENCE.findall(paragraph)
    rest = paragraph[sum(len(s) for s in found) :].strip()
    return [s.strip() for s in found if s.strip()] + ([rest] if rest else [])


def sentence_pool(stories: Iterable[Sequence[str]] | None = None) -> SentencePool:
    """The pool of ``stories`` (each a list of paragraphs; default: the 新闻联播 archive)."""
    if stories is None:
        from benchmarks.common import read_xwlb

        stories = (row["paragraphs"] for row in read_xwlb())
    seen: dict[str, None] = {}
    counts: list[int] = []
    per_paragraph = [0, 0, 0, 0]
    for paragraphs in stories:
        kept = [p for p in paragraphs if p.strip()]
        if not kept:
            continue
        counts.append(len(kept))
        for paragraph in kept:
            sentences = split_sentences(paragraph)
            per_paragraph[min(max(len(sentences), 1), 4) - 1] += 1
            for sentence in sentences:
                if len(sentence) >= MIN_SENTENCE_CHARS:
                    seen.setdefault(sentence, None)
    if not seen:
        raise ValueError("no sentences to recombine: the stories given hold no text")
    total = sum(per_paragraph)
    weights = tuple(n / total for n in per_paragraph)
    return SentencePool(tuple(seen), tuple(counts), weights)  # type: ignore[arg-type]


def estimated_chunks(paragraphs: Sequence[str]) -> int:
    """About how many chunks semsearch cuts these paragraphs into (short ones merged, long ones split)."""
    chunks, carry = 0, 0
    for paragraph in paragraphs:
        length = carry + len(paragraph)
        if length < MIN_CHARS:
            carry = length
            continue
        chunks += math.ceil(length / CHUNK_CHARS)
        carry = 0
    return max(chunks, 1)


def title_of(sentence: str) -> str:
    """A headline-like title: the sentence's first clause that is at least four characters long."""
    for clause in CLAUSE.split(sentence):
        clause = clause.strip(TITLE_STRIP)
        if len(clause) >= 4:
            return clause[:30]
    return sentence.strip(TITLE_STRIP)[:30]


def synthetic_stories(
    n_chunks: int, seed: int = 0, *, pool: SentencePool | None = None, prefix: str = "syn"
) -> Iterator[Document]:
    """Stories of about ``n_chunks`` chunks in all, recombined from real sentences; deterministic for a seed.

    Each story takes its paragraph count from a real story, each paragraph 1–4 random sentences (as
    often as real paragraphs have them), a title from another sentence's first clause and a date in
    2016–2025 (``metadata["date"]``). Ids are ``{prefix}{seed}-{number:07d}``, stable across runs.

    >>> docs = list(synthetic_stories(50, seed=1))  # doctest: +SKIP
    """
    pool = pool or sentence_pool()
    rng = np.random.default_rng(seed)
    sentences = pool.sentences
    counts = np.asarray(pool.paragraph_counts)
    weights = np.asarray(pool.sentence_weights)
    made, number = 0, 0
    while made < n_chunks:
        n_paragraphs = int(counts[rng.integers(len(counts))])
        sizes = rng.choice(4, size=n_paragraphs, p=weights) + 1
        if sizes.sum() < MIN_STORY_SENTENCES:
            sizes[-1] += MIN_STORY_SENTENCES - sizes.sum()
        picks = rng.integers(len(sentences), size=int(sizes.sum()) + 1)
        paragraphs, at = [], 1
        for size in sizes:
            paragraphs.append("".join(sentences[i] for i in picks[at : at + size]))
            at += size
        day = FIRST_DAY + _dt.timedelta(days=int(rng.integers(DAYS)))
        yield Document(
            doc_id=f"{prefix}{seed}-{number:07d}",
            title=title_of(sentences[picks[0]]),
            text="\n".join(paragraphs),
            metadata={"date": day.isoformat()},
        )
        made += estimated_chunks(paragraphs)
        number += 1


def year_filter(year: int = 2020) -> dict[str, Any]:
    """A ``where`` keeping one year of the ten: about 10 % of the stories."""
    return {"date": {"$gte": f"{year}-01-01", "$lte": f"{year}-12-31"}}


def held_out_queries(n: int, seed: int = 999_999, *, pool: SentencePool | None = None) -> list[str]:
    """``n`` queries from stories never indexed: titles and single sentences, alternately."""
    queries: list[str] = []
    for doc in synthetic_stories(n * 8, seed=seed, pool=pool, prefix="query"):
        if len(queries) % 2 == 0:
            queries.append(doc.title)
        else:
            queries.append(split_sentences(doc.text.split("\n")[0])[0])
        if len(queries) >= n:
            break
    return queries


def near_duplicates(documents: Iterable[Document]) -> dict[str, Any]:
    """How many of ``documents`` semsearch's near-duplicate check (MinHash, 5-grams, 0.8) would fold."""
    from semsearch import clean_text
    from semsearch.text.dedup import Deduplicator

    dedup = Deduplicator()
    checked, found = 0, []
    for doc in documents:
        checked += 1
        duplicate = dedup.check(doc.doc_id, clean_text(doc.text).text)
        if duplicate is not None:
            found.append({"doc_id": duplicate.doc_id, "of": duplicate.of, "similarity": duplicate.similarity})
    return {"checked": checked, "duplicates": len(found), "examples": found[:5]}


def indexed_chunks(doc: Document, encoder: Any) -> list[tuple[int, str]]:
    """(chunk id, text) of ``doc``'s chunks as semsearch indexes them (title + newline + chunk text).

    Mirrors a build with the default settings (titles on every chunk, room left for the title), so a
    peer system can be given the very chunks semsearch stores; ``scale_engine`` checks the two agree.
    """
    from semsearch import ChunkingConfig, chunk_document, clean_text

    clean = clean_text(doc.text)
    title = " ".join(doc.title.split())[:100]
    room = max(8, encoder.max_tokens - encoder.count_tokens(title) - 2) if title else encoder.max_tokens
    chunks = chunk_document(
        doc.doc_id, clean, count_tokens=encoder.count_tokens, config=ChunkingConfig(max_tokens=room)
    )
    return [(c.chunk_id, c.text if not title or title in c.text else f"{title}\n{c.text}") for c in chunks]


class HashEncoder:
    """A fast deterministic stand-in for an embedding model (semsearch's Encoder protocol).

    Character 1- and 2-grams of the text are hashed into ``buckets`` counts, damped (log 1 + n) and
    projected to 384 dimensions by a fixed random matrix drawn from ``seed``, then L2-normalised: texts
    sharing words get similar vectors, so dense search has neighbours worth finding, and a text costs
    microseconds. ``remember(queries)`` embeds queries ahead, so a timed search spends ~nothing encoding.

    >>> index = semsearch.Index.build(docs, model=HashEncoder(), cache=False)  # doctest: +SKIP
    >>> semsearch.Index.load(path, model=HashEncoder())  # doctest: +SKIP
    """

    dimension = 384
    max_tokens = 512

    def __init__(self, buckets: int = 4096, seed: int = 0) -> None:
        self.buckets = buckets
        self.seed = seed
        suffix = "" if (buckets, seed) == (4096, 0) else f"-b{buckets}-s{seed}"
        self.identity = f"bench/hash-ngram-{self.dimension}@1{suffix}"
        rng = np.random.default_rng(seed)
        self._projection = (
            rng.standard_normal((buckets, self.dimension)) / math.sqrt(self.dimension)
        ).astype(np.float32)
        self._remembered: dict[str, np.ndarray] = {}

    def _bucket_ids(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        uni = codes * np.uint64(2654435761)
        bi = (codes[:-1] * np.uint64(1000003) + codes[1:] + np.uint64(0x9E3779B1)) * np.uint64(40503)
        return np.concatenate([uni, bi]) % np.uint64(self.buckets)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as an ``(n, 384)`` float32 array of unit vectors (a zero row for empty text).

        Text by text, the projection rows of its buckets are summed (a small matrix-vector product):
        one big batched product was 20x slower on a busy machine, its BLAS threads fighting for cores.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            if text:
                ids, counts = np.unique(self._bucket_ids(text), return_counts=True)
                out[row] = np.log1p(counts.astype(np.float32)) @ self._projection[ids.astype(np.int64)]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages."""
        return self.encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (remembered ones are looked up, not computed)."""
        if texts and all(t in self._remembered for t in texts):
            return np.stack([self._remembered[t] for t in texts])
        return self.encode(texts)

    def remember(self, queries: Sequence[str]) -> float:
        """Embed ``queries`` now (and as semsearch gives them: Traditional folded); seconds per query."""
        from semsearch.text.scripts import to_simplified

        texts = list(dict.fromkeys([*queries, *(to_simplified(q.strip()) for q in queries)]))
        started = time.perf_counter()
        for text in texts:
            self._remembered[text] = self.encode([text])[0]
        return (time.perf_counter() - started) / max(len(texts), 1)

    def count_tokens(self, text: str) -> int:
        """One token per character, plus the two special tokens (about what e5 counts for Chinese)."""
        return len(text) + 2

    def spec(self) -> dict[str, Any]:
        """A custom encoder: loaded again with ``Index.load(path, model=HashEncoder())``."""
        return {"kind": "bench-hash-ngram", "buckets": self.buckets, "seed": self.seed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=5_000, help="stories checked for near-duplicates")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pool = sentence_pool()
    pool_s = time.perf_counter() - started
    started = time.perf_counter()
    docs = list(synthetic_stories(args.chunks, seed=args.seed, pool=pool))
    made_s = time.perf_counter() - started
    encoder = HashEncoder()
    sample = docs[: min(len(docs), 2_000)]
    texts = [t for d in sample for _, t in indexed_chunks(d, encoder)]
    started = time.perf_counter()
    for first in range(0, len(texts), 16):
        encoder.encode_passages(texts[first : first + 16])
    encode_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "pool_sentences": len(pool.sentences),
                "pool_seconds": round(pool_s, 1),
                "stories": len(docs),
                "stories_per_s": round(len(docs) / made_s),
                "estimated_chunks_per_story": round(args.chunks / len(docs), 2),
                "chunked_chunks_per_story": round(len(texts) / len(sample), 2),
                "hash_encoder_texts_per_s": round(len(texts) / encode_s),
                "near_duplicates": near_duplicates(docs[: args.check]),
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
