"""Captures of the real Linux kernel: the shipped ones import, draw and agree with the
simulator's ``linux`` profile; a fresh recording (root + network namespaces) does too."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

from tcpbook import simulate
from tcpbook.capture import read_capture
from tcpbook.pcap import visible_segments
from tcpbook.render import ladder, path_arcs, state_diagram
from tcpbook.render.statediagram import taken_edges
from tcpbook.trace import SegmentEvent, Trace

ROOT = pathlib.Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tcpbook" / "data" / "captures"
METADATA = json.loads((CAPTURES / "captures.json").read_text())
NAMES = sorted(METADATA["captures"])


def _recorder():
    spec = importlib.util.spec_from_file_location("record_captures", ROOT / "scripts" / "record_captures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["record_captures"] = module
    spec.loader.exec_module(module)
    return module


def _simulated(name: str) -> Trace:
    params = dict(METADATA["captures"][name]["simulator"])
    return simulate(params.pop("scenario"), **params)


def _flags_by_side(segments: list[SegmentEvent], side: str, *, fold_retransmissions: bool = False) -> list[tuple[str, ...]]:
    """The flags of the segments ``side`` sent, with one timing-dependent choice folded:
    the passive closer ACKs the peer's FIN on its own (four-segment close) when its
    application takes longer than the delayed-ACK timer (40 ms) to close, and on its
    FIN (three-segment close) otherwise.  Both are the same kernel rules; which one a
    recording shows depends on how busy the machine is, so a lone ACK of the peer's FIN
    that is followed by this side's FIN is left out."""
    peer_fin_end = {s.seq + s.len + 1 for s in segments if s.src != side and "FIN" in s.flags}
    mine = [s for s in segments if s.src == side and not (fold_retransmissions and s.retransmission)]
    kept = []
    for i, s in enumerate(mine):
        following = mine[i + 1] if i + 1 < len(mine) else None
        lone_fin_ack = s.flags == ("ACK",) and s.len == 0 and s.ack in peer_fin_end
        if lone_fin_ack and following is not None and "FIN" in following.flags and following.ack == s.ack:
            continue
        kept.append(s.flags)
    return kept


def _compare_with_simulator(name: str, real: Trace, *, fold_retransmissions: bool = False) -> None:
    """Same flags per side as the simulator, and SYN retransmission times within 5%.

    ``fold_retransmissions`` (fresh recordings only): on a loaded machine the user-space
    relay can hold a segment past the kernel's 200 ms RTO, and the kernel then rightly
    retransmits it; such timing-driven retransmissions are compared without the copies.
    """
    simulated = _simulated(name)
    seen = [s for _, s in visible_segments(simulated, "client")]  # the recorder captures on the client
    # Each side's sequence of flags is the same; how the two sequences interleave can
    # differ when segments cross (the server's ACK of the data racing the client's FIN).
    for side in ("client", "server"):
        want = _flags_by_side(seen, side, fold_retransmissions=fold_retransmissions)
        got = _flags_by_side(real.segments, side, fold_retransmissions=fold_retransmissions)
        assert got == want, side
    real_syns = [s.t for s in real.segments if s.flags == ("SYN",)]
    sim_syns = [s.t for s in simulated.segments if s.flags == ("SYN",)]
    assert len(real_syns) == len(sim_syns)
    for got, want in zip(real_syns[1:], sim_syns[1:]):  # retransmission times, from the first SYN
        assert abs((got - real_syns[0]) - (want - sim_syns[0])) <= 0.05 * (want - sim_syns[0]), (real_syns, sim_syns)


def test_metadata_names_the_kernel_and_every_file():
    assert METADATA["kernel"] and METADATA["kernel"][0].isdigit()
    assert set(NAMES) == {"data-close", "syn-timeout", "refused", "lost-final-ack"}
    for name in NAMES:
        path = CAPTURES / METADATA["captures"][name]["file"]
        assert path.is_file() and path.stat().st_size < 4096
    assert METADATA["kernel"].split("-")[0] in (CAPTURES / "README.md").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_shipped_capture_imports_and_draws(name):
    trace = read_capture(CAPTURES / f"{name}.pcap", relative=True)
    assert trace.endpoints == ("client", "server") and trace.segments
    fig = ladder(trace)
    assert len(fig.tcpbook["arrows"]) == len(trace.segments)
    dot = state_diagram(trace)
    assert dot.pipe(format="svg").startswith(b"<?xml")
    taken = set(taken_edges(dot))
    for endpoint in trace.endpoints:
        for arc in path_arcs(trace, endpoint):
            if not arc.is_loop:  # loops are written inside their state, not drawn as edges
                assert any(e.startswith(f"arc-{arc.source.name}-") for e in taken), (arc, taken)


@pytest.mark.parametrize("name", NAMES)
def test_shipped_capture_matches_the_simulator(name):
    _compare_with_simulator(name, read_capture(CAPTURES / f"{name}.pcap"))


def test_shipped_captures_tell_their_stories():
    refused = read_capture(CAPTURES / "refused.pcap")
    assert refused.outcome.endpoints["client"].error == "ECONNREFUSED"
    assert METADATA["captures"]["refused"]["client"]["code"] == "ECONNREFUSED"

    timeout = read_capture(CAPTURES / "syn-timeout.pcap")
    assert timeout.state_path("client") == ["CLOSED"] + ["SYN-SENT"] * 6
    assert METADATA["captures"]["syn-timeout"]["client"]["code"] == "ETIMEDOUT"
    gave_up = METADATA["captures"]["syn-timeout"]["client"]["elapsed"]
    assert abs(gave_up - _simulated("syn-timeout").outcome.end_time) <= 0.05 * gave_up

    data = read_capture(CAPTURES / "data-close.pcap")
    client, server = data.outcome.endpoints["client"], data.outcome.endpoints["server"]
    assert client.bytes_sent == server.bytes_delivered == 1000 and data.outcome.digest_match
    assert data.state_path("client")[-1] == "TIME-WAIT" and data.state_path("server")[-1] == "CLOSED"
    assert "SACK permitted" in data.params["options"]["client"]  # what the simulator leaves out

    lost = read_capture(CAPTURES / "lost-final-ack.pcap")
    assert [s.dropped for s in lost.segments].count(True) == 1
    assert ("TIME-WAIT", "rcv FIN") in [(c.state, c.cause) for c in lost.states_of("client") if c.old == c.state]
    assert lost.state_path("server")[-3:] == ["LAST-ACK", "LAST-ACK", "CLOSED"]


@pytest.mark.root
@pytest.mark.slow
def test_fresh_recording_matches_the_simulator(tmp_path):
    recorder = _recorder()
    problem = recorder.environment_problem()
    if problem:
        pytest.skip(f"needs root and network namespaces: {problem}")
    before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in NAMES:
        info = recorder.record(recorder.SITUATIONS[name], tmp_path)
        real = read_capture(tmp_path / info["file"])
        _compare_with_simulator(name, real, fold_retransmissions=True)
        expected_error = _simulated(name).outcome.endpoints["client"].error
        assert info["client"]["code" if expected_error else "error"] == expected_error
    after = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "tcpbook-" not in after.replace(before, "")  # no namespace left behind
