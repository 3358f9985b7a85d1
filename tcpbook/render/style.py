"""Colours and fonts shared by every picture.

The two endpoint colours are the blue and the orange of the Okabe–Ito palette, the
pair that stays distinct for every common kind of colour blindness.  They are
mid-tones, and every stroke is drawn on a transparent background, so the pictures
read on the book's light theme and on its dark theme alike; text that must be dark
sits on a light "pill" of its own.
"""

from __future__ import annotations

# Okabe & Ito (2008), "Color Universal Design": distinguishable by all common CVD types.
CLIENT = "#0072B2"  # blue
SERVER = "#E69F00"  # orange
THIRD = "#009E73"  # bluish green: other legitimate endpoints
SPOOFED = "#CC79A7"  # reddish purple: attackers
DROP = "#D55E00"  # vermillion: the ✗ of a lost segment
GREY = "#8A8F98"  # neutral strokes: readable on white and on near-black
DIM = "#B8BCC4"  # arcs not taken
INK = "#1F2328"  # text on light pills
PILL = "#F4F5F7"  # light pill behind text
FONT = "DejaVu Sans"  # ships with matplotlib; graphviz finds it via fontconfig

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
