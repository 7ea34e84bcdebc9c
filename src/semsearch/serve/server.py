"""Run the application with uvicorn: check the start-up rules, open the index once (its model too), listen."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from semsearch.errors import BackendError, InputError
from semsearch.serve.security import check_start
from semsearch.serve.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from semsearch.index import Index
    from semsearch.storage.locations import Location


@dataclass(frozen=True)
class Prepared:
    """An application ready to listen: the app, its open index, its bound socket, warnings to show first."""

    app: FastAPI
    index: Index | None  # None: it could not be opened yet (the engine is down or busy); retried
    sock: socket.socket
    warnings: list[str]

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the one the system chose for port 0)."""
        return int(self.sock.getsockname()[1])


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or InputError in one line (the port taken, the address not here)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(
            f"--host {host!r} is not an address of this machine ({exc}); e.g. 127.0.0.1"
        ) from None
    except OverflowError:
        raise InputError(f"--port must be 0-65535, not {port}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server there?); pick another --port"
        ) from None
    return sock


def prepare(
    location: Location, settings: ServerSettings, *, threads: int | None = None, device: str | None = None
) -> Prepared:
    """Check the rules (InputError, one line, for a refused start), bind, open the index and load its model.

    The model is loaded before the server listens, so the first search costs what the others do. An
    index whose engine is down or busy (BackendError: a Milvus server not up yet, a milvus-lite file
    another process holds) is no reason to refuse: the server answers 503 and tries again; any other
    failure to open (no index there, a damaged one) is.
    """
    from semsearch.serve import require_extra

    require_extra()
    warnings = check_start(settings)  # refuse before the slow part
    sock = bind(settings.host, settings.port)
    from semsearch.index import Index
    from semsearch.serve.app import create_app

    try:
        loaded = Index.load(location, threads=threads, device=device)
        _ = loaded.encoder  # load the model now, not on the first query
        index: Index | None = loaded
        problem = ""
    except BackendError as exc:  # the engine is down or busy: serve 503 until it can be opened
        index, problem = None, " ".join(str(exc).split())
        warnings.append(
            f"{location} cannot be opened now ({problem}); answering 503 until it can "
            f"(tried every {settings.refresh_every:g} s)"
        )
    except BaseException:
        sock.close()
        raise
    runtime = {"threads": threads, "device": device}
    app = create_app(index, settings, location=location, problem=problem, runtime=runtime)
    return Prepared(app, index, sock, warnings)


def run(prepared: Prepared) -> None:
    """Serve on the prepared socket with uvicorn until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    config = uvicorn.Config(prepared.app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[prepared.sock])
