"""The state diagram is drawn from the transition table, and its overlay follows the trace:
one CLOSED sink, the path strong, the rest quiet, a phase at a time, alt text, no tiny text."""

from __future__ import annotations

import re
from html import escape

import graphviz
import pytest

from tcpbook import ParameterError, simulate
from tcpbook.render import path_arcs, state_diagram, style
from tcpbook.render.statediagram import LABEL_PT, NODE_PT, StateDiagram, arc_nodes
from tcpbook.table import TRANSITIONS, State
from tcpbook.trace import Trace


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


DRAWN_WITHOUT_A_RUN = [a for a in TRANSITIONS if a.in_figure_5 or a.is_loop]


def test_the_reference_diagram_draws_figure_5_and_every_loop_of_the_table() -> None:
    source = state_diagram().source
    for arc in DRAWN_WITHOUT_A_RUN:
        assert escape(arc.label) in source, arc
    # and every drawn edge joins the nodes of a real arc
    for line in edge_lines(state_diagram()):
        tail, head = re.match(r"\s*(\S+) -> (\S+)", line).groups()
        assert any(arc_nodes(a) == (tail, head) for a in TRANSITIONS), line


def test_resets_aborts_and_give_ups_are_drawn_when_taken_only() -> None:
    quiet = [a for a in TRANSITIONS if not a.in_figure_5 and not a.is_loop]
    source = state_diagram().source
    assert "not drawn: the resets, aborts and give-ups" in source
    for arc in quiet:
        assert f"{escape(arc.label)}</" not in source.split("tooltip")[0], arc
    refused = simulate("refused")  # SYN-SENT --rcv RST,ACK--> CLOSED, an arc of §3.10.7.3
    dot = state_diagram(refused, endpoint="client")
    assert "arc-SYN_SENT-CLOSED_end-text" in set(_taken(dot))
    assert "rcv RST,ACK / -" in dot.source


def _taken(dot: graphviz.Digraph) -> list[str]:
    from tcpbook.render.statediagram import taken_edges

    return list(taken_edges(dot))


def test_all_eleven_states_are_nodes_with_one_closed_sink() -> None:
    source = state_diagram().source
    for state in State:
        assert f">{state.value}</B>" in source, state
    assert source.count('id="state-CLOSED"') == 1 and source.count('id="state-CLOSED_end"') == 1
    assert "CLOSED_from_" not in source
    # every arc into CLOSED ends at the sink
    for arc in TRANSITIONS:
        if arc.target is State.CLOSED:
            assert arc_nodes(arc)[1] == "CLOSED_end"


def test_each_drawn_edge_carries_exactly_its_arcs() -> None:
    dot = state_diagram()
    labels_drawn = sum(line.count('<TR><TD ALIGN="LEFT">') for line in edge_lines(dot))
    loops_drawn = dot.source.count("↻ ")
    assert labels_drawn + loops_drawn == len(DRAWN_WITHOUT_A_RUN)


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
        dot = state_diagram(trace, at=at, phase="all")
        for endpoint in ("client", "server"):
            state = trace.state_at(endpoint, at)
            [node] = marked_nodes(dot, endpoint)
            assert node.removesuffix("_end") == State(state).name, (at, endpoint)
            # steps after `at` are not numbered
            assert len(steps_of(dot, endpoint)) == sum(1 for e in trace.states_of(endpoint) if e.t <= at)
    # at the end both are CLOSED, at the CLOSED sink
    assert marked_nodes(state_diagram(trace), "client") == ["CLOSED_end"]


def test_the_path_is_strong_and_the_rest_quiet() -> None:
    dot = state_diagram(simulate("handshake"))
    taken = [line for line in edge_lines(dot) if 'comment=""' not in line]
    untaken = [line for line in edge_lines(dot) if 'comment=""' in line]
    # passive OPEN, rcv SYN, rcv ACK of SYN (server); active OPEN, rcv SYN,ACK (client)
    assert len(taken) == 5 and untaken
    assert all("penwidth=3" in line and re.search(r"[\[ ]x?label=<", line) for line in taken)
    # quiet: thin, grey, no label (the tooltip still names the arcs)
    assert all(style.DIM in line and "penwidth=0.8" in line for line in untaken)
    assert all(not re.search(r"[\[ ]x?label=", line) for line in untaken)
    assert all("tooltip=" in line for line in untaken)


