"""RFC 9293's state diagram, drawn from :data:`tcpbook.table.TRANSITIONS`.

Nothing here writes TCP down a second time: every node is a :class:`~tcpbook.table.State`
and every arrow an :class:`~tcpbook.table.Arc` of the table, so the picture cannot
disagree with the code that runs the simulations.

The layout follows RFC 9293 Figure 5 so a reader who knows the RFC recognises it:
CLOSED at the top, the passive open (LISTEN → SYN-RECEIVED) on the left, the active
open (SYN-SENT) on the right, ESTABLISHED in the middle and the two ways of closing
below it — the active closer down the left (FIN-WAIT-1, FIN-WAIT-2, CLOSING,
TIME-WAIT), the passive closer down the right (CLOSE-WAIT, LAST-ACK).  CLOSED is drawn
twice, as in the RFC's figure: once at the top, where connections are born, and once
as the one *sink* at the bottom, where every arc back to CLOSED ends — the closing
paths, and the resets, aborts and give-ups that RFC 9293 describes only in its text
(§3.10), which are dashed.  A retransmission, which leaves a state unchanged, is
written inside its state (``↻ timeout / SYN``).

A diagram shows one *phase*: ``"open"`` (the handshake's states), ``"close"`` (the
teardown's) or ``"all"``; by default the smallest one that holds the run.  With a trace,
the path each endpoint took is drawn strong, in its colour, each arc labelled with the
numbers of the steps that took it (①②…), and the state each endpoint is in at time
``at`` is filled; everything nobody took is drawn quiet: thin and grey, and the
resets nobody suffered without a label.  Every text is at least
:data:`~tcpbook.render.style.MIN_TEXT_PT`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import graphviz

from ..errors import ParameterError
from ..i18n import resolve, tr
from ..table import FIGURE_5_ARCS, TRANSITIONS, Arc, IllegalTransition, Phase, State, find_arc
from ..trace import Trace
from . import style

# Where each node sits, Figure-5 style: (rank from the top, order within the rank).
_TOP, _END = "CLOSED", "CLOSED_end"
_PLACE: dict[str, tuple[int, int]] = {
    _TOP: (0, 1),
    "LISTEN": (1, 1),
    "SYN_RECEIVED": (2, 0),
    "SYN_SENT": (2, 2),
    "ESTABLISHED": (3, 1),
    "FIN_WAIT_1": (4, 0),
    "CLOSE_WAIT": (4, 2),
    "FIN_WAIT_2": (5, 0),
    "CLOSING": (5, 1),
    "LAST_ACK": (5, 2),
    "TIME_WAIT": (6, 1),
    _END: (6, 2),
}
# In the opening phase the sink sits beside ESTABLISHED, where the failed opens end.
_OPEN_SINK_PLACE = (3, 2)
_ALL_SINK_PLACE = (7, 2)
_PHASE_NODES: dict[str, set[str]] = {
    "open": {_TOP, "LISTEN", "SYN_RECEIVED", "SYN_SENT", "ESTABLISHED", _END},
    "close": {"ESTABLISHED", "FIN_WAIT_1", "CLOSE_WAIT", "FIN_WAIT_2", "CLOSING", "LAST_ACK", "TIME_WAIT", _END},
    "all": set(_PLACE),
}
_TITLES = {"open": "Opening a connection", "close": "Closing a connection",
           "all": "TCP connection states (RFC 9293 Figure 5)"}
_TITLES_ZH = {"open": "连接建立", "close": "连接释放", "all": "TCP 连接的全部状态，RFC 9293 图 5"}  # for alt texts
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
NODE_PT = 9  # state names (graphviz reads POINT-SIZE as a whole number)
LABEL_PT = 9  # arc labels and everything else: 12 px, above style.MIN_TEXT_PT


def _cells(parts: list[str], align: str = "LEFT") -> str:
    """Several differently styled pieces of one line, each in a cell of its own.

    graphviz measures text with pango, whose hinted advances come out a few percent
    narrower than a browser draws DejaVu Sans; pieces set one after the other on a line
    would then run into each other.  In cells with padding each piece keeps its own room.
    """
    if len(parts) == 1:
        return parts[0]
    cells = "".join(f'<TD ALIGN="{align}">{p}</TD>' for p in parts)
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"><TR>{cells}</TR></TABLE>'


def arc_nodes(arc: Arc) -> tuple[str, str]:
    """(tail node, head node) of ``arc`` in the drawing: every arc into CLOSED ends at
    the one CLOSED sink at the bottom; the top CLOSED is only ever left."""
    tail = arc.source.name
    if arc.target is State.CLOSED:
        return tail, _END
    return tail, arc.target.name


def _place(node: str, phase: str) -> tuple[int, int]:
    if node == _END and phase == "open":
        return _OPEN_SINK_PLACE
    if node == _END and phase == "all":
        # A rank of its own below TIME-WAIT: beside it, the timeout arc was an external
        # label that graphviz laid onto TIME-WAIT when a back arc (RFC 1122's newer SYN)
        # left TIME-WAIT too.
        return _ALL_SINK_PLACE
    return _PLACE[node]


@dataclass
class _Edge:
    """One drawn arrow: the arcs of the table that share its two nodes and its style."""

    tail: str
    head: str
    figure_5: bool
    arcs: list[Arc] = field(default_factory=list)
    # per arc: {endpoint: [step numbers]}
    steps: dict[Arc, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"arc-{self.tail}-{self.head}-{'fig5' if self.figure_5 else 'text'}"


def _circled(n: int) -> str:
    # ①…⑩ are in DejaVu Sans; beyond them every viewer would pick its own fallback font.
    return _CIRCLED[n - 1] if 1 <= n <= 10 else f"({n})"


def _step_text(numbers: list[int]) -> str:
    """①②③ for a few steps, ②…⑦ for a run of retransmissions; many scattered steps (a
    self-loop taken again and again between other arcs) as ③…(23) (10×), so one
    busy arc never widens the whole diagram."""
    if len(numbers) <= 3:
        return "".join(_circled(n) for n in numbers)
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{_circled(numbers[0])}…{_circled(numbers[-1])}"
    return f"{_circled(numbers[0])}…{_circled(numbers[-1])} ({len(numbers)}×)"


def _check_endpoints(trace: Trace | None, endpoint: str | Sequence[str] | None) -> list[str]:
    if trace is None:
        if endpoint is not None:
            raise ParameterError("endpoint", endpoint, "None when no trace is given")
        return []
    names = list(trace.endpoints) or sorted({e.endpoint for e in trace.state_changes})
    if endpoint is None:
        # Two-party runs: both.  The SYN flood: the server and the first legitimate client.
        chosen = [n for n in names if n == "client" or n == "server"]
        if len(chosen) < 2:
            chosen = [n for n in names if not n.startswith("spoofed")][:2]
        return sorted(chosen, key=lambda n: (not n.startswith("client"), n))
    wanted = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    for name in wanted:
        if name not in names:
            raise ParameterError("endpoint", name, "one of " + ", ".join(names))
    return wanted


def path_arcs(trace: Trace, endpoint: str) -> list[Arc]:
    """The arcs of the table that ``endpoint`` took, in order (its listener's and its main connection's).

    A simulated trace names each arc exactly (its ``cause`` is the arc's event).  A
    trace read from a capture may only know the two states; then the arc between
    them is used, and a jump the table does not have is skipped.
    """
    return [arc for _, arc in _steps(trace, endpoint)]


def _steps(trace: Trace, endpoint: str) -> list[tuple[float, Arc]]:
    """(time, arc) of each step of ``endpoint``'s path, with the same fallbacks as :func:`path_arcs`."""
    out = []
    for e in trace.states_of(endpoint):
        try:
            source, target = State.parse(e.old), State.parse(e.state)
        except ValueError:
            continue  # a state this table does not know: nothing to draw it on
        try:
            out.append((e.t, find_arc(source, e.cause, target)))
        except IllegalTransition:
            fallback = next((a for a in TRANSITIONS if a.source is source and a.target is target), None)
            if fallback is not None:
                out.append((e.t, fallback))
    return out


class StateDiagram(graphviz.Digraph):
    """A :class:`graphviz.Digraph` that Jupyter shows as legible inline SVG with an alt text.

    ``alt`` says what the diagram shows (for a run: the path each endpoint took); the
    HTML form is what the book embeds (:func:`tcpbook.render.figurehtml.svg_figure_html`).
    """

    alt: str = "TCP state diagram"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(include, exclude, **kwargs))
        svg = bundle.get("image/svg+xml") or self.pipe(format="svg", encoding="utf-8")
        if include is None or "text/html" in include:
            bundle["text/html"] = self.html(svg)
        return bundle

    def html(self, svg: str | bytes | None = None) -> str:
        """The diagram as an inline figure with its alt text."""
        from .figurehtml import compact_svg, svg_figure_html  # noqa: PLC0415

        svg = self.pipe(format="svg") if svg is None else svg
        return svg_figure_html(compact_svg(svg), self.alt, kind="tcpbook-state")


