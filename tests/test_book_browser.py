"""The built book in a real browser: Debian's chromium, driven by Playwright.

The pages are served from 127.0.0.1; every request to any other host is aborted and
recorded, and fails the test.  We never download a browser (no ``playwright install``):
``make test`` installs Debian's ``chromium`` with apt-get when it is missing.
Screenshots of every page at 1280 and 390 px go to ``_build/screenshots/`` for a human
to review (``chapters__01-handshake@1280.png`` …).

What a reader sees is measured, not assumed (``scripts/page_probe.py``): every text of
every SVG figure — explorer frames included — at its rendered size and position, and
axe-core's accessibility rules.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import build_book
import page_probe
import pytest

# One chromium at a time (with test_lab_browser.py): two at once on two cores time out.
pytestmark = [pytest.mark.book, pytest.mark.browser, pytest.mark.xdist_group("chromium")]

SCREENSHOTS = build_book.BUILD / "screenshots"
WIDGET_PAGES_WAIT_MS = 15_000
WIDTHS = {1280: 11.0, 390: 9.0}  # viewport width: the smallest text allowed there (CSS px)
EXPLORER_PAGES = ("chapters/01-handshake", "chapters/02-syn-flood", "chapters/03-data-transfer",
                  "chapters/04-flow-and-congestion", "chapters/05-teardown", "chapters/06-time-wait",
                  "chapters/07-when-things-die", "chapters/08-loss-retries-time")


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api  # noqa: PLC0415 - only the browser tests need it

    if not Path(page_probe.CHROMIUM).exists():
        pytest.fail(f"{page_probe.CHROMIUM} is missing: `make test` installs it (apt-get install chromium)", pytrace=False)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=page_probe.CHROMIUM, args=page_probe.CHROMIUM_ARGS)
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


def open_page(browser, base: str, docname: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    watch = PageWatch(page, base)
    page.goto(f"{base}/{docname}.html", wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, watch


def wait_for_widgets(page) -> None:
    """Pages with embedded widget state: wait until the manager has rendered every view."""
    page_probe.wait_for_widgets(page, WIDGET_PAGES_WAIT_MS)


# Explorer controls (labels, sliders, menus, radio buttons) that reach past their explorer's
# right edge: cut off by the cell's box, out of the reader's reach on a phone.
CONTROLS_CUT_OFF_JS = """
() => [...document.querySelectorAll('.tcpbook-static-explorer')].flatMap(ex => {
  const edge = ex.getBoundingClientRect().right + 1;
  return [...ex.querySelectorAll('.tcpbook-control label, .tcpbook-control legend, .tcpbook-control input, '
                                 + '.tcpbook-control select, .tcpbook-control output')]
    .filter(c => c.getBoundingClientRect().right > edge).map(c => (c.textContent || c.tagName).trim());
})
"""


def all_pages(toc_pages: list[str]) -> list[str]:
    """Every page of both editions: the English book's and the Chinese one's (zh/…)."""
    english = [*toc_pages, "genindex", "search"]
    return [*english, *(f"zh/{page}" for page in english)]


def test_every_page_loads_cleanly_and_is_screenshotted(browser, book_server: str, toc_pages: list[str]) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    failures = []
    for docname in all_pages(toc_pages):
        for width in WIDTHS:
            page, watch = open_page(browser, book_server, docname, width)
            try:
                wait_for_widgets(page)
                page.wait_for_timeout(300)  # let late console errors arrive
                # The API reference (either edition's) is taller than a browser paints in one
                # picture: its first screen.
                page.screenshot(path=str(SCREENSHOTS / f"{docname.replace('/', '__')}@{width}.png"),
                                full_page=not docname.endswith("chapters/api"))
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 1:
                    failures.append(f"{docname}@{width}: the page is {overflow} px wider than the screen")
                cut = page.evaluate(CONTROLS_CUT_OFF_JS)
                if cut:
                    failures.append(f"{docname}@{width}: explorer controls run past the explorer's edge: {cut}")
            finally:
                page.close()
            failures += [f"{docname}@{width}: {p}" for p in watch.problems]
    assert failures == [], "\n".join(failures)


def _legibility_problems(page, where: str, minimum: float, figures: list | None = None) -> list[str]:
    problems = []
    for figure in page_probe.figure_texts(page) if figures is None else figures:
        name = figure.name or "(no alt text)"
        if figure.raster:
            problems.append(f"{where}: a raster figure, whose text cannot be read by the test: {name[:60]}")
            continue
        if not figure.name or figure.name.startswith(("../_images", "_images")):
            problems.append(f"{where}: a figure without alt text near #{figure.where}")
        small = [t for t in figure.texts if t["px"] < minimum - 0.01]
        if small:
            worst = min(small, key=lambda t: t["px"])
            problems.append(f"{where}: {len(small)} text(s) below {minimum} px, e.g. {worst['text']!r} at "
                            f"{worst['px']:.1f} px, in {name[:60]}")
        problems += [f"{where}: {c} in {name[:60]}" for c in page_probe.collisions(figure)]
    return problems


def test_every_figure_is_legible_at_both_widths(browser, book_server: str, toc_pages: list[str]) -> None:
    """Every text of every SVG figure on every page — the explorers' frames as shown —
    renders at 11 px or more at 1280 px (9 px at 390 px), and no two texts of a figure
    overlap, nor a text and a lost segment's ✗."""
    problems = []
    measured = 0
    for docname in toc_pages:
        for width, minimum in WIDTHS.items():
            page, _ = open_page(browser, book_server, docname, width)
            try:
                wait_for_widgets(page)
                measured += len(page_probe.figure_texts(page))
                problems += _legibility_problems(page, f"{docname}@{width}", minimum)
            finally:
                page.close()
    assert measured > 40, f"only {measured} figures measured: the probe finds no figures"
    assert problems == [], "\n".join(problems[:60])


