"""The search page at ``/`` (issue 26) in a real headless browser: Debian's chromium, driven by Selenium.

The server is ``semsearch serve`` on 127.0.0.1 at a free port over a small dated corpus (outlets, dates,
a title that is HTML, a long unbroken URL), stopped at the end. Selenium is given chromedriver's path, so
Selenium Manager never downloads anything. Without chromium the browser tests are skipped, unless
``SEMSEARCH_REQUIRE_BROWSER=1`` (CI sets it): then they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.conftest import running_server
from tests.support.page import browser_problem, get_json, start_browser
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow  # a real-model build, a server process and a browser: about a minute in all

REQUIRE_BROWSER = os.environ.get("SEMSEARCH_REQUIRE_BROWSER") == "1"
WAIT = 60  # s: the longest a page may take to show a result on a loaded 2-core machine
STATIC = ("index.html", "app.js", "app.css")

HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">网格员夜访'
LONG_URL = "https://example.com/" + "a" * 150  # one unbroken word wider than a phone
STORIES = [  # doc_id, title, date, outlet, text (paragraphs)
    ("grid-jan", "网格员走村入户", "2024-01-05", "人民日报",
     ["网格员走村入户收集群众诉求，推动矛盾纠纷就地化解。", "社区经验在全市推广，居民满意度明显提高。", "下一步将完善网格员培训制度。"]),
    ("grid-feb", "网格化管理见成效", "2024-02-11", "新华社",
     ["全市推行网格化管理，网格员每天巡查辖区，及时发现安全隐患。", "街道还建立了问题台账，限时办结。"]),
    ("grid-mar", "网格员帮老人办医保", "2024-03-20", "新华社",
     ["网格员上门服务，帮助独居老人办理医保和社保业务，群众点赞。", "这项服务已覆盖全区所有社区。"]),
    ("hostile", HOSTILE_TITLE, "2024-05-02", "新华社",
     ["网格员深夜走访辖区商户，检查消防通道和燃气安全。", "商户们表示欢迎。"]),
    ("grid-jun", "基层治理新探索", "2024-06-08", "人民日报",
     ["在基层治理中，网格员成为连接党委政府和群众的纽带。", "详见" + LONG_URL, "各地正在总结推广。"]),
    ("astral", "𠮷野家门口的网格员", "2023-11-15", "新华社",  # 𠮷 is one code point, two UTF-16 units
     ["𠮷𠮷𠮷网格员在𠮷野家门口值守，帮助过往群众问路。", "夜里也有人值班。"]),
    ("rice", "早稻收割基本结束", "2023-12-30", "新华社",
     ["今年早稻收割基本结束，全省粮食产量稳中有增，农民增收。", "农业部门提醒做好秋冬种准备。"]),
    ("moon", "嫦娥六号返回地球", "2024-06-25", "央视",
     ["嫦娥六号返回器携带月球背面样品成功着陆，科学家将开展研究。", "这是人类首次从月球背面采样。"]),
]  # fmt: skip
QUERY = "网格员"


# ---------------------------------------------------------------------- the package ships the page


def test_the_page_ships_in_the_wheel(tmp_path):
    """A wheel built from the sources holds index.html, app.js and app.css (pyproject's package-data)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("semsearch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"semsearch/serve/static/{name}" for name in STATIC} <= names


# ---------------------------------------------------------------------- the server and the browser


def _need_browser() -> None:
    problem = browser_problem()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"{problem}; SEMSEARCH_REQUIRE_BROWSER=1 asks for the browser tests")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from semsearch import Document, Index

    docs = [
        Document(doc_id, "\n\n".join(paragraphs), title=title, metadata={"date": day, "source": outlet})
        for doc_id, title, day, outlet, paragraphs in STORIES
    ]
    path = tmp_path_factory.mktemp("page") / "dated"
    Index.build(docs).save(path)
    return path


