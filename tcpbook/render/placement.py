"""Placing labels so that no two overlap: rectangles that may be rotated, and a board
that remembers what is already placed.

A ladder's labels lie along their sloped arrows, so two labels are compared as rotated
rectangles, with the separating-axis test: two convex shapes are apart exactly when the
projections of both on some edge normal do not overlap.  A quick axis-aligned check
comes first, and the board files rectangles in horizontal bands, so a candidate is only
compared with its neighbours.

All coordinates are points on the page, y growing downwards (as in SVG).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

BAND = 48.0  # points: the height of one band of the board's index


@dataclass(frozen=True)
class Rect:
    """A rectangle centred on (``cx``, ``cy``), ``w`` long along its direction and ``h``
    across, turned ``angle`` degrees counter-clockwise on screen."""

    cx: float
    cy: float
    w: float
    h: float
    angle: float = 0.0

    def __post_init__(self) -> None:
        # Computed once: a board compares each rectangle with many others.
        a = math.radians(self.angle)
        object.__setattr__(self, "_u", (math.cos(a), -math.sin(a)))  # along (screen y points down)
        object.__setattr__(self, "_box", self._aabb(0.0))

    def corners(self, grow: float = 0.0) -> list[tuple[float, float]]:
        """The four corners, the rectangle grown by ``grow`` points on every side."""
        ux, uy = self._u  # type: ignore[attr-defined]
        vx, vy = -uy, ux  # across
        hw, hh = self.w / 2 + grow, self.h / 2 + grow
        return [
            (self.cx + sx * hw * ux + sy * hh * vx, self.cy + sx * hw * uy + sy * hh * vy)
            for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]

    def _aabb(self, grow: float) -> tuple[float, float, float, float]:
        pts = self.corners(grow)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)

    def bounds(self, grow: float = 0.0) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the axis-aligned box around it."""
        if grow == 0.0:
            return self._box  # type: ignore[attr-defined]
        return self._aabb(grow)

    def overlaps(self, other: Rect, gap: float = 0.0) -> bool:
        """True when the two rectangles come closer than ``gap`` points."""
        a0, a1, a2, a3 = self._box  # type: ignore[attr-defined]
        b0, b1, b2, b3 = other._box  # type: ignore[attr-defined]
        if a2 + gap <= b0 or b2 + gap <= a0 or a3 + gap <= b1 or b3 + gap <= a1:
            return False  # apart even with the gap added to both boxes
        if self.angle % 90 == 0 and other.angle % 90 == 0:
            return True  # both axis-aligned: the boxes are the shapes
        mine, theirs = self.corners(gap / 2), other.corners(gap / 2)
        for axis in _normals(mine) + _normals(theirs):
            lo_a, hi_a = _project(mine, axis)
            lo_b, hi_b = _project(theirs, axis)
            if hi_a <= lo_b or hi_b <= lo_a:
                return False
        return True

    def inside(self, left: float, top: float, right: float, bottom: float) -> bool:
        """True when the rectangle lies within the given box."""
        x0, y0, x1, y1 = self.bounds()
        return x0 >= left and y0 >= top and x1 <= right and y1 <= bottom


def _normals(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1), (x2, y2) = pts[0], pts[1], pts[2]
    return [(-(y1 - y0), x1 - x0), (-(y2 - y1), x2 - x1)]


def _project(pts: list[tuple[float, float]], axis: tuple[float, float]) -> tuple[float, float]:
    values = [x * axis[0] + y * axis[1] for x, y in pts]
    return min(values), max(values)


@dataclass
class Board:
    """What is placed so far: rectangles filed by horizontal band, each with a kind."""

    gap: float = 1.0  # points kept free between any two rectangles
    bands: dict[int, list[tuple[Rect, str]]] = field(default_factory=dict)
    items: list[tuple[Rect, str]] = field(default_factory=list)

    def _bands_of(self, rect: Rect) -> range:
        _, top, _, bottom = rect.bounds(self.gap)
        return range(math.floor(top / BAND), math.floor(bottom / BAND) + 1)

    def free(self, rect: Rect) -> bool:
        """True when ``rect`` keeps ``gap`` points from everything placed."""
        for band in self._bands_of(rect):
            for other, _ in self.bands.get(band, ()):
                if rect.overlaps(other, self.gap):
                    return False
        return True

    def add(self, rect: Rect, kind: str = "text") -> Rect:
        for band in self._bands_of(rect):
            self.bands.setdefault(band, []).append((rect, kind))
        self.items.append((rect, kind))
        return rect

    def first_free(self, candidates: Iterable[Rect]) -> Rect | None:
        """The first candidate that is free, or None."""
        for rect in candidates:
            if self.free(rect):
                return rect
        return None

    def placed(self) -> list[tuple[Rect, str]]:
        """Everything on the board, in the order it was placed."""
        return list(self.items)