def test_the_phase_follows_the_run_unless_asked() -> None:
    assert "Opening a connection" in state_diagram(simulate("handshake")).source
    assert "FIN-WAIT-1" not in state_diagram(simulate("handshake")).source
    assert "Figure 5" in state_diagram(simulate("full")).source
    assert "Figure 5" in state_diagram(simulate("handshake"), phase="all").source
    assert "Figure 5" in state_diagram().source


def test_phase_diagrams_show_only_their_states() -> None:
    open_source = state_diagram(phase="open").source
    assert "FIN-WAIT-1" not in open_source and "SYN-SENT" in open_source
    close_source = state_diagram(phase="close").source
    assert "SYN-SENT" not in close_source and "TIME-WAIT" in close_source and "LAST-ACK" in close_source
    trace = simulate("full")
    focused = state_diagram(trace, phase="close").source
    assert "◆ client" in focused and "SYN-SENT" not in focused and "LISTEN" not in focused


def test_no_text_below_the_minimum_size() -> None:
    assert LABEL_PT >= style.MIN_TEXT_PT and NODE_PT >= style.MIN_TEXT_PT
    for dot in (state_diagram(), state_diagram(simulate("full", loss=0.2, seed=7)), state_diagram(simulate("refused"))):
        svg = dot.pipe("svg").decode()
        sizes = [float(v) for v in re.findall(r'font-size="([\d.]+)"', svg)]
        assert sizes and min(sizes) >= style.MIN_TEXT_PT


def test_the_diagram_carries_its_alt_text_and_shows_as_an_accessible_figure() -> None:
    trace = simulate("handshake", drop=["client:SYN:1"])
    dot = state_diagram(trace, endpoint="client")
    assert isinstance(dot, StateDiagram)
    assert dot.alt.startswith("State diagram of the handshake run (opening a connection): client CLOSED → SYN-SENT (×2)")
    bundle = dot._repr_mimebundle_()
    assert "image/svg+xml" in bundle
    html = bundle["text/html"]
    assert html.startswith('<figure class="tcpbook-figure tcpbook-state">')
    assert 'role="img"' in html and f'aria-label="{escape(dot.alt)}"' in html
    assert "§3.10" in state_diagram().html()  # compaction never rounds the numbers a reader reads
    assert "Figure 5" in state_diagram().alt and "SYN-SENT to ESTABLISHED on rcv SYN,ACK" in state_diagram().alt


def test_a_state_the_table_does_not_know_is_skipped() -> None:
    data = simulate("handshake").to_dict()
    data["events"].append({"type": "state", "t": 0.2, "endpoint": "client", "peer": "server", "old": "ESTABLISHED",
                           "state": "KEEPALIVE-PROBING", "cause": "keepalive timeout"})
    dot = state_diagram(Trace.from_dict(data), endpoint="client")
    assert "ESTABLISHED" in dot.pipe("svg").decode()


def test_dark_mode_friendly_and_svg_renders() -> None:
    dot = state_diagram(simulate("handshake"))
    assert "bgcolor=transparent" in dot.source
    svg = dot.pipe("svg")
    assert svg.startswith(b"<?xml") and b"ESTABLISHED" in svg


def test_identical_inputs_give_identical_svg_and_html() -> None:
    a = state_diagram(simulate("full", loss=0.2, seed=7))
    b = state_diagram(simulate("full", loss=0.2, seed=7))
    assert a.pipe("svg") == b.pipe("svg")
    assert a.html() == b.html()


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


def test_no_arc_label_is_laid_on_a_state() -> None:
    """graphviz's layout (its JSON output, in points): no arc label's box overlaps a node's
    box.  The time-wait-reuse server leaves TIME-WAIT twice (the timeout, RFC 1122's newer
    SYN); with the CLOSED sink beside TIME-WAIT, the timeout's label was laid on TIME-WAIT."""
    import json  # noqa: PLC0415

    for trace, endpoint in ((simulate("time-wait-reuse"), "server"), (simulate("close"), "client"), (None, None)):
        layout = json.loads(state_diagram(trace, endpoint=endpoint, phase="all").pipe(format="json", encoding="utf-8"))
        boxes = []
        for obj in layout["objects"]:
            if "pos" in obj and "width" in obj:
                x, y = map(float, obj["pos"].split(","))
                w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
                boxes.append((obj["name"], x - w / 2, x + w / 2, y - h / 2, y + h / 2))
        for edge in layout.get("edges", []):
            for key in ("lp", "xlp"):
                if key not in edge:
                    continue
                x, y = map(float, edge[key].split(","))
                for name, x0, x1, y0, y1 in boxes:
                    assert not (x0 < x < x1 and y0 - 6 < y < y1 + 6), (endpoint, edge.get(key), name)
