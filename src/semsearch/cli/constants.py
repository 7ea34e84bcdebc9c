"""What the command repeats, defined once: exit statuses, where indexes live, option choices."""

from __future__ import annotations

from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2  # done; a damaged index or a failure; bad input
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
DEFAULT_HITS = 5  # `query -k`
COLORS = ("auto", "always", "never")  # `query --color`; auto: a terminal without NO_COLOR
DEFAULT_COLOR = "auto"
CACHE_ACTIONS = ("info", "clear")
BENCHMARKS = ("quality", "hybrid", "latency", "scale", "ann", "peers", "incremental", "report")
INDEX_ROOT = Path("indexes")  # where `-i NAME` finds an index, and `build` puts one without -o
RAY_LOCAL = "local"  # `build --ray` without an address