def test_every_frame_of_the_explorers_is_legible(browser, book_server: str) -> None:
    """Step the first slider of each explorer through all its values; each frame it shows
    is measured like the page's other figures.  A frame's pictures are <img>s of their SVG
    (one replaced element each, for fast frame switches): the probe lays each one's SVG out
    on its own, at the image's size on the page, and measures its texts."""
    problems = []
    frames = 0
    frame_pictures = 0  # explorer pictures whose texts were measured
    for docname in EXPLORER_PAGES:
        page, _ = open_page(browser, book_server, docname)
        try:
            wait_for_widgets(page)
            for slider in page.locator(".tcpbook-static-explorer input[type=range]").all():
                slider.scroll_into_view_if_needed()
                slider.focus()
                slider.press("Home")
                for step in range(12):
                    figures = page_probe.figure_texts(page)
                    problems += _legibility_problems(page, f"{docname} slider step {step}", WIDTHS[1280], figures)
                    frame_pictures += sum(1 for f in figures if not f.inline and not f.raster and f.texts)
                    frames += 1
                    before = slider.input_value()
                    slider.press("ArrowRight")
                    if slider.input_value() == before:
                        break
        finally:
            page.close()
    assert frames >= 20
    assert frame_pictures >= frames, f"only {frame_pictures} explorer pictures measured in {frames} frames"
    assert problems == [], "\n".join(problems[:60])


def test_no_accessibility_violations(browser, book_server: str, toc_pages: list[str]) -> None:
    """axe-core finds no WCAG 2 A/AA (2.0, 2.1, 2.2) violation on any page."""
    found = []
    for docname in all_pages(toc_pages):
        page, _ = open_page(browser, book_server, docname)
        try:
            wait_for_widgets(page)
            page.wait_for_timeout(300)
            for v in page_probe.run_axe(page):
                found.append(f"{docname}: {v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"][:3]))
        finally:
            page.close()
    assert found == [], "\n".join(found)


def test_sliders_are_named_and_announce_their_value(browser, book_server: str) -> None:
    """A native slider: named by its label, operated by the keyboard, its value announced
    as its readout says it (aria-valuetext), and the summary a live region."""
    page, watch = open_page(browser, book_server, "chapters/01-handshake")
    try:
        wait_for_widgets(page)
        slider = page.get_by_role("slider", name="loss").first
        explorer = slider.locator("xpath=ancestor::div[contains(@class,'tcpbook-static-explorer')]")
        readout = slider.locator("xpath=following-sibling::output")
        assert slider.get_attribute("aria-valuetext") == readout.inner_text() == "0.0"
        slider.focus()
        slider.press("ArrowRight")
        assert slider.get_attribute("aria-valuetext") == readout.inner_text() == "0.1"
        slider.press("End")
        assert slider.get_attribute("aria-valuetext") == "0.5"
        assert explorer.locator(".tcpbook-slot[aria-live=polite] .tcpbook-pic:not([hidden])").count() == 1
        menu = page.get_by_role("combobox", name="drop").first
        menu.select_option(label="every SYN lost")
        assert "ETIMEDOUT" in explorer.locator(".tcpbook-slot[aria-live=polite] .tcpbook-pic:not([hidden])").inner_text()
    finally:
        page.close()
    assert watch.problems == [], "\n".join(watch.problems)


