"""The built HTML, parsed with BeautifulSoup: pages, diagrams, widget state, no errors,
no broken links, nothing loaded from another site."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import DIAGRAM_CHAPTERS

pytestmark = pytest.mark.book

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A widget that was printed instead of rendered shows its repr: ``SelectionSlider(index=0, ...)``.
RAW_WIDGET = re.compile(
    r"\b(IntSlider|FloatSlider|SelectionSlider|SelectionRangeSlider|IntRangeSlider|Dropdown|ToggleButtons|"
    r"RadioButtons|Checkbox|Play|VBox|HBox|GridBox|Stack|Tab|Accordion|Output|HTML|Image|Label|Button)\("
)


@cache
def soup(path: Path) -> BeautifulSoup:
    """A built page as its reader's browser holds it once the explorers' script has run: a
    static explorer's other frames wait in <template>s, whose contents CSS selectors do not
    see (as in a browser), so they are taken out of them here and every frame is checked."""
    doc = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for template in doc.select(".tcpbook-pic > template"):
        # parsed afresh: BeautifulSoup keeps a template's words as strings get_text() skips
        template.replace_with(BeautifulSoup(template.decode_contents(), "html.parser"))
    return doc


def all_html(html_dir: Path) -> list[Path]:
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)


def test_every_toc_page_exists(html_dir: Path, toc_pages: list[str]) -> None:
    for page in toc_pages:
        path = html_dir / f"{page}.html"
        assert path.is_file(), page
        assert soup(path).find("article"), page
    assert (html_dir / "index.html").is_file()


@pytest.mark.parametrize("page", DIAGRAM_CHAPTERS)
def test_chapter_shows_diagrams_as_images(html_dir: Path, page: str) -> None:
    doc = soup(html_dir / f"{page}.html")
    outputs = doc.select(".cell_output")
    images = [el for out in outputs for el in out.find_all(["img", "svg"])]
    # Widget views are filled in by JavaScript; the static diagrams are plain images.
    assert len(images) >= 2, f"{page}: {len(images)} diagram image(s) in cell outputs (state + ladder expected)"
    for img in (el for el in images if el.name == "img"):
        assert img.get("src"), f"{page}: <img> without src"


@pytest.mark.parametrize("page", DIAGRAM_CHAPTERS)
def test_chapter_embeds_an_explorer(html_dir: Path, page: str) -> None:
    """A static explorer: native controls, a frame table covering the whole grid, each
    picture once, the script that switches frames — and no widget manager to load."""
    doc = soup(html_dir / f"{page}.html")
    explorers = doc.select(".tcpbook-static-explorer")
    assert explorers, f"{page}: no explorer"
    for explorer in explorers:
        controls = explorer.select("[data-level]")
        assert controls, f"{page}: an explorer without controls"
        table = json.loads(explorer.select_one("script.tcpbook-frames").string)
        points = 1
        for n in table["shape"]:
            points *= n
        assert len(table["frames"]) == points and len(table["shape"]) == len(controls)
        slots = explorer.select(".tcpbook-slot")
        for k, slot in enumerate(slots):
            pictures = slot.find_all("div", class_="tcpbook-pic", recursive=False)
            assert {row[k] for row in table["frames"]} == set(range(len(pictures)))
        assert any("tcpbook-static-explorer" in (s.string or "") for s in explorer.find_all("script"))
    assert not doc.find_all("script", type=WIDGET_STATE), f"{page}: widget state, but the explorers need none"
    assert not any("embed-amd" in s["src"] for s in doc.find_all("script", src=True))


def test_handshake_has_the_loss_slider(html_dir: Path) -> None:
    doc = soup(html_dir / "chapters/01-handshake.html")
    sliders = doc.select(".tcpbook-static-explorer input[type=range]")
    names = [doc.find("label", attrs={"for": s["id"]}).get_text() for s in sliders]
    assert "loss" in names, names


def test_no_error_output(html_dir: Path, toc_pages: list[str]) -> None:
    for page in toc_pages:
        doc = soup(html_dir / f"{page}.html")
        assert not doc.select(".output.error, .output.traceback, .output.stderr, .cell_output .stderr"), page
        text = doc.get_text()
        assert "Traceback (most recent call last)" not in text, page
        for out in doc.select(".cell_output"):
            out_text = out.get_text()
            assert not re.search(r"\b\w*(Error|Exception): ", out_text) or "ParameterError:" in out_text, (
                f"{page}: an exception message in an output: {out_text[:200]!r}"
            )


def test_no_raw_widget_text(html_dir: Path, toc_pages: list[str]) -> None:
    for page in toc_pages:
        for out in soup(html_dir / f"{page}.html").select(".cell_output"):
            match = RAW_WIDGET.search(out.get_text())
            assert match is None, f"{page}: widget printed as text: {match.group(0)!r}"


# MyST that did not parse shows up as its own source: a role's ``{eval}`x``` or a fence
# ``` ```{admonition} ``` in the text (a backtick in a backtick fence's title is one way).
RAW_MYST = re.compile(r"\{(eval|glue|doc|ref|admonition|code-cell)\}`|^`{3,}\{", re.M)


def test_no_raw_myst_markup_in_the_prose(html_dir: Path, toc_pages: list[str]) -> None:
    for page in toc_pages:
        doc = soup(html_dir / f"{page}.html")
        article = doc.select_one("article") or doc
        for block in article.select("pre, code, .highlight"):
            block.decompose()  # the instructors' guide shows MyST as code, which is fine
        match = RAW_MYST.search(article.get_text())
        assert match is None, f"{page}: unparsed MyST in the text: {match.group(0)!r}"
        for pre in soup(html_dir / f"{page}.html").select("div.highlight-default pre"):
            assert not re.match(r"\s*```\{admonition\}", pre.get_text()), f"{page}: an admonition shown as code"


def _local_refs(doc: BeautifulSoup) -> list[tuple[str, str]]:
    refs = []
    for tag, attr in (
        ("a", "href"),
        ("link", "href"),
        ("script", "src"),
        ("img", "src"),
        ("iframe", "src"),
        ("source", "src"),
        ("video", "src"),
        ("audio", "src"),
    ):
        for el in doc.find_all(tag):
            value = el.get(attr)
            if value:
                refs.append((tag, value))
    return refs


def test_no_broken_internal_links_or_images(html_dir: Path) -> None:
    broken = []
    for path in all_html(html_dir):
        for tag, ref in _local_refs(soup(path)):
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith(("#", "//", "mailto:", "data:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(html_dir)}: <{tag}> {ref}")
    assert broken == [], "\n".join(broken[:40])


EXTERNAL = re.compile(r"^(https?:)?//", re.I)


def test_nothing_loaded_from_outside_the_site(html_dir: Path) -> None:
    offenders = []
    for path in all_html(html_dir):
        doc = soup(path)
        where = path.relative_to(html_dir)
        for el in doc.find_all("script", src=True):
            if EXTERNAL.match(el["src"]):
                offenders.append(f"{where}: script {el['src']}")
        for el in doc.find_all("link", href=True):
            rel = {r.lower() for r in el.get("rel", [])}
            if rel & {
                "stylesheet",
                "preload",
                "modulepreload",
                "icon",
                "shortcut",
                "manifest",
                "prefetch",
            } and EXTERNAL.match(el["href"]):
                offenders.append(f"{where}: link {el['href']}")
        for tag in ("img", "iframe", "source", "video", "audio", "embed"):
            for el in doc.find_all(tag, src=True):
                if EXTERNAL.match(el["src"]):
                    offenders.append(f"{where}: {tag} {el['src']}")
        for el in doc.find_all(style=True):
            if re.search(r"url\(\s*['\"]?(https?:)?//", el["style"]):
                offenders.append(f"{where}: inline style {el['style'][:80]}")
        for el in doc.find_all("style"):
            if re.search(r"url\(\s*['\"]?(https?:)?//|@import\s+(url\()?['\"]?(https?:)?//", el.get_text()):
                offenders.append(f"{where}: <style> with a remote url()")
    for css in html_dir.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(
            r"url\(\s*['\"]?((https?:)?//[^'\")]+)|@import\s+(url\()?['\"]?((https?:)?//[^'\")]+)", text
        ):
            offenders.append(f"{css.relative_to(html_dir)}: {match.group(0)[:100]}")
    assert offenders == [], "\n".join(offenders[:40])


def test_widget_manager_only_where_widgets_are(html_dir: Path) -> None:
    """The vendored widget manager (3.5 MB) is loaded by a page only if it embeds widget
    state — in the right order, require.js first — and no chapter needs it."""
    for path in all_html(html_dir):
        doc = soup(path)
        srcs = [s["src"].split("?")[0] for s in doc.find_all("script", src=True)]
        require = [i for i, s in enumerate(srcs) if s.endswith("vendor/requirejs/require.js")]
        embed = [i for i, s in enumerate(srcs) if s.endswith("vendor/html-manager/embed-amd.js")]
        if doc.find_all("script", type=WIDGET_STATE):
            assert len(require) == 1 and len(embed) == 1 and require[0] < embed[0], path
        else:
            assert not require and not embed, f"{path.relative_to(html_dir)} loads the widget manager for nothing"


def test_launch_and_download_buttons(html_dir: Path) -> None:
    doc = soup(html_dir / "chapters/01-handshake.html")
    hrefs = [a.get("href", "") for a in doc.find_all("a")]
    assert any(
        h.startswith("https://mybinder.org/v2/gh/tcpbook/tcpbook/main?urlpath=lab/tree/chapters/01-handshake.md")
        for h in hrefs
    ), "Binder launch button"
    assert "https://github.com/tcpbook/tcpbook" in hrefs, "repository button"
    assert any(h.endswith("_sources/chapters/01-handshake.md") for h in hrefs), "source download"
    assert any(h.endswith("_downloads/notebooks/01-handshake.ipynb") for h in hrefs), "notebook download"


# ------------------------------------------------------------------ legible pictures

ALT_START = ("Ladder diagram", "State diagram", "Chart", "Loss explorer", "TCP connection states", "Opening a connection",
             "Closing a connection")
# every explorer frame is in the page, so there are hundreds of pictures


def _svg_figures(markup: BeautifulSoup) -> list[tuple[str, str, str]]:
    """Every figure tcpbook drew, as (alt text, size rule, problem or ""): an inline SVG
    (``role="img"``, ``aria-label``), or in an explorer's frame an ``<img>`` (``alt``) whose
    source is the figure's SVG as a ``data:`` URI."""
    found = []
    for el in markup.select("figure.tcpbook-figure > svg, figure.tcpbook-figure > img"):
        if el.name == "svg":
            problem = "" if el.get("role") == "img" else "an inline SVG without role=img"
            found.append((el.get("aria-label", ""), el.get("style", ""), problem))
            continue
        src = el.get("src", "")
        svg = unquote(src.removeprefix("data:image/svg+xml,"))
        problem = "" if src.startswith("data:image/svg+xml,<svg") and svg.rstrip().endswith("</svg>") else \
            f"an <img> that is not an SVG of its own: {src[:60]}"
        found.append((el.get("alt", ""), el.get("style", ""), problem))
    return found


