"""A tiny deterministic encoder for tests of ranking plumbing: one dimension per known word.

A text's vector counts the known words in it (lower case, split on anything not a letter), normalised,
so cosine similarities, and therefore dense rankings, are known exactly without a model.
"""

from __future__ import annotations

import re

import numpy as np

WORDS = (
    "apple banana cherry grape lemon mango melon olive peach pear plum "
    "river mountain forest desert ocean valley island harbour"
).split()
_WORD = re.compile(r"[a-z]+")


class KeywordEncoder:
    """Vectors from words: ``identity``, ``dimension`` and ``spec`` as the Encoder protocol asks."""

    identity = "tests/keyword-encoder@1"
    dimension = len(WORDS)
    max_tokens = 512

    def __init__(self) -> None:
        self.passages = 0

    def vector(self, text: str) -> np.ndarray:
        counts = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            if word in WORDS:
                counts[WORDS.index(word)] += 1
        norm = np.linalg.norm(counts)
        if not norm:  # a text with no known word points nowhere in particular, but still a unit vector
            counts[:] = 1.0
            norm = np.linalg.norm(counts)
        return counts / norm

    def encode_queries(self, texts):
        return (
            np.vstack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), "float32")
        )

    def encode_passages(self, texts):
        self.passages += len(texts)
        return self.encode_queries(texts)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def spec(self) -> dict:
        return {"kind": "tests-keyword"}


# Chinese words the bilingual encoder reads as the keyword of the same meaning.
CHINESE = {
    "苹果": "apple",
    "香蕉": "banana",
    "樱桃": "cherry",
    "河流": "river",
    "山": "mountain",
    "森林": "forest",
    "海洋": "ocean",
    "港口": "harbour",
    "岛屿": "island",
}


class BilingualEncoder(KeywordEncoder):
    """The keyword encoder reading the Chinese words of :data:`CHINESE` as their English keywords.

    An English query and a Chinese passage about the same things get close vectors while sharing no
    lexical term: the cross-lingual case, with dense scores known exactly.
    """

    identity = "tests/bilingual-keyword-encoder@1"

    def vector(self, text: str) -> np.ndarray:
        for chinese, english in CHINESE.items():
            text = text.replace(chinese, f" {english} ")
        return super().vector(text)
