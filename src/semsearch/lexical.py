"""The lexical side of an index: script-insensitive jieba words and CJK character bigrams, scored with BM25.

Text and queries are normalised the same way before tokenising: NFKC (full-width letters, digits and
punctuation become half-width), lower case, and Traditional → Simplified Chinese with OpenCC, so
``網格員`` in an article matches ``网格员`` in a query. The terms are jieba's words, overlapping
character bigrams of each run of Chinese characters (as Lucene's CJK analyzer indexes them), or both
(``Analyzer.terms``; ``benchmarks/lexical.py`` measured which). The stored text is never changed:
highlights are found in the normalised text and mapped back to offsets in the text as written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from tokenize import TokenError
from typing import Any, Literal, get_args

import numpy as np

from .errors import IndexCorruptError, InputError
from .records import Highlight, Scored
from .script import to_simplified as _to_simplified

log = logging.getLogger(__name__)

# Version 2 added bigram terms and dropped lone Latin letters; version 1 indexes (words only) still load.
ANALYZER_VERSION = 2
READABLE_ANALYZER_VERSIONS = (1, 2)
Terms = Literal["words", "bigrams", "words+bigrams"]
TERMS: tuple[str, ...] = get_args(Terms)
DEFAULT_TERMS: Terms = "words+bigrams"
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


def _is_word(token: str) -> bool:
    """A term worth indexing: it has a letter or digit, and is not a lone Latin letter.

    A lone letter is mostly what is left of an English possessive or contraction (``China's`` → ``s``)
    and would match any chunk holding a stray "S".
    """
    if len(token) == 1 and token.isascii() and token.isalpha():
        return False
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


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
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
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

    mode: str = "search"
    user_words: tuple[str, ...] = ()
    terms: Terms = DEFAULT_TERMS
    _jieba: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("search", "precise"):
            raise InputError(f"unknown tokenizer mode {self.mode!r}; use 'search' or 'precise'")
        if self.terms not in TERMS:
            raise InputError(f"unknown lexical terms {self.terms!r}; use one of {', '.join(TERMS)}")

    @classmethod
    def from_user_dict(
        cls, path: str | Path | None, mode: str = "search", terms: Terms = DEFAULT_TERMS
    ) -> Analyzer:
        """An analyzer with the jieba user dictionary at ``path`` (one ``word [freq] [tag]`` per line)."""
        if path is None:
            return cls(mode=mode, terms=terms)
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
        return cls(mode=mode, user_words=words, terms=terms)

    @property
    def tokenizer(self) -> Any:
        """Return the analyzer's own jieba tokenizer (never jieba's global one, so indexes don't interfere)."""
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for line in self.user_words:
                        parts = line.split()
                        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                        tag = parts[2] if len(parts) > 2 else None
                        tokenizer.add_word(normalize(parts[0]), freq, tag)
                    self._jieba = tokenizer
        return self._jieba

    def tokens(self, text: str) -> list[str]:
        """The index terms of ``text``: folded jieba words minus stop words, and/or bigrams (``terms``).

        Terms are interned: an index keeps every chunk's terms, and one string object per distinct
        term instead of one per occurrence held the 528,933 jieba words of 3.0 MiB of 新闻联播 articles
        in 9.0 MiB instead of 44.3 MiB (tracemalloc).
        """
        folded = normalize(text)
        out: list[str] = []
        if self.terms != "bigrams":
            cut = (
                self.tokenizer.cut_for_search(folded) if self.mode == "search" else self.tokenizer.cut(folded)
            )
            out.extend(t for t in (w.strip() for w in cut) if t and t not in STOPWORDS and _is_word(t))
        else:
            out.extend(_other_words(folded))
        if self.terms != "words":
            out.extend(bigrams(folded))
        return [sys.intern(t) for t in out]

    def spec(self) -> dict[str, Any]:
        """What the manifest records so a loaded index tokenises exactly as it was built."""
        return {
            "analyzer_version": ANALYZER_VERSION,
            "tokenizer": f"jieba/{self.mode}",
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
        mode = str(spec.get("tokenizer", "jieba/search")).split("/")[-1]
        terms = spec.get("terms", "words")
        if terms not in TERMS:
            raise IndexCorruptError(
                f"the lexical index uses terms {terms!r}, which this semsearch does not know; "
                "rebuild the index or upgrade semsearch"
            )
        return cls(mode=mode, user_words=tuple(spec.get("user_words", ())), terms=terms)

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


class LexicalIndex:
    """BM25 over the analyzer's terms of every chunk, addressed by chunk id.

    Saved as two files: the chunks' terms (JSON, what a change rebuilds BM25 from, since ``bm25s``
    cannot add to an index) and the ``bm25s`` index itself (a directory of arrays, loaded memory-mapped,
    so opening an index does not recompute BM25: 4.9 s of a 5.6 s load at 85k chunks before).
    """

    def __init__(
        self,
        analyzer: Analyzer,
        chunk_ids: np.ndarray,
        tokens: list[list[str]] | bytes,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        bm25: Any = None,
        saved: tuple[Path | None, str | None] = (None, None),
    ) -> None:
        """``tokens``: one term list per chunk, or their saved JSON (parsed only if a change needs them).

        ``bm25``: a loaded ``bm25s.BM25`` over those terms; built from ``tokens`` when not given.
        ``saved``: the file saved JSON ``tokens`` came from and the manifest's SHA-256 of it.
        """
        import bm25s

        self.analyzer = analyzer
        self.k1, self.b = k1, b
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        self._tokens = tokens
        self._saved = saved
        if bm25 is None:
            bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
            terms = self.tokens
            if len(terms):
                logging.getLogger("bm25s").setLevel(logging.WARNING)
                bm25.index(terms, show_progress=False)
        self._bm25 = bm25

    @property
    def tokens(self) -> list[list[str]]:
        """Each chunk's terms, in chunk order."""
        if isinstance(self._tokens, bytes):
            self._tokens = _parse_tokens(self._tokens, self.chunk_ids, self._saved[0])
        return self._tokens

    @classmethod
    def build(
        cls, analyzer: Analyzer, chunk_ids: Sequence[int], texts: Sequence[str], **params: Any
    ) -> LexicalIndex:
        """Tokenise ``texts`` and index them under ``chunk_ids``."""
        return cls(
            analyzer, np.asarray(chunk_ids, dtype=np.int64), [analyzer.tokens(t) for t in texts], **params
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def query_terms(self, query: str) -> list[str]:
        """The query's terms, in order, without repeats."""
        return list(dict.fromkeys(self.analyzer.tokens(query)))

    def search(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[Scored]:
        """The ``depth`` best (chunk id, BM25 score) pairs for ``query``; chunks sharing no term are left out.

        ``allowed``: a sorted array of the only chunk ids that may be returned (a filter, applied before
        the cut to ``depth``).
        """
        if not len(self) or depth < 1:  # an empty index (every document removed) answers nothing
            return []
        terms = [t for t in self.query_terms(query) if t in self._bm25.vocab_dict]
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        positive = scores > 0
        if allowed is not None:
            positive &= np.isin(self.chunk_ids, allowed, assume_unique=True)
        positive = np.flatnonzero(positive)
        if len(positive) > depth:
            positive = positive[np.argpartition(-scores[positive], depth - 1)[:depth]]
        order = positive[np.lexsort((self.chunk_ids[positive], -scores[positive]))]
        return [Scored(int(self.chunk_ids[i]), float(scores[i])) for i in order]

    def changed(
        self, removed: Iterable[int], added_ids: Sequence[int], added_texts: Sequence[str]
    ) -> LexicalIndex:
        """Return a new lexical index without the chunks ``removed`` and with the ones added.

        BM25 statistics are rebuilt from the stored terms; only the added texts are tokenised.
        """
        gone = set(removed)
        keep = [i for i, cid in enumerate(self.chunk_ids.tolist()) if cid not in gone]
        ids = np.concatenate([self.chunk_ids[keep], np.asarray(added_ids, dtype=np.int64)])
        tokens = [self.tokens[i] for i in keep] + [self.analyzer.tokens(t) for t in added_texts]
        return LexicalIndex(self.analyzer, ids, tokens, k1=self.k1, b=self.b)

    def spec(self) -> dict[str, Any]:
        """The manifest's record of this lexical index."""
        return {**self.analyzer.spec(), "scorer": "bm25s/lucene", "k1": self.k1, "b": self.b}

    def write(self, path: Path) -> None:
        """Save the chunk ids and their terms."""
        if isinstance(self._tokens, bytes):  # loaded and never changed: the saved JSON as it was
            source, expected = self._saved
            if expected is not None and hashlib.sha256(self._tokens).hexdigest() != expected:
                raise IndexCorruptError(f"{source} fails its SHA-256 checksum (corrupted); rebuild the index")
            path.write_bytes(self._tokens)
            return
        payload = json.dumps(
            {"chunk_ids": self.chunk_ids.tolist(), "tokens": self._tokens}, ensure_ascii=False
        )
        path.write_bytes(payload.encode("utf-8"))

    def write_bm25(self, path: Path) -> None:
        """Save the ``bm25s`` index and the chunk id of each of its rows into the directory ``path``."""
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        if len(self):
            self._bm25.save(str(path), show_progress=False)
        else:  # bm25s cannot save an index of nothing: the ids alone say "empty"
            path.mkdir()
        np.save(path / _BM25_IDS, self.chunk_ids)

    @classmethod
    def read(
        cls, path: Path, spec: dict[str, Any], bm25_path: Path | None = None, sha256: str | None = None
    ) -> LexicalIndex:
        """Load what :meth:`write` (and :meth:`write_bm25`) saved; a damaged file is an IndexCorruptError.

        Without ``bm25_path`` (an index saved before BM25 was saved, or one this ``bm25s`` cannot read)
        BM25 is rebuilt from the terms. The terms are parsed only when a change needs them; ``sha256``
        (the manifest's) is checked before they are written to a new generation unparsed, so a file
        damaged after a load without verification is never saved as if it were sound.
        """
        analyzer = Analyzer.from_spec(spec)
        params: dict[str, Any] = {"k1": float(spec.get("k1", 1.2)), "b": float(spec.get("b", 0.75))}
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise IndexCorruptError(
                f"{path} is not a readable lexical index ({exc}); rebuild the index"
            ) from None
        if bm25_path is not None:
            loaded = _load_bm25(bm25_path)
            if loaded is not None:
                return cls(analyzer, loaded[0], raw, bm25=loaded[1], saved=(path, sha256), **params)
        data = _parse_json(raw, path)
        return cls(analyzer, np.asarray(data["chunk_ids"], dtype=np.int64), data["tokens"], **params)


_BM25_IDS = "chunk_ids.npy"


def _load_bm25(path: Path) -> tuple[np.ndarray, Any] | None:
    """Chunk ids and the memory-mapped ``bm25s`` index saved in ``path``, or None (logged) if unreadable."""
    import bm25s

    try:
        ids = np.load(path / _BM25_IDS, allow_pickle=False)
    except FileNotFoundError as exc:  # gone, not damaged: a writer pruned this generation, say; load again
        raise IndexCorruptError(f"{exc.filename or path} is missing; rebuild the index") from None
    except (OSError, ValueError, EOFError, SyntaxError, TokenError) as exc:
        # EOFError: a file truncated to nothing; SyntaxError/TokenError: numpy parses a damaged header
        raise IndexCorruptError(
            f"{path / _BM25_IDS} is not a readable array ({exc or type(exc).__name__}); rebuild the index"
        ) from None
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(np.unique(ids)) != len(ids):
        raise IndexCorruptError(
            f"{path / _BM25_IDS} does not hold distinct integer chunk ids ({ids.dtype}, shape {ids.shape}); "
            "rebuild the index"
        )
    ids = ids.astype(np.int64)
    if not len(ids):
        return ids, None  # an empty index: nothing was saved but the ids
    try:
        bm25 = bm25s.BM25.load(str(path), mmap=True, load_corpus=False, show_progress=False)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{exc.filename or path} is missing; rebuild the index") from None
    except Exception as exc:  # noqa: BLE001 - any failure means: rebuild from the saved terms
        log.warning("%s cannot be read (%s); rebuilding BM25 from the saved terms", path, exc)
        return None
    _check_bm25(path, ids, bm25)
    return ids, bm25


def _check_bm25(path: Path, ids: np.ndarray, bm25: Any) -> None:
    """Raise IndexCorruptError unless a loaded ``bm25s`` index is the consistent lucene BM25 we save."""

    def corrupt(what: str) -> IndexCorruptError:
        return IndexCorruptError(f"{path} is not a BM25 index semsearch wrote: {what}; rebuild the index")

    method, idf = getattr(bm25, "method", None), getattr(bm25, "idf_method", None) or "lucene"
    if (method, idf) != ("lucene", "lucene"):
        raise corrupt(f"scoring method {method!r} (idf {idf!r}), not lucene")
    try:
        scores = bm25.scores
        rows = scores["num_docs"]
        data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
        vocab = bm25.vocab_dict
    except (AttributeError, KeyError, TypeError) as exc:
        raise corrupt(f"a part is missing ({exc})") from None
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or int(rows) != len(ids):
        raise corrupt(f"rows for {rows!r} chunks but ids for {len(ids)}")
    arrays = {"data": data, "indices": indices, "indptr": indptr}
    if any(not isinstance(a, np.ndarray) or a.ndim != 1 for a in arrays.values()):
        raise corrupt("its score arrays are not one-dimensional arrays")
    if data.dtype.kind != "f" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise corrupt(f"array types {data.dtype}/{indices.dtype}/{indptr.dtype}")
    if not isinstance(vocab, dict):
        raise corrupt("it has no vocabulary")
    term_ids = list(vocab.values())
    rows_of_terms = len(indptr) - 1  # bm25s also numbers "" (never a query term) just past the rows
    if (
        any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in term_ids)
        or len(set(term_ids)) != len(term_ids)
        or any(t >= rows_of_terms for term, t in vocab.items() if term != "")
    ):
        raise corrupt(f"its vocabulary does not number its terms within its {rows_of_terms} term rows")
    if len(data) != len(indices) or (len(indptr) and (indptr[0] != 0 or indptr[-1] != len(indices))):
        raise corrupt("its row pointers do not match its entries")
    if len(indptr) > 1 and (np.diff(indptr) < 0).any():
        raise corrupt("its row pointers go backwards")
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= len(ids)):
        raise corrupt(f"an entry points at a chunk row outside 0..{len(ids) - 1}")
    if not np.isfinite(data).all():
        raise corrupt("a score is NaN or infinite")


def _parse_json(raw: bytes, path: Path | None = None) -> dict[str, Any]:
    where = f"{path}" if path else "the saved lexical index"
    try:
        data = json.loads(raw.decode("utf-8"))
        ids, tokens = data["chunk_ids"], data["tokens"]
        if len(ids) != len(tokens) or not all(isinstance(t, list) for t in tokens):
            raise ValueError("chunk ids and token lists differ in length")
        if not all(isinstance(word, str) for terms in tokens for word in terms):
            raise ValueError("a chunk's terms are not all strings")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"{where} is not a readable lexical index ({exc}); rebuild the index"
        ) from None
    return data


def _parse_tokens(raw: bytes, chunk_ids: np.ndarray, path: Path | None) -> list[list[str]]:
    data = _parse_json(raw, path)
    if not np.array_equal(np.asarray(data["chunk_ids"], dtype=np.int64), chunk_ids):
        raise IndexCorruptError(
            f"{path or 'the saved lexical terms'} and the saved BM25 index cover different chunks; rebuild the index"
        )
    return [[sys.intern(word) for word in terms] for terms in data["tokens"]]
