"""RFC 9293's state diagram, drawn from :data:`tcpbook.table.TRANSITIONS`.

Nothing here writes TCP down a second time: every node is a :class:`~tcpbook.table.State`
and every arrow an :class:`~tcpbook.table.Arc` of the table, so the picture cannot
disagree with the code that runs the simulations.

The layout follows RFC 9293 Figure 5 so a reader who knows the RFC recognises it:
CLOSED at the top, the passive open (LISTEN → SYN-RECEIVED) on the left, the active
open (SYN-SENT) on the right, ESTABLISHED in the middle and the two ways of closing
below it — the active closer down the left (FIN-WAIT-1, FIN-WAIT-2, CLOSING,
TIME-WAIT), the passive closer down the right (CLOSE-WAIT, LAST-ACK).  As in the
RFC's figure, CLOSED is drawn twice: once at the top, where connections are born,
and once at the bottom, where the closing paths end.  Arcs of Figure 5 itself are
solid; the arcs that RFC 9293 describes only in its text (retransmissions as
self-loops, resets, aborts and give-ups) are dashed and thinner.

With a trace, the path each endpoint took is drawn on top, in its own colour, each
arc labelled with the numbers of the steps that took it (①②…), and the state each
endpoint is in at time ``at`` is filled.  Arcs nobody took are dimmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

import graphviz

from ..errors import ParameterError
from ..table import SYNCHRONIZED, TRANSITIONS, Arc, IllegalTransition, Phase, State, find_arc
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
# States whose arcs to CLOSED end at the bottom CLOSED (the closing half of Figure 5).
_CLOSING_HALF = SYNCHRONIZED
_PHASE_NODES: dict[str, set[str]] = {
    "open": {_TOP, "LISTEN", "SYN_RECEIVED", "SYN_SENT", "ESTABLISHED"},
    "close": {"ESTABLISHED", "FIN_WAIT_1", "CLOSE_WAIT", "FIN_WAIT_2", "CLOSING", "LAST_ACK", "TIME_WAIT", _END},
}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def arc_nodes(arc: Arc) -> tuple[str, str]:
    """(tail node, head node) of ``arc`` in the drawing.

    Arcs to CLOSED from the closing half end at the bottom CLOSED, as in Figure 5.
    The resets, aborts and give-ups of the RFC's text (not drawn in Figure 5) end at
    a small CLOSED of their own beside the state they leave, so a dozen of them do
    not tangle into one knot.
    """
    tail = arc.source.name
    if arc.target is not State.CLOSED:
        return tail, arc.target.name
    if not arc.in_figure_5:
        return tail, f"CLOSED_from_{tail}"
    return tail, _END if arc.source in _CLOSING_HALF else _TOP


def _place(node: str) -> tuple[int, int]:
    if node.startswith("CLOSED_from_"):
        rank, order = _PLACE[node.removeprefix("CLOSED_from_")]
        # Beside its source, on the side where there is room.
        return rank, order * 2 + (-1 if order == 0 or node == "CLOSED_from_TIME_WAIT" else 1)
    rank, order = _PLACE[node]
    return rank, order * 2


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
    return _CIRCLED[n - 1] if 1 <= n <= len(_CIRCLED) else f"({n})"


def _step_text(numbers: list[int]) -> str:
    """①②③ for a few steps, ②…⑦ for a run of retransmissions."""
    if len(numbers) > 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{_circled(numbers[0])}…{_circled(numbers[-1])}"
    return "".join(_circled(n) for n in numbers)


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
        source, target = State.parse(e.old), State.parse(e.state)
        try:
            out.append((e.t, find_arc(source, e.cause, target)))
        except IllegalTransition:
            fallback = next((a for a in TRANSITIONS if a.source is source and a.target is target), None)
            if fallback is not None:
                out.append((e.t, fallback))
    return out


def state_diagram(
    trace: Trace | None = None,
    *,
    endpoint: str | Sequence[str] | None = None,
    at: float | None = None,
    phase: str | Phase | None = None,
    loops: bool = True,
) -> graphviz.Digraph:
    """Draw TCP's state diagram (RFC 9293 Figure 5) from the transition table.

    ``trace``: overlay the path each endpoint took (default: client and server) in
    its colour with numbered steps, fill the state it is in at time ``at`` (default:
    the end of the run) and dim the arcs nobody took.  ``phase="open"`` or
    ``"close"``: only the states of the handshake, or of the teardown.  ``loops``:
    draw the self-loops (retransmissions).  Returns a :class:`graphviz.Digraph`;
    Jupyter displays it, ``.pipe("svg")`` or :func:`~tcpbook.render.export.write_diagram`
    saves it.
    """
    if trace is not None and not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace or None")
    if isinstance(phase, Phase):
        phase = phase.value
    if phase is not None and phase not in _PHASE_NODES:
        raise ParameterError("phase", phase, "None, 'open' or 'close'")
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0):
        raise ParameterError("at", at, "a time in seconds >= 0, or None")
    if not isinstance(loops, bool):
        raise ParameterError("loops", loops, "True or False")
    names = _check_endpoints(trace, endpoint)
    nodes = set(_PLACE) if phase is None else set(_PHASE_NODES[phase])

    # Group the table's arcs into drawn edges.
    edges: dict[tuple[str, str, bool], _Edge] = {}
    loop_rows: dict[str, _Edge] = {}
    when_early = None if trace is None else (trace.outcome.end_time if at is None else at)
    taken_arcs = set()
    if trace is not None:
        for name in names:
            for t, arc in _steps(trace, name):
                if t <= when_early + 1e-12:
                    taken_arcs.add(arc)
    for arc in TRANSITIONS:
        if phase is not None and arc.phase.value != phase and arc not in taken_arcs:
            # A focused figure shows its phase's arcs, plus any other arc the run took.
            continue
        tail, head = arc_nodes(arc)
        if head.startswith("CLOSED_from_") and tail in nodes:
            nodes.add(head)
        if tail not in nodes or head not in nodes or (arc.is_loop and not loops):
            continue
        if arc.is_loop:
            # A self-loop is written inside its state ("↻ timeout / SYN"): drawn as
            # arrows, a dozen loops would crowd the arcs that leave each state.
            loop_rows.setdefault(tail, _Edge(tail, tail, False)).arcs.append(arc)
            continue
        key = (tail, head, arc.in_figure_5)
        edges.setdefault(key, _Edge(tail, head, arc.in_figure_5)).arcs.append(arc)

    # Overlay the trace: step numbers per endpoint, visited nodes, current states.
    colours = {name: style.endpoint_colour(name, i) for i, name in enumerate(names)}
    visited: dict[str, list[str]] = {}
    current: dict[str, list[str]] = {}
    when = at
    if trace is not None:
        when = trace.outcome.end_time if at is None else at
        for name in names:
            prev_node = _TOP
            visited.setdefault(_TOP, []).append(name)
            for step, (t, arc) in enumerate(_steps(trace, name), start=1):
                if t > when + 1e-12:
                    break
                tail, head = arc_nodes(arc)
                prev_node = head
                edge = loop_rows.get(tail) if arc.is_loop else edges.get((tail, head, arc.in_figure_5))
                if edge is not None:
                    edge.steps.setdefault(arc, {}).setdefault(name, []).append(step)
                if name not in visited.setdefault(head, []):
                    visited[head].append(name)
            current.setdefault(prev_node, []).append(name)

    dot = graphviz.Digraph(
        "tcp_states",
        graph_attr={
            "bgcolor": "transparent",
            "rankdir": "TB",
            "nodesep": "0.55",
            "ranksep": "0.55",
            "fontname": style.FONT,
            "fontsize": "11",
            "pad": "0.15",
            "newrank": "true",
            "splines": "spline",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": style.FONT,
            "fontsize": "12",
            "color": style.GREY,
            "fillcolor": style.PILL,
            "fontcolor": style.INK,
            "penwidth": "1.4",
            "margin": "0.14,0.06",
        },
        edge_attr={"fontname": style.FONT, "fontsize": "9", "color": style.GREY, "arrowsize": "0.7"},
    )
    title = "TCP connection states (RFC 9293 Figure 5)" if phase is None else (
        "Opening a connection" if phase == "open" else "Closing a connection")
    dot.attr(label=_legend_html(title, names, colours, trace, at), labelloc="t", labeljust="l")

    # Nodes, rank by rank, with invisible edges fixing the left-to-right order.
    by_rank: dict[int, list[str]] = {}
    for node in sorted(nodes, key=_place):
        by_rank.setdefault(_place(node)[0], []).append(node)
    for rank, members in sorted(by_rank.items()):
        with dot.subgraph(name=f"rank{rank}") as sub:
            sub.attr(rank="min" if rank == 0 and phase != "close" else "same")
            for node in members:
                sub.node(node, **_node_attrs(node, trace is not None, visited, current, colours, loop_rows.get(node)))
            for left, right in zip(members, members[1:]):
                sub.edge(left, right, style="invis", weight="5")
    # Figure 5's spine: keep the straight runs straight.
    for tail, head in (("CLOSED", "LISTEN"), ("LISTEN", "ESTABLISHED"), ("ESTABLISHED", "CLOSING"),
                       ("CLOSING", "TIME_WAIT"), ("FIN_WAIT_1", "FIN_WAIT_2"), ("CLOSE_WAIT", "LAST_ACK"),
                       ("LAST_ACK", _END)):
        if tail in nodes and head in nodes and not (tail == "LISTEN" and "SYN_RECEIVED" not in nodes):
            dot.edge(tail, head, style="invis", weight="8")

    for edge in edges.values():
        dot.edge(edge.tail, edge.head, **_edge_attrs(edge, trace is not None, colours))
    return dot


def _legend_html(title: str, names: list[str], colours: dict[str, str], trace: Trace | None, when: float | None) -> str:
    parts = [f'<FONT POINT-SIZE="13" COLOR="{style.GREY}"><B>{escape(title)}</B></FONT>']
    if trace is not None:
        def who(n: str) -> str:
            # Say whose connection is drawn when it is not the one with the other endpoint.
            peer = trace.main_peer(n)
            return n if peer is None or peer in names or peer in trace.endpoints else f"{n} (with {peer})"

        keys = "   ".join(f'<FONT COLOR="{colours[n]}"><B>━━ {escape(who(n))}</B></FONT>' for n in names)
        scenario = escape(str(trace.params.get("scenario", "")))
        parts.append(
            f'<FONT POINT-SIZE="10" COLOR="{style.GREY}">{keys}    ①②… order of steps    '
            + ("◆ state at the end" if when is None else f"◆ state at t = {when:.3f} s")
            + (f"  ({scenario})" if scenario else "") + "</FONT>"
        )
    else:
        parts.append(
            f'<FONT POINT-SIZE="10" COLOR="{style.GREY}">label: event / segment sent    '
            "solid: drawn in Figure 5    dashed: from the RFC's text (§3.8, §3.10)</FONT>"
        )
    return "<" + '<BR ALIGN="LEFT"/>'.join(parts) + '<BR ALIGN="LEFT"/>>'


def _node_attrs(
    node: str,
    with_trace: bool,
    visited: dict[str, list[str]],
    current: dict[str, list[str]],
    colours: dict[str, str],
    loops: _Edge | None,
) -> dict[str, str]:
    state = State.CLOSED if node.startswith("CLOSED") else State[node]
    here = current.get(node, [])
    rows = [f"<B>{escape(state.value)}</B>"]
    attrs = {"id": f"state-{node}", "tooltip": f"{state.value} (Linux: {state.linux_name})"}
    if node.startswith("CLOSED_from_"):
        # A reset/abort exit: the same state CLOSED, drawn small beside its source.
        rows = [escape(state.value)]
        attrs.update(style="rounded,filled,dashed", fontsize="9", margin="0.06,0.03", penwidth="1")
    if loops is not None:
        for arc in loops.arcs:
            per = loops.steps.get(arc)
            text = f"↻ {escape(arc.label)}"
            if per:
                marks = "".join(
                    f'<FONT COLOR="{colours[n]}" POINT-SIZE="11"><B>{_step_text(per[n])}</B></FONT>' for n in colours if n in per)
                text = f"{marks} <B>{text}</B>"
            rows.append(f'<FONT POINT-SIZE="8.5" COLOR="{style.INK if per or not with_trace else style.GREY}">{text}</FONT>')
        if loops.steps:
            attrs["comment"] = "loops: " + "; ".join(
                f"{n} {' '.join(str(s) for s in per[n])}" for per in loops.steps.values() for n in per)
    if here:
        marks = " ".join(f'<FONT COLOR="{colours[n]}" POINT-SIZE="10">◆ {escape(n)}</FONT>' for n in here)
        rows.append(marks)
        attrs.update(penwidth="3", color=colours[here[0]], fillcolor=style.tint(colours[here[0]], 0.22))
    elif with_trace and node not in visited:
        attrs.update(fontcolor=style.GREY, color=style.DIM)
    elif with_trace:
        attrs.update(color=colours[visited[node][0]], penwidth="2")
    attrs["label"] = "<" + "<BR/>".join(rows) + ">"
    return attrs


def _edge_attrs(edge: _Edge, with_trace: bool, colours: dict[str, str]) -> dict[str, str]:
    taken_by = sorted({n for per in edge.steps.values() for n in per}, key=list(colours).index)
    lines = []
    for arc in edge.arcs:
        text = escape(arc.label)
        per = edge.steps.get(arc)
        if per:
            marks = "".join(
                f'<FONT COLOR="{colours[n]}" POINT-SIZE="12"><B>{_step_text(per[n])}</B></FONT>' for n in colours if n in per)
            text = f"{marks} <B>{text}</B>"
        elif with_trace:
            text = f'<FONT COLOR="{style.GREY}">{text}</FONT>'
        lines.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    colour_text = style.INK if not with_trace or taken_by else style.GREY
    label = (
        f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="{style.PILL}E0" STYLE="rounded">'
        f'<TR><TD><FONT COLOR="{colour_text}">'
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{"".join(lines)}</TABLE>'
        "</FONT></TD></TR></TABLE>>"
    )
    attrs = {
        "id": edge.id,
        "label": label,
        "tooltip": "; ".join(f"{a.label}: {a.note}" if a.note else a.label for a in edge.arcs),
        "comment": "; ".join(f"{n} {' '.join(str(s) for s in per[n])}" for per in edge.steps.values() for n in per),
    }
    if not edge.figure_5:
        attrs.update(style="dashed", penwidth="0.9", fontsize="8")
    else:
        attrs.update(penwidth="1.3")
    if _place(edge.head)[0] < _place(edge.tail)[0] or not edge.figure_5:
        # Back arcs and the RFC-text arcs must not pull Figure 5's ranks around.
        attrs["constraint"] = "false"
    if taken_by:
        attrs.update(color=":".join(colours[n] for n in taken_by), penwidth="3", style="solid", arrowsize="0.9")
    elif with_trace:
        attrs.update(color=style.DIM, penwidth="0.8")
    return attrs


def taken_edges(dot: graphviz.Digraph) -> Iterable[str]:
    """The ids of the edges a trace overlay coloured (for tests and tools)."""
    for line in dot.body:
        if 'comment="' in line and 'comment=""' not in line and "id=" in line:
            yield line.split('id="', 1)[1].split('"', 1)[0]
