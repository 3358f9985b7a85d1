"""The text form of a run."""

from tcpbook import simulate
from tcpbook.textlog import format_event


def test_every_segment_and_state_change_has_a_line():
    t = simulate("close")
    text = t.to_text()
    lines = text.splitlines()
    assert lines[0].startswith("# scenario close:")
    assert sum(" > " in line for line in lines) == len(t.segments)
    assert sum(" -> " in line for line in lines) == len(t.state_changes)
    assert lines[-1].startswith("#   bytes sent 0, delivered 0, digests match")


def test_timers_only_on_request():
    t = simulate("close")
    timer = t.timers[0]
    assert format_event(timer) is None
    assert "timer rto set" in format_event(timer, timers=True)


def test_congestion_window_changes_only_on_request():
    t = simulate("transfer", bytes=60_000, drop=["client:DATA:15"])
    changes = [e for e in t.events if e.type == "cwnd"]
    assert changes and all(format_event(e) is None for e in changes)
    lines = [line for line in t.to_text(cwnd=True).splitlines() if ": cwnd " in line]
    assert len(lines) == len(changes)
    assert "client(server): cwnd 11 ssthresh infinite (slow start)" in lines[0]
    fr = next(e for e in changes if e.reason == "fast retransmit")
    assert f"cwnd {fr.cwnd} ssthresh {fr.ssthresh} (fast retransmit)" in t.to_text(cwnd=True)
