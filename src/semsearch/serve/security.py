"""Who may write, and which start-ups are refused: the bearer token and the loopback rule."""

from __future__ import annotations

import hmac
import ipaddress

from semsearch.errors import InputError
from semsearch.serve.settings import ServerSettings

TOKEN_VARIABLE = "SEMSEARCH_API_TOKEN"  # the environment variable holding the writers' token
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another host name: it may resolve to anything
        return False


def check_start(settings: ServerSettings) -> list[str]:
    """Refuse a start-up the rules forbid (InputError, one line); the warnings to print otherwise.

    Writes need a token on any address; a non-loopback address is allowed, with a warning.
    """
    if settings.allow_writes and not settings.token:
        raise InputError(
            f"--allow-writes needs a token: set ${TOKEN_VARIABLE} to a secret string; "
            "writers then send it as 'Authorization: Bearer TOKEN'"
        )
    warnings = []
    if not is_loopback(settings.host):
        warnings.append(
            f"listening on {settings.host}, not only this machine: anyone who reaches it can search the index"
            + (" (writes still need the token)" if settings.allow_writes else "")
        )
    return warnings


def token_matches(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the bearer ``token`` (compared in constant time)."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
