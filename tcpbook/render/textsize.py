"""How much room a text takes, in points, measured with the font the pictures use.

Placing labels so that none covers another needs each label's real size before it is
drawn.  The pictures name DejaVu Sans first (:data:`tcpbook.render.style.FONT_STACK`);
matplotlib ships that font, so its glyph advances are read here from the same file
matplotlib draws with, and a browser showing the SVG with its own copy of DejaVu Sans
lays the text out the same way.  Glyphs DejaVu Sans lacks (Chinese) fall back to a CJK
font in every viewer; they are counted one em wide, which is what CJK fonts make them.

A small ``SLACK`` is added to every width: kerning and hinting in a browser, or a
fallback font slightly wider than DejaVu Sans (Verdana), never make a label outgrow the
room kept for it.
"""

from __future__ import annotations

import functools

ASCENT = 0.928  # DejaVu Sans, in ems: what a browser's text box spans above the baseline
DESCENT = 0.236  # ... and below it
LINE = 1.2  # line height, in ems (matplotlib's default linespacing)
SLACK = 1.04  # 4 % more than the measured advance


@functools.lru_cache(maxsize=2)
def _font(bold: bool):  # noqa: ANN202 - an FT2Font
    from matplotlib import font_manager  # noqa: PLC0415 - only pictures measure text
    from matplotlib.ft2font import FT2Font  # noqa: PLC0415

    props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    font = FT2Font(font_manager.findfont(props, fallback_to_default=True))
    font.set_size(1000, 72)  # advances in thousandths of an em
    return font


@functools.lru_cache(maxsize=4096)
def _advance(char: str, bold: bool) -> float:
    """The advance of one character, in ems."""
    from matplotlib.ft2font import LoadFlags  # noqa: PLC0415

    font = _font(bold)
    if font.get_char_index(ord(char)) == 0:
        return 1.0  # not in DejaVu Sans: a CJK (or other fallback) glyph, one em wide
    glyph = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / 1000


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of one line of ``text`` at ``size`` points, in points (with ``SLACK``)."""
    return sum(_advance(c, bold) for c in text) * size * SLACK


def text_size(text: str, size: float, *, bold: bool = False) -> tuple[float, float]:
    """(width, height) in points of ``text``, which may span several lines."""
    lines = text.split("\n")
    return max(text_width(line, size, bold=bold) for line in lines), size * LINE * len(lines)
