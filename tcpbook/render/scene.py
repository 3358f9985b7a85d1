"""A picture as a list of simple shapes, and two ways to paint it.

The ladder diagram is laid out once, as a :class:`Scene` of lines, arrows, polygons,
dots and texts in *data* coordinates (lanes on x, compressed time on y).  Two
painters turn a scene into a picture:

* :func:`to_matplotlib` — a :class:`matplotlib.figure.Figure`, what
  :func:`tcpbook.render.ladderdiagram.ladder` returns (displays in Jupyter, saves anywhere);
* :func:`to_svg` — compact SVG text written directly, about twenty times faster
  than going through matplotlib.  The live explorers use it to redraw within a
  frame's budget, and the static book embeds these small files.

Both painters read the same scene, so the two pictures show the same things at
the same places; only the font metrics of the viewer differ slightly.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from ..errors import ParameterError
from . import style
from .textsize import ASCENT, DESCENT, LINE, text_size

PT = 72.0  # SVG user units per inch: points, as matplotlib writes them


@dataclass
class Box:
    """A light rounded box behind a text (``pad`` in font sizes, as matplotlib's)."""

    fc: str
    ec: str = "none"
    lw: float = 0.0
    pad: float = 0.25
    alpha: float = 1.0


@dataclass
class Shape:
    kind: str  # "line", "arrow", "polygon", "dot", "cross", "text"
    gid: str = ""
    colour: str = style.GREY
    lw: float = 1.0
    alpha: float = 1.0
    dash: tuple[float, float] | None = None
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    head: bool = True  # arrows: draw an arrow head
    fill: str = "none"
    size: float = 8.0  # text: font size (pt); dot: diameter (pt)
    text: str = ""
    weight: str = "normal"
    italic: bool = False
    ha: str = "center"
    va: str = "center"
    rotation: float = 0.0  # degrees, counter-clockwise on screen
    offset: tuple[float, float] = (0.0, 0.0)  # points, on screen before rotation
    box: Box | None = None
    figure: bool = False  # text placed in figure fractions, not data coordinates
    mark: bool = False  # a mark labels must keep clear of (the ✗ of a lost segment)


@dataclass
class Scene:
    """Shapes plus the frame that maps data coordinates to the page."""

    width: float  # inches
    height: float  # inches
    xlim: tuple[float, float]
    ylim: tuple[float, float]  # (top, bottom): y grows downwards, like time
    top_margin: float  # inches above the plotting area
    shapes: list[Shape] = field(default_factory=list)
    registry: dict[str, list[Any]] = field(default_factory=dict)
    board: Any = None  # the placement board of the layout (tcpbook.render.placement.Board), for tests

    def add(self, kind: str, **kw: Any) -> Shape:
        shape = Shape(kind, **kw)
        self.shapes.append(shape)
        return shape

    # -- geometry ---------------------------------------------------------------------

    def to_points(self, x: float, y: float) -> tuple[float, float]:
        """Data → SVG points (origin top-left, y down)."""
        (x0, x1), (ytop, ybot) = self.xlim, self.ylim
        area_h = (self.height - self.top_margin) * PT
        px = (x - x0) / (x1 - x0) * self.width * PT
        py = self.top_margin * PT + (y - ytop) / (ybot - ytop) * area_h
        return px, py

    def screen_angle(self, p0: tuple[float, float], p1: tuple[float, float]) -> float:
        """The on-screen angle (degrees, counter-clockwise) of the line p0→p1, kept upright."""
        a = self.to_points(*p0)
        b = self.to_points(*p1)
        angle = math.degrees(math.atan2(-(b[1] - a[1]), b[0] - a[0]))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        return angle


# ------------------------------------------------------------------------ matplotlib


class LadderFigure(Figure):
    """A matplotlib Figure that Jupyter shows as crisp, reproducible SVG even
    without ``%matplotlib inline`` (a ladder is not managed by pyplot)."""

    def _repr_svg_(self) -> str:
        return figure_bytes(self, "svg").decode()


# matplotlib writes random ids and today's date into SVG files unless told not to.
_SVG_RC = {"svg.hashsalt": "tcpbook", "svg.fonttype": "none", "path.simplify": False}


def figure_bytes(fig: Figure, fmt: str, *, dpi: float = 100) -> bytes:
    """``fig`` as SVG or PNG bytes; identical figures give identical bytes."""
    buf = io.BytesIO()
    if fmt == "svg":
        with matplotlib.rc_context(_SVG_RC):
            fig.savefig(buf, format="svg", metadata={"Date": None}, transparent=True)
    elif fmt == "png":
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, transparent=True)
    else:
        raise ParameterError("format", fmt, "'svg' or 'png'")
    return buf.getvalue()