@pytest.fixture(scope="module")
def server(dated_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``semsearch serve`` over the dated corpus on 127.0.0.1 at a free port: its base URL."""
    with running_server(dated_index, tmp_path_factory.mktemp("page-server") / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    _need_browser()
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, server: str):
    """The page freshly loaded in English (the browser's language), nothing remembered from another test."""
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{server}/")
    browser.execute_script("window.localStorage.clear()")
    browser.get(f"{server}/")
    return browser


# ---------------------------------------------------------------------- what a user sees


def _by(css: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def _wait(driver, condition, what: str):
    """Poll ``condition`` until it is truthy. A condition finds its elements afresh on each call, so one that
    meets an element the page replaced meanwhile (StaleElementReferenceException) is simply asked again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition, message=f"the page did not show {what} within {WAIT} s"
    )


def _search(driver, query: str = QUERY) -> list[dict]:
    """Type ``query`` and press Enter; the stories shown, once the search has answered and the chart is drawn."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(*_by("#query"))
    box.clear()
    _forget_answer(driver)
    box.send_keys(query, Keys.ENTER)
    _wait_for_answer(driver)
    return _stories(driver)


# A search replaces the whole result list when it answers (status line set in the same step), then the
# chart's facets arrive and the chart is drawn anew: every <li> and bar found before is gone. So an action
# that searches is always: _forget_answer, the action, _wait_for_answer. That waits for both the list and
# the chart of this search; then nothing on the page is replaced until the next action, no search is
# left in flight to draw over the next one's chart, and the page is read in one script (_stories, _bars).


def _forget_answer(driver) -> None:
    """Blank the status line and mark the chart shown as old, so the next answer can be told from the last.

    The chart is marked, not removed: its bars stay clickable (a month of the chart searches again)."""
    driver.execute_script(
        """const s = document.getElementById('status'); s.textContent = ''; delete s.dataset.i18n;
        for (const node of document.getElementById('chart').children) node.setAttribute('data-old', '');"""
    )


def _failed(driver) -> bool:
    return driver.find_element(*_by("#error")).is_displayed()


def _wait_for_answer(driver) -> None:
    """Wait until the search has answered (the status line says how many stories, or an error shows) and
    its chart is drawn in place of the one :func:`_forget_answer` marked (or an error shows)."""
    answered = "return ['found', 'nothing'].includes(document.getElementById('status').dataset.i18n)"
    _wait(driver, lambda d: d.execute_script(answered) or _failed(d), "a search's answer")
    drawn = "return document.querySelector('#chart > svg:not([data-old]), #chart > .empty:not([data-old])') !== null"
    _wait(driver, lambda d: d.execute_script(drawn) or _failed(d), "the search's chart")


def _bars(driver) -> list[dict]:
    """The chart's bars in order, read in one script (a redraw cannot replace them half-way through)."""
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('#chart svg rect.bar')).map((b) => ({
            month: b.getAttribute('data-month'),
            count: Number(b.getAttribute('data-count')),
            height: Number(b.getAttribute('height')),
        }))"""
    )


def _stories(driver) -> list[dict]:
    """The stories listed, read in one script (a re-render cannot replace them half-way through)."""
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('#results > li.story')).map((li) => ({
            title: li.querySelector('h3').textContent,
            date: (li.querySelector('.meta .date') || {}).textContent,
            outlet: (li.querySelector('.meta .outlet') || {}).textContent,
            marks: Array.from(li.querySelectorAll('.passage mark')).map((m) => m.textContent),
        }))"""
    )


def _title_of(doc_id: str) -> str:
    return next(title for i, title, *_ in STORIES if i == doc_id)


def _story(driver, doc_id: str):
    """The <li> of the story ``doc_id`` among the settled results (found by its title, in one script)."""
    item = driver.execute_script(
        """return Array.from(document.querySelectorAll('#results > li.story'))
            .find((li) => li.querySelector('h3').textContent === arguments[0]) || null""",
        _title_of(doc_id),
    )
    if item is None:
        raise AssertionError(
            f"story {doc_id} is not among the results: {[s['title'] for s in _stories(driver)]}"
        )
    return item


def test_typing_a_query_and_enter_shows_stories_with_highlights(page):
    stories = _search(page)
    titles = [story["title"] for story in stories]
    assert {_title_of(i) for i in ("grid-jan", "grid-feb", "grid-mar", "grid-jun", "hostile")} <= set(titles)
    marked = [story for story in stories if story["marks"]]
    assert len(marked) >= 4 and all(
        QUERY in "".join(story["marks"]) or "网格" in story["marks"] for story in marked
    )
    assert page.find_elements(*_by("#results .passage mark"))  # real <mark> elements, not text
    assert len(titles) == len(set(titles))  # grouped by story: one entry each
    first = stories[0]
    assert first["date"] and first["outlet"]


def _type_date(driver, field: str, day: str) -> None:
    """Type a YYYY-MM-DD day into a date field as a user does in an en-US browser (month, day, year)."""
    year, month, date = day.split("-")
    element = driver.find_element(*_by(f"#{field}"))
    element.send_keys(month + date + year)
    assert element.get_attribute("value") == day


def test_narrowing_by_date_changes_the_list(page):
    from selenium.webdriver.common.keys import Keys

    everything = _search(page)
    _type_date(page, "since", "2024-03-01")
    _type_date(page, "until", "2024-05-31")
    _forget_answer(page)
    page.find_element(*_by("#until")).send_keys(Keys.ENTER)
    _wait_for_answer(page)
    narrowed = _stories(page)
    assert narrowed and len(narrowed) < len(everything)
    assert all("2024-03-01" <= story["date"] <= "2024-05-31" for story in narrowed)
    expected = {s["title"] for s in everything if s["date"] and "2024-03-01" <= s["date"] <= "2024-05-31"}
    assert {story["title"] for story in narrowed} == expected
    months = {bar["month"] for bar in _bars(page)}  # the chart of this search (_wait_for_answer)
    assert months == {"2024-03", "2024-04", "2024-05"}, f"the chart was not narrowed to March-May: {months}"


def test_the_outlet_filter_offers_the_index_outlets_and_narrows(page, server):
    from selenium.webdriver.support.ui import Select

    _search(page)
    outlets = get_json(f"{server}/api/facets?by=source")[1]["counts"]
    options = "return Array.from(document.getElementById('outlet').options).map((o) => o.value)"
    _wait(page, lambda d: len(d.execute_script(options)) > 1, "the index's outlets")  # one step adds all
    assert page.execute_script(options) == [""] + [c["value"] for c in outlets]
    select = Select(page.find_element(*_by("#outlet")))
    _forget_answer(page)
    select.select_by_value("人民日报")  # choosing searches again
    _wait_for_answer(page)
    shown = _stories(page)
    assert shown and {story["outlet"] for story in shown} == {"人民日报"}


def test_sorting_by_date_puts_the_newest_first(page):
    from selenium.webdriver.support.ui import Select

    _search(page)
    _forget_answer(page)
    Select(page.find_element(*_by("#sort"))).select_by_value("date")
    _wait_for_answer(page)
    dates = [story["date"] for story in _stories(page)]
    assert len(dates) > 2 and dates == sorted(dates, reverse=True)


def test_more_like_this_lists_related_stories(page):
    _search(page)
    story = _story(page, "grid-jan")
    more = story.find_element(*_by("button.similar"))
    assert more.get_attribute("aria-expanded") == "false"
    more.click()
    _wait(page, lambda d: story.find_elements(*_by(".related-story")), "related stories")
    related = [item.find_element(*_by(".title")).text for item in story.find_elements(*_by(".related-story"))]
    assert related and _title_of("grid-jan") not in related  # the story itself is left out
    assert set(related) <= {title for _, title, *_ in STORIES}
    assert more.get_attribute("aria-expanded") == "true"
    more.click()  # and closes again
    assert not story.find_element(*_by(".related")).is_displayed()


def test_context_opens_around_a_passage(page):
    _search(page)
    story = _story(page, "grid-mar")
    button = story.find_element(*_by(".passage button.context-button"))
    button.click()
    _wait(page, lambda d: story.find_elements(*_by(".context .paragraph")), "a passage's context")
    paragraphs = [p.text for p in story.find_elements(*_by(".context .paragraph"))]
    assert "这项服务已覆盖全区所有社区。" in paragraphs  # the paragraph after the passage's
    assert story.find_elements(*_by(".context .paragraph.in-hit"))
    assert button.get_attribute("aria-expanded") == "true"


def test_the_coverage_chart_is_drawn_from_the_facets(page, server):
    _search(page)
    query = urllib.parse.urlencode({"query": QUERY, "by": "date:month", "mode": "hybrid"})
    counts = get_json(f"{server}/api/facets?{query}")[1]["counts"]
    assert counts
    bars = _bars(page)
    assert [(b["month"], b["count"]) for b in bars] == [(c["value"], c["count"]) for c in counts]
    heights = {b["month"]: b["height"] for b in bars}
    most = max(counts, key=lambda c: c["count"])
    assert heights[most["value"]] == max(heights.values()) > 0
    assert all(heights[c["value"]] == 0 for c in counts if c["count"] == 0)
    assert page.find_element(*_by("#chart svg")).get_attribute("role") == "img"


def test_a_title_that_is_html_shows_as_text(page):
    _search(page)
    heading = _story(page, "hostile").find_element(*_by("h3"))
    assert heading.text == HOSTILE_TITLE
    assert heading.find_elements(*_by("*")) == []  # no element was made from the title
    assert page.find_elements(*_by("#results img")) == []
    assert page.execute_script("return typeof window.__pwned") == "undefined"


def test_no_horizontal_scroll_on_a_375px_phone(page, server):
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True},
    )
    page.get(f"{server}/")
    _search(page)
    for doc_id in ("grid-jun", "grid-jan"):  # the long URL's story, with its context and related stories open
        story = _story(page, doc_id)
        story.find_element(*_by(".passage button.context-button")).click()
        _wait(page, lambda d, s=story: s.find_elements(*_by(".context .paragraph")), "the context")
        story.find_element(*_by("button.similar")).click()
        _wait(
            page,
            lambda d, s=story: s.find_elements(*_by(".related-story, .related .empty")),
            "related stories",
        )
    width, scroll = page.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
    assert (width, scroll) == (375, 375), (
        f"the page is {scroll} px wide on a 375 px phone: it scrolls sideways"
    )
    page.find_element(*_by("#language")).click()  # and in Chinese
    scroll = page.execute_script("return document.documentElement.scrollWidth")
    assert scroll == 375, f"the Chinese page is {scroll} px wide on a 375 px phone"


