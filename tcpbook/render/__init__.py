"""Pictures of a run, each a pure function of a :class:`~tcpbook.trace.Trace`.

* :func:`~tcpbook.render.statediagram.state_diagram` — RFC 9293's state diagram drawn from the transition table,
  with the path each endpoint took (a :class:`graphviz.Digraph`);
* :func:`~tcpbook.render.ladder.ladder` — the ladder (sequence) diagram with states and timer lanes
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

from .export import figure_bytes, picture_bytes, write_diagram
from .ladder import ladder
from .statediagram import path_arcs, state_diagram
from .summary import outcome_facts, outcome_summary
from .textladder import text_ladder

__all__ = [
    "figure_bytes",
    "ladder",
    "outcome_facts",
    "outcome_summary",
    "path_arcs",
    "picture_bytes",
    "state_diagram",
    "text_ladder",
    "write_diagram",
]