def test_math_is_typeset_offline(browser, book_server: str) -> None:
    page, watch = open_page(browser, book_server, "chapters/08-loss-retries-time")
    try:
        page.wait_for_function("() => document.querySelectorAll('.tcpbook-tex[data-typeset]').length > 10")
        untyped = page.evaluate("() => [...document.querySelectorAll('.tcpbook-tex:not([data-typeset])')].map(e => e.textContent)")
        errors = page.evaluate("() => document.querySelectorAll('.katex-error').length")
        mathml = page.evaluate("() => document.querySelectorAll('.katex math').length")
        # Display formulas centred in the column (the theme's flex row pushed them right).
        off_centre = page.evaluate(
            "() => [...document.querySelectorAll('.tcpbook-tex-display')].map(d => {"
            " const box = d.getBoundingClientRect(), f = d.querySelector('.katex-html').getBoundingClientRect();"
            " return f.width < box.width ? Math.abs((f.left - box.left) - (box.right - f.right)) : 0; })"
            ".filter(gap => gap > 2)")
        article = page.locator("article").inner_text()
        page.evaluate("() => document.fonts.ready")
        fonts = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    finally:
        page.close()
    assert untyped == [] and errors == 0
    assert off_centre == [], f"display formulas not centred (px between the two margins): {off_centre}"
    assert mathml > 10  # MathML beside the HTML, for screen readers
    assert "$$" not in article and "\\frac" not in article
    assert any("KaTeX" in f for f in fonts), fonts
    assert watch.problems == [], "\n".join(watch.problems)


def _platform_fonts(page, element) -> list[dict]:
    """The fonts Chromium really drew ``element``'s text with (DevTools protocol), with the
    number of glyphs each drew."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    marker = "tcpbook-font-probe"
    element.evaluate(f"e => e.setAttribute('data-probe', '{marker}')")
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f"[data-probe='{marker}']"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    element.evaluate("e => e.removeAttribute('data-probe')")
    return fonts


def test_chinese_is_drawn_with_a_cjk_font(browser, book_server: str) -> None:
    """The glossary's Chinese terms: the browser draws them with a CJK font, not tofu."""
    page, _ = open_page(browser, book_server, "chapters/glossary")
    try:
        element = page.evaluate_handle("() => [...document.querySelectorAll('article *')].find("
                                       "e => /[\\u4e00-\\u9fff]/.test([...e.childNodes].filter(n => n.nodeType === 3)"
                                       ".map(n => n.data).join('')))")
        assert element.as_element() is not None, "no Chinese text in the glossary"
        fonts = _platform_fonts(page, element)
    finally:
        page.close()
    cjk = [f for f in fonts if "CJK" in f["familyName"] or "Han" in f["familyName"]]
    assert cjk and all(f["glyphCount"] > 0 for f in cjk), fonts


def test_latin_text_and_code_are_not_drawn_with_the_cjk_font(browser, book_server: str) -> None:
    """The CJK font is the fallback for Chinese only.  Named before the generic family (or
    with a bare ``sans-serif`` that Chromium resolved to Noto Sans CJK), it drew every letter
    of the book: code in proportional type (a text ladder's columns drifted apart) and
    full-width curly quotes.  A paragraph with quotes and a text ladder are drawn without it,
    the ladder in a monospace font."""
    page, _ = open_page(browser, book_server, "chapters/01-handshake")
    try:
        prose = page.locator("article p", has_text="\u2019").first
        ladder = page.locator(".cell_output pre", has_text="client: ESTABLISHED").first
        texts = {"prose": prose.inner_text(), "text ladder": ladder.inner_text()}
        fonts = {"prose": _platform_fonts(page, prose.element_handle()),
                 "text ladder": _platform_fonts(page, ladder.element_handle())}
        advances = ladder.evaluate("e => { const c = document.createElement('canvas').getContext('2d');"
                                   " c.font = getComputedStyle(e).font;"
                                   " return ['i', 'M', '-', '|', ' '].map(ch => c.measureText(ch).width); }")
    finally:
        page.close()
    for where, text in texts.items():
        # Chinese words in the sentence (三次握手) are the CJK font's to draw: those glyphs only.
        chinese = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
        cjk_glyphs = sum(f["glyphCount"] for f in fonts[where] if "CJK" in f["familyName"])
        assert cjk_glyphs <= chinese, f"{where}: {cjk_glyphs} glyphs drawn with a CJK font, {chinese} Chinese: {fonts[where]}"
    assert max(advances) - min(advances) < 0.01, f"the text ladder is not in a monospace font: advances {advances}"


FINGERPRINT_JS = """
root => [...root.querySelectorAll('.tcpbook-pic:not([hidden])')].map(p => p.innerHTML).join('\\n')
"""


