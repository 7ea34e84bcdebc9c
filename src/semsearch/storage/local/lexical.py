"""The lexical side of an index: BM25 over each chunk's terms, saved and loaded with the index.

The terms come from :class:`~semsearch.text.analyzer.Analyzer` (script-insensitive jieba words and CJK
character bigrams); ``bm25s`` scores them (Lucene's BM25) and is saved beside the terms it was built
from, so a change can rebuild it and a load need not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from semsearch.errors import IndexCorruptError
from semsearch.records import Scored
from semsearch.text.analyzer import Analyzer

log = logging.getLogger(__name__)


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

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` occurs: the length of its column of BM25 scores in ``bm25s``."""
        if not len(self):
            return [0] * len(terms)
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        found = [vocab.get(term) for term in terms]
        return [
            int(indptr[at + 1] - indptr[at]) if at is not None and at + 1 < len(indptr) else 0 for at in found
        ]

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

    @property
    def needs_reweighting(self) -> bool:
        """Never: BM25 is computed again over the whole corpus on every change."""
        return False

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
        analyzer.preload()  # jieba's dictionary loads while the rest of the index and the model do
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
        np.dtype(bm25.dtype), np.dtype(bm25.int_dtype)  # read only at search time by bm25s
    except (AttributeError, KeyError, TypeError) as exc:
        raise corrupt(f"a part is missing or malformed ({exc})") from None
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
