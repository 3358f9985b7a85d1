"""A ladder diagram in plain text, for terminals, docs and diffs.

::

      time  client                                              server
     0.000  SYN-SENT  |                                              |  LISTEN
     0.000            |------------ SYN seq=100 -------------------->|
     0.050            |<------- SYN,ACK seq=300 ack=101 -------------|  SYN-RECEIVED
     0.100  ESTABLISHED |

One line per segment (at the time it is sent), one line per state change; a lost
segment stops half-way at ``✗``; a retransmission starts with ``↻``.  Runs with
more segments than ``max_segments`` show their beginning and end with one summary
line between.  The spoofed sources of a SYN flood share one column and one line.
"""

from __future__ import annotations

from ..errors import ParameterError
from ..trace import SegmentEvent, StateEvent, Trace
from .lanes import SPOOFED as _SPOOFED
from .lanes import choose_lanes, fmt_duration, lane_of


def _arrow(width: int, text: str, rightward: bool, dropped: bool) -> str:
    """An arrow exactly ``width`` characters wide with ``text`` in it.

    A lost segment's arrow has no head: it stops at a ``✗`` half-way (or just past
    its label, when the label is longer than half the way).
    """
    label = f" {text} "
    room = width - 2
    if len(label) > room:
        label = label[: max(room - 1, 0)] + "…"
    left = max((room - len(label)) // 2, 0)
    right = room - len(label) - left
    body = list("-" + "-" * left + label + "-" * right + "-")
    if not rightward:
        body = body[::-1]
        # Reversing flipped the label too: write it back the right way round.
        start = 1 + right
        body[start : start + len(label)] = list(label)
    if not dropped:
        if rightward:
            body[-1] = ">"
        else:
            body[0] = "<"
        return "".join(body)
    # Lost: from the sender to a ✗ half-way (further when the label needs room).
    label = f" {text} "[: max(width - 3, 0)]
    length = min(max(width // 2, len(label) + 3), width)
    dashes = length - len(label) - 2
    part = "-" + label + "-" * dashes + "✗" if rightward else "✗" + "-" * dashes + label + "-"
    return part + " " * (width - length) if rightward else " " * (width - length) + part


def text_ladder(trace: Trace, *, width: int = 100, max_segments: int = 200) -> str:
    """Draw ``trace`` as a plain-text ladder ``width`` characters wide (see the module docstring)."""
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    if isinstance(width, bool) or not isinstance(width, int) or not 60 <= width <= 400:
        raise ParameterError("width", width, "an integer from 60 to 400")
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 4:
        raise ParameterError("max_segments", max_segments, "an integer >= 4")
    lanes = choose_lanes(trace, None)
    n = len(lanes)
    time_w, state_w = 9, 13
    inner = width - time_w - 2 * state_w - 2
    span = max(inner // max(n - 1, 1), 12)
    cols = [time_w + state_w + 1 + k * span for k in range(n)]
    total = cols[-1] + 1 + state_w

    def blank() -> list[str]:
        row = [" "] * total
        for c in cols:
            row[c] = "|"
        return row

    def put(row: list[str], at: int, text: str) -> None:
        for k, ch in enumerate(text):
            if 0 <= at + k < len(row):
                row[at + k] = ch

    lines: list[str] = []
    head = [" "] * total
    put(head, 0, "     time")
    for k, name in enumerate(lanes):
        title = "spoofed" if name == _SPOOFED else name
        put(head, cols[k] - len(title) // 2, title)
    lines.append("".join(head).rstrip())

    segments = [
        (i, s) for i, s in enumerate(trace.segments)
        if lane_of(s.src, lanes) is not None and lane_of(s.dst, lanes) is not None and s.src != s.dst
    ]
    spoof = [(i, s) for i, s in segments if s.src.startswith(_SPOOFED) or s.dst.startswith(_SPOOFED)]
    spoof_ids = {i for i, _ in spoof}
    real = [(i, s) for i, s in segments if i not in spoof_ids]
    hidden: set[int] = set()
    if len(real) > max_segments:
        middle = real[max_segments // 2: len(real) - (max_segments - max_segments // 2)]
        hidden = {i for i, _ in middle}
        summary_at = middle[0][0]
        summary = (
            f"⋮ {len(middle):,} segments in {fmt_duration(middle[-1][1].t - middle[0][1].t)} not shown "
            f"({sum(1 for _, s in middle if s.retransmission)} retransmitted, {sum(1 for _, s in middle if s.dropped)} lost) ⋮"
        )
    keep = {i for i, _ in real} - hidden
    first_spoof = spoof[0][0] if spoof else None

    shown_states = {id(e) for name in lanes if name != _SPOOFED for e in trace.states_of(name)}
    index = 0
    for e in trace.events:
        if isinstance(e, SegmentEvent):
            i = index
            index += 1
            if hidden and i == summary_at:
                lines.append(" " * time_w + summary.center(total - time_w).rstrip())
            if i == first_spoof:
                syns = sum(1 for _, s in spoof if s.src.startswith(_SPOOFED))
                row = blank()
                put(row, 0, f"{e.t:9.3f}")
                text = f"{syns:,} spoofed SYNs until {spoof[-1][1].t:.3f} s; {len(spoof) - syns:,} SYN,ACKs back"
                put(row, time_w + 1, text)
                lines.append("".join(row).rstrip())
            if i not in keep:
                continue
            a, b = lane_of(e.src, lanes), lane_of(e.dst, lanes)
            lo, hi = min(a, b), max(a, b)
            row = blank()
            put(row, 0, f"{e.t:9.3f}")
            text = ("↻ " if e.retransmission else "") + e.label() + (" (lost)" if e.dropped else "")
            put(row, cols[lo] + 1, _arrow(cols[hi] - cols[lo] - 1, text, b > a, e.dropped))
            lines.append("".join(row).rstrip())
        elif isinstance(e, StateEvent) and e.endpoint in lanes and e.old != e.state:
            if id(e) not in shown_states:
                continue
            k = lanes.index(e.endpoint)
            row = blank()
            put(row, 0, f"{e.t:9.3f}")
            if k == 0:
                put(row, cols[0] - 1 - len(e.state), e.state)
            else:
                put(row, cols[k] + 2, e.state)
            lines.append("".join(row).rstrip())
    lines.append("")
    for name in lanes:
        o = trace.outcome.endpoints.get(name)
        if o is not None:
            lines.append(f"{name}: {o.final_state}" + (f", {o.error}" if o.error else ""))
    return "\n".join(lines) + "\n"