def test_every_picture_carries_its_alt_text(html_dir: Path, toc_pages: list[str]) -> None:
    """Static figures and every explorer frame (hidden ones too) alike: an SVG — inline
    with role="img", or an explorer frame's <img> of its SVG — with an alt text that says
    what it shows; no picture is an <img> named by its file path."""
    problems = []
    figures = frames = 0
    for page in toc_pages:
        doc = soup(html_dir / f"{page}.html")
        for label, _, problem in _svg_figures(doc):
            figures += 1
            if not label.startswith(ALT_START) or problem:
                problems.append(f"{page}: figure labelled {label[:60]!r} {problem}")
        frames += len(doc.select(".tcpbook-pic figure.tcpbook-figure > img"))
        for img in doc.select(".cell_output img"):
            alt = img.get("alt", "")
            if not alt or "_images/" in alt:
                problems.append(f"{page}: <img src={img.get('src')[:60]}> without a real alt text")
    assert figures > 100 and frames > 100
    assert problems == [], "\n".join(problems[:40])


def test_every_figure_fits_the_column_at_its_legible_size(html_dir: Path, toc_pages: list[str]) -> None:
    """Each figure's own style keeps its smallest text at 11 px or more (9 px on a phone)
    by a min-width; at a 1280 px screen the column is 688 px, and no figure needs more."""
    too_wide = []
    checked = 0
    for page in toc_pages:
        for label, style, _ in _svg_figures(soup(html_dir / f"{page}.html")):
            sizes = dict(part.split(":", 1) for part in style.split(";") if part)
            low, phone = float(sizes["min-width"].removesuffix("px")), float(sizes["--tb-min-phone"].removesuffix("px"))
            assert phone < low <= float(sizes["max-width"].removesuffix("px"))
            checked += 1
            if low > 688:
                too_wide.append(f"{page}: {label[:60]} needs {low:.0f} px")
    assert checked > 30
    assert too_wide == [], "\n".join(too_wide)


def test_math_assets_only_on_pages_with_math(html_dir: Path) -> None:
    math_page = soup(html_dir / "chapters/08-loss-retries-time.html")
    srcs = [s["src"].split("?")[0] for s in math_page.find_all("script", src=True)]
    assert any(s.endswith("vendor/katex/katex.min.js") for s in srcs)
    assert any(s.endswith("tcpbook-math.js") for s in srcs)
    tex = math_page.select(".tcpbook-tex")
    assert len(tex) > 10 and math_page.select(".tcpbook-tex-display")
    assert "\\frac" in math_page.get_text() and "$$" not in math_page.select_one("article").get_text()
    other = soup(html_dir / "chapters/01-handshake.html")
    assert not any("katex" in s["src"] for s in other.find_all("script", src=True))
    assert not any("katex" in link.get("href", "") for link in other.find_all("link"))
