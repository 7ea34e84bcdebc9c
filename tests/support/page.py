"""The search page's harness: ``semsearch serve`` in a child process, and Debian's chromium driven by Selenium.

Shared by tests/serve/test_page.py and benchmarks/page_screenshot.py. Selenium is given chromedriver's
path, so Selenium Manager never downloads a driver or a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

# Debian's packages (.ci/install-browser installs them there and reads the same two variables)
CHROMIUM = Path(os.environ.get("SEMSEARCH_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SEMSEARCH_CHROMEDRIVER", "/usr/bin/chromedriver"))
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
START_TIMEOUT = 120  # s for the server to load the index and the model on a loaded 2-core machine


def browser_problem() -> str | None:
    """Why the browser cannot run here (chromium, chromedriver or selenium missing), or None."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        return f"no browser for the page: {', '.join(missing)} missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no selenium for the page: pip install -e '.[test]'"
    return None


def start_browser(profile: Path, language: str = "en-US", size: tuple[int, int] = (1200, 900)) -> Any:
    """Headless chromium with a new empty profile at ``profile``, its UI and navigator.language ``language``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--lang={language}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, timeout: float = 60) -> tuple[int, Any]:
    """GET ``url``: (status, decoded JSON body), error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def serving(index: Path | str, log: Path) -> Iterator[str]:
    """``semsearch serve -i index`` on 127.0.0.1 at a free port until the block ends: its base URL.

    The server's output goes to ``log``; a server that exits or does not answer /api/health in
    :data:`START_TIMEOUT` seconds raises RuntimeError with the log's tail.
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    with log.open("w+", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "semsearch", "serve", "-i", str(index), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    what = (
                        f"exited with {process.returncode}"
                        if process.poll() is not None
                        else "did not answer"
                    )
                    raise RuntimeError(f"semsearch serve {what} (log {log}): {output.read()[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(base: str) -> bool:
    try:
        return get_json(f"{base}/api/health", timeout=5)[0] == 200
    except (OSError, ValueError):
        return False
