"""The console's browser tests' harness: Debian's chromium through Playwright, against the web
app served on a loopback port.

A browser test module sets `pytestmark = NEEDS_BROWSER` and asks for the fixtures (exposed to
every console test by `tests/console/conftest.py`): `live_url` (the app served), `browser` (one
chromium per module) and `watched` (a 1280 px page whose console errors are kept). `sign_in`
signs a page in through the login form; `check_page` opens a page at a width and returns its
problems (horizontal overflow, axe-core violations) after a screenshot (`shot`) to `SHOTS`;
`check_pages` does that for a list of pages at each of `WIDTHS`, signed in, with the console
errors of each width. A test asserts the problems are none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDTHS = (390, 1280)

#: A browser test module's marks: slow, and skipped where Debian's chromium is missing.
NEEDS_BROWSER = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def serve(app: Any) -> tuple[Any, str]:
    """`app` (any WSGI app) served in a thread on a free loopback port: the server, its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@contextmanager
def launched() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (the test is skipped without it)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose console errors and CSP complaints are collected."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))


@contextmanager
def watching(browser: Any, width: int, height: int = 900) -> Iterator[Watched]:
    """A watched page in a new context `width` px wide (Chinese), closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    try:
        yield Watched(context)
    finally:
        context.close()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served on a free loopback port, for the test."""
    server, url = serve(app)
    try:
        yield url
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module's tests."""
    with launched() as launched_browser:
        yield launched_browser


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A page 1280 px wide whose console errors are kept."""
    with watching(browser, 1280) as page:
        yield page


def sign_in(page: Any, base: str, login: str) -> None:
    """Sign in as `login` (password `PASSWORD`) through the login form, in Chinese, and wait
    for the console's first page."""
    from tests.console.conftest import PASSWORD  # not above: the conftest imports this module

    page.goto(f"{base}/console/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/console/")


def axe(page: Any) -> list[dict[str, Any]]:
    """The page's axe-core violations (WCAG 2.1 A and AA, best practice)."""
    page.evaluate(AXE.read_text("utf-8") + "\n;0")  # evaluated by the browser: no CSP applies
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
           .then(r => r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)})))"""
    )
    return list(result)


def overflow(page: Any) -> int:
    """How many pixels the page is wider than its window (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """A screenshot of the page to `SHOTS/{name}.png`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def check_page(page: Any, url: str, name: str, width: int) -> list[str]:
    """Open `url` (the page is `width` px wide) and screenshot it to `SHOTS/{name}-{width}.png`:
    its horizontal overflow and axe-core violations, one line each."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    problems: list[str] = []
    wider = overflow(page)
    if wider > 0:
        problems.append(f"{name}@{width}: {wider}px of horizontal overflow")
    problems += [f"{name}@{width}: axe {violation}" for violation in axe(page)]
    shot(page, f"{name}-{width}")
    return problems


def check_pages(
    browser: Any, base: str, pages: Iterable[tuple[str, str]], *, login: str, prefix: str
) -> list[str]:
    """Each (name, path) of `pages` at each of `WIDTHS`, signed in as `login`, through
    `check_page` (screenshots `SHOTS/{prefix}-{name}-{width}.png`): the problems, and each
    width's console errors."""
    pages = list(pages)
    problems: list[str] = []
    for width in WIDTHS:
        with watching(browser, width) as watched:
            sign_in(watched.page, base, login)
            for name, path in pages:
                problems += check_page(watched.page, f"{base}{path}", f"{prefix}-{name}", width)
            problems += [f"@{width}: console: {e}" for e in watched.errors]
    return problems
