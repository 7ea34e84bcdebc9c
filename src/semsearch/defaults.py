"""Defaults and closed sets of choices that the library and the ``semsearch`` command share, defined once.

Free of heavy imports (no numpy), so the command's parser shows them without slowing ``semsearch --help``.
The modules they belong to import them from here (``semsearch.search.MODES`` is this ``MODES``).
"""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT_MODE: Mode = "hybrid"
EVALUATED_MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")  # each side alone, then fused

Device = Literal["cpu", "cuda", "auto"]
DEVICES: tuple[Device, ...] = get_args(Device)

TokenizerMode = Literal["search", "precise"]  # jieba's cut_for_search, or its precise cut
TOKENIZER_MODES: tuple[TokenizerMode, ...] = get_args(TokenizerMode)
DEFAULT_TOKENIZER: TokenizerMode = "search"

DEFAULT_INDEX_TYPE = "Flat"  # a FAISS factory string: exact search
DEFAULT_MIN_CHARS = 30  # paragraphs shorter than this are merged with a neighbour
DEFAULT_BATCH_SIZE = 16  # texts per encoder call
