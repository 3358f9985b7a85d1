"""The run as text: tcpdump-like lines a learner can read in a terminal.

::

    0.000000 client > server: SYN seq=100 win=64240 mss=1460 len=0
    0.000000 client: CLOSED -> SYN-SENT (active OPEN)
    0.050000 client > server: SYN seq=100 ... [dropped: loss]
    1.000000 client > server: SYN seq=100 ... [retransmission]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import AppEvent, CwndEvent, NoteEvent, SegmentEvent, StateEvent, TimerEvent

if TYPE_CHECKING:  # pragma: no cover - the Trace imports this module, not the other way
    from .trace import Trace


def format_segment(e: SegmentEvent) -> str:
    text = f"{e.t:11.6f} {e.src} > {e.dst}: {','.join(e.flags)} seq={e.seq}"
    if "ACK" in e.flags:
        text += f" ack={e.ack}"
    text += f" win={e.window}"
    if e.mss is not None:
        text += f" mss={e.mss}"
    text += f" len={e.len}"
    marks = []
    if e.retransmission:
        marks.append("retransmission")
    if e.dropped:
        marks.append(f"dropped: {e.drop_reason}" if e.drop_reason else "dropped")
    if e.note:
        marks.append(e.note)
    if marks:
        text += " [" + "; ".join(marks) + "]"
    return text


def _who(endpoint: str, peer: str | None) -> str:
    return endpoint if peer is None else f"{endpoint}({peer})"


def format_event(e: object, *, timers: bool = False, cwnd: bool = False) -> str | None:
    """One line for one event, or None when the event is not shown (timer events only
    with ``timers``, congestion-window changes only with ``cwnd``)."""
    if isinstance(e, SegmentEvent):
        return format_segment(e)
    if isinstance(e, StateEvent):
        return f"{e.t:11.6f} {_who(e.endpoint, e.peer)}: {e.old} -> {e.state} ({e.cause})"
    if isinstance(e, AppEvent):
        extra = f" {e.nbytes} bytes" if e.nbytes else ""
        detail = f" {e.detail}" if e.detail else ""
        return f"{e.t:11.6f} {_who(e.endpoint, e.peer)}: app {e.action}{extra}{detail}"
    if isinstance(e, NoteEvent):
        return f"{e.t:11.6f} {e.endpoint}: {e.text}"
    if isinstance(e, TimerEvent) and timers:
        tail = f" -> {e.deadline:.6f} ({e.duration:g} s)" if e.action == "set" and e.deadline is not None else ""
        return f"{e.t:11.6f} {_who(e.endpoint, e.peer)}: timer {e.timer} {e.action}{tail}"
    if isinstance(e, CwndEvent) and cwnd:
        ssthresh = "infinite" if e.ssthresh is None else e.ssthresh
        return f"{e.t:11.6f} {_who(e.endpoint, e.peer)}: cwnd {e.cwnd} ssthresh {ssthresh} ({e.reason})"
    return None


def format_outcome(trace: Trace) -> list[str]:
    o = trace.outcome
    lines = ["# outcome"]
    for name, eo in o.endpoints.items():
        err = eo.error or "no error"
        est = f", established at {eo.established_at:.6f} s" if eo.established_at is not None else ""
        lines.append(
            f"#   {name}: {eo.final_state}, {err}{est}; sent {eo.bytes_sent} bytes, delivered {eo.bytes_delivered} bytes"
        )
    lines.append(
        f"#   bytes sent {o.bytes_sent}, delivered {o.bytes_delivered}, "
        f"digests {'match' if o.digest_match else 'DIFFER'}; run ended at {o.end_time:.6f} s"
    )
    for key, value in o.stats.items():
        lines.append(f"#   {key}: {value}")
    return lines


def format_trace(trace: Trace, *, timers: bool = False, cwnd: bool = False) -> str:
    """Every segment, state change, app event and note (timers with ``timers=True``,
    congestion-window changes with ``cwnd=True``)."""
    lines = [f"# scenario {trace.params.get('scenario', '?')}: " + " ".join(
        f"{k}={v}" for k, v in trace.params.items() if k != "scenario" and v not in (None, [], ()))]
    for e in trace.events:
        line = format_event(e, timers=timers, cwnd=cwnd)
        if line is not None:
            lines.append(line)
    lines.extend(format_outcome(trace))
    return "\n".join(lines) + "\n"
