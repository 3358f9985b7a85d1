"""Small helpers shared by the core tests: segments and states as plain tuples."""

from __future__ import annotations

from tcpbook.trace import Trace


def segs(trace: Trace, sender: str | None = None) -> list[tuple]:
    """(time, sender, flags, seq, ack, len, dropped, retransmission) for each segment."""
    return [
        (round(e.t, 6), e.src, ",".join(e.flags), e.seq, e.ack, e.len, e.dropped, e.retransmission)
        for e in trace.segments
        if sender is None or e.src == sender
    ]


def wire(trace: Trace, sender: str | None = None, *, delivered_only: bool = False) -> list[tuple]:
    """(sender, flags, seq, ack, len) — the conversation without times."""
    return [
        (e.src, ",".join(e.flags), e.seq, e.ack, e.len)
        for e in trace.segments
        if (sender is None or e.src == sender) and not (delivered_only and e.dropped)
    ]


def states(trace: Trace, endpoint: str) -> list[tuple]:
    """(time, old, new) for each state change of ``endpoint``'s main connection."""
    return [(round(e.t, 6), e.old, e.state) for e in trace.states_of(endpoint)]
