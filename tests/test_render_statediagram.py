"""The state diagram is drawn from the transition table, and its overlay follows the trace."""

from __future__ import annotations

import re
from html import escape

import graphviz
import pytest

from tcpbook import ParameterError, simulate
from tcpbook.render import path_arcs, state_diagram
from tcpbook.render.statediagram import arc_nodes
from tcpbook.table import TRANSITIONS, State


def edge_lines(dot: graphviz.Digraph) -> list[str]:
    return [line for line in dot.body if "->" in line and "style=invis" not in line]


def steps_of(dot: graphviz.Digraph, endpoint: str) -> list[tuple[int, str]]:
    """(step number, drawn edge or node id) for every step the overlay numbered for ``endpoint``."""
    found = []
    for line in dot.body:
        m = re.search(r'comment="([^"]*)"', line)
        if not m or not m.group(1):
            continue
        ident = re.search(r'id="([^"]*)"', line).group(1)
        for part in m.group(1).removeprefix("loops: ").split("; "):
            name, *numbers = part.split(" ")
            if name == endpoint:
                found += [(int(n), ident) for n in numbers]
    return sorted(found)


def test_every_arc_of_the_table_is_in_the_dot_source() -> None:
    source = state_diagram().source
    for arc in TRANSITIONS:
        assert escape(arc.label) in source, arc
    # and every drawn edge joins the nodes of a real arc
    for line in edge_lines(state_diagram()):
        tail, head = re.match(r"\s*(\S+) -> (\S+)", line).groups()
        assert any(arc_nodes(a) == (tail, head) for a in TRANSITIONS), line


def test_all_eleven_states_are_nodes() -> None:
    source = state_diagram().source
    for state in State:
        assert f">{state.value}</B>" in source or f">{state.value}<" in source, state
    assert source.count('id="state-CLOSED"') == 1 and 'id="state-CLOSED_end"' in source


def test_each_drawn_edge_carries_exactly_its_arcs() -> None:
    dot = state_diagram()
    labels_drawn = sum(line.count("<TR><TD ALIGN") for line in edge_lines(dot))
    loops_drawn = dot.source.count("↻ ")
    assert labels_drawn + loops_drawn == len(TRANSITIONS)


def test_without_loops_the_self_loops_are_left_out() -> None:
    source = state_diagram(loops=False).source
    assert "↻" not in source
    assert "timeout / SYN<" not in source


@pytest.mark.parametrize(
    ("scenario", "params"),
    [
        ("full", {"loss": 0.2, "seed": 7}),
        ("handshake", {"drop": ["client:ACK:1"]}),
        ("simultaneous-close", {}),
        ("refused", {}),
        ("abort", {"how": "abort"}),
    ],
)
def test_highlighted_path_equals_the_state_changes(scenario: str, params: dict) -> None:
    trace = simulate(scenario, **params)
    dot = state_diagram(trace)
    for endpoint in ("client", "server"):
        changes = trace.states_of(endpoint)
        expected = []
        for number, (change, arc) in enumerate(zip(changes, path_arcs(trace, endpoint)), start=1):
            assert (arc.source.value, arc.event, arc.target.value) == (change.old, change.cause, change.state)
            tail, head = arc_nodes(arc)
            ident = f"state-{tail}" if arc.is_loop else f"arc-{tail}-{head}-{'fig5' if arc.in_figure_5 else 'text'}"
            expected.append((number, ident))
        assert steps_of(dot, endpoint) == expected


def marked_nodes(dot: graphviz.Digraph, endpoint: str) -> list[str]:
    return [re.search(r'id="state-([^"]*)"', line).group(1) for line in dot.body if f"◆ {endpoint}<" in line]


def test_state_at_a_time_marks_the_current_node() -> None:
    trace = simulate("full", loss=0.2, seed=7)
    times = sorted({e.t for e in trace.state_changes}) + [trace.outcome.end_time]
    for at in [0.0] + [t + 1e-3 for t in times]:
        dot = state_diagram(trace, at=at)
        for endpoint in ("client", "server"):
            state = trace.state_at(endpoint, at)
            [node] = marked_nodes(dot, endpoint)
            assert node.removesuffix("_end") == State(state).name, (at, endpoint)
            # steps after `at` are not numbered
            assert len(steps_of(dot, endpoint)) == sum(1 for e in trace.states_of(endpoint) if e.t <= at)
    # at the end both are CLOSED, at the bottom CLOSED of the figure
    assert marked_nodes(state_diagram(trace), "client") == ["CLOSED_end"]


def test_untaken_arcs_are_dimmed() -> None:
    dot = state_diagram(simulate("handshake"))
    taken = [line for line in edge_lines(dot) if 'comment=""' not in line]
    dimmed = [line for line in edge_lines(dot) if 'comment=""' in line]
    # passive OPEN, rcv SYN, rcv ACK of SYN (server); active OPEN, rcv SYN,ACK (client)
    assert len(taken) == 5
    assert all("#B8BCC4" in line for line in dimmed)


def test_phase_diagrams_show_only_their_states() -> None:
    open_source = state_diagram(phase="open").source
    assert "FIN-WAIT-1" not in open_source and "SYN-SENT" in open_source
    close_source = state_diagram(phase="close").source
    assert "SYN-SENT" not in close_source and "TIME-WAIT" in close_source and "LAST-ACK" in close_source
    trace = simulate("full")
    assert "◆ client" in state_diagram(trace, phase="close").source


def test_dark_mode_friendly_and_svg_renders() -> None:
    dot = state_diagram(simulate("handshake"))
    assert "bgcolor=transparent" in dot.source
    svg = dot.pipe("svg")
    assert svg.startswith(b"<?xml") and b"ESTABLISHED" in svg


def test_identical_inputs_give_identical_svg() -> None:
    a = state_diagram(simulate("full", loss=0.2, seed=7)).pipe("svg")
    b = state_diagram(simulate("full", loss=0.2, seed=7)).pipe("svg")
    assert a == b


@pytest.mark.parametrize(
    "kwargs",
    [{"phase": "middle"}, {"at": -1}, {"loops": "yes"}, {"endpoint": "nobody"}],
)
def test_bad_parameters_raise_parameter_error(kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        state_diagram(simulate("handshake"), **kwargs)


def test_bad_trace_raises_parameter_error() -> None:
    with pytest.raises(ParameterError):
        state_diagram("handshake")  # type: ignore[arg-type]