def _resolve_phase(phase: str | Phase | None, trace: Trace | None, names: list[str], when: float | None) -> str:
    """The phase drawn: the one asked for, or the smallest that holds every step taken."""
    if isinstance(phase, Phase):
        phase = phase.value
    if phase is not None and phase not in _PHASE_NODES:
        raise ParameterError("phase", phase, "None, 'open', 'close' or 'all'")
    if phase is not None:
        return phase
    if trace is None:
        return "all"
    nodes = {node for name in names for t, arc in _steps(trace, name)
             if when is None or t <= when + 1e-12 for node in arc_nodes(arc)}
    return "open" if nodes <= _PHASE_NODES["open"] else "all"


def state_diagram(
    trace: Trace | None = None,
    *,
    endpoint: str | Sequence[str] | None = None,
    at: float | None = None,
    phase: str | Phase | None = None,
    loops: bool = True,
    lang: str | None = None,
) -> StateDiagram:
    """Draw TCP's state diagram (RFC 9293 Figure 5) from the transition table.

    ``trace``: overlay the path each endpoint took (default: client and server) in
    its colour with numbered steps, fill the state it is in at time ``at`` (default:
    the end of the run) and draw quietly what nobody took.  ``phase``: ``"open"``
    (the handshake's states), ``"close"`` (the teardown's), ``"all"``, or None — the
    smallest of them that holds the run (``"all"`` without a trace).  ``loops``: write
    the self-loops (retransmissions) in their states.  Returns a
    :class:`StateDiagram` (a :class:`graphviz.Digraph`); Jupyter displays it,
    ``.pipe("svg")`` or :func:`~tcpbook.render.export.write_diagram` saves it.  ``lang``:
    the language of its alt text (``.alt``; default the language in use,
    :func:`tcpbook.i18n.language`) — the picture's own words are the protocol's, in English.
    """
    if trace is not None and not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace or None")
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0):
        raise ParameterError("at", at, "a time in seconds >= 0, or None")
    if not isinstance(loops, bool):
        raise ParameterError("loops", loops, "True or False")
    names = _check_endpoints(trace, endpoint)
    when = None if trace is None else (trace.outcome.end_time if at is None else at)
    phase = _resolve_phase(phase, trace, names, when)
    overlay = _Overlay.of(trace, names, when)
    nodes, edges, loop_rows = _edges(phase, loops, overlay)
    overlay.number(edges, loop_rows)
    dot = _graph(phase, names, overlay, trace, at)
    _add_nodes(dot, phase, nodes, overlay, loop_rows)
    _add_spine(dot, nodes)
    for edge in edges.values():
        dot.edge(edge.tail, edge.head, **_edge_attrs(edge, overlay, phase))
    dot.alt = _alt(trace, phase, names, lang)
    return dot


