"""The built book in a real browser: Debian's chromium, driven by Playwright.

The pages are served from 127.0.0.1; every request to any other host is aborted and
recorded, and fails the test.  We never download a browser (no ``playwright install``):
``make test`` installs Debian's ``chromium`` with apt-get when it is missing.
Screenshots of every page go to ``_build/screenshots/`` for a human to review.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import build_book
import pytest

# One chromium at a time (with test_lab_browser.py): two at once on two cores time out.
pytestmark = [pytest.mark.book, pytest.mark.browser, pytest.mark.xdist_group("chromium")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = build_book.BUILD / "screenshots"
WIDGET_PAGES_WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api  # noqa: PLC0415 - only the browser tests need it

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)", pytrace=False)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Collects what went wrong while a page loaded: console errors, page errors,
    failed requests and any request that tried to leave 127.0.0.1."""

    def __init__(self, page, base: str) -> None:
        self.problems: list[str] = []
        host = urlsplit(base).netloc

        def route(r) -> None:
            parts = urlsplit(r.request.url)
            if parts.scheme in ("data", "blob") or parts.netloc == host:
                r.continue_()
            else:
                self.problems.append(f"external request: {r.request.url}")
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))


def open_page(browser, base: str, docname: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = PageWatch(page, base)
    page.goto(f"{base}/{docname}.html", wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, watch


def wait_for_widgets(page) -> None:
    """Pages with embedded widget state: wait until the manager has rendered every view."""
    expected = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if expected:
        page.wait_for_function(
            "n => document.querySelectorAll('.cell_output .jupyter-widgets.widget-container, "
            ".cell_output .jupyter-widgets.widget-inline-hbox').length >= n",
            arg=expected, timeout=WIDGET_PAGES_WAIT_MS,
        )


def test_every_page_loads_cleanly_and_is_screenshotted(browser, book_server: str, toc_pages: list[str]) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    failures = []
    for docname in [*toc_pages, "genindex", "search"]:
        page, watch = open_page(browser, book_server, docname)
        try:
            wait_for_widgets(page)
            page.wait_for_timeout(300)  # let late console errors arrive
            # The API reference is taller than a browser paints in one picture: its first screen.
            page.screenshot(path=str(SCREENSHOTS / f"{docname.replace('/', '__')}.png"), full_page=docname != "chapters/api")
        finally:
            page.close()
        failures += [f"{docname}: {p}" for p in watch.problems]
    assert failures == [], "\n".join(failures)


FINGERPRINT_JS = """
root => {
  // What the explorer shows right now: the visible pictures (img src or inline svg) and text.
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const parts = [];
  for (const el of root.querySelectorAll('img, svg, .widget-html-content, pre')) {
    if (!visible(el)) continue;
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    parts.push(el.tagName === 'IMG' ? el.getAttribute('src') : el.outerHTML);
  }
  return parts.join('\\n');
}
"""


def test_handshake_loss_slider_changes_the_diagram(browser, book_server: str) -> None:
    page, watch = open_page(browser, book_server, "chapters/01-handshake")
    try:
        wait_for_widgets(page)
        slider = page.locator(".widget-slider", has=page.locator("label.widget-label", has_text="loss")).first
        slider.wait_for(state="visible", timeout=WIDGET_PAGES_WAIT_MS)
        # The explorer: the innermost widget box that holds the loss slider and a picture.
        explorer = slider.locator(
            "xpath=ancestor::div[contains(@class,'widget-container')][.//img or .//svg][1]"
        )
        assert explorer.count() == 1, "no widget box around the loss slider shows a picture"
        readout = slider.locator(".widget-readout")
        before_value = readout.inner_text()
        before = explorer.evaluate(FINGERPRINT_JS)
        assert before, "the explorer shows no picture before moving the slider"
        explorer.screenshot(path=str(SCREENSHOTS / "handshake-explorer-before.png"))

        # Keyboard arrows on the slider handle, as a reader would: step by step to the
        # highest loss, noting what the explorer shows at each step.
        handle = slider.locator(".noUi-handle")
        handle.focus()
        seen = [before]
        for _ in range(40):
            value = readout.inner_text()
            handle.press("ArrowRight")
            try:
                page.wait_for_function(
                    "([el, old]) => el.innerText !== old", arg=[readout.element_handle(), value], timeout=2_000
                )
            except Exception:  # noqa: BLE001 - the readout stopped changing: the last value
                break
            page.wait_for_timeout(100)
            seen.append(explorer.evaluate(FINGERPRINT_JS))
        explorer.screenshot(path=str(SCREENSHOTS / "handshake-explorer-after.png"))
        assert readout.inner_text() != before_value, "the loss slider did not move"
        assert seen[1] != seen[0], "one step of the loss slider did not change the displayed diagram"
        assert seen[-1] != seen[0], "the highest loss shows the same diagram as the lowest"
        assert len(set(seen)) >= 2
    finally:
        page.close()
    assert watch.problems == [], "\n".join(watch.problems)