def to_matplotlib(scene: Scene, figure_class: type[Figure] = LadderFigure) -> Any:
    """Paint ``scene`` as a matplotlib Figure (transparent, one axes, no frame)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Polygon

    fig = figure_class(figsize=(scene.width, scene.height), dpi=100)
    fig.patch.set_alpha(0.0)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - scene.top_margin / scene.height))
    ax.set_xlim(*scene.xlim)
    ax.set_ylim(scene.ylim[1], scene.ylim[0])
    ax.set_axis_off()
    ax.patch.set_alpha(0.0)
    for s in scene.shapes:
        gid = s.gid or None
        dash = (0, s.dash) if s.dash else "-"
        if s.kind == "line":
            ax.add_line(Line2D(s.xs, s.ys, color=s.colour, lw=s.lw, alpha=s.alpha, linestyle=dash,
                               solid_capstyle="butt", gid=gid))
        elif s.kind == "arrow":
            ax.add_patch(FancyArrowPatch((s.xs[0], s.ys[0]), (s.xs[1], s.ys[1]), arrowstyle="-|>" if s.head else "-",
                                         mutation_scale=11, lw=s.lw, color=s.colour, linestyle=dash, shrinkA=0,
                                         shrinkB=0, gid=gid))
        elif s.kind == "polygon":
            ax.add_patch(Polygon(list(zip(s.xs, s.ys)), closed=True, fc=s.fill, alpha=s.alpha, ec=s.colour, lw=s.lw, gid=gid))
        elif s.kind == "dot":
            ax.add_line(Line2D(s.xs, s.ys, marker="o", ms=s.size, color=s.colour, lw=0, gid=gid))
        elif s.kind == "cross":
            ax.add_line(Line2D(s.xs, s.ys, marker="x", ms=s.size, mew=s.lw, color=s.colour, lw=0, gid=gid))
        elif s.kind == "text":
            bbox = None
            if s.box is not None:
                bbox = {"boxstyle": f"round,pad={s.box.pad}", "fc": s.box.fc, "ec": s.box.ec, "lw": s.box.lw,
                        "alpha": s.box.alpha}
            common = {"ha": s.ha, "va": s.va, "fontsize": s.size, "color": s.colour, "fontweight": s.weight,
                      "linespacing": LINE,
                      "style": "italic" if s.italic else "normal", "rotation": s.rotation, "gid": gid, "bbox": bbox}
            if s.figure:
                fig.text(s.xs[0], s.ys[0], s.text, **common)
            elif s.offset != (0.0, 0.0):
                ax.annotate(s.text, (s.xs[0], s.ys[0]), xytext=s.offset, textcoords="offset points",
                            rotation_mode="anchor", **common)
            else:
                ax.text(s.xs[0], s.ys[0], s.text, rotation_mode="anchor", **common)
    fig.tcpbook = scene.registry  # type: ignore[attr-defined]
    return fig


# ------------------------------------------------------------------------------- svg


def _n(v: float) -> str:
    """A coordinate with one decimal, no trailing zero: short and byte-stable."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


