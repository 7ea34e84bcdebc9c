"""The server under test: ``semsearch serve`` in a child process on 127.0.0.1 at a free port, stopped at the end.

:func:`running_server` starts one over any index location and waits for ``/api/health``; the session
fixtures serve the seeds (built once per session with the bundled model): ``server_url`` read-only,
``writable_server_url`` over a private copy with ``--allow-writes`` and :data:`TOKEN`. The in-process
``app_client`` (Starlette's TestClient over ``create_app``) checks the rules in the fast tier.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.processes import stop

TOKEN = "a-test-token-nobody-guesses"  # $SEMSEARCH_API_TOKEN of the writable server
START_SECONDS = 180  # loading the index and the model on a loaded 2-core machine


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(base: str) -> bool:
    """Whether the server at ``base`` answers ``/api/health`` with 200."""
    import httpx

    try:
        return httpx.get(f"{base}/api/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_server(
    index: Path | str, log: Path, *, token: str | None = None, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """``semsearch serve -i index ARGS`` on 127.0.0.1 at a free port until the block ends: its base URL.

    ``token`` becomes the child's ``$SEMSEARCH_API_TOKEN`` (none otherwise); its output goes to ``log``.
    A server that exits or stays silent for :data:`START_SECONDS` raises RuntimeError with the log's tail.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SEMSEARCH_API_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")]))
    if token is not None:
        env["SEMSEARCH_API_TOKEN"] = token
    command = [sys.executable, "-m", "semsearch", "serve", "-i", str(index), "--port", str(port), *args]
    with log.open("w+", encoding="utf-8") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_SECONDS
            while not healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    raise RuntimeError(f"semsearch serve did not start (log {log}): {output.read()[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            stop(process, 30)


@pytest.fixture(scope="session")
def server_url(saved_seeds_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A read-only server over the seeds (started as a user would): its base URL."""
    with running_server(saved_seeds_index, tmp_path_factory.mktemp("serve") / "server.log") as base:
        yield base


@pytest.fixture(scope="session")
def writable_server_url(saved_seeds_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with ``--allow-writes`` and :data:`TOKEN` over a private copy of the seeds: its base URL.

    Tests share it: each adds and removes stories of its own ids only.
    """
    folder = tmp_path_factory.mktemp("serve-writable")
    shutil.copytree(saved_seeds_index, folder / "seeds")
    with running_server(
        folder / "seeds", folder / "server.log", token=TOKEN, args=("--allow-writes",)
    ) as base:
        yield base


@pytest.fixture(scope="session")
def app_client(seeds_index) -> Iterator[object]:
    """Starlette's TestClient over ``create_app(seeds_index)``, read-only: the rules in the fast tier."""
    from fastapi.testclient import TestClient

    from semsearch.serve.app import create_app

    with TestClient(create_app(seeds_index), raise_server_exceptions=False) as client:
        yield client
