"""Colours, fonts and sizes shared by every picture.

The two endpoint colours are the blue and the orange of the Okabe–Ito palette, the
pair that stays distinct for every common kind of colour blindness.  They are
mid-tones, and every stroke is drawn on a transparent background, so the pictures
read on the book's light theme and on its dark theme alike; text that must be dark
sits on a light "pill" of its own.  Text never uses a mid-tone directly: words in an
endpoint's colour use :func:`text_colour`, a darker shade of it that keeps WCAG's 4.5:1
contrast against white and the light pills.

Sizes are in points (1 pt = 4/3 CSS px).  Every text of a picture is at least
:data:`MIN_TEXT_PT`, 8.5 pt = 11.3 px, when the picture is shown at its natural size;
the pictures are made as wide as the book's text column (:data:`PAGE_WIDTH_PT`), so on
a laptop screen they are shown at that size, never shrunk.
"""

from __future__ import annotations

import functools

# Okabe & Ito (2008), "Color Universal Design": distinguishable by all common CVD types.
CLIENT = "#0072B2"  # blue
SERVER = "#E69F00"  # orange
THIRD = "#009E73"  # bluish green: other legitimate endpoints
SPOOFED = "#CC79A7"  # reddish purple: attackers
DROP = "#D55E00"  # vermillion: the ✗ of a lost segment
GREY = "#8A8F98"  # neutral strokes: readable on white and on near-black
DIM = "#C9CDD3"  # arcs and strokes a reader may ignore
INK = "#1F2328"  # text on light pills
INK_SOFT = "#5F6670"  # secondary text: 5.8:1 on white, 5.3:1 on a pill
PILL = "#F4F5F7"  # light pill behind text
FONT = "DejaVu Sans"  # ships with matplotlib; graphviz finds it via fontconfig
# What viewers fall back to, in order: DejaVu Sans has no Chinese, so a CJK font follows
# (Debian's fonts-noto-cjk, macOS, Windows), then fonts with metrics close to DejaVu's.
#: The fonts pictures ask for, in order (matplotlib uses the installed ones).
FONT_STACK = (
    "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
    "Hiragino Sans GB", "Microsoft YaHei", "Verdana", "sans-serif",
)
# In SVG and HTML: DejaVu Sans first (the metrics labels are placed with), a CJK font for
# Chinese (a browser also finds any other installed one by itself), then the fallbacks.
#: The same as a CSS font-family list (in SVG and HTML).
CSS_FONT = "'DejaVu Sans','Noto Sans CJK SC',Verdana,sans-serif"
GRAPHVIZ_FONT = "DejaVu Sans,Noto Sans CJK SC"  # pango reads a comma-separated family list

#: The smallest text of any picture, in points (11.3 CSS px at natural size).
MIN_TEXT_PT = 8.5
#: How wide pictures are made, in points (the book's text column at a 1280 px wide
#: screen is 688 px, 516 pt).
PAGE_WIDTH_PT = 512.0

ENDPOINT_COLOURS = (CLIENT, SERVER, THIRD, "#56B4E9", "#F0E442", SPOOFED)


def tint(hex_colour: str, amount: float) -> str:
    """Mix ``hex_colour`` with white: ``amount`` 0 gives white, 1 the colour itself."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def endpoint_colour(name: str, index: int) -> str:
    """The colour of endpoint ``name`` drawn in position ``index``."""
    if name.startswith("spoofed"):
        return SPOOFED
    if name.startswith("client"):
        return CLIENT
    if name == "server":
        return SERVER
    return ENDPOINT_COLOURS[min(index, len(ENDPOINT_COLOURS) - 1)]


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two colours (1 to 21)."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@functools.lru_cache(maxsize=64)
def text_colour(hex_colour: str, background: str = PILL, ratio: float = 4.5) -> str:
    """``hex_colour`` darkened just enough to be read as text on ``background`` (WCAG AA)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(101):
        k = 1 - step / 100
        candidate = "#" + "".join(f"{round(c * k):02X}" for c in (r, g, b))
        if contrast(candidate, background) >= ratio:
            return candidate
    return INK
