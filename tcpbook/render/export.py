"""Saving pictures to files, byte for byte reproducibly (for slides, the CLI and tests)."""

from __future__ import annotations

import os
import pathlib
from typing import Any

from ..errors import ParameterError
from ..trace import Trace
from .ladderdiagram import ladder
from .scene import figure_bytes
from .statediagram import state_diagram

__all__ = ["FORMATS", "PICTURES", "figure_bytes", "picture_bytes", "write_diagram"]

PICTURES = ("state", "ladder")
FORMATS = (".svg", ".png")


def picture_bytes(trace: Trace, picture: str, fmt: str, **options: Any) -> bytes:
    """Render ``picture`` ("state" or "ladder") of ``trace`` as ``fmt`` ("svg"/"png") bytes."""
    if picture not in PICTURES:
        raise ParameterError("picture", picture, "'state' or 'ladder'")
    if picture == "state":
        dpi = options.pop("dpi", 96)
        dot = state_diagram(trace, **options)
        if fmt == "png":
            dot.attr(dpi=str(dpi))
        return dot.pipe(format=fmt)
    dpi = options.pop("dpi", 100)
    fig = ladder(trace, **options)
    return figure_bytes(fig, fmt, dpi=dpi)


def write_diagram(trace: Trace, picture: str, path: str | os.PathLike[str], **options: Any) -> pathlib.Path:
    """Write the state diagram (``picture="state"``) or the ladder (``"ladder"``) of
    ``trace`` to ``path``; the suffix (``.svg`` or ``.png``) picks the format.
    ``options`` go to :func:`~tcpbook.render.statediagram.state_diagram` or :func:`~tcpbook.render.ladderdiagram.ladder` (and ``dpi`` for PNG).
    Returns the path written.  The same trace and options give the same bytes."""
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    target = pathlib.Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError("path", str(path), "a file name ending in .svg or .png")
    if picture not in PICTURES:
        raise ParameterError("picture", picture, "'state' or 'ladder'")
    data = picture_bytes(trace, picture, suffix[1:], **options)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
