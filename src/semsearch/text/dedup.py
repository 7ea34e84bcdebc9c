"""Near-duplicate articles: the same story reached through two paths, or a wire story reprinted.

Each document's cleaned text is reduced to character shingles (after folding width and case and
dropping whitespace and punctuation), summarised by a MinHash signature, and looked up in an LSH index
of the documents kept so far (``datasketch``). A document whose estimated Jaccard similarity with a kept
one reaches the threshold is a duplicate of it; identical texts are found by hash, without estimation.
The threshold was measured on the 新闻联播 archive (``benchmarks/duplicates.py``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from semsearch.errors import InputError
from semsearch.records import Fingerprint

DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE = 5
_LSH_MARGIN = 0.2
_NOT_WORD = re.compile(r"[\W_]+")
_NUMBER = re.compile(
    r"\d+|[〇零一二两三四五六七八九十百千万亿]+(?=[次届年月日号时点分秒个位名项条周岁期批轮元人家])"
)


@dataclass(frozen=True)
class DedupConfig:
    """How alike two texts must be to count as one article (estimated Jaccard of their shingles)."""

    threshold: float = DEFAULT_THRESHOLD
    num_perm: int = DEFAULT_NUM_PERM
    shingle: int = DEFAULT_SHINGLE

    def __post_init__(self) -> None:
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, (int, float))
            or not 0 < self.threshold <= 1
        ):
            raise InputError(f"the duplicate threshold must be a number in (0, 1], not {self.threshold!r}")
        if isinstance(self.num_perm, bool) or not isinstance(self.num_perm, int) or self.num_perm < 16:
            raise InputError(f"num_perm must be an integer of at least 16, not {self.num_perm!r}")
        if isinstance(self.shingle, bool) or not isinstance(self.shingle, int) or self.shingle < 1:
            raise InputError(f"shingle must be a positive integer, not {self.shingle!r}")


SignatureLookup = Callable[[Sequence[str]], Iterable[Fingerprint]]
"""Stored fingerprints sharing an LSH band key with one of the keys given (see :func:`band_keys`)."""


@dataclass(frozen=True)
class Duplicate:
    """``doc_id`` repeats the kept document ``of`` (``similarity``: 1.0 for identical text)."""

    doc_id: str
    of: str
    similarity: float


def fold(text: str) -> str:
    """The text as compared: width and case folded, whitespace and punctuation dropped."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def shingles(text: str, size: int = DEFAULT_SHINGLE) -> set[str]:
    """The character ``size``-grams of the folded text (the whole text when shorter)."""
    folded = fold(text)
    if len(folded) <= size:
        return {folded} if folded else set()
    return {folded[i : i + size] for i in range(len(folded) - size + 1)}


def shingle_hashes(text: str, size: int = DEFAULT_SHINGLE) -> np.ndarray:
    """32-bit hashes of the text's distinct character ``size``-grams, computed in numpy.

    Hashing each shingle in Python (datasketch's default, SHA-1) costs ~6 ms per article; this ~0.1 ms.
    """
    folded = fold(text)
    if not folded:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = min(size, len(codes))
    mixed = np.zeros(len(codes) - width + 1, dtype=np.uint64)
    for offset in range(width):
        mixed = mixed * np.uint64(0x100000001B3) + codes[offset : offset + len(mixed)]
    mixed ^= mixed >> np.uint64(33)  # splitmix-style finaliser: spread the bits before taking 32
    mixed *= np.uint64(0xFF51AFD7ED558CCD)
    mixed ^= mixed >> np.uint64(33)
    return np.unique(mixed >> np.uint64(32))


