"""The Binder / ``make lab`` reader path, in a real browser.

``make lab PORT=… TOKEN=… BROWSER=no`` is started as a learner would start it
(scripts/lab_session.py), Debian's chromium opens the handshake chapter — a MyST ``.md``
file — and runs every cell.  Then, as the learner sees it:

* no cell shows an error;
* the prose shows numbers, not ``{eval}`` or ``{glue`` markup, and they are the numbers
  the published book shows (``_build/inline-values.json``, written by ``make book``);
* no raw MyST is visible: no ``(label)=`` lines, no ``{doc}``/``{ref}`` roles, no fences;
* the exercises' solutions are folded dropdowns;
* moving the loss slider of the live explorer changes the picture;
* saving the chapter leaves the file byte for byte as it was (git stays clean).

Screenshots (1280 px) go to ``_build/screenshots/lab-*.png`` for a human to review.
"""

from __future__ import annotations

import json
import re

import build_book
import lab_session
import pytest

# One chromium at a time (with test_book_browser.py): two at once on two cores time out.
pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow, pytest.mark.xdist_group("chromium")]

CHAPTER = "chapters/01-handshake"
SCREENSHOTS = build_book.BUILD / "screenshots"
RAW_MYST = re.compile(r"\{(eval|glue[:\w]*|doc|ref|term|numref)\}`|\([\w-]+\)=|[`:]{3,}\{")

# The rendered Markdown (jupyterlab-myst's output, not the hidden editor).  textContent,
# not innerText: JupyterLab skips rendering cells outside the viewport, and innerText
# of those is empty.
RENDERED_MARKDOWN_JS = """
() => [...document.querySelectorAll('.jp-MarkdownCell .myst, .jp-MarkdownCell .jp-RenderedMarkdown')]
        .map(el => el.textContent).join('\\n')
"""


@pytest.fixture(scope="module")
def chapter_in_lab():
    """A ``make lab`` server with the chapter opened and every cell run; yields the page."""
    source = build_book.source_of(CHAPTER)
    original = source.read_bytes()
    try:
        with lab_session.running_lab() as (base, token), lab_session.chromium() as browser:
            page = lab_session.open_notebook(browser, base, token, f"{CHAPTER}.md")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            lab_session.run_all_cells(page)
            page.wait_for_timeout(1000)  # inline expressions render after their cell has run
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-MarkdownCell").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "lab-handshake-top.png"))
            numbers = page.locator(".jp-MarkdownCell .myst", has_text="initial sequence number").first
            numbers.scroll_into_view_if_needed()
            numbers.screenshot(path=str(SCREENSHOTS / "lab-handshake-numbers.png"))
            yield page, source, original, errors
            page.close()
    finally:
        if source.read_bytes() != original:  # never leave the chapter changed
            source.write_bytes(original)


def test_every_cell_runs_without_error(chapter_in_lab) -> None:
    page, _, _, errors = chapter_in_lab
    prompts = page.evaluate("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent)")
    assert prompts and all(re.search(r"\[\d+\]", p) for p in prompts), prompts
    shown_errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    assert shown_errors.count() == 0, shown_errors.first.inner_text()
    assert errors == [], errors


def test_prose_shows_the_books_numbers_and_no_raw_myst(chapter_in_lab) -> None:
    page, source, _, _ = chapter_in_lab
    text = page.evaluate(RENDERED_MARKDOWN_JS)
    assert "Three-way handshake" in text or "three-way handshake" in text
    raw = sorted(set(m.group(0).strip() for m in RAW_MYST.finditer(text)))
    assert raw == [], f"raw MyST visible in JupyterLab: {raw}"
    assert "{glue" not in text and "{eval}" not in text
    # Every {eval} of the chapter is shown with the value the published book shows.
    values = json.loads((build_book.BUILD / build_book.INLINE_VALUES).read_text(encoding="utf-8"))[CHAPTER]
    flat = " ".join(text.split())
    missing = sorted({v for texts in values.values() for v in texts if " ".join(v.split()) not in flat})
    assert missing == [], f"values of the book not shown in JupyterLab: {missing}"
    assert source.read_text(encoding="utf-8").count("{eval}`") == sum(len(t) for t in values.values())


def test_solutions_are_folded_dropdowns(chapter_in_lab) -> None:
    page, source, _, _ = chapter_in_lab
    expected = source.read_text(encoding="utf-8").count(":class: dropdown")
    assert expected >= 3
    details = page.locator(".jp-MarkdownCell details")
    assert details.count() == expected
    for i in range(expected):
        solution = details.nth(i)
        assert solution.get_attribute("open") is None
        assert "Solution" in solution.locator("summary").inner_text()
        body = solution.locator(":scope > :not(summary)").first
        assert not body.is_visible(), "a solution is shown before the reader opens it"
    details.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "lab-handshake-exercises.png"))


FINGERPRINT_JS = "root => [...root.querySelectorAll('img')].map(img => img.src).join(' ')"


def test_moving_the_loss_slider_changes_the_picture(chapter_in_lab) -> None:
    page, _, _, _ = chapter_in_lab
    slider = page.locator(".widget-slider", has=page.locator("label.widget-label", has_text="loss")).first
    slider.scroll_into_view_if_needed()
    explorer = page.locator(".jp-OutputArea-output", has=slider).first
    before = explorer.evaluate(FINGERPRINT_JS)
    assert before.count("blob:") >= 2, "the live explorer shows no pictures"
    readout = slider.locator(".widget-readout")
    start = readout.inner_text()
    handle = slider.locator(".noUi-handle")
    handle.focus()
    seen = {before}
    for _ in range(10):  # 0.05 a step; with the explorer's seed a few steps lose a segment
        handle.press("ArrowRight")
        page.wait_for_timeout(600)
        seen.add(explorer.evaluate(FINGERPRINT_JS))
        if len(seen) > 1:
            break
    assert readout.inner_text() != start, "the loss slider did not move"
    assert len(seen) > 1, "moving the loss slider did not change the explorer's pictures"
    explorer.screenshot(path=str(SCREENSHOTS / "lab-handshake-explorer.png"))


def test_saving_the_chapter_leaves_it_unchanged(chapter_in_lab) -> None:
    page, source, original, _ = chapter_in_lab
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current .jp-mod-dirty, .lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
        timeout=30_000,
    )
    page.wait_for_timeout(1000)
    saved = source.read_bytes()
    assert saved == original, "saving in JupyterLab changed the chapter:\n" + _diff(original, saved)


def _diff(before: bytes, after: bytes) -> str:
    import difflib  # noqa: PLC0415

    return "\n".join(difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=1))
