"""Pictures of a run, each a pure function of a :class:`~tcpbook.trace.Trace`.

* :func:`~tcpbook.render.statediagram.state_diagram` — RFC 9293's state diagram drawn from the transition table,
  with the path each endpoint took (a :class:`graphviz.Digraph`);
* :func:`~tcpbook.render.ladderdiagram.ladder` — the ladder (sequence) diagram with states and timer lanes
  (a :class:`matplotlib.figure.Figure`);
* :func:`~tcpbook.render.textladder.text_ladder` — the same ladder as plain text;
* :func:`~tcpbook.render.summary.outcome_summary` — a few lines of HTML saying how the run ended;
* :func:`~tcpbook.render.export.write_diagram` — either picture to an ``.svg`` or ``.png`` file.

>>> from tcpbook import simulate
>>> from tcpbook.render import state_diagram, ladder
>>> trace = simulate("handshake", loss=0.3, seed=3)
>>> dot = state_diagram(trace)          # displays in Jupyter
>>> fig = ladder(trace)                 # a matplotlib Figure
>>> len(fig.tcpbook["arrows"]) == len(trace.segments)
True
"""

from __future__ import annotations

import importlib
from typing import Any

# Each name lives in one submodule; importing it on first use keeps `text_ladder`
# (plain text) from loading matplotlib or graphviz.
_HOME = {
    "figure_bytes": "scene",
    "picture_bytes": "export",
    "write_diagram": "export",
    "ladder": "ladderdiagram",
    "path_arcs": "statediagram",
    "state_diagram": "statediagram",
    "outcome_facts": "summary",
    "outcome_summary": "summary",
    "text_ladder": "textladder",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
