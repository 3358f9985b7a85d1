"""Pictures as HTML: an inline SVG that says what it shows, and never shrinks out of reading.

Every picture of the book reaches the page through :func:`svg_figure_html`:

* the SVG is put *inline*, so its words are real text (searchable, translatable, drawn
  with the page's fonts, Chinese included) and the browser tests can measure them;
* it carries its alt text — ``role="img"`` and ``aria-label`` — made by
  the caller from what the picture shows (:func:`tcpbook.render.summary.alt_text`), so a
  screen reader tells the same story;
* its size rule keeps every text at least 11 CSS px (9 px on a phone): the picture
  fills the text column, but never becomes narrower than the width at which its
  smallest text would fall below that; a wider picture scrolls sideways instead;
* its style sheet is moved onto its elements (:func:`inline_styles`) and its ids are
  scoped to the one picture, so pictures on a page cannot restyle each other, and putting
  one into the page (an explorer's frame switch) never makes the browser restyle it all.

:func:`figure_html` does the same for any matplotlib Figure (after
:func:`make_legible`), and :func:`show_figures_as_html` makes IPython display every
Figure that way — the book's kernel turns it on, so the plots the chapters draw with
pyplot get alt text and legible labels too.
"""

from __future__ import annotations

import hashlib
import math
import re
from html import escape
from typing import Any

from ..errors import ParameterError
from . import style

PX_PER_PT = 4 / 3
MIN_PX = 11.0  # the smallest text on a laptop screen (a 1280 px wide window)
MIN_PX_PHONE = 9.0  # ... and on a phone
MAX_ZOOM = 1.1  # a picture narrower than the column may grow this much, no more
MAX_WIDTH_IN = style.PAGE_WIDTH_PT / 72  # matplotlib figures wider than the column are narrowed


# --------------------------------------------------------------------------- SVG text


def compact_svg(svg: bytes | str) -> bytes:
    """Shrink an SVG (graphviz's or matplotlib's) for embedding in a page.

    Drops what a reader never sees — the XML prologue, comments, metadata, tooltips,
    links, clip paths of a figure drawn inside its axes, ids and classes — and keeps one
    decimal of each coordinate (a tenth of a point).  Deterministic, like its input.
    """
    text = svg.decode() if isinstance(svg, bytes) else svg
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<title>.*?</title>", "", text, flags=re.S)
    text = re.sub(r"</?a\b[^>]*>", "", text)
    text = re.sub(r' clip-path="url\(#[^)]*\)"', "", text)
    text = re.sub(r"<clipPath\b.*?</clipPath>", "", text, flags=re.S)
    # One decimal of every number in a tag (coordinates), never in the text a reader reads.
    text = re.sub(r"<[^>]+>", lambda m: re.sub(r"\.0\b", "", re.sub(r"(\d+\.\d)\d+", r"\1", m.group(0))), text)
    text = re.sub(r' (?:id|class)="[^"]*"', "", text)
    text = re.sub(r"<g>(<g>)*</g>", "", text)
    # One font declaration for the whole picture instead of one per text element.
    text = re.sub(r' font-family="[^"]*"', "", text)
    text = re.sub(r"font-family: ?[^;\"]*;? ?", "", text)
    text = re.sub(r"(<svg\b[^>]*>)", r"\1<style>text{font-family:" + style.CSS_FONT.replace("\\", "") + "}</style>", text, count=1)
    text = re.sub(r"\s*\n\s*", " ", text)
    text = re.sub(r">\s+<", "><", text)
    return text.encode()


_LENGTH = re.compile(r"^\s*([\d.]+)\s*(pt|px)?\s*$")


def natural_size(svg: str) -> tuple[float, float]:
    """(width, height) of an SVG in CSS px at its natural size (``width``/``height`` in pt or px)."""
    head = re.search(r"<svg\b[^>]*>", svg)
    if head is None:
        raise ParameterError("svg", svg[:40], "an SVG document")
    sizes = []
    for name in ("width", "height"):
        match = re.search(rf'\s{name}="([^"]*)"', head.group(0))
        length = _LENGTH.match(match.group(1)) if match else None
        if length is None:
            box = re.search(r'viewBox="([^"]*)"', head.group(0))
            if box is None:
                raise ParameterError("svg", head.group(0)[:60], "an SVG with width/height or a viewBox")
            value, unit = float(box.group(1).split()[2 if name == "width" else 3]), "px"
        else:
            value, unit = float(length.group(1)), length.group(2) or "px"
        sizes.append(value * (PX_PER_PT if unit == "pt" else 1.0))
    return sizes[0], sizes[1]


