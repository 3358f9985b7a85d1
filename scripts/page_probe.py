"""Measure built pages in headless Chromium: what a reader's browser really draws.

Shared by the browser tests (``tests/test_book_browser.py``, which assert on the numbers)
and the browser benchmark (``benchmarks/bench_browser.py``, which prints them), so both
measure the same thing the same way.

* :func:`figure_texts` — every text element of every SVG figure on a page (inline ``<svg>``
  and ``<img>`` of an SVG, explorer frames included) with its rendered font size in CSS
  pixels and its box as a quadrilateral on the page.  An ``<img>``'s SVG is fetched and
  laid out, hidden, at exactly the size the image has on the page, so its text is
  measured with the browser's own fonts and scale.
* :func:`collisions` — pairs of texts of one figure whose boxes overlap, and texts that
  cover a *mark* (an element with class ``mark``: the ✗ of a lost segment).
* :func:`run_axe` — axe-core's WCAG 2 A/AA violations (axe is vendored under
  ``tests/vendor/axe-core`` by ``scripts/vendor_js.py``; it is never shipped in the book).

Boxes are compared as rotated rectangles (separating-axis test), so a label drawn along a
sloped arrow is judged by its real outline, not by an axis-aligned box around it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AXE_JS = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Overlaps smaller than this (CSS px, along the axis where the boxes overlap least) are
# anti-aliasing and rounding, not two labels on top of each other.
TOLERANCE_PX = 0.75
# The WCAG 2 levels the book promises (axe-core tags).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- figures

FIGURE_TEXTS_JS = r"""
async () => {
  // Every figure: a top-level inline <svg> in a cell output, or an <img> showing an SVG.
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const figures = [];
  for (const svg of document.querySelectorAll('.cell_output svg, .tcpbook-figure svg')) {
    if (svg.parentElement.closest('svg')) continue;            // nested: part of its parent
    if (svg.closest('.katex, .MathJax, mjx-container')) continue;  // typeset math, not a figure
    if (!visible(svg) || svg.querySelectorAll('text').length === 0) continue;
    figures.push({el: svg, svg: svg, inline: true});
  }
  for (const img of document.querySelectorAll('.cell_output img, .tcpbook-figure img')) {
    if (!visible(img)) continue;
    const src = img.currentSrc || img.src;
    let text = null;
    try {
      const resp = await fetch(src);
      const type = resp.headers.get('content-type') || '';
      if (!type.includes('svg') && !src.endsWith('.svg')) {
        figures.push({el: img, raster: true});
        continue;
      }
      text = await resp.text();
    } catch (e) { continue; }
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = document.importNode(doc.documentElement, true);
    if (svg.tagName.toLowerCase() !== 'svg') continue;
    const r = img.getBoundingClientRect();
    const holder = document.createElement('div');
    holder.style.cssText = `position:absolute;left:${r.left + scrollX}px;top:${r.top + scrollY}px;` +
      `width:${r.width}px;height:${r.height}px;visibility:hidden;pointer-events:none;`;
    svg.setAttribute('width', r.width);
    svg.setAttribute('height', r.height);
    holder.appendChild(svg);
    document.body.appendChild(holder);
    figures.push({el: img, svg: svg, holder: holder, inline: false});
  }
  const quad = (el, box) => {
    const m = el.getScreenCTM();
    const pts = [[box.x, box.y], [box.x + box.width, box.y], [box.x + box.width, box.y + box.height],
                 [box.x, box.y + box.height]];
    return pts.map(([x, y]) => [m.a * x + m.c * y + m.e + scrollX, m.b * x + m.d * y + m.f + scrollY]);
  };
  const out = [];
  for (const f of figures) {
    const r = f.el.getBoundingClientRect();
    const name = f.el.getAttribute('aria-label') || f.el.getAttribute('alt') || '';
    const where = f.el.closest('[id]');
    const item = {name: name, where: where ? where.id : '', raster: !!f.raster, inline: !!f.inline,
                  width: r.width, top: r.top + scrollY, texts: [], marks: []};
    if (!f.raster) {
      for (const t of f.svg.querySelectorAll('text')) {
        const content = t.textContent.trim();
        if (!content) continue;
        const box = t.getBBox();
        if (box.width === 0 || box.height === 0) continue;
        const m = t.getScreenCTM();
        const scale = Math.sqrt(m.a * m.a + m.b * m.b);
        const size = parseFloat(getComputedStyle(t).fontSize) * scale;
        item.texts.push({text: content, px: size, quad: quad(t, box)});
      }
      for (const mark of f.svg.querySelectorAll('.mark')) {
        const box = mark.getBBox();
        item.marks.push({quad: quad(mark, box)});
      }
    }
    if (f.holder) f.holder.remove();
    out.push(item);
  }
  return out;
}
"""


@dataclass
class Figure:
    """One figure on a page as the browser drew it."""

    name: str  # its accessible name (aria-label or alt)
    where: str  # the id of the nearest element with an id (a section, a cell)
    raster: bool  # a PNG/JPEG: its text cannot be measured
    inline: bool  # an inline <svg> (else an <img> of an SVG, measured from its source)
    width: float  # CSS px on the page
    texts: list[dict]  # {text, px, quad}
    marks: list[dict]  # {quad}

    @property
    def smallest(self) -> float | None:
        return min((t["px"] for t in self.texts), default=None)


def figure_texts(page) -> list[Figure]:  # noqa: ANN001 - a Playwright Page
    """Every figure of the loaded ``page`` with the size and box of each of its texts."""
    return [Figure(f["name"], f["where"], f["raster"], f["inline"], f["width"], f["texts"], f["marks"])
            for f in page.evaluate(FIGURE_TEXTS_JS)]


def _project(quad: list[list[float]], axis: tuple[float, float]) -> tuple[float, float]:
    values = [x * axis[0] + y * axis[1] for x, y in quad]
    return min(values), max(values)


def _axes(quad: list[list[float]]) -> list[tuple[float, float]]:
    out = []
    for (x0, y0), (x1, y1) in zip(quad, quad[1:] + quad[:1]):
        dx, dy = x1 - x0, y1 - y0
        length = (dx * dx + dy * dy) ** 0.5
        if length > 1e-9:
            out.append((-dy / length, dx / length))
    return out


def overlap_depth(a: list[list[float]], b: list[list[float]]) -> float:
    """How deep two convex quadrilaterals overlap (CSS px; 0 when they are apart).

    The separating-axis theorem: two convex shapes are apart when some edge normal
    separates their projections; otherwise the smallest projected overlap is how far one
    would have to move to clear the other."""
    depth = float("inf")
    for axis in _axes(a) + _axes(b):
        a0, a1 = _project(a, axis)
        b0, b1 = _project(b, axis)
        depth = min(depth, min(a1, b1) - max(a0, b0))
        if depth <= 0:
            return 0.0
    return depth if depth != float("inf") else 0.0


def collisions(figure: Figure, tolerance: float = TOLERANCE_PX) -> list[str]:
    """Texts of ``figure`` that overlap another text or cover a mark, one line each."""
    found = []
    texts = figure.texts
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if overlap_depth(a["quad"], b["quad"]) > tolerance:
                found.append(f"{a['text']!r} overlaps {b['text']!r}")
        for mark in figure.marks:
            if overlap_depth(a["quad"], mark["quad"]) > tolerance:
                found.append(f"{a['text']!r} covers a ✗")
    return found


# --------------------------------------------------------------------------------- axe


def run_axe(page) -> list[dict]:  # noqa: ANN001 - a Playwright Page
    """axe-core's WCAG 2 A/AA violations on the loaded ``page``: ``[{id, impact, nodes, help}]``."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async tags => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\\n').slice(0, 2).join(' '))})); }",
        AXE_TAGS,
    )
    return result


# --------------------------------------------------------------------------- widgets

WIDGETS_READY_JS = """
() => {
  const expected = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  const rendered = document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox').length;
  const explorers = document.querySelectorAll('.tcpbook-static-explorer').length;
  const wired = document.querySelectorAll('.tcpbook-static-explorer[data-ready]').length;
  return (expected === 0 || rendered >= expected) && wired === explorers;
}
"""


def wait_for_widgets(page, timeout_ms: int = 15_000) -> None:  # noqa: ANN001
    """Wait until every explorer works: each static explorer's script has wired its
    controls, and the widget manager (on a page that embeds widgets) has rendered them."""
    page.wait_for_function(WIDGETS_READY_JS, timeout=timeout_ms)