def test_frames_wait_inert_until_needed_and_show_at_once(browser, book_server: str) -> None:
    """Another frame's pictures wait in <template>s (not loaded, not laid out: the page is
    ready sooner); after the page has loaded, idle time takes them out one by one; a frame
    the reader asks for before that is taken out at once."""
    idle_page, _ = open_page(browser, book_server, "chapters/01-handshake")
    try:
        idle_page.wait_for_function("() => document.querySelectorAll('.tcpbook-static-explorer template').length === 0",
                                    timeout=30_000)  # every frame prepared in idle time
    finally:
        idle_page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script("window.requestIdleCallback = () => 0;")  # idle time never comes
    try:
        page.goto(f"{book_server}/chapters/01-handshake.html", wait_until="load")
        slider = page.get_by_role("slider", name="loss").first
        explorer = slider.locator("xpath=ancestor::div[contains(@class,'tcpbook-static-explorer')]")
        waiting = explorer.locator("template").count()
        assert waiting > 10, "the other frames' pictures should wait in templates"
        slider.focus()
        slider.press("ArrowRight")
        shown = explorer.locator(".tcpbook-pic:not([hidden])")
        assert shown.locator("template").count() == 0
        alts = shown.locator("img").evaluate_all(
            "imgs => Promise.all(imgs.map(i => i.decode().then(() => [i.alt, i.naturalWidth > 0])))")
        assert len(alts) == 2 and all(alt.startswith(("Ladder diagram", "State diagram")) and ok for alt, ok in alts), alts
        assert explorer.locator("template").count() < waiting  # only what was asked for
    finally:
        page.close()


def test_handshake_loss_slider_changes_the_diagram(browser, book_server: str) -> None:
    page, watch = open_page(browser, book_server, "chapters/01-handshake")
    try:
        wait_for_widgets(page)
        slider = page.get_by_role("slider", name="loss").first
        explorer = slider.locator("xpath=ancestor::div[contains(@class,'tcpbook-static-explorer')]")
        explorer.scroll_into_view_if_needed()
        before = explorer.evaluate(FINGERPRINT_JS)
        assert before.count("data:image/svg+xml,") == 2, "the explorer shows no pictures before moving the slider"
        explorer.screenshot(path=str(SCREENSHOTS / "handshake-explorer-before.png"))
        # Keyboard arrows on the slider, as a reader would: step by step to the highest loss,
        # noting what the explorer shows at each step.
        slider.focus()
        seen = [before]
        for _ in range(10):
            value = slider.input_value()
            slider.press("ArrowRight")
            if slider.input_value() == value:
                break
            seen.append(explorer.evaluate(FINGERPRINT_JS))
        explorer.screenshot(path=str(SCREENSHOTS / "handshake-explorer-after.png"))
        assert slider.get_attribute("aria-valuetext") != "0.0", "the loss slider did not move"
        assert seen[1] != seen[0], "one step of the loss slider did not change the displayed diagram"
        assert seen[-1] != seen[0], "the highest loss shows the same diagram as the lowest"
        assert len(set(seen)) == len(seen) == 5
    finally:
        page.close()
    assert watch.problems == [], "\n".join(watch.problems)


def test_a_chinese_page_explorer_moves_and_speaks_chinese(browser, book_server: str) -> None:
    """The Chinese chapter's explorer: its slider is named in Chinese (and by the
    parameter), moving it changes the picture, and the summary it announces is Chinese."""
    page, watch = open_page(browser, book_server, "zh/chapters/01-handshake")
    try:
        wait_for_widgets(page)
        slider = page.get_by_role("slider", name="丢失概率 loss").first
        explorer = slider.locator("xpath=ancestor::div[contains(@class,'tcpbook-static-explorer')]")
        explorer.scroll_into_view_if_needed()
        summary = explorer.locator(".tcpbook-slot[aria-live=polite] .tcpbook-pic:not([hidden])")
        before = explorer.evaluate(FINGERPRINT_JS)
        assert "连接已建立" in summary.inner_text()
        slider.focus()
        slider.press("ArrowRight")
        slider.press("ArrowRight")
        assert slider.get_attribute("aria-valuetext") == "0.2"
        assert explorer.evaluate(FINGERPRINT_JS) != before, "moving the slider did not change the picture"
        page.get_by_role("combobox", name="丢弃规则 drop").first.select_option(label="每个 SYN 都丢失")
        text = summary.inner_text()
        assert "连接未建立" in text and "ETIMEDOUT" in text
        explorer.screenshot(path=str(SCREENSHOTS / "zh-handshake-explorer.png"))
    finally:
        page.close()
    assert watch.problems == [], "\n".join(watch.problems)