def _view_box(svg: str) -> tuple[float, float, float, float] | None:
    head = re.search(r"<svg\b[^>]*>", svg)
    box = re.search(r'viewBox="([^"]*)"', head.group(0)) if head else None
    if box is None:
        return None
    x, y, w, h = (float(v) for v in box.group(1).replace(",", " ").split())
    return x, y, w, h


_FONT_SIZES = (
    re.compile(r'font-size="([\d.]+)'),  # graphviz: an attribute
    re.compile(r"font-size:\s*([\d.]+)"),  # the ladder: CSS
    re.compile(r"font:\s*[^;\"}]*?([\d.]+)px"),  # matplotlib: the font shorthand
)


def smallest_text_px(svg: str) -> float | None:
    """The smallest font size of the SVG's texts in CSS px at natural size (None: no text)."""
    sizes = [float(m.group(1)) for pattern in _FONT_SIZES for m in pattern.finditer(svg)]
    if not sizes or "<text" not in svg:
        return None
    width, _ = natural_size(svg)
    box = _view_box(svg)
    scale = width / box[2] if box else 1.0  # user units -> CSS px
    return min(sizes) * scale


def _rules(css: str) -> list[tuple[list[str], str]]:
    """(selectors, declarations) of each rule of a flat style sheet."""
    out = []
    for rule in css.split("}"):
        if "{" in rule:
            selectors, body = rule.split("{", 1)
            out.append(([sel.strip() for sel in selectors.split(",") if sel.strip()], body.strip().rstrip(";")))
    return out


def inline_styles(svg: str) -> str:
    """Move the SVG's style sheets onto its elements: a ``<style>`` element put into a page
    makes the browser restyle the *whole page*, which is what made an explorer's frame
    switch slow (20 ms and more); a ``style`` attribute costs nothing of the kind.

    The sheets tcpbook's pictures carry are flat: ``.name`` rules (the ladder painter's
    classes) become ``style`` attributes of the elements of that class; ``*``, ``svg`` and
    ``text`` rules (matplotlib's stroke joins, the font of every text) become inherited
    properties of the root.  Any other selector is refused.
    """
    sheets = re.findall(r"<style[^>]*>(.*?)</style>", svg, flags=re.S)
    if not sheets:
        return svg
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*</defs>", "", svg)
    by_class: dict[str, str] = {}
    root: list[str] = []
    for selectors, body in (rule for css in sheets for rule in _rules(css)):
        for selector in selectors:
            if re.fullmatch(r"\.[\w-]+", selector):
                by_class[selector[1:]] = ";".join(filter(None, [by_class.get(selector[1:], ""), body]))
            elif selector in ("*", "svg", "text"):
                root.append(body)
            else:
                raise ParameterError("svg", selector, "a style sheet of .class, *, svg and text rules")

    def element(match: re.Match[str]) -> str:
        tag = match.group(0)
        classes = re.search(r'\sclass="([^"]*)"', tag)
        if classes is None:
            return tag
        declarations = [by_class[c] for c in classes.group(1).split() if c in by_class]
        kept = " ".join(c for c in classes.group(1).split() if c not in by_class)
        tag = tag.replace(classes.group(0), f' class="{kept}"' if kept else "", 1)
        if declarations:
            tag = re.sub(r"(\s*/?>)$", lambda end: f' style="{";".join(declarations)}"' + end.group(1), tag, count=1)
        return tag

    svg = re.sub(r"<(?!/|svg\b)[a-zA-Z][^>]*>", element, svg)
    if root:
        svg = re.sub(r"<svg\b([^>]*)>", lambda m: f'<svg{m.group(1)} data-root-style="{";".join(root)}">', svg, count=1)
    return svg


