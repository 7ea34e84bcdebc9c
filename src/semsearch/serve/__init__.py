"""``semsearch serve``: the index over HTTP — a JSON API (OpenAPI at ``/docs``) and a search page at ``/``.

Needs the ``serve`` extra (``pip install 'semsearch[serve]'``: FastAPI and uvicorn). One module per job:
:mod:`.limits` the limits, :mod:`.settings` how the server was started, :mod:`.security` the token and
start-up rules, :mod:`.schemas` the request bodies, :mod:`.errors` errors to statuses, :mod:`.app` the
application (``create_app(index, settings)``), :mod:`.server` running it with uvicorn. ``import semsearch`` never imports this package.
"""

from __future__ import annotations

from semsearch.serve.settings import ServerSettings

__all__ = ["ServerSettings", "require_extra"]


def require_extra() -> None:
    """Raise InputError naming the extra to install when FastAPI or uvicorn is missing."""
    import importlib.util

    from semsearch.errors import InputError

    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(
            f"semsearch serve needs {' and '.join(missing)}: pip install 'semsearch[serve]' "
            "(or pip install -e '.[serve]' in a clone)"
        )