def test_the_language_switch_turns_the_page_chinese_and_back(page):
    assert page.find_element(*_by("label[for=query]")).text == "Search"
    _search(page)
    assert page.find_elements(*_by(".context-button"))[0].text == "Context"
    switch = page.find_element(*_by("#language"))
    assert switch.text == "中文"
    switch.click()
    assert page.find_element(*_by("label[for=query]")).text == "搜索"
    assert page.find_element(*_by("html")).get_attribute("lang") == "zh-CN"
    assert page.find_elements(*_by(".context-button"))[0].text == "上下文"  # what a search made, too
    assert page.find_element(*_by("#coverage-title")).text == "报道随时间分布"
    assert "篇报道" in page.find_element(*_by("#status")).text
    page.refresh()  # the choice is remembered
    assert page.find_element(*_by("label[for=query]")).text == "搜索"
    page.find_element(*_by("#language")).click()
    assert page.find_element(*_by("label[for=query]")).text == "Search"


def test_a_chinese_browser_gets_the_chinese_page(server, tmp_path):
    _need_browser()
    driver = start_browser(tmp_path / "profile", language="zh-CN")
    try:
        driver.get(f"{server}/")
        assert driver.find_element(*_by("label[for=query]")).text == "搜索"
        assert driver.find_element(*_by("#language")).text == "English"
    finally:
        driver.quit()


