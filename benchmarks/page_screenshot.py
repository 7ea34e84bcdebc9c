"""A screenshot of the search page with results, for the README: ``semsearch serve`` plus headless chromium.

    python benchmarks/page_screenshot.py                     # indexes/seeds, the README's query
    python benchmarks/page_screenshot.py -i INDEX -q QUERY -o out.png

Starts ``semsearch serve -i INDEX`` on 127.0.0.1 at a free port, types the query into the page, presses
Enter, opens the best story's first context and its related stories, and saves a full-page PNG
(default benchmarks/results/serve-page.png). Needs Debian's chromium and chromium-driver, and a CJK font
for Chinese text (Debian: fonts-wqy-microhei or fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.serve.conftest import running_server
from tests.support.page import browser_problem, start_browser

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "serve-page.png"
QUERY = "网格化管理如何推动基层治理"  # the README's first query
WIDTH = 1100  # px: a laptop browser's content width
MAX_HEIGHT = 1400  # px: the screenshot stops there (the first stories, a context, related stories)
WAIT = 120  # s


def shoot(index: Path, query: str, out: Path, width: int = WIDTH) -> Path:
    """Serve ``index``, search ``query`` on the page, and save the page as a PNG at ``out``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(index, Path(scratch) / "server.log") as base,
    ):
        driver = start_browser(Path(scratch) / "profile", language="en-US", size=(width, 900))
        try:
            wait = WebDriverWait(driver, WAIT)
            driver.get(f"{base}/")
            driver.find_element(By.ID, "query").send_keys(query, Keys.ENTER)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results .story"), "no stories shown")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart svg, #chart .empty"), "no chart")
            first = driver.find_element(By.CSS_SELECTOR, "#results .story")
            first.find_element(By.CSS_SELECTOR, ".context-button").click()
            wait.until(lambda d: first.find_elements(By.CSS_SELECTOR, ".context .paragraph"), "no context")
            first.find_element(By.CSS_SELECTOR, "button.similar").click()
            wait.until(
                lambda d: first.find_elements(By.CSS_SELECTOR, ".related-story, .related .empty"),
                "none related",
            )
            driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
            height = min(MAX_HEIGHT, driver.execute_script("return document.documentElement.scrollHeight"))
            driver.set_window_size(width, height)
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--index", type=Path, default=ROOT / "indexes" / "seeds", help="index to serve")
    parser.add_argument("-q", "--query", default=QUERY, help="what to search for")
    parser.add_argument("-o", "--out", type=Path, default=OUT, help="where to save the PNG")
    parser.add_argument("--width", type=int, default=WIDTH, help="browser width in CSS pixels")
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem:
        print(f"page_screenshot: {problem}", file=sys.stderr)
        return 1
    if not args.index.exists():
        print(
            f"page_screenshot: no index at {args.index}; build it: semsearch build seeds/ -o {args.index}",
            file=sys.stderr,
        )
        return 1
    print(shoot(args.index, args.query, args.out, args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
