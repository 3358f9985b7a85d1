"""tcpbook.analysis.ports: how long a connection keeps the client's port, and when a
client that reconnects at a steady rate runs out of ephemeral ports."""

import numpy as np
import pytest

from tcpbook import simulate
from tcpbook.analysis.ports import (
    EPHEMERAL_PORTS,
    MODES,
    TW_REUSE_DELAY,
    port_hold,
    reconnect,
    reconnect_explorer,
    reconnect_figure,
    server_time_wait,
)
from tcpbook.errors import ParameterError
from tcpbook.staticexplorer import StaticExplorer


def test_linux_default_range_has_28232_ports():
    assert EPHEMERAL_PORTS == 60999 - 32768 + 1 == 28232


def test_the_client_that_closes_first_holds_its_port_through_time_wait():
    trace = simulate("close", closer="client", close_delay=0.0)
    tw = next(e.t for e in trace.states_of("client") if e.state == "TIME-WAIT")
    hold = port_hold("client")
    assert hold == pytest.approx(tw + 60.0)  # connect() at 0, TIME-WAIT is Linux's fixed 60 s
    assert port_hold("client", profile="rfc") == pytest.approx(hold - 60.0 + 240.0, abs=0.5)  # 2·MSL, MSL 2 min
    # tcp_tw_reuse: connect() may take the 4-tuple back one second after TIME-WAIT began
    assert port_hold("client", True) == pytest.approx(tw + TW_REUSE_DELAY)
    assert port_hold("client", True, reuse_delay=0.25) == pytest.approx(tw + 0.25)


def test_when_the_server_closes_first_the_client_port_is_free_at_once():
    trace = simulate("close", closer="server", close_delay=0.0)
    assert "TIME-WAIT" not in trace.state_path("client")
    assert port_hold("server") == pytest.approx(trace.states_of("client")[-1].t)
    assert port_hold("server") < 1.0
    assert server_time_wait() == pytest.approx(60.0)
    assert server_time_wait(profile="rfc") == pytest.approx(240.0)


def test_below_the_limit_nothing_fails_and_the_ports_plateau_at_rate_times_hold():
    run = reconnect(100, 60.0, duration=120)
    assert run.failures == 0 and run.exhausted_at is None
    assert run.attempts == 12000
    assert run.busy.max() == 6000  # 100/s for 60 s
    assert run.busy[-1] == 6000


def test_above_the_limit_connect_fails_once_every_port_is_busy():
    run = reconnect(600, 60.0, ports=28232, duration=120)
    assert run.sustainable_rate == pytest.approx(28232 / 60)
    assert run.exhausted_at == pytest.approx(28232 / 600)  # the 28233rd attempt
    assert run.busy.max() == 28232
    # no port frees before the first one's hold ends; then as many succeed as are freed
    late = (run.times >= run.exhausted_at) & (run.times < 60.0)
    assert run.failed[late].all()
    ok_per_window = (~run.failed[(run.times >= 10) & (run.times < 70)]).sum()
    assert ok_per_window == 28232  # in any window of one hold, at most `ports` succeed
    seconds, ok, bad = run.per_second()
    assert len(seconds) == 120 and (ok + bad == 600).all()
    assert ok.sum() + bad.sum() == run.attempts and bad.sum() == run.failures


def test_small_port_ranges_run_out_exactly():
    run = reconnect(2, 3.0, ports=4, duration=6)  # attempts at 0, .5, 1, ... 5.5
    assert run.failed.tolist() == [False] * 4 + [True] * 2 + [False] * 4 + [True] * 2
    assert run.busy.tolist() == [1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"rate": 0, "hold": 1}, "rate"), ({"rate": 1, "hold": -1}, "hold"), ({"rate": 1, "hold": 1, "ports": 0}, "ports"),
     ({"rate": 1, "hold": 1, "duration": 0}, "duration"), ({"rate": 1e6, "hold": 1, "duration": 3600}, "duration")],
)
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError) as err:
        reconnect(**kwargs)
    assert err.value.name == name


def test_bad_mode_and_closer_are_refused():
    with pytest.raises(ParameterError):
        reconnect_figure(100, "nobody closes")
    with pytest.raises(ParameterError):
        port_hold("nobody")


def test_figure_shows_the_run_and_its_verdict():
    holds = {mode: port_hold(*MODES[mode]) for mode in MODES}
    fig = reconnect_figure(600, "client closes", holds=holds, server_tw=60.0)
    top, bottom = fig.axes
    busy = top.lines[0].get_ydata()
    assert max(busy) == EPHEMERAL_PORTS
    assert "ports run out at 47.0 s" in top.get_title() or "ports run out at 47.1 s" in top.get_title()
    fig = reconnect_figure(600, "client, tcp_tw_reuse", holds=holds, server_tw=60.0)
    assert "no connect() fails" in fig.axes[0].get_title()
    fig = reconnect_figure(600, "server closes", holds=holds, server_tw=60.0)
    server_line = fig.axes[0].lines[-1].get_ydata()
    assert server_line.max() <= EPHEMERAL_PORTS  # one TIME-WAIT entry per 4-tuple at most
    # 30 s in (the curve is drawn at 0.1 s steps): every connection closed so far is in TIME-WAIT
    assert np.isclose(server_line[300], 600 * (30 - holds["server closes"]), atol=2)


def test_static_explorer_embeds_one_frame_per_point_as_svg_with_alt_text():
    box = reconnect_explorer(rates=(100, 600), modes=("client closes", "server closes"), duration=30, static=True)
    assert isinstance(box, StaticExplorer)
    assert box.shape == [2, 2]
    rate, mode = box.controls
    assert (rate.kind, rate.labels, rate.index) == ("slider", ("100/s", "600/s"), 1)
    assert (mode.kind, mode.labels, mode.index) == ("buttons", ("client closes", "server closes"), 0)
    frames = [box.frames[(i, j)][0] for i in range(2) for j in range(2)]
    assert len(set(frames)) == 4
    for picture in frames:
        assert "<svg" in picture and "<img" not in picture  # inline in the frame; an <img> on the page
        assert 'role="img"' in picture and "connect() per second" in picture  # the alt text names the rate
    html = box.html()
    assert html.count("<svg") == 4 and 'type="range"' in html and 'type="radio"' in html
    assert html.count('<img alt="Chart in 2 panels: ') == 4 and html.count('src="data:image/svg+xml,<svg') == 4


def test_live_explorer_redraws_on_a_change():
    box = reconnect_explorer(rates=(100, 600), duration=30, static=False)
    (slider, buttons), image = box.children[0].children, box.children[1]
    before = bytes(image.value)
    slider.value = 100.0
    after_rate = bytes(image.value)
    assert after_rate != before
    buttons.value = "server closes"
    assert bytes(image.value) != after_rate
