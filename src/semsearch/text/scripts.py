"""Traditional → Simplified Chinese (OpenCC), for the lexical side and for the text the encoder embeds.

The bundled model has seen far more Simplified than Traditional Chinese: embedding Traditional text
converted to Simplified (and the queries alike) found the right paragraph first for 0.946 of CMRC trial
questions against 0.931 as written (``benchmarks/lexical.py``). The stored text is never changed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal, get_args

from semsearch.errors import InputError

# What the encoder embeds: the text converted to Simplified, or the text as written.
EmbedScript = Literal["simplified", "as-written"]
EMBED_SCRIPTS: tuple[str, ...] = get_args(EmbedScript)
DEFAULT_EMBED_SCRIPT: EmbedScript = "simplified"
LEGACY_EMBED_SCRIPT: EmbedScript = "as-written"  # indexes saved before the setting existed

_OPENCC_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _t2s() -> Any:
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - opencc is a hard dependency
        raise InputError("script-insensitive matching needs OpenCC: pip install opencc") from exc
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters and phrases converted to Simplified."""
    with _OPENCC_LOCK:  # the OpenCC converter object is not documented as thread-safe
        return _t2s().convert(text)


def check_embed_script(script: object) -> EmbedScript:
    """``script`` if it is a known setting, else InputError naming the choices."""
    if script not in EMBED_SCRIPTS:
        raise InputError(f"embed_script must be one of {', '.join(EMBED_SCRIPTS)}, not {script!r}")
    return script  # type: ignore[return-value]


def embedding_texts(texts: Sequence[str], script: EmbedScript) -> list[str]:
    """What the encoder is given for ``texts`` under the ``script`` setting."""
    return [to_simplified(t) for t in texts] if script == "simplified" else list(texts)