def scope_ids(svg: str, scope: str) -> str:
    """Ids nothing refers to are dropped (a page must not hold one id twice); the others
    (matplotlib's markers and clip paths) are prefixed with ``scope``."""
    used = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    svg = re.sub(r'\sid="([^"]+)"', lambda m: f' id="{scope}-{m.group(1)}"' if m.group(1) in used else "", svg)
    return re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{scope}-{m.group(2)}", svg)


# ----------------------------------------------------------------------------- figure


def svg_figure_html(svg: bytes | str, alt: str, *, kind: str = "") -> str:
    """``svg`` as an accessible, legible, self-scoped inline figure (see the module docstring).

    ``alt`` is the text a screen reader says; ``kind`` an extra CSS class
    (``tcpbook-ladder``, ``tcpbook-state``, ``tcpbook-plot``).  Deterministic.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ParameterError("alt", alt, "a non-empty description of the picture")
    text = svg.decode() if isinstance(svg, bytes) else svg
    text = text[text.index("<svg"):]
    width, height = natural_size(text)
    smallest = smallest_text_px(text)
    scope = "f" + hashlib.sha256(text.encode()).hexdigest()[:10]
    text = scope_ids(inline_styles(text), scope)
    # One percent to spare: rounding must never take the smallest text below the minimum.
    low = width if smallest is None else width * MIN_PX * 1.01 / smallest
    phone = width if smallest is None else width * MIN_PX_PHONE * 1.01 / smallest
    high = max(width * MAX_ZOOM, low)
    sizing = (f"width:100%;height:auto;max-width:{math.ceil(high)}px;min-width:{math.ceil(low)}px;"
              f"--tb-min-phone:{math.ceil(phone)}px;aspect-ratio:{width:.1f}/{height:.1f}")
    label = escape(" ".join(alt.split()), quote=True)

    def root(match: re.Match[str]) -> str:
        attrs = match.group(1)
        inherited = re.search(r'\sdata-root-style="([^"]*)"', attrs)
        attrs = re.sub(r'\s(?:width|height|class|role|aria-label|style|data-root-style)="[^"]*"', "", attrs)
        if "viewBox=" not in attrs:
            attrs += f' viewBox="0 0 {width:.1f} {height:.1f}"'
        style = (inherited.group(1) + ";" if inherited else "") + sizing
        return f'<svg{attrs} role="img" aria-label="{label}" style="{style}">'

    text = re.sub(r"<svg\b([^>]*)>", root, text, count=1)
    classes = " ".join(c for c in ("tcpbook-figure", kind) if c)
    return f'<figure class="{classes}">{text}</figure>'


_INLINE_FIGURE = re.compile(r'<figure class="(tcpbook-figure[^"]*)"><svg\b([^>]*)>(.*)</svg>\s*</figure>', flags=re.S)
_SIZING = ("width", "height", "max-width", "min-width", "--tb-min-phone", "aspect-ratio")


def figure_image(figure: str) -> str:
    """An inline figure of :func:`svg_figure_html` as the same figure drawn by an ``<img>``
    whose source is its SVG (a ``data:`` URI, so the page stays one self-contained file).

    The explorers' frames use it: the browser treats each picture as one replaced element,
    so showing another frame styles and lays out one ``<img>``, not the hundreds of text
    and path elements of an inline SVG.  The alt text (``alt``) and the size rule that keeps
    every text legible (the figure's ``min-width`` …) are the inline figure's.  What an
    ``<img>`` gives up: the picture's words are no longer the page's text (the browser's
    find does not see them; the alt text still tells a screen reader the story).
    Deterministic; anything but a figure of :func:`svg_figure_html` is refused.
    """
    match = _INLINE_FIGURE.fullmatch(figure)
    if match is None or "<svg" in match.group(3):
        raise ParameterError("figure", figure[:60], "an inline SVG figure made by svg_figure_html")
    classes, attrs, body = match.groups()
    alt = re.search(r'\saria-label="([^"]*)"', attrs)
    style_attr = re.search(r'\sstyle="([^"]*)"', attrs)
    if alt is None or style_attr is None:
        raise ParameterError("figure", figure[:60], "an SVG figure with its alt text and size rule")
    declarations = [d.strip() for d in style_attr.group(1).split(";") if d.strip()]
    sizing = ";".join(d for d in declarations if d.split(":", 1)[0].strip() in _SIZING)
    inherited = ";".join(d for d in declarations if d.split(":", 1)[0].strip() not in _SIZING)
    ratio = re.search(r"aspect-ratio:([\d.]+)/([\d.]+)", sizing)
    if ratio is None:
        raise ParameterError("figure", figure[:60], "an SVG figure with its natural size (aspect-ratio)")
    attrs = re.sub(r'\s(?:role|aria-label|style)="[^"]*"', "", attrs)
    if "xmlns=" not in attrs:
        attrs += ' xmlns="http://www.w3.org/2000/svg"'
    if "xlink:" in body and "xmlns:xlink=" not in attrs:
        attrs += ' xmlns:xlink="http://www.w3.org/1999/xlink"'
    # An image has the natural size of its SVG; the page scales it by the figure's rule.
    attrs += f' width="{ratio.group(1)}" height="{ratio.group(2)}"' + (f' style="{inherited}"' if inherited else "")
    svg = f"<svg{attrs}>{body}</svg>"
    return (f'<figure class="{classes}"><img alt="{alt.group(1)}" style="{sizing}" '
            f'src="data:image/svg+xml,{_data_uri_text(svg)}"></figure>')


def _data_uri_text(svg: str) -> str:
    """``svg`` as the body of a ``data:`` URI inside a double-quoted HTML attribute.

    Line breaks and indentation between elements are dropped (never inside a ``<text>``);
    attribute values are written between single quotes where they hold none (a double
    quote would cost three bytes, ``%22``), then only what a URI or the HTML attribute
    would misread is percent-encoded: ``%``, ``#`` (a fragment), ``&`` (a character
    reference to HTML), ``"`` and control characters.  The browser percent-decodes the
    URI back to the SVG, every element, attribute and word as it was."""
    def requote(tag: str) -> str:
        return re.sub(r'="([^"\']*)"', r"='\1'", tag)

    def outside_text(part: str) -> str:
        # Indentation between elements is no picture's content (matplotlib pretty-prints),
        # and a line break in an attribute value is a space to XML anyway.
        part = re.sub(r">\s*\n\s*<", "><", part)
        return re.sub(r"<[^>]+>", lambda tag: requote(re.sub(r"\s*\n\s*", " ", tag.group(0))), part)

    # The words of <text> elements are kept exactly, line breaks included.
    pieces = re.split(r"(<text\b.*?</text>)", svg, flags=re.S)
    text = "".join(re.sub(r"<[^>]+>", lambda tag: requote(tag.group(0)), piece) if k % 2 else outside_text(piece)
                   for k, piece in enumerate(pieces))
    for char, code in (("%", "%25"), ("#", "%23"), ("&", "%26"), ('"', "%22"), ("\n", "%0A"), ("\r", "%0D"), ("\t", "%09")):
        text = text.replace(char, code)
    return text


# ------------------------------------------------------------------------- matplotlib


def make_legible(fig: Any, *, min_pt: float = style.MIN_TEXT_PT, max_width_in: float = MAX_WIDTH_IN) -> Any:
    """Make ``fig`` readable in the book's column: at most ``max_width_in`` wide and no
    text smaller than ``min_pt`` (log axes label their ticks 100, not 10²).  Changes
    ``fig`` in place (and returns it).

    A narrower figure keeps most of its height (the square root of the width ratio), so
    enlarged labels still find room; a figure without a layout engine gets matplotlib's
    constrained layout, which makes the room.
    """
    from matplotlib.text import Text  # noqa: PLC0415
    from matplotlib.ticker import FuncFormatter, LogFormatterMathtext, NullFormatter  # noqa: PLC0415

    w, h = fig.get_size_inches()
    if w > max_width_in:
        fig.set_size_inches(max_width_in, h * (max_width_in / w) ** 0.5)
    for ax in fig.axes:
        for ticks in (ax.xaxis, ax.yaxis):
            # A log axis writes 10² with a superscript at 70 % of the label's size: plain
            # numbers (100) keep every digit at the label's size.
            if isinstance(ticks.get_major_formatter(), LogFormatterMathtext):
                ticks.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            if isinstance(ticks.get_minor_formatter(), LogFormatterMathtext):
                ticks.set_minor_formatter(NullFormatter())
        for axis in ("x", "y"):
            ticks = ax.xaxis if axis == "x" else ax.yaxis
            labels = ticks.get_ticklabels(which="both")
            size = min((t.get_fontsize() for t in labels), default=min_pt)
            if size < min_pt:
                ax.tick_params(axis=axis, which="both", labelsize=min_pt)
    for text in fig.findobj(Text):
        if text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    if fig.get_layout_engine() is None and fig.axes and all(ax.get_subplotspec() is not None for ax in fig.axes):
        fig.set_layout_engine("constrained")  # axes placed by hand (add_axes) keep their place
    return fig


def describe_figure(fig: Any) -> str:
    """A plain description of a matplotlib figure from its own words: each panel's title,
    axes and the series its legend names."""
    panels = []
    for ax in fig.axes:
        if not ax.get_visible() or not (ax.lines or ax.patches or ax.collections or ax.texts):
            continue
        parts = []
        if ax.get_title():
            parts.append(ax.get_title())
        if ax.get_ylabel() or ax.get_xlabel():
            parts.append(f"{ax.get_ylabel() or 'value'} against {ax.get_xlabel() or 'x'}")
        legend = ax.get_legend()
        if legend is not None:
            names = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if names:
                parts.append("series: " + "; ".join(names))
        if parts:
            panels.append(", ".join(parts))
    title = fig.get_suptitle()
    text = (title + ". " if title else "") + ". ".join(panels)
    kind = "Chart" if len(panels) <= 1 else f"Chart in {len(panels)} panels"
    return f"{kind}: {text}" if text else "Chart"


def figure_html(fig: Any, alt: str | None = None) -> str:
    """A matplotlib figure as inline, legible SVG with alt text (its description by default)."""
    from .scene import figure_bytes  # noqa: PLC0415 - matplotlib only for matplotlib figures

    if getattr(fig, "tcpbook_scene", None) is not None:
        return fig._repr_html_()  # a ladder: the same scene painted straight to SVG, its own alt text
    make_legible(fig)
    svg = figure_bytes(fig, "svg").decode()
    return svg_figure_html(svg, alt or describe_figure(fig), kind="tcpbook-plot")


def show_figures_as_html(ip: Any = None) -> None:
    """Make IPython show every matplotlib Figure as :func:`figure_html` (besides its PNG).

    The book's kernel calls this at start-up (``scripts/build_book.py``): the chapters'
    pyplot figures then reach the page as legible inline SVG with a description.
    matplotlib's inline backend removes every formatter of Figure when it starts (on the
    first ``import matplotlib.pyplot``), so the formatter is put back before each cell and
    after it, before the backend shows the cell's figures.
    """
    from matplotlib.figure import Figure  # noqa: PLC0415

    if ip is None:
        from IPython import get_ipython  # noqa: PLC0415

        ip = get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.formatters["text/html"]

    def register(*_: Any) -> None:
        if formatter.type_printers.get(Figure) is not figure_html:
            formatter.for_type(Figure, figure_html)

    register()
    ip.events.register("pre_run_cell", register)
    ip.events.register("post_execute", register)
    use_fallback_fonts()


def use_fallback_fonts() -> list[str]:
    """Put the installed fonts of :data:`~tcpbook.render.style.FONT_STACK` first in
    matplotlib's sans-serif list, so text in Chinese finds a CJK font instead of tofu.
    Returns the families found."""
    import matplotlib  # noqa: PLC0415
    from matplotlib import font_manager  # noqa: PLC0415

    known = {f.name for f in font_manager.fontManager.ttflist}
    if not any("CJK" in name for name in known):
        # Installed after matplotlib cached its font list: add the CJK files it missed.
        for path in sorted(font_manager.findSystemFonts()):
            if "CJK" in path and "Sans" in path:
                font_manager.fontManager.addfont(path)
        known = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in style.FONT_STACK if name in known]
    rest = [name for name in matplotlib.rcParams["font.sans-serif"] if name not in found]
    matplotlib.rcParams["font.sans-serif"] = [*found, *rest]
    # matplotlib falls back glyph by glyph only along an explicit list of families (the
    # generic "sans-serif" resolves to one font): DejaVu Sans for Latin, then the CJK font.
    matplotlib.rcParams["font.family"] = [*found, "sans-serif"]
    return found
