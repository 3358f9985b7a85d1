"""Saving pictures to files, byte for byte reproducibly (for slides, the CLI and tests)."""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from ..errors import ParameterError
from ..trace import Trace

PICTURES = ("state", "ladder")
FORMATS = (".svg", ".png")

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


def picture_bytes(trace: Trace, picture: str, fmt: str, **options: Any) -> bytes:
    """Render ``picture`` ("state" or "ladder") of ``trace`` as ``fmt`` ("svg"/"png") bytes."""
    from .ladder import ladder
    from .statediagram import state_diagram

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
    ``options`` go to :func:`~tcpbook.render.statediagram.state_diagram` or :func:`~tcpbook.render.ladder.ladder` (and ``dpi`` for PNG).
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
