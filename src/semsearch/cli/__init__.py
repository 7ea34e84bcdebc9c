"""The ``semsearch`` command: build, query and inspect indexes from the shell.

:mod:`.parser` declares the commands and their options, :mod:`.options` turns parsed options into
library values, :mod:`.commands` runs them and :mod:`.render` prints for people; :mod:`.constants`
holds what the command repeats (exit statuses, choices, defaults). Heavy modules (faiss, the model)
are imported inside the commands, so ``semsearch --help`` is instant. Bad input ends with a one-line
``semsearch: error: …`` on stderr and exit status 2 (a damaged index: 1).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from semsearch.cli.constants import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from semsearch.cli.parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``semsearch`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeFormatter("semsearch: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("faiss").setLevel(logging.WARNING)
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        # transformers reads this when imported: its "Loading weights" bar obeys --no-progress too
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from semsearch.errors import InputError, SemsearchError

    try:
        return int(args.func(args) or EXIT_OK)
    except (InputError, FileNotFoundError) as exc:
        _fail(exc)
        return EXIT_USAGE
    except SemsearchError as exc:
        _fail(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("semsearch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `semsearch query ... | head`
        sys.stderr.close()
        return EXIT_OK


def _fail(exc: BaseException) -> None:
    from semsearch.cli.terminal import safe

    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"semsearch: error: {safe(message)}", file=sys.stderr)


class _SafeFormatter(logging.Formatter):
    """Log lines with control characters from the data shown as escapes (see :mod:`semsearch.cli.terminal`)."""

    def format(self, record: logging.LogRecord) -> str:
        from semsearch.cli.terminal import safe

        return safe(super().format(record), keep_newlines=True)