def test_an_api_error_is_shown_as_one_line(page, server):
    _type_date(page, "since", "2024-06-01")
    _type_date(page, "until", "2024-01-01")
    body = json.dumps(
        {"query": QUERY, "group": "document", "since": "2024-06-01", "until": "2024-01-01"}
    ).encode()
    request = urllib.request.Request(f"{server}/api/search", body, {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=WAIT)
    said = json.loads(refused.value.read())["error"]
    _search(page)
    line = page.find_element(*_by("#error"))
    assert line.is_displayed() and line.text == " ".join(said.split())
    assert "\n" not in line.text and page.find_elements(*_by("#results > li")) == []


def test_keyboard_alone_searches_and_opens_a_story(page):
    """Tab order follows the form; every control is a labelled button, input or select; Enter activates."""
    from selenium.webdriver.common.keys import Keys

    assert page.switch_to.active_element.get_attribute("id") == "query"  # the query box has the focus
    page.switch_to.active_element.send_keys(QUERY)
    order: list[str] = []
    for _ in range(20):  # Tab steps through a date field's month, day and year, so ids repeat
        if len(order) == 6:
            break
        page.switch_to.active_element.send_keys(Keys.TAB)
        focused = page.switch_to.active_element.get_attribute("id")
        if not order or order[-1] != focused:
            order.append(focused)
    assert order == ["go", "mode", "since", "until", "outlet", "sort"]
    labelled = page.execute_script(
        "return Array.from(document.querySelectorAll('input, select')).every((c) => c.labels && c.labels.length)"
    )
    assert labelled
    _forget_answer(page)
    page.find_element(*_by("#go")).send_keys(Keys.ENTER)
    _wait_for_answer(page)
    assert _stories(page), "no stories after Enter on the Search button"
    more = page.find_element(*_by("#results .story button.similar"))
    assert more.tag_name == "button"
    more.send_keys(Keys.ENTER)
    _wait(page, lambda d: d.find_elements(*_by(".related-story")), "related stories opened by keyboard")


def test_a_search_is_a_link_that_opens_it_again(page, server):
    _search(page)
    shown = urllib.parse.parse_qs(urllib.parse.urlsplit(page.current_url).query)
    assert shown["q"] == [QUERY]
    link = f"{server}/?" + urllib.parse.urlencode(
        {"q": QUERY, "since": "2024-03-01", "until": "2024-05-31", "sort": "date"}
    )
    page.get(link)
    _wait_for_answer(page)
    assert page.find_element(*_by("#query")).get_attribute("value") == QUERY
    assert page.find_element(*_by("#sort")).get_attribute("value") == "date"
    dates = [story["date"] for story in _stories(page)]
    assert (
        dates
        and dates == sorted(dates, reverse=True)
        and all("2024-03-01" <= d <= "2024-05-31" for d in dates)
    )


def test_a_month_of_the_chart_narrows_the_search_to_it(page):
    from selenium.webdriver.common.keys import Keys

    everything = _search(page)
    june = page.find_element(*_by('#chart [data-month="2024-06"]'))
    _forget_answer(page)
    june.click()
    _wait_for_answer(page)
    assert (
        page.find_element(*_by("#since")).get_attribute("value"),
        page.find_element(*_by("#until")).get_attribute("value"),
    ) == ("2024-06-01", "2024-06-30")
    shown = _stories(page)
    assert {s["title"] for s in shown} == {
        s["title"] for s in everything if s["date"] and s["date"].startswith("2024-06")
    }
    # and by keyboard: a month is a focusable button; Enter narrows to it
    _search(page)  # the chart of June alone: one month, one bar
    bar = page.find_element(*_by('#chart [data-month="2024-06"]'))
    assert bar.get_attribute("role") == "button" and bar.get_attribute("tabindex") == "0"
    _type_date(page, "since", "2024-01-01")
    _type_date(page, "until", "2024-12-31")
    _search(page)
    march = page.find_element(*_by('#chart [data-month="2024-03"]'))
    _forget_answer(page)
    march.send_keys(Keys.ENTER)
    _wait_for_answer(page)
    assert {s["date"][:7] for s in _stories(page)} == {"2024-03"}


def test_the_page_fetches_nothing_but_its_server(page, server):
    _search(page)
    _story(page, "grid-jan").find_element(*_by("button.similar")).click()
    _wait(page, lambda d: d.find_elements(*_by(".related-story")), "related stories")
    fetched = page.execute_script(
        "return [location.href, ...performance.getEntriesByType('resource').map((entry) => entry.name)]"
    )
    assert len(fetched) > 4  # the page, its script and style, the API calls
    assert [url for url in fetched if not url.startswith(f"{server}/")] == []


def test_marks_fall_on_the_query_after_characters_beyond_the_bmp(page):
    """The server counts code points (Python); JavaScript strings count UTF-16 units: marks must not drift."""
    _search(page)
    marks = [mark.text for mark in _story(page, "astral").find_elements(*_by(".passage mark"))]
    assert marks and all(mark in QUERY for mark in marks), marks