@dataclass
class _Overlay:
    """What a trace adds: each endpoint's steps, the states visited, where each is now."""

    names: list[str]
    colours: dict[str, str]
    steps: dict[str, list[tuple[float, Arc]]]
    when: float | None
    visited: dict[str, list[str]] = field(default_factory=dict)
    current: dict[str, list[str]] = field(default_factory=dict)

    @property
    def on(self) -> bool:
        return self.when is not None

    @classmethod
    def of(cls, trace: Trace | None, names: list[str], when: float | None) -> _Overlay:
        colours = {name: style.endpoint_colour(name, i) for i, name in enumerate(names)}
        steps = {}
        if trace is not None:
            steps = {name: [(t, a) for t, a in _steps(trace, name) if t <= when + 1e-12] for name in names}
        return cls(names, colours, steps, when)

    def taken(self) -> set[Arc]:
        return {arc for steps in self.steps.values() for _, arc in steps}

    def number(self, edges: dict[tuple[str, str, bool], _Edge], loop_rows: dict[str, _Edge]) -> None:
        """Number each endpoint's steps on the edges (and loop rows) they took."""
        for name, steps in self.steps.items():
            prev = _TOP
            self.visited.setdefault(_TOP, []).append(name)
            for step, (_, arc) in enumerate(steps, start=1):
                tail, head = arc_nodes(arc)
                prev = head
                edge = loop_rows.get(tail) if arc.is_loop else edges.get((tail, head, arc.in_figure_5))
                if edge is not None:
                    edge.steps.setdefault(arc, {}).setdefault(name, []).append(step)
                if name not in self.visited.setdefault(head, []):
                    self.visited[head].append(name)
            self.current.setdefault(prev, []).append(name)