class Deduplicator:
    """Remembers the documents kept so far and tells whether a new one repeats one of them.

    Two texts are one article when their shingles overlap by the threshold (estimated Jaccard) *and*
    the numbers of one (dates, counts, ordinals, in Arabic or Chinese numerals) all occur in the other:
    news is full of templated stories that differ only there ("十四届全国人大三次会议将于3月5日开幕"
    one year, "四次会议" the next) and report different events.

    >>> dedup = Deduplicator()
    >>> dedup.check("a", "新华社北京6月25日电 嫦娥六号返回器携带月球样品安全着陆。")
    >>> dedup.check("b", "新华社北京6月25日电，嫦娥六号返回器携带月球样品安全着陆")
    Duplicate(doc_id='b', of='a', similarity=1.0)
    >>> dedup.check("c", "新华社北京6月26日电 嫦娥六号返回器携带月球样品安全着陆。") is None
    True

    ``stored``: where documents kept earlier are looked up, by the LSH band keys of the text checked,
    instead of being loaded up front (an index in Milvus keeps its band keys, so a change reads only
    the candidates: its cost does not grow with the index); ``hidden``: stored documents to ignore
    (the ones a change replaces or removes).
    """

    def __init__(
        self,
        config: DedupConfig | None = None,
        *,
        stored: SignatureLookup | None = None,
        hidden: Collection[str] = (),
    ) -> None:
        from datasketch import MinHashLSH

        self.config = config or DedupConfig()
        self._exact: dict[str, str] = {}
        self._lsh = MinHashLSH(
            threshold=_lsh_threshold(self.config),
            num_perm=self.config.num_perm,
            params=_lsh_params(self.config),
        )
        self._kept: dict[str, tuple[Any, frozenset[str]]] = {}  # doc id → (MinHash, numbers)
        self._permutations: Any = None
        self._stored = stored
        self._hidden = frozenset(hidden)

    def __len__(self) -> int:
        return len(self._kept)

    def check(self, doc_id: str, text: str) -> Duplicate | None:
        """The kept document ``text`` repeats, or None, in which case ``doc_id`` is now kept."""
        folded = fold(text)
        key = hashlib.blake2b(folded.encode("utf-8"), digest_size=16).hexdigest()
        if key in self._exact:
            return Duplicate(doc_id, self._exact[key], 1.0)
        signature = self.signature(text)
        mine = numbers(folded)
        if self._stored is not None:  # the stored candidates join the LSH (those in a band with this text)
            for found in self._stored(band_keys(signature.hashvalues, self.config)):
                if found.doc_id not in self._hidden:
                    self.keep_fingerprint(*found)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(signature):
            theirs, their_numbers = self._kept[candidate]
            similarity = float(signature.jaccard(theirs))
            if similarity < self.config.threshold or not (mine <= their_numbers or their_numbers <= mine):
                continue
            if best is None or (similarity, candidate) > best:
                best = (similarity, candidate)
        if best is not None:
            return Duplicate(doc_id, best[1], round(best[0], 4))
        self._remember(doc_id, key, signature, mine)
        return None

    def keep(self, doc_id: str, text: str) -> None:
        """Remember ``doc_id`` as kept without checking it (a document already in the index)."""
        if doc_id not in self._kept:
            folded = fold(text)
            key = hashlib.blake2b(folded.encode("utf-8"), digest_size=16).hexdigest()
            self._remember(doc_id, key, self.signature(text), numbers(folded))

    def fingerprint(self, doc_id: str) -> tuple[bytes, list[str]]:
        """A kept document's MinHash (bytes) and numbers, to store and :meth:`keep_fingerprint` later."""
        signature, found = self._kept[doc_id]
        return np.asarray(signature.hashvalues, dtype=np.uint64).tobytes(), sorted(found)

    def keep_fingerprint(self, doc_id: str, minhash: bytes, found: Sequence[str]) -> None:
        """Remember a document kept earlier from its stored :meth:`fingerprint` (no text needed)."""
        from datasketch import MinHash

        values = np.frombuffer(minhash, dtype=np.uint64)
        if len(values) != self.config.num_perm or doc_id in self._kept:
            return
        signature = MinHash(
            num_perm=self.config.num_perm,
            hashvalues=values.copy(),
            permutations=self._get_permutations(),
            scheme="affine32",
        )
        self._kept[doc_id] = (signature, frozenset(found))
        self._lsh.insert(doc_id, signature)

    def _get_permutations(self) -> Any:
        from datasketch import MinHash

        if self._permutations is None:  # drawing them costs more than hashing an article: once
            self._permutations = MinHash(num_perm=self.config.num_perm, seed=1).permutations
        return self._permutations

    def _remember(self, doc_id: str, key: str, signature: Any, found: frozenset[str]) -> None:
        self._exact.setdefault(key, doc_id)
        self._kept[doc_id] = (signature, found)
        self._lsh.insert(doc_id, signature)

    def signature(self, text: str) -> Any:
        """The MinHash of the text's shingles."""
        from datasketch import MinHash

        minhash = MinHash(
            num_perm=self.config.num_perm,
            seed=1,
            hashfunc=_identity,
            permutations=self._get_permutations(),
            scheme="affine32",
        )
        hashes = shingle_hashes(text, self.config.shingle)
        if len(hashes):
            minhash.update_batch(hashes.tolist())
        return minhash


def _lsh_threshold(config: DedupConfig) -> float:
    # Candidates come from LSH tuned below the threshold, then each is confirmed on its estimate: LSH
    # at the threshold itself misses pairs just above it (measured: 82% of reprints found, not 76%).
    return max(0.3, config.threshold - _LSH_MARGIN)


@lru_cache(maxsize=8)
def _lsh_params(config: DedupConfig) -> tuple[int, int]:
    """Datasketch's (bands, rows) for ``config``: found once by numerical integration (~30 ms), then reused."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=_lsh_threshold(config), num_perm=config.num_perm)
    return int(lsh.b), int(lsh.r)


@lru_cache(maxsize=8)
def _bands(config: DedupConfig) -> tuple[tuple[int, int], ...]:
    """The (start, end) ranges of MinHash values that datasketch's LSH hashes together, for ``config``."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=_lsh_threshold(config), num_perm=config.num_perm, params=_lsh_params(config))
    return tuple(lsh.hashranges)


def band_keys(minhash: bytes | np.ndarray, config: DedupConfig) -> list[str]:
    """The LSH band keys of a MinHash (its values or stored bytes) under ``config``.

    Two documents are candidates of each other exactly when they share one (as in a Deduplicator's LSH).
    """
    values = np.frombuffer(minhash, dtype=np.uint64) if isinstance(minhash, bytes) else minhash
    values = np.ascontiguousarray(values, dtype=np.uint64)
    return [
        f"{band}.{hashlib.blake2b(values[start:end].tobytes(), digest_size=8).hexdigest()}"
        for band, (start, end) in enumerate(_bands(config))
    ]


def numbers(folded: str) -> frozenset[str]:
    """The numbers a folded text mentions: Arabic digit runs, and Chinese numerals before a measure word."""
    return frozenset(_NUMBER.findall(folded))


def _identity(value: int) -> int:
    return value


def jaccard(a: str, b: str, config: DedupConfig | None = None) -> float:
    """The exact Jaccard similarity of two texts' shingles (for tests and threshold studies)."""
    size = (config or DedupConfig()).shingle
    x, y = shingles(a, size), shingles(b, size)
    return len(x & y) / len(x | y) if x or y else 1.0


__all__ = [
    "DEFAULT_THRESHOLD",
    "DedupConfig",
    "Deduplicator",
    "Duplicate",
    "Fingerprint",
    "SignatureLookup",
    "band_keys",
    "jaccard",
    "fold",
    "numbers",
    "shingle_hashes",
    "shingles",
]