class _Classes:
    """Repeated presentation attributes become CSS classes: a frame shrinks by a third."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def __call__(self, css: str) -> str:
        if css not in self.rules:
            self.rules[css] = f"c{len(self.rules)}"
        return self.rules[css]

    def style(self) -> str:
        return "".join(f".{name}{{{css}}}" for css, name in self.rules.items())


def to_svg(scene: Scene) -> bytes:
    """Paint ``scene`` as a compact, deterministic SVG document."""
    w, h = scene.width * PT, scene.height * PT
    classes = _Classes()
    out = []
    for s in scene.shapes:
        gid = f' id="{s.gid}"' if s.gid else ""
        if s.kind == "line":
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in (scene.to_points(x, y) for x, y in zip(s.xs, s.ys)))
            out.append(f'<polyline{gid} points="{pts}" class="{classes("fill:none;" + _stroke_css(s))}"/>')
        elif s.kind == "arrow":
            (x0, y0), (x1, y1) = scene.to_points(s.xs[0], s.ys[0]), scene.to_points(s.xs[1], s.ys[1])
            parts = [f'<path d="M{_n(x0)} {_n(y0)}L{_n(x1)} {_n(y1)}" class="{classes("fill:none;" + _stroke_css(s))}"/>']
            if s.head:
                # A filled triangle at the tip, along the arrow (matplotlib's -|> at scale 11).
                length = math.hypot(x1 - x0, y1 - y0) or 1.0
                ux, uy = (x1 - x0) / length, (y1 - y0) / length
                hl, hw = 5.5, 2.2
                bx, by = x1 - ux * hl, y1 - uy * hl
                tri = f"M{_n(x1)} {_n(y1)}L{_n(bx - uy * hw)} {_n(by + ux * hw)}L{_n(bx + uy * hw)} {_n(by - ux * hw)}Z"
                parts.append(f'<path d="{tri}" class="{classes(f"fill:{s.colour}")}"/>')
            out.append(f"<g{gid}>{''.join(parts)}</g>" if gid else "".join(parts))
        elif s.kind == "polygon":
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in (scene.to_points(x, y) for x, y in zip(s.xs, s.ys)))
            css = f"fill:{s.fill};fill-opacity:{s.alpha:g};" + _stroke_css(s, with_alpha=False)
            out.append(f'<polygon{gid} points="{pts}" class="{classes(css)}"/>')
        elif s.kind == "dot":
            for x, y in zip(s.xs, s.ys):
                px, py = scene.to_points(x, y)
                out.append(f'<circle{gid} cx="{_n(px)}" cy="{_n(py)}" r="{_n(s.size / 2)}" class="{classes(f"fill:{s.colour}")}"/>')
        elif s.kind == "cross":
            px, py = scene.to_points(s.xs[0], s.ys[0])
            r = s.size / 2
            d = f"M{_n(px - r)} {_n(py - r)}L{_n(px + r)} {_n(py + r)}M{_n(px - r)} {_n(py + r)}L{_n(px + r)} {_n(py - r)}"
            css = f"stroke:{s.colour};stroke-width:{_n(s.lw)};stroke-linecap:round"
            out.append(f'<path{gid} d="{d}" class="{classes(css)}{" mark" if s.mark else ""}"/>')
        elif s.kind == "text":
            out.append(_svg_text(scene, s, gid, classes))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(w)}pt" height="{_n(h)}pt" viewBox="0 0 {_n(w)} {_n(h)}">'
        f"<style>text{{font-family:{style.CSS_FONT}}}{classes.style()}</style>"
    )
    return (head + "".join(out) + "</svg>").encode()


def _stroke_css(s: Shape, *, with_alpha: bool = True) -> str:
    css = f"stroke:{s.colour};stroke-width:{_n(s.lw)}"
    if with_alpha and s.alpha < 1:
        css += f";stroke-opacity:{s.alpha:g}"
    if s.dash:
        css += f";stroke-dasharray:{_n(s.dash[0] * s.lw)},{_n(s.dash[1] * s.lw)}"
    return css


def _svg_text(scene: Scene, s: Shape, gid: str, classes: _Classes) -> str:
    if s.figure:
        px, py = s.xs[0] * scene.width * PT, (1 - s.ys[0]) * scene.height * PT
    else:
        px, py = scene.to_points(s.xs[0], s.ys[0])
    # matplotlib's offset points are applied on screen before the rotation.
    px, py = px + s.offset[0], py - s.offset[1]
    lines = s.text.split("\n")
    size = s.size
    line_h = size * LINE
    width, height = text_size(s.text, size, bold=s.weight == "bold")
    anchor = {"left": "start", "center": "middle", "right": "end"}[s.ha]
    left = {"left": 0.0, "center": -width / 2, "right": -width}[s.ha]
    top = {"top": 0.0, "center": -height / 2, "bottom": -height, "baseline": -size * 0.8}[s.va]
    # The baseline of each line, with the font's ascent and descent centred in the line.
    first_baseline = (line_h - (ASCENT + DESCENT) * size) / 2 + ASCENT * size
    parts = []
    if s.box is not None:
        pad = s.box.pad * size
        css = f"fill:{s.box.fc}"
        if s.box.alpha < 1:
            css += f";fill-opacity:{s.box.alpha:g}"
        if s.box.ec != "none" and s.box.lw:
            css += f";stroke:{s.box.ec};stroke-width:{_n(s.box.lw)}"
        parts.append(
            f'<rect x="{_n(left - pad)}" y="{_n(top - pad)}" width="{_n(width + 2 * pad)}" height="{_n(height + 2 * pad)}" '
            f'rx="{_n(pad)}" class="{classes(css)}"/>'
        )
    css = f"font-size:{_n(size)}px;fill:{s.colour};text-anchor:{anchor}"
    if s.weight == "bold":
        css += ";font-weight:bold"
    if s.italic:
        css += ";font-style:italic"
    x_text = {"start": left, "middle": left + width / 2, "end": left + width}[anchor]
    if len(lines) == 1:
        body = f'<text x="{_n(x_text)}" y="{_n(top + first_baseline)}" class="{classes(css)}">{escape(lines[0])}</text>'
    else:
        spans = "".join(
            f'<tspan x="{_n(x_text)}" y="{_n(top + line_h * k + first_baseline)}">{escape(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        body = f'<text class="{classes(css)}">{spans}</text>'
    parts.append(body)
    transform = f"translate({_n(px)} {_n(py)})" + (f" rotate({_n(-s.rotation)})" if abs(s.rotation) > 0.05 else "")
    return f'<g{gid} transform="{transform}">{"".join(parts)}</g>'