def _edges(phase: str, loops: bool, overlay: _Overlay) -> tuple[set[str], dict[tuple[str, str, bool], _Edge], dict[str, _Edge]]:
    """The nodes, the drawn edges (arcs grouped by their two nodes and style) and the loop
    rows of a phase.  A focused phase shows its own arcs, plus any other arc the run took
    (and the nodes those need)."""
    nodes = set(_PHASE_NODES[phase])
    taken = overlay.taken()
    edges: dict[tuple[str, str, bool], _Edge] = {}
    loop_rows: dict[str, _Edge] = {}
    for arc in TRANSITIONS:
        tail, head = arc_nodes(arc)
        in_phase = phase == "all" or arc.phase.value == phase or (arc.phase is Phase.RESET and tail in nodes)
        if tail not in nodes or head not in nodes or not (in_phase or arc in taken):
            continue
        if arc not in taken and not arc.in_figure_5 and not arc.is_loop:
            continue  # a reset, abort or give-up of §3.10 nobody took: the legend names them
        if arc.is_loop:
            if loops and (arc in taken or not overlay.on):
                # Written inside its state: drawn as arrows, a dozen loops would crowd it.
                loop_rows.setdefault(tail, _Edge(tail, tail, False)).arcs.append(arc)
            continue
        key = (tail, head, arc.in_figure_5)
        edges.setdefault(key, _Edge(tail, head, arc.in_figure_5)).arcs.append(arc)
    return nodes, edges, loop_rows


def _graph(phase: str, names: list[str], overlay: _Overlay, trace: Trace | None, at: float | None) -> StateDiagram:
    dot = StateDiagram(
        "tcp_states",
        graph_attr={
            "bgcolor": "transparent", "rankdir": "TB", "nodesep": "0.1", "ranksep": "0.42",
            "fontname": style.GRAPHVIZ_FONT, "fontsize": f"{LABEL_PT:g}", "pad": "0.1", "newrank": "true",
            "splines": "spline", "forcelabels": "true",
        },
        node_attr={
            "shape": "box", "style": "rounded,filled", "fontname": style.GRAPHVIZ_FONT, "fontsize": f"{NODE_PT:g}",
            "color": style.GREY, "fillcolor": style.PILL, "fontcolor": style.INK, "penwidth": "1.4",
            "margin": "0.07,0.03", "height": "0.28",
        },
        edge_attr={"fontname": style.GRAPHVIZ_FONT, "fontsize": f"{LABEL_PT:g}", "color": style.GREY,
                   "arrowsize": "0.7"},
    )
    dot.attr(label=_legend_html(_TITLES[phase], names, overlay, trace, at), labelloc="t", labeljust="l")
    return dot


def _add_nodes(dot: graphviz.Digraph, phase: str, nodes: set[str], overlay: _Overlay, loop_rows: dict[str, _Edge]) -> None:
    """Nodes, rank by rank, with invisible edges fixing the left-to-right order."""
    by_rank: dict[int, list[str]] = {}
    for node in sorted(nodes, key=lambda n: _place(n, phase)):
        by_rank.setdefault(_place(node, phase)[0], []).append(node)
    for rank, members in sorted(by_rank.items()):
        with dot.subgraph(name=f"rank{rank}") as sub:
            sub.attr(rank="min" if rank == 0 and phase != "close" else "same")
            for node in members:
                sub.node(node, **_node_attrs(node, overlay, loop_rows.get(node)))
            for left, right in zip(members, members[1:]):
                sub.edge(left, right, style="invis", weight="5")


