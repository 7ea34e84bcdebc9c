"""How a server was started: what it allows and whom it answers, as one frozen record."""

from __future__ import annotations

from dataclasses import dataclass

from semsearch.serve.limits import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_BODY_BYTES,
    REFRESH_SECONDS,
    TIME_BUDGET_SECONDS,
)


@dataclass(frozen=True)
class ServerSettings:
    """The server's options (``semsearch serve`` builds one from its command line).

    ``token``: the bearer token writes need (from ``$SEMSEARCH_API_TOKEN``); ``allow_writes``: writes are
    answered at all; ``cors_origins``: origins a browser may call the API from (none: no CORS headers);
    ``refresh_every``: seconds between looks for what other processes saved to the index.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_writes: bool = False
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    time_budget: float = TIME_BUDGET_SECONDS
    refresh_every: float = REFRESH_SECONDS  # 0: never (the index changes only through this server)

    def __repr__(self) -> str:  # never print the token
        token = "set" if self.token else "none"
        return (
            f"ServerSettings(host={self.host!r}, port={self.port}, allow_writes={self.allow_writes}, "
            f"token={token}, cors_origins={self.cors_origins!r})"
        )
