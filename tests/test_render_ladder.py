"""The ladder diagram draws what the trace says: one arrow per segment, a ✗ per loss,
a label per state change, timers as brackets; long runs and floods stay readable."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from tcpbook import ParameterError, get_profile, simulate
from tcpbook.render import figure_bytes, ladder, write_diagram
from tcpbook.render.ladderdiagram import build_time_map, fmt_duration, timer_spans
from tcpbook.trace import Trace


def artists(fig, kind=None, prefix=""):
    ax = fig.axes[0]
    found = [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]
    return [a for a in found if kind is None or isinstance(a, kind)]


def changes(trace, endpoint):
    return [e for e in trace.states_of(endpoint) if e.old != e.state]


@pytest.mark.parametrize(
    ("scenario", "params"),
    [
        ("handshake", {"loss": 0.3, "seed": 3}),
        ("full", {"loss": 0.2, "seed": 7}),
        ("close", {"closer": "server"}),
        ("simultaneous-open", {}),
        ("old-duplicate-syn", {}),
        ("refused", {}),
    ],
)
def test_one_arrow_per_segment_a_cross_per_drop_a_label_per_state_change(scenario: str, params: dict) -> None:
    trace = simulate(scenario, **params)
    fig = ladder(trace)
    arrows = artists(fig, FancyArrowPatch, "segment-")
    assert len(arrows) == len(trace.segments)
    assert sorted(int(a.get_gid().split("-")[1]) for a in arrows) == list(range(len(trace.segments)))
    crosses = artists(fig, Line2D, "drop-")
    assert [c.get_marker() for c in crosses] == ["x"] * sum(s.dropped for s in trace.segments)
    assert sorted(int(c.get_gid().split("-")[1]) for c in crosses) == [i for i, s in enumerate(trace.segments) if s.dropped]
    states = artists(fig, Text, "state-")
    expected = [(e.endpoint, e.state) for name in ("client", "server") for e in changes(trace, name)]
    assert sorted((a.get_gid().split("-")[1], a.get_text()) for a in states) == sorted(expected)
    assert fig.tcpbook["arrows"] == list(range(len(trace.segments)))


def test_labels_are_tcpdump_like_and_retransmissions_marked() -> None:
    trace = simulate("handshake", loss=0.3, seed=3)
    fig = ladder(trace)
    labels = {a.get_gid(): a.get_text() for a in artists(fig, Text, "label-")}
    for i, s in enumerate(trace.segments):
        assert s.label() in labels[f"label-{i}"]
        assert labels[f"label-{i}"].startswith("↻") == s.retransmission
    retransmitted = [i for i, s in enumerate(trace.segments) if s.retransmission]
    assert retransmitted and fig.tcpbook["retransmissions"] == retransmitted
    for i in retransmitted:
        arrow = next(a for a in artists(fig, FancyArrowPatch) if a.get_gid() == f"segment-{i}")
        assert arrow.get_linestyle() != "-"


def test_dropped_segment_stops_half_way() -> None:
    trace = simulate("handshake", drop=["client:SYN:1"])
    fig = ladder(trace)
    xs = {a.get_gid(): a for a in artists(fig, FancyArrowPatch, "segment-")}
    (lx0, _), (lx1, _) = xs["segment-0"]._posA_posB
    (ox0, _), (ox1, _) = xs["segment-1"]._posA_posB
    assert abs(lx1 - lx0) == pytest.approx(abs(ox1 - ox0) / 2, rel=0.05)


def test_arrows_slope_with_their_delay() -> None:
    slow = ladder(simulate("handshake", rtt=0.2))
    fast = ladder(simulate("handshake", rtt=0.05))

    def drop_of(fig):
        a = artists(fig, FancyArrowPatch, "segment-0")[0]
        (x0, y0), (x1, y1) = a._posA_posB
        return (y1 - y0) / abs(x1 - x0)

    # on a compressed axis one unit is one one-way delay: slopes are the same...
    assert drop_of(slow) == pytest.approx(drop_of(fast))
    # ...on a linear axis the arrows lean with their delay relative to the run
    assert ladder(simulate("handshake", rtt=0.2), axis="linear") is not None


def test_timers_are_bracketed_lanes_with_durations() -> None:
    trace = simulate("handshake", drop=["client:SYN:*"], syn_retries=3)
    fig = ladder(trace)
    rto = [t for t in fig.tcpbook["timers"] if t[0] == "client" and t[1] == "rto"]
    spans = [s for s in timer_spans(trace, "client", {None, "server"}) if s.timer == "rto"]
    # one period per SYN sent; Linux gives up by time, not by count (TCP-REFERENCE §2)
    assert len(rto) == len(spans) == sum(1 for s in trace.segments if s.src == "client")
    texts = [a.get_text() for a in fig.axes[0].texts]
    for s in spans:
        assert f"RTO {fmt_duration(s.duration)}" in texts
    # the backoff is visible in the labels: linear timeouts first, then doubling
    assert [s.duration for s in spans] == list(get_profile("linux", syn_retries=3).syn_timeouts())
    assert "ETIMEDOUT" in texts
    no_timers = ladder(trace, timers=False)
    assert no_timers.tcpbook["timers"] == []


def test_time_wait_and_delayed_ack_lanes() -> None:
    trace = simulate("full")
    kinds = {t[1] for t in ladder(trace).tcpbook["timers"]}
    assert {"rto", "time-wait", "delayed-ack"} <= kinds
    texts = [a.get_text() for a in ladder(trace).axes[0].texts]
    assert "TIME-WAIT 60 s" in texts


def test_compressed_axis_marks_cut_gaps() -> None:
    trace = simulate("full")  # TIME-WAIT: 60 s of nothing
    fig = ladder(trace)
    breaks = fig.tcpbook["breaks"]
    [(t0, t1)] = [b for b in breaks if 59.5 < b[1] - b[0] <= 60.0]
    assert any(re.fullmatch(r"… 59\.9 s …", a.get_text()) for a in fig.axes[0].texts)
    assert f"… {fmt_duration(t1 - t0)} …" == "… 59.9 s …"
    assert ladder(trace, axis="linear").tcpbook["breaks"] == []


def test_time_map_keeps_order_and_small_gaps_to_scale() -> None:
    moments = {0.0: 1, 0.05: 1, 0.1: 3, 60.1: 1}
    m = build_time_map(moments, axis="compressed", delay=0.05, hidden=None)
    ys = [m.y(t) for t in sorted(moments)]
    assert ys == sorted(ys)
    assert m.y(0.05) - m.y(0.0) == pytest.approx(1.0)  # one one-way delay = one unit
    assert m.y(60.1) - m.y(0.1) < 5  # a minute is cut down to a break
    assert len(m.breaks) == 1


def test_long_runs_are_summarised_not_smeared() -> None:
    trace = simulate("transfer", bytes=2_000_000)
    n = len(trace.segments)
    fig = ladder(trace, max_segments=40)
    assert len(fig.tcpbook["arrows"]) == 40
    assert len(fig.tcpbook["arrows"]) + len(fig.tcpbook["hidden"]) == n
    assert any("not drawn" in a.get_text() for a in fig.axes[0].texts)
    # a window draws exactly the segments sent in it
    t0, t1 = 0.3, 0.4
    windowed = ladder(trace, window=(t0, t1), max_segments=10_000)
    assert windowed.tcpbook["arrows"] == [i for i, s in enumerate(trace.segments) if t0 <= s.t <= t1]


def test_syn_flood_aggregates_spoofed_sources() -> None:
    trace = simulate("syn-flood", attack_duration=5.0, clients=3, client_interval=1.0)
    fig = ladder(trace, max_segments=1000)
    lanes = [a.get_text() for a in artists(fig, Text, "lane-")]
    # the spoofed lane, the server and two clients: five timelines do not fit the column
    assert lanes[0].startswith("spoofed") and lanes[1:] == ["server", "client-1", "client-2"]
    spoofed = [i for i, s in enumerate(trace.segments) if "spoofed" in s.src or "spoofed" in s.dst]
    assert not set(spoofed) & set(fig.tcpbook["arrows"])
    assert set(spoofed) <= set(fig.tcpbook["hidden"])
    assert artists(fig, None, "spoofed-band")
    drawn = {"server", "client-1", "client-2"}
    legit = [i for i, s in enumerate(trace.segments) if i not in set(spoofed) and {s.src, s.dst} <= drawn]
    assert fig.tcpbook["arrows"] == legit
    every = ladder(trace, max_segments=1000, endpoints=["spoofed", "server", "client-1", "client-2", "client-3"])
    assert [a.get_text() for a in artists(every, Text, "lane-")][-1] == "client-3"


def test_identical_inputs_give_identical_svg_bytes(tmp_path) -> None:
    a = figure_bytes(ladder(simulate("full", loss=0.2, seed=7)), "svg")
    b = figure_bytes(ladder(simulate("full", loss=0.2, seed=7)), "svg")
    assert a == b
    assert b"segment-0" in a  # artists keep their ids in the SVG
    assert b"<dc:date>" not in a
    p1 = write_diagram(simulate("close"), "ladder", tmp_path / "one.svg")
    p2 = write_diagram(simulate("close"), "ladder", tmp_path / "two.svg")
    assert p1.read_bytes() == p2.read_bytes()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"axis": "log"},
        {"timers": "no"},
        {"window": (5, 1)},
        {"window": "all"},
        {"max_segments": 2},
        {"endpoints": ["client", "mallory"]},
        {"figsize": (0, 3)},
    ],
)
def test_bad_parameters_raise_parameter_error(kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        ladder(simulate("handshake"), **kwargs)


def test_direct_svg_shows_the_same_scene_as_matplotlib() -> None:
    from tcpbook.render.ladderdiagram import ladder_svg

    trace = simulate("full", loss=0.2, seed=7)
    svg = ladder_svg(trace).decode()
    fig = ladder(trace)
    for i in fig.tcpbook["arrows"]:
        assert f'id="segment-{i}"' in svg
    assert svg.count('id="drop-') == len(fig.tcpbook["drops"]) == sum(s.dropped for s in trace.segments)
    assert svg.count('id="state-') == len(fig.tcpbook["states"])
    assert svg == ladder_svg(simulate("full", loss=0.2, seed=7)).decode()  # byte-stable
    # every label is in the SVG, whole or (a long one) broken over two lines
    texts = re.findall(r'<g id="label-(\d+)"[^>]*>.*?<text[^>]*>(.*?)</text>', svg)
    for i, inner in texts:
        words = " ".join(re.findall(r">([^<]+)<", f">{inner}<"))
        s = trace.segments[int(i)]
        assert s.label() in words or words.endswith(",".join(s.flags)), (words, s.label())
    assert {int(i) for i, _ in texts} == set(fig.tcpbook["arrows"]) - set(fig.tcpbook["unlabelled"])


# ---------------------------------------------------------------------- legibility


def _scene_texts(scene):
    return [s for s in scene.shapes if s.kind == "text"]


LEGIBILITY_CASES = [
    ("handshake", {}),
    ("handshake", {"loss": 0.3, "seed": 45}),
    ("old-duplicate-syn", {}),
    ("transfer", {"bytes": 14600, "jitter": 0.05, "seed": 3}),
    ("transfer", {"bytes": 14600, "reorder": 0.4, "seed": 4}),
    ("crash", {}),
    ("exit", {}),
    ("dead-peer", {}),
    ("time-wait-reuse", {}),
    ("time-wait-rst", {}),
    ("transfer", {"bytes": 14600, "drop": ["client:DATA:3"]}),
    ("full", {"loss": 0.2, "seed": 7}),
    ("close", {"drop": ["client:ACK:2"]}),
    ("simultaneous-open", {}),
    ("simultaneous-close", {}),
    ("refused", {}),
    ("syn-flood", {"attack_duration": 5.0, "clients": 3, "client_interval": 1.0}),
]


def assert_collision_free(scene) -> None:
    """Every text of the scene is on the placement board, and no two boxes there overlap
    (nor a text and a lost segment's ✗)."""
    from tcpbook.render.ladderdiagram import ladder_scene  # noqa: F401 - the scene's maker

    placed = scene.board.placed()
    texts = _scene_texts(scene)
    assert len([r for r, kind in placed if kind != "mark"]) == len(texts)
    for i, (a, kind_a) in enumerate(placed):
        for b, kind_b in placed[i + 1:]:
            if kind_a == kind_b == "mark":
                continue  # two ✗ may touch (a fan of lost segments); no text may
            assert not a.overlaps(b), (a, kind_a, b, kind_b)
    for rect, _ in placed:
        x0, y0, x1, y1 = rect.bounds()
        assert x0 >= -0.5 and x1 <= scene.width * 72 + 0.5 and y0 >= -0.5 and y1 <= scene.height * 72 + 0.5


@pytest.mark.parametrize(("scenario", "params"), LEGIBILITY_CASES)
def test_no_label_covers_another_and_none_is_small(scenario: str, params: dict) -> None:
    from tcpbook.render import style
    from tcpbook.render.ladderdiagram import ladder_scene

    trace = simulate(scenario, **params)
    scene = ladder_scene(trace)
    assert_collision_free(scene)
    assert min(s.size for s in _scene_texts(scene)) >= style.MIN_TEXT_PT
    assert scene.width * 72 == pytest.approx(style.PAGE_WIDTH_PT)  # as wide as the book's column
    labelled = [i for i in scene.registry["arrows"] if i not in scene.registry["unlabelled"]]
    assert len(labelled) + len(scene.registry["unlabelled"]) == len(scene.registry["arrows"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=st.sampled_from(["handshake", "transfer", "full", "close", "simultaneous-close", "crash", "dead-peer"]),
    loss=st.sampled_from([0.0, 0.1, 0.3, 0.5]),
    seed=st.integers(0, 500),
    jitter=st.sampled_from([0.0, 0.02, 0.08]),
)
def test_placement_never_overlaps(scenario: str, loss: float, seed: int, jitter: float) -> None:
    """Property: whatever the run, the ladder's texts never overlap."""
    from tcpbook.render.ladderdiagram import ladder_scene

    params = {"loss": loss, "seed": seed, "jitter": jitter, "reorder": jitter * 4}
    if scenario in ("transfer", "full"):
        params["bytes"] = 8760
    assert_collision_free(ladder_scene(simulate(scenario, **params)))


def test_crossing_and_repeated_labels_are_shared_not_stacked() -> None:
    """The reordering run: duplicate ACKs sent one after the other share one label."""
    trace = simulate("transfer", bytes=14600, reorder=0.4, seed=3)
    fig = ladder(trace)
    labels = [a.get_text() for a in artists(fig, Text, "label-")]
    shared = [t for t in labels if re.match(r"\d+× ", t)]
    assert shared, labels
    words = [t.replace("\n", " ") for t in labels]
    assert len(words) == len(set(words)), "two labels say the same thing"


def test_every_label_keeps_clear_of_the_crosses() -> None:
    from tcpbook.render.ladderdiagram import ladder_scene

    scene = ladder_scene(simulate("full", loss=0.3, seed=11))
    marks = [r for r, kind in scene.board.placed() if kind == "mark"]
    assert len(marks) == len(scene.registry["drops"]) > 0
    for rect, kind in scene.board.placed():
        if kind != "mark":
            assert not any(rect.overlaps(m) for m in marks)


def test_unknown_timer_and_note_kinds_are_drawn_by_their_own_names() -> None:
    """A new member of the vocabulary (the lead adds keepalive timers, new notes) draws
    without a crash, named from its own words."""
    from tcpbook.render import text_ladder

    data = simulate("full").to_dict()
    established = next(e for e in data["events"] if e["type"] == "state" and e["state"] == "ESTABLISHED")["t"]
    data["events"] += [
        {"type": "timer", "t": established, "endpoint": "client", "peer": "server", "timer": "keepalive",
         "action": "set", "deadline": established + 7200.0, "duration": 7200.0},
        {"type": "timer", "t": established + 1.0, "endpoint": "client", "peer": "server", "timer": "keepalive",
         "action": "cancelled", "deadline": None, "duration": None},
        {"type": "note", "t": established, "endpoint": "server", "text": "something new", "kind": "brand-new-kind"},
    ]
    data["events"].sort(key=lambda e: e["t"])
    trace = Trace.from_dict(data)
    fig = ladder(trace)
    assert "keepalive" in {t[1] for t in fig.tcpbook["timers"]}
    assert text_ladder(trace)


def test_the_ladder_shows_as_an_accessible_figure() -> None:
    from html import escape

    from tcpbook.render.summary import alt_text

    trace = simulate("handshake")
    html = ladder(trace)._repr_html_()
    assert html.startswith('<figure class="tcpbook-figure tcpbook-ladder">')
    assert f'aria-label="{escape(alt_text(trace))}"' in html and 'role="img"' in html
    assert "3 segments; client ESTABLISHED at 0.100 s, server at 0.150 s" in alt_text(trace)
    assert html == ladder(simulate("handshake"))._repr_html_()  # deterministic
    svg = ladder_svg_of(trace)
    assert 'class="c' in svg and "mark" not in svg  # no loss, no ✗
    lossy = ladder_svg_of(simulate("handshake", drop=["client:SYN:1"]))
    assert lossy.count(" mark") == 1


def ladder_svg_of(trace) -> str:
    from tcpbook.render.ladderdiagram import ladder_svg

    return ladder_svg(trace).decode()