def _add_spine(dot: graphviz.Digraph, nodes: set[str]) -> None:
    """Figure 5's spine: keep the straight runs straight."""
    for tail, head in (("CLOSED", "LISTEN"), ("LISTEN", "ESTABLISHED"), ("ESTABLISHED", "CLOSING"),
                       ("CLOSING", "TIME_WAIT"), ("FIN_WAIT_1", "FIN_WAIT_2"), ("CLOSE_WAIT", "LAST_ACK"),
                       ("LAST_ACK", _END)):
        if tail in nodes and head in nodes and not (tail == "LISTEN" and "SYN_RECEIVED" not in nodes):
            dot.edge(tail, head, style="invis", weight="8")


def _legend_html(title: str, names: list[str], overlay: _Overlay, trace: Trace | None, when: float | None) -> str:
    """The title and the key, one row each (a table: rows never overlap, as <BR/> lines of
    different sizes can)."""
    rows = [f'<FONT POINT-SIZE="11" COLOR="{style.INK_SOFT}"><B>{escape(tr(title))}</B></FONT>']
    small = f'<FONT POINT-SIZE="{LABEL_PT}" COLOR="{style.INK_SOFT}">'
    if trace is not None:
        def who(n: str) -> str:
            # Say whose connection is drawn when it is not the one with the other endpoint.
            peer = trace.main_peer(n)
            return n if peer is None or peer in names or peer in trace.endpoints else tr("{n} (with {peer})").format(
                n=n, peer=peer)

        keys = [f'<FONT POINT-SIZE="{LABEL_PT}" COLOR="{style.text_colour(overlay.colours[n], "#FFFFFF")}"><B>━━ {escape(who(n))}</B></FONT>'
                for n in names]
        rows.append(_cells([*keys, f"{small}{tr('①②… steps in order')}</FONT>"]))
        at = tr("◆ state at the end") if when is None else tr("◆ state at t = {t} s").format(t=f"{when:.3f}")
        rows.append(small + at + tr(" · grey: arcs not taken") + "</FONT>")
        rows.append(f"{small}{tr('resets, aborts, give-ups (§3.10): dashed, drawn when taken')}</FONT>")
    else:
        rows.append(f"{small}{tr('label: event / segment sent')}</FONT>")
        rows.append(f"{small}{tr('not drawn: the resets, aborts and give-ups of §3.10')}</FONT>")
    cells = "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">{cells}</TABLE>>'


def _node_attrs(node: str, overlay: _Overlay, loops: _Edge | None) -> dict[str, str]:
    state = State.CLOSED if node.startswith("CLOSED") else State[node]
    here = overlay.current.get(node, [])
    rows = [f"<B>{escape(state.value)}</B>"]
    attrs = {"id": f"state-{node}", "tooltip": f"{state.value} (Linux: {state.linux_name})"}
    if loops is not None:
        rows += _loop_rows(loops, overlay)
        if loops.steps:
            attrs["comment"] = "loops: " + "; ".join(
                f"{n} {' '.join(str(s) for s in per[n])}" for per in loops.steps.values() for n in per)
    if here:
        rows.append(_cells([f'<FONT COLOR="{style.text_colour(overlay.colours[n])}" POINT-SIZE="{LABEL_PT}">◆ {escape(n)}</FONT>'
                             for n in here], align="CENTER"))
        colour = overlay.colours[here[0]]
        attrs.update(penwidth="3", color=colour, fillcolor=style.tint(colour, 0.22))
    elif overlay.on and node not in overlay.visited:
        attrs.update(fontcolor=style.INK_SOFT, color=style.DIM)
    elif overlay.on:
        attrs.update(color=overlay.colours[overlay.visited[node][0]], penwidth="2")
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    attrs["label"] = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">{cells}</TABLE>>'
    return attrs


def _loop_rows(loops: _Edge, overlay: _Overlay) -> list[str]:
    rows = []
    for arc in loops.arcs:
        per = loops.steps.get(arc)
        colour = style.INK if per or not overlay.on else style.INK_SOFT
        text = f'<FONT POINT-SIZE="{LABEL_PT}" COLOR="{colour}">↻ {escape(arc.label)}</FONT>'
        if per:
            text = _cells([*_marks(per, overlay), f'<FONT POINT-SIZE="{LABEL_PT}" COLOR="{colour}"><B>↻ {escape(arc.label)}</B></FONT>'])
        rows.append(text)
    return rows


