"""The search page's browser: Debian's chromium driven by Selenium (the server: tests/serve/conftest.running_server).

Shared by tests/serve/test_page.py and benchmarks/page_screenshot.py. Selenium is given chromedriver's
path, so Selenium Manager never downloads a driver or a browser.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

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


def get_json(url: str, timeout: float = 60) -> tuple[int, Any]:
    """GET ``url``: (status, decoded JSON body), error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
