"""What one request may ask of the server, defined once (the app enforces them, the docs quote them)."""

from __future__ import annotations

MAX_BODY_BYTES = 1 << 20  # a request body over 1 MiB is refused with 413, before it is parsed
MAX_QUERY_CHARS = 2_000  # one query's length
MAX_K = 100  # results (stories or passages) per query
MAX_BATCH = 32  # queries in one batch search
MAX_CONTEXT = 10  # paragraphs of context before and after a hit
MAX_PAGE = 1_000  # documents per page of GET /api/documents
DEFAULT_PAGE = 100
TIME_BUDGET_SECONDS = 30.0  # a read that takes longer is answered 503 (its work is abandoned)
DEFAULT_HOST = "127.0.0.1"  # loopback unless told otherwise
DEFAULT_PORT = 8000
REFRESH_SECONDS = 2.0  # how often the server moves on to what other processes saved (Index.refresh)
