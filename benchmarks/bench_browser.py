"""The built book in headless Chromium: legibility, speed and weight, as numbers.

    .venv/bin/python benchmarks/bench_browser.py                 # every page of _build/html
    .venv/bin/python benchmarks/bench_browser.py --html DIR      # another build (e.g. a baseline)
    .venv/bin/python benchmarks/bench_browser.py --pages chapters/01-handshake --switches 20

For every page of the table of contents it prints:

* **smallest text** in any SVG figure (explorer frames included), in CSS px, at a 1280 px
  and a 390 px wide viewport, and the number of **overlaps** (two texts of one figure on
  top of each other, or a text on a lost segment's ✗) at both widths; raster figures,
  whose text cannot be measured, are counted apart;
* **frame switch** of the static explorers: from the input event (a key on a slider, a
  menu choice, a button) until the new frame is painted, p50 and p95 over every control;
* **time to widgets**: from navigation start until every embedded widget has a view, on a
  first visit (empty cache), over localhost; the best of three runs;
* **bytes** a first visit transfers (every response body), raw and gzip-compressed;
* **axe**: axe-core's WCAG 2 A/AA violations (nodes per rule).

The measuring code is shared with the browser tests (``scripts/page_probe.py``).  Numbers
depend on the machine and its load; the benchmark asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import build_book  # noqa: E402
import page_probe  # noqa: E402

WIDTHS = (1280, 390)

# Armed before an input: resolves with two times, from the input event's own time stamp —
# "work": until the explorer has switched its pictures and the browser has styled and laid
# them out (forced in the same task, as the browser would before painting); "paint": until
# the next animation frame has been painted.  For a frame switch that fits into one frame,
# "work" is under 16 ms; "paint" adds the wait for the display's next frame.
ARM_SWITCH_JS = r"""
root => {
  window.__t0 = null;
  const mark = e => { if (window.__t0 === null) window.__t0 = e.timeStamp; };
  for (const type of ['keydown', 'change', 'click', 'input']) document.addEventListener(type, mark, {capture: true, once: true});
  window.__switch = new Promise(resolve => {
    let work = null;
    const observer = new MutationObserver(() => {
      root.getBoundingClientRect();  // style and layout now, in this task
      work = performance.now() - window.__t0;
      observer.disconnect();
      requestAnimationFrame(() => setTimeout(() => resolve({work: work, paint: performance.now() - window.__t0}), 0));
    });
    observer.observe(root, {childList: true, subtree: true, attributes: true, attributeFilter: ['hidden', 'src', 'class', 'style']});
  });
}
"""

READY_INIT_JS = """
(() => {
  const check = () => {
    const expected = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
    const rendered = document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox').length;
    const explorers = document.querySelectorAll('.tcpbook-static-explorer').length;
    const wired = document.querySelectorAll('.tcpbook-static-explorer[data-ready]').length;
    if ((expected || explorers) && rendered >= expected && wired === explorers && window.__ready === undefined) {
      window.__ready = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-ready']});
})();
"""


@contextlib.contextmanager
def loaded(browser, base: str, page_name: str, width: int = 1280):  # noqa: ANN001, ANN201
    """A page of the book, loaded with its explorers working; closed afterwards."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{base}/{page_name}.html", wait_until="load")
        page_probe.wait_for_widgets(page)
        page.wait_for_timeout(200)
        yield page
    finally:
        page.close()


def legibility(browser, base: str, page_name: str, width: int) -> dict:
    with loaded(browser, base, page_name, width) as page:
        figures = page_probe.figure_texts(page)
    sizes = [f.smallest for f in figures if f.smallest is not None]
    return {
        "figures": len(figures),
        "raster": sum(f.raster for f in figures),
        "smallest": min(sizes) if sizes else None,
        "overlaps": sum(len(page_probe.collisions(f)) for f in figures),
    }


def first_visit(browser, base: str, page_name: str) -> dict:
    """Time to widgets and bytes of one first visit (a fresh browser context: empty cache)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    bodies: list[bytes] = []

    def keep(response) -> None:  # noqa: ANN001
        if response.url.startswith(("data:", "blob:")):
            return
        try:
            bodies.append(response.body())
        except Exception:  # noqa: BLE001 - a redirect or an aborted request has no body
            pass

    page = context.new_page()
    page.add_init_script(READY_INIT_JS)
    page.on("response", keep)
    try:
        page.goto(f"{base}/{page_name}.html", wait_until="load")
        has_widgets = page.evaluate("() => !!document.querySelector("
                                    "'script[type=\"application/vnd.jupyter.widget-view+json\"], .tcpbook-static-explorer')")
        ready = None
        if has_widgets:
            page.wait_for_function("() => window.__ready !== undefined", timeout=30_000)
            ready = page.evaluate("() => window.__ready") / 1000
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    raw = sum(len(b) for b in bodies)
    packed = sum(len(gzip.compress(b, 6, mtime=0)) for b in bodies)
    return {"ready": ready, "raw": raw, "gzip": packed, "requests": len(bodies)}


def controls_of(page):  # noqa: ANN001, ANN201
    """(kind, locator) of every explorer control on the page (static explorers and widgets)."""
    found = []
    for handle in page.locator(".tcpbook-static-explorer input[type=range], .cell_output .widget-slider .noUi-handle").all():
        found.append(("slider", handle))
    for select in page.locator(".tcpbook-static-explorer select, .cell_output .widget-dropdown select").all():
        found.append(("menu", select))
    for group in page.locator(".tcpbook-static-explorer fieldset, .cell_output .widget-toggle-buttons").all():
        found.append(("buttons", group))
    return found


def _switch(page, locator, act) -> dict | None:  # noqa: ANN001
    root = locator.locator("xpath=ancestor::div[contains(@class,'tcpbook-static-explorer') or contains(@class,'cell_output')][1]")
    root.evaluate(ARM_SWITCH_JS)
    act()
    try:
        return page.evaluate("() => Promise.race([window.__switch, new Promise(r => setTimeout(() => r(null), 3000))])")
    except Exception:  # noqa: BLE001
        return None


def frame_switches(browser, base: str, page_name: str, per_control: int) -> list[dict]:
    """Times of ``per_control`` frame switches by each control of the page's explorers."""
    times: list[dict] = []
    with loaded(browser, base, page_name) as page:
        for kind, control in controls_of(page):
            control.scroll_into_view_if_needed()
            for k in range(per_control):
                if kind == "slider":
                    control.focus()
                    key = "ArrowRight" if (k // 4) % 2 == 0 else "ArrowLeft"
                    t = _switch(page, control, lambda c=control, key=key: c.press(key))
                elif kind == "menu":
                    options = control.locator("option").all_inner_texts()
                    if len(options) < 2:
                        break
                    label = options[(k + 1) % len(options)]
                    t = _switch(page, control, lambda c=control, label=label: c.select_option(label=label))
                else:
                    buttons = control.locator("input[type=radio], button").all()
                    if len(buttons) < 2:
                        break
                    button = buttons[(k + 1) % len(buttons)]
                    t = _switch(page, control, lambda b=button: b.click())
                if t is not None:
                    times.append(t)
    return times


def axe_counts(browser, base: str, page_name: str) -> Counter:
    with loaded(browser, base, page_name) as page:
        violations = page_probe.run_axe(page)
    return Counter({v["id"]: len(v["nodes"]) for v in violations})


def small(v: float | None) -> str:
    return f"{v:.1f}" if v is not None else "-"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=build_book.HTML, help="the built book (default _build/html)")
    ap.add_argument("--pages", nargs="*", help="docnames (default: every page of _toc.yml)")
    ap.add_argument("--switches", type=int, default=8, help="frame switches per explorer control")
    ap.add_argument("--no-axe", action="store_true", help="skip the accessibility check")
    a = ap.parse_args(argv)
    from playwright import sync_api  # noqa: PLC0415

    pages = a.pages or build_book.toc_pages()
    all_switches: list[dict] = []
    axe_total: Counter = Counter()
    with page_probe.serve(a.html) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=page_probe.CHROMIUM, args=page_probe.CHROMIUM_ARGS)
        print(f"{'page':28s} {'figs':>4s} {'png':>3s} {'min px 1280':>11s} {'min px 390':>10s} {'overlaps':>8s} "
              f"{'paint p50/p95 ms':>17s} {'widgets s':>9s} {'MB raw':>7s} {'MB gz':>6s} {'axe':>4s}")
        for name in pages:
            wide = legibility(browser, base, name, 1280)
            narrow = legibility(browser, base, name, 390)
            visits = [first_visit(browser, base, name) for _ in range(3)]
            ready = [v["ready"] for v in visits if v["ready"] is not None]
            switches = frame_switches(browser, base, name, a.switches)
            all_switches += switches
            axe = Counter() if a.no_axe else axe_counts(browser, base, name)
            axe_total += axe
            paint = [t["paint"] for t in switches]
            sw = f"{statistics.median(paint):.0f}/{percentile(paint, 0.95):.0f}" if switches else "-"
            print(f"{name.split('/')[-1][:28]:28s} {wide['figures']:4d} {wide['raster']:3d} {small(wide['smallest']):>11s} "
                  f"{small(narrow['smallest']):>10s} {wide['overlaps']:4d}/{narrow['overlaps']:<3d} {sw:>17s} "
                  f"{(min(ready) if ready else 0):9.2f} {visits[0]['raw'] / 1e6:7.2f} {visits[0]['gzip'] / 1e6:6.2f} "
                  f"{sum(axe.values()):4d}", flush=True)
        browser.close()
    if all_switches:
        for what in ("work", "paint"):
            values = [t[what] for t in all_switches]
            print(f"frame switch ({what}) over {len(values)} switches: p50 {statistics.median(values):.1f} ms, "
                  f"p95 {percentile(values, 0.95):.1f} ms, max {max(values):.1f} ms")
    if axe_total:
        print("axe violations (nodes) by rule: " + ", ".join(f"{k} {v}" for k, v in axe_total.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
