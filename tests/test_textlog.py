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
