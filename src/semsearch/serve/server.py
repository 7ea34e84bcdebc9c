"""Run the application with uvicorn: check the start-up rules, open the index once (its model too), listen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from semsearch.serve.security import check_start
from semsearch.serve.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from semsearch.index import Index
    from semsearch.storage.locations import Location


@dataclass(frozen=True)
class Prepared:
    """An application ready to listen: the app, its open index, and warnings to show before it starts."""

    app: FastAPI
    index: Index
    warnings: list[str]


def prepare(
    location: Location, settings: ServerSettings, *, threads: int | None = None, device: str | None = None
) -> Prepared:
    """Check the rules (InputError, one line, for a refused start), open the index and load its model.

    The model is loaded before the server listens, so the first search costs what the others do.
    """
    from semsearch.serve import require_extra

    require_extra()
    warnings = check_start(settings)  # refuse before the slow part
    from semsearch.index import Index
    from semsearch.serve.app import create_app

    index = Index.load(location, threads=threads, device=device)
    _ = index.encoder  # load the model now, not on the first query
    return Prepared(create_app(index, settings), index, warnings)


def run(app: FastAPI, settings: ServerSettings) -> None:
    """Listen on ``settings.host:port`` with uvicorn until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