def _marks(per: dict[str, list[int]], overlay: _Overlay) -> list[str]:
    """The step numbers of each endpoint that took an arc, in its colour."""
    return [f'<FONT POINT-SIZE="{LABEL_PT}" COLOR="{style.text_colour(overlay.colours[n])}"><B>{_step_text(per[n])}</B></FONT>'
            for n in overlay.colours if n in per]


def _edge_label(edge: _Edge, overlay: _Overlay, taken_by: list[str]) -> str | None:
    """The label of an edge: its arcs, each on a line, step numbers in front of the taken
    ones.  In a run's diagram an edge nobody took gets none: it stays quiet."""
    if overlay.on and not taken_by:
        return None
    lines = []
    for arc in edge.arcs:
        per = edge.steps.get(arc)
        if overlay.on and not per:
            continue  # on a taken edge: only the arcs taken
        text = escape(arc.label)
        if per:
            text = _cells([*_marks(per, overlay), f"<B>{text}</B>"])
        lines.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    colour = style.INK
    return (
        f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" BGCOLOR="{style.PILL}E0" STYLE="rounded">'
        f'<TR><TD><FONT COLOR="{colour}">'
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">{"".join(lines)}</TABLE>'
        "</FONT></TD></TR></TABLE>>"
    )


def _edge_attrs(edge: _Edge, overlay: _Overlay, phase: str) -> dict[str, str]:
    taken_by = sorted({n for per in edge.steps.values() for n in per}, key=list(overlay.colours).index)
    attrs = {
        "id": edge.id,
        "tooltip": "; ".join(f"{a.label}: {a.note}" if a.note else a.label for a in edge.arcs),
        "comment": "; ".join(f"{n} {' '.join(str(s) for s in per[n])}" for per in edge.steps.values() for n in per),
    }
    label = _edge_label(edge, overlay, taken_by)
    if label is not None:
        # An edge within one rank gets no room for a label in the layout: an external
        # label, placed afterwards where it covers nothing, instead.
        same_rank = _place(edge.head, phase)[0] == _place(edge.tail, phase)[0]
        attrs["xlabel" if same_rank else "label"] = label
    if not edge.figure_5:
        attrs.update(style="dashed", penwidth="0.9")
    else:
        attrs.update(penwidth="1.3")
    if _place(edge.head, phase)[0] < _place(edge.tail, phase)[0] or not edge.figure_5:
        # Back arcs and the RFC-text arcs must not pull Figure 5's ranks around.
        attrs["constraint"] = "false"
    if taken_by:
        attrs.update(color=":".join(overlay.colours[n] for n in taken_by), penwidth="3", style="solid", arrowsize="0.9")
    elif overlay.on:
        attrs.update(color=style.DIM, penwidth="0.8")
    return attrs


def _alt(trace: Trace | None, phase: str, names: list[str], lang: str | None = None) -> str:
    """The diagram's alt text: for a run, the path each endpoint took and how the run went;
    without one, Figure 5's arcs in words."""
    if trace is not None:
        from .summary import alt_text  # noqa: PLC0415 - summary is a sibling module of the same tier

        return alt_text(trace, "state", phase=phase if phase != "all" else None, lang=lang)
    arcs = [a for a in FIGURE_5_ARCS if phase == "all" or a.phase.value == phase]
    if resolve(lang) == "zh":
        words = "；".join(f"{a.source} 在 {a.event} 时转到 {a.target}" + (f"，发送 {a.sends}" if a.sends else "")
                         for a in arcs)
        return f"TCP 状态图（{_TITLES_ZH[phase]}）：{words}。"
    words = "; ".join(f"{a.source} to {a.target} on {a.event}" + (f", sending {a.sends}" if a.sends else "") for a in arcs)
    return f"{_TITLES[phase]}, TCP's state diagram: {words}."


def taken_edges(dot: graphviz.Digraph) -> Iterable[str]:
    """The ids of the edges a trace overlay coloured (for tests and tools)."""
    for line in dot.body:
        if 'comment="' in line and 'comment=""' not in line and "id=" in line:
            yield line.split('id="', 1)[1].split('"', 1)[0]
