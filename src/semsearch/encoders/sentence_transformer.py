"""Any sentence-transformers model as an :class:`~semsearch.encoders.base.Encoder`, with the right prefixes.

Loaded by hub name or local path (never running code a model folder ships); the prefixes a model
family needs (e5's ``query: `` / ``passage: ``, bge's instruction) are found from its name when the
model's own config does not give them. A local model's identity includes a fingerprint of its files.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.encoders.runtime import check_threads
from semsearch.errors import EncoderError

# Prefixes for model families that need them, matched on the lower-cased model name.
_KNOWN_PREFIXES: tuple[tuple[Callable[[str], bool], str, str], ...] = (
    (lambda name: "e5" in name and "instruct" not in name, "query: ", "passage: "),
    (
        lambda name: "bge" in name and "zh" in name and "m3" not in name,
        "为这个句子生成表示以用于检索相关文章：",
        "",
    ),
    (
        lambda name: "bge" in name and "en" in name and "m3" not in name,
        "Represent this sentence for searching relevant passages: ",
        "",
    ),
)


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path, with the right prefixes.

    Prefixes come from ``query_prefix`` / ``passage_prefix`` when given, else from the model's own
    ``prompts`` config, else from its family (e5 needs ``query: `` / ``passage: ``).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                f"model {str(model)!r} needs sentence-transformers: pip install 'semsearch[st]' "
                "(install torch==2.13.0 first to get the CPU build)"
            ) from exc
        if threads is not None:
            import torch

            torch.set_num_threads(check_threads(threads))  # process-wide: torch has no per-model setting
        path = Path(model).expanduser()
        self.is_local = path.is_dir()
        self.model_name = str(path.resolve()) if self.is_local else str(model)
        try:
            # Never run code a model folder ships (custom modules, auto_map classes): said explicitly,
            # as well as by the pinned sentence-transformers' own default.
            self._model = SentenceTransformer(self.model_name, device=device, trust_remote_code=False)
        except Exception as exc:
            hint = (
                "it is not a local folder, and the model hub could not provide it (offline?); "
                "pass the path of a downloaded model folder"
                if not self.is_local
                else "the folder is not a sentence-transformers or transformers model"
            )
            raise EncoderError(
                f"cannot load sentence-transformers model {str(model)!r}: {hint} ({exc})"
            ) from exc
        prompts = getattr(self._model, "prompts", None) or {}
        family = self._family_prefixes(self.model_name.lower())
        self.query_prefix = query_prefix if query_prefix is not None else prompts.get("query") or family[0]
        self.passage_prefix = (
            passage_prefix
            if passage_prefix is not None
            else prompts.get("document") or prompts.get("passage") or family[1]
        )
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise EncoderError(f"model {self.model_name!r} does not report an embedding dimension")
        self.dimension = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        name = f"{path.name}#{_fingerprint(path)}" if self.is_local else self.model_name
        self.identity = f"sentence-transformers/{name}|q={self.query_prefix!r}|p={self.passage_prefix!r}|d={self.dimension}"

    @staticmethod
    def _family_prefixes(name: str) -> tuple[str, str]:
        for matches, query, passage in _KNOWN_PREFIXES:
            if matches(Path(name).name):
                return query, passage
        return "", ""

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        with self._lock:  # torch modules are not safe to call from several threads at once
            vectors = self._model.encode(
                [prefix + t for t in texts],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the query prefix."""
        return self._encode(texts, self.query_prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the passage prefix."""
        return self._encode(texts, self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``passage_prefix + text``, special tokens included, untruncated."""
        ids = self._model.tokenizer(self.passage_prefix + text, add_special_tokens=True, verbose=False)[
            "input_ids"
        ]
        return len(ids)

    def spec(self) -> dict[str, Any]:
        """How to load this encoder again."""
        return {
            "kind": "sentence-transformers",
            "model": self.model_name,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
        }

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.model_name!r})"


def _fingerprint(path: Path) -> str:
    """A short hash of a local model folder: its config files' contents and its weights' sizes."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel.lower().endswith((".md", ".txt")) and "vocab" not in rel:
            continue
        digest.update(rel.encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
        else:
            digest.update(str(file.stat().st_size).encode())
    return digest.hexdigest()[:12]
