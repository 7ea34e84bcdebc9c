"""How text becomes lexical terms: script-insensitive jieba words and CJK character bigrams.

Words come from jieba's dictionary and algorithm, run by ``jieba-rs`` (the ``rjieba`` binding, ~15x
faster: analysis was most of a build's storage time) in indexes built now, or by the ``jieba`` package
in indexes built before (their manifest says ``jieba/…``; they keep it, so their terms never change).
The two agree on 99.7 % of 新闻联播 paragraphs; they differ on runs of Latin letters and digits
(``S-300``: one word for jieba-rs, three for jieba).

Text and queries are normalised the same way before tokenising: NFKC (full-width letters, digits and
punctuation become half-width), lower case, and Traditional → Simplified Chinese with OpenCC, so
``網格員`` in an article matches ``网格员`` in a query. The terms are jieba's words, overlapping
character bigrams of each run of Chinese characters (as Lucene's CJK analyzer indexes them), or both
(``Analyzer.terms``; ``benchmarks/lexical.py`` measured which). The stored text is never changed:
highlights are found in the normalised text and mapped back to offsets in the text as written.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from semsearch.defaults import DEFAULT_TOKENIZER, TOKENIZER_MODES
from semsearch.errors import IndexCorruptError, InputError
from semsearch.records import Highlight
from semsearch.text.scripts import to_simplified as _to_simplified

# Version 2 added bigram terms and dropped lone Latin letters; version 1 indexes (words only) still load.
ANALYZER_VERSION = 2
READABLE_ANALYZER_VERSIONS = (1, 2)
Terms = Literal["words", "bigrams", "words+bigrams"]
TERMS: tuple[str, ...] = get_args(Terms)
DEFAULT_TERMS: Terms = "words+bigrams"
Segmenter = Literal["jieba", "jieba-rs"]
SEGMENTERS: tuple[str, ...] = get_args(Segmenter)
DEFAULT_SEGMENTER: Segmenter = (
    "jieba-rs"  # what new indexes use; Analyzer() alone keeps jieba, as older indexes did
)
# A run of CJK ideographs (unified, extension A, compatibility) and, apart, a run of other letters/digits.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# Function words, question words and fillers that carry no topic; digits and Latin words are kept.
STOPWORDS = frozenset(
    """
    的 地 得 了 着 过 和 与 及 或 而 且 并 又 也 都 就 还 只 才 再 很 更 最 太 已 已经 曾 将 会 能 可 可以 要 应 应该
    是 为 在 于 以 之 其 此 这 那 该 各 每 某 其中 这个 那个 这些 那些 这样 那样 这里 那里 这种 那种
    个 把 被 让 给 向 从 对 对于 关于 由 由于 因 因为 所以 但 但是 而且 如果 虽然 然而 因此 于是 并且 以及 或者 还是
    我 你 他 她 它 我们 你们 他们 她们 它们 自己 大家 咱们 您
    吗 呢 吧 啊 呀 哦 嘛 么 啦 哈 嗯
    什么 怎么 怎样 怎么样 如何 为何 为什么 哪 哪里 哪儿 哪个 哪些 哪一 哪年 几 多少 谁 是否 是不是 有没有 什么样 何 何时
    有 没有 不 没 无 非 一 一个 一种 一些 一样 上 下 中 内 外 里 前 后 时 时候 等 等等 所 者 来 去 到 说 做 使 叫
    """.split()
)


def normalize(text: str) -> str:
    """Fold ``text`` for matching: NFKC, lower case, Traditional → Simplified."""
    return _to_simplified(unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=4096)
def normalize_with_offsets(text: str) -> tuple[str, tuple[int, ...]]:
    """:func:`normalize`, plus for each character of the result the offset of its source in ``text``.

    Cached (the last 4,096 texts): a chunk shown for several queries is converted once.
    """
    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).lower() if not ch.isascii() else ch.lower()
        pieces.append(folded)
        origin.extend([i] * len(folded))
    folded = "".join(pieces)
    simplified = _to_simplified(folded)
    if len(simplified) != len(folded):  # a phrase conversion changed the length: convert char by char
        simplified = "".join(_to_simplified(ch) if len(_to_simplified(ch)) == 1 else ch for ch in folded)
    return simplified, tuple(origin)


_LETTER_OR_DIGIT = re.compile(r"[^\W_]")  # a character of Unicode category L* or N* (str.isalnum)


def _is_word(token: str) -> bool:
    """A term worth indexing: it has a letter or digit, and is not a lone Latin letter.

    A lone letter is mostly what is left of an English possessive or contraction (``China's`` → ``s``)
    and would match any chunk holding a stray "S".
    """
    if len(token) == 1 and token.isascii() and token.isalpha():
        return False
    return _LETTER_OR_DIGIT.search(token) is not None


def bigrams(folded: str) -> list[str]:
    """Overlapping character bigrams of each run of Chinese characters in ``folded`` (normalised text).

    A run of one character gives that character. A two-character jieba word and the bigram spelt the
    same way are one BM25 term (measured on CMRC trial against keeping them apart: R@1 0.975 vs 0.973).
    """
    out: list[str] = []
    for run in _CJK_RUN.findall(folded):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(map(str.__add__, run[:-1], run[1:]))
    return out


def _other_words(folded: str) -> list[str]:
    """Runs of letters and digits outside Chinese text (``gdp``, ``2024``, ``c919``)."""
    return [w for w in re.findall(r"[^\W_]+", _CJK_RUN.sub(" ", folded)) if _is_word(w)]


@dataclass
class Analyzer:
    """Turns text into the terms the lexical index and highlights use.

    ``terms``: "words" (jieba), "bigrams" (character bigrams of Chinese text, plus Latin words and
    numbers) or "words+bigrams" (both, one BM25 field: the default, measured best on CMRC trial).
    ``mode`` is jieba's "search" (cut_for_search: long words plus their parts) or "precise" (cut);
    ``user_words`` are lines of a jieba user dictionary (``word [freq] [tag]``) for names that jieba
    would otherwise split, such as 五基三化 or 百千万工程.
    """

    mode: str = DEFAULT_TOKENIZER
    user_words: tuple[str, ...] = ()
    terms: Terms = DEFAULT_TERMS
    segmenter: Segmenter = "jieba"
    _jieba: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in TOKENIZER_MODES:
            raise InputError(
                f"unknown tokenizer mode {self.mode!r}; use {' or '.join(map(repr, TOKENIZER_MODES))}"
            )
        if self.terms not in TERMS:
            raise InputError(f"unknown lexical terms {self.terms!r}; use one of {', '.join(TERMS)}")
        if self.segmenter not in SEGMENTERS:
            raise InputError(f"unknown word segmenter {self.segmenter!r}; use one of {', '.join(SEGMENTERS)}")
        for line in self.user_words:
            problem = user_word_problem(line)
            if problem:
                raise InputError(f"user word {line[:60]!r} {problem}; give one `word [freq] [tag]` per line")

    @classmethod
    def from_user_dict(
        cls,
        path: str | Path | None,
        mode: str = "search",
        terms: Terms = DEFAULT_TERMS,
        segmenter: Segmenter = DEFAULT_SEGMENTER,
    ) -> Analyzer:
        """An analyzer with the jieba user dictionary at ``path`` (one ``word [freq] [tag]`` per line)."""
        if path is None:
            return cls(mode=mode, terms=terms, segmenter=segmenter)
        file = Path(path)
        if not file.is_file():
            raise InputError(
                f"user dictionary {file} does not exist; give a text file with one word per line"
            )
        try:
            lines = file.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise InputError(f"user dictionary {file} is not UTF-8 text; save it as UTF-8") from None
        words = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
        return cls(mode=mode, user_words=words, terms=terms, segmenter=segmenter)

    @property
    def tokenizer(self) -> Any:
        """Return the analyzer's jieba tokenizer (never jieba's global one, so indexes don't interfere).

        Analyzers without user words share one tokenizer of jieba's own dictionary: each tokenizer holds
        that dictionary, 53 MiB, so every index loaded or built in a process paid it again.
        """
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    self._jieba = (
                        _new_tokenizer(self.user_words, self.segmenter)
                        if self.user_words
                        else _shared_tokenizer(self.segmenter)
                    )
        return self._jieba

    def preload(self) -> None:
        """Load jieba's dictionary in a background thread, so that it overlaps other start-up work.

        Loading the dictionary takes about a second (``marshal.load``); a query that opens an index also
        loads the model and runs it once, largely outside the GIL. The first use of :attr:`tokenizer`
        waits for this thread. Not for jieba-rs: its dictionary loads inside one call that holds the GIL,
        so a thread would overlap nothing and only stall whatever the caller does next (0.7 s at load).
        """
        if self._jieba is None and self.terms != "bigrams" and self.segmenter != "jieba-rs":
            threading.Thread(target=lambda: self.tokenizer, name="semsearch-jieba", daemon=True).start()

    def tokens(self, text: str) -> list[str]:
        """The index terms of ``text`` (:meth:`terms_of`), interned.

        Interned for indexes that keep every chunk's terms in memory (format 1): one string object per
        distinct term instead of one per occurrence held the 528,933 jieba words of 3.0 MiB of 新闻联播
        articles in 9.0 MiB instead of 44.3 MiB (tracemalloc).
        """
        return [sys.intern(t) for t in self.terms_of(text)]

    def terms_of(self, text: str) -> list[str]:
        """The index terms of ``text``: folded jieba words minus stop words, and/or bigrams (``terms``)."""
        folded = normalize(text)
        if self.terms != "bigrams":
            cut = (
                self.tokenizer.cut_for_search(folded) if self.mode == "search" else self.tokenizer.cut(folded)
            )
            out = [t for t in map(str.strip, cut) if t and t not in STOPWORDS and _is_word(t)]
        else:
            out = _other_words(folded)
        if self.terms != "words":
            out.extend(bigrams(folded))
        return out

    def spec(self) -> dict[str, Any]:
        """What the manifest records so a loaded index tokenises exactly as it was built."""
        return {
            "analyzer_version": ANALYZER_VERSION,
            "tokenizer": f"{self.segmenter}/{self.mode}",
            "terms": self.terms,
            "normalize": "NFKC+lower+opencc-t2s",
            "stopwords": len(STOPWORDS),
            "user_words": list(self.user_words),
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Analyzer:
        """The analyzer a manifest describes (an index from before bigrams keeps its jieba words)."""
        version = spec.get("analyzer_version")
        if version not in READABLE_ANALYZER_VERSIONS:
            raise IndexCorruptError(
                f"the lexical index was built with analyzer version {version!r}, this semsearch reads "
                f"{', '.join(map(str, READABLE_ANALYZER_VERSIONS))}; rebuild the index or upgrade semsearch"
            )
        segmenter, _, mode = str(spec.get("tokenizer", "jieba/search")).partition("/")
        terms = spec.get("terms", "words")
        if terms not in TERMS:
            raise IndexCorruptError(
                f"the lexical index uses terms {terms!r}, which this semsearch does not know; "
                "rebuild the index or upgrade semsearch"
            )
        if segmenter not in SEGMENTERS:
            raise IndexCorruptError(
                f"the lexical index was segmented by {segmenter!r}, which this semsearch does not know; "
                "rebuild the index or upgrade semsearch"
            )
        return cls(mode=mode, user_words=tuple(spec.get("user_words", ())), terms=terms, segmenter=segmenter)  # type: ignore[arg-type]

    def highlights(self, terms: Iterable[str], text: str) -> tuple[Highlight, ...]:
        """Where ``terms`` (normalised query terms) occur in ``text``, as spans of ``text`` as written.

        Overlapping occurrences merge into one span (the bigrams 网格 and 格员 mark 网格员 once;
        a word inside a longer one adds nothing); spans are sorted by position.
        """
        folded, origin = normalize_with_offsets(text)
        found: list[tuple[int, int]] = []
        for term in set(terms):
            at = folded.find(term)
            while at >= 0:
                found.append((at, at + len(term)))
                at = folded.find(term, at + 1)
        merged: list[list[int]] = []
        for start, end in sorted(found):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return tuple(
            Highlight(term=folded[start:end], start=origin[start], end=origin[end - 1] + 1)
            for start, end in merged
        )


def user_word_problem(line: object) -> str | None:
    """What is wrong with a user-dictionary line (``word [freq] [tag]``), or None if it is one.

    A line is one line of printable text: a word holding a newline or another control character would
    be a different entry to jieba (and to the manifest's reader) than the one given.
    """
    if not isinstance(line, str) or not line.strip():
        return "is blank or not text"
    if len(line.splitlines()) != 1 or any(unicodedata.category(ch) == "Cc" and ch != "\t" for ch in line):
        return "holds a line break or a control character"
    return None


def _new_tokenizer(user_words: Sequence[str], segmenter: Segmenter) -> Any:
    """A tokenizer of its own (jieba's or jieba-rs's), with ``user_words`` (``word [freq] [tag]`` lines) added.

    Both have ``cut`` and ``cut_for_search``.
    """
    if segmenter == "jieba-rs":
        import rjieba

        tokenizer: Any = rjieba.Jieba()
    else:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
    for line in user_words:
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        tokenizer.add_word(normalize(parts[0]), freq, tag)
    return tokenizer


_SHARED: dict[str, Any] = {}  # the shared tokenizer of each segmenter, once loaded
_SHARED_LOCK = threading.Lock()


def _shared_tokenizer(segmenter: Segmenter) -> Any:
    """The one tokenizer of the default dictionary that analyzers without user words share (read only)."""
    with _SHARED_LOCK:
        if segmenter not in _SHARED:
            _SHARED[segmenter] = (
                _default_jieba_rs() if segmenter == "jieba-rs" else _new_tokenizer((), segmenter)
            )
        return _SHARED[segmenter]


def _default_jieba_rs() -> Any:
    """jieba-rs's own default tokenizer: the ``rjieba`` module, whose import already loads that dictionary.

    A second ``rjieba.Jieba()`` loaded the same dictionary again (0.7 s, 24 MiB).
    """
    import rjieba

    return rjieba
