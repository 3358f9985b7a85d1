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

from dataclasses import dataclass

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


@dataclass
class _Grid:
    """The text ladder's columns: a time column, then one ``|`` per timeline with room
    for state names on the outer sides."""

    lanes: list[str]
    cols: list[int]
    total: int
    time_w: int = 9

    @classmethod
    def of(cls, lanes: list[str], width: int) -> _Grid:
        time_w, state_w = 9, 13
        inner = width - time_w - 2 * state_w - 2
        span = max(inner // max(len(lanes) - 1, 1), 12)
        cols = [time_w + state_w + 1 + k * span for k in range(len(lanes))]
        return cls(lanes, cols, cols[-1] + 1 + state_w, time_w)

    def blank(self) -> list[str]:
        row = [" "] * self.total
        for c in self.cols:
            row[c] = "|"
        return row

    def timed(self, t: float) -> list[str]:
        """A blank row with the time ``t`` in the margin."""
        row = self.blank()
        put(row, 0, f"{t:9.3f}")
        return row


def put(row: list[str], at: int, text: str) -> None:
    """Write ``text`` into ``row`` from column ``at`` (what falls outside is cut)."""
    for k, ch in enumerate(text):
        if 0 <= at + k < len(row):
            row[at + k] = ch


def _check(trace: Trace, width: int, max_segments: int) -> None:
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    if isinstance(width, bool) or not isinstance(width, int) or not 60 <= width <= 400:
        raise ParameterError("width", width, "an integer from 60 to 400")
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 4:
        raise ParameterError("max_segments", max_segments, "an integer >= 4")


def text_ladder(trace: Trace, *, width: int = 100, max_segments: int = 200) -> str:
    """Draw ``trace`` as a plain-text ladder ``width`` characters wide (see the module docstring)."""
    _check(trace, width, max_segments)
    grid = _Grid.of(choose_lanes(trace, None), width)
    lines = [_title_row(grid)]
    plan = _Selection.of(trace, grid.lanes, max_segments)
    shown_states = {id(e) for name in grid.lanes if name != _SPOOFED for e in trace.states_of(name)}
    index = 0
    for e in trace.events:
        if isinstance(e, SegmentEvent):
            lines += _segment_rows(grid, plan, index, e)
            index += 1
        elif isinstance(e, StateEvent) and e.endpoint in grid.lanes and e.old != e.state and id(e) in shown_states:
            lines.append(_state_row(grid, e))
    lines.append("")
    for name in grid.lanes:
        o = trace.outcome.endpoints.get(name)
        if o is not None:
            lines.append(f"{name}: {o.final_state}" + (f", {o.error}" if o.error else ""))
    return "\n".join(lines) + "\n"


def _title_row(grid: _Grid) -> str:
    head = [" "] * grid.total
    put(head, 0, "     time")
    for k, name in enumerate(grid.lanes):
        title = "spoofed" if name == _SPOOFED else name
        put(head, grid.cols[k] - len(title) // 2, title)
    return "".join(head).rstrip()


@dataclass
class _Selection:
    """Which segments get a line: all of a short run; the beginning and end of a long one
    (with one summary line between); the spoofed sources of a flood as one line."""

    keep: set[int]
    spoof: list[tuple[int, SegmentEvent]]
    summary_at: int | None = None
    summary: str = ""

    @classmethod
    def of(cls, trace: Trace, lanes: list[str], max_segments: int) -> _Selection:
        segments = [
            (i, s) for i, s in enumerate(trace.segments)
            if lane_of(s.src, lanes) is not None and lane_of(s.dst, lanes) is not None and s.src != s.dst
        ]
        spoof = [(i, s) for i, s in segments if s.src.startswith(_SPOOFED) or s.dst.startswith(_SPOOFED)]
        spoof_ids = {i for i, _ in spoof}
        real = [(i, s) for i, s in segments if i not in spoof_ids]
        selection = cls({i for i, _ in real}, spoof)
        if len(real) > max_segments:
            middle = real[max_segments // 2: len(real) - (max_segments - max_segments // 2)]
            selection.keep -= {i for i, _ in middle}
            selection.summary_at = middle[0][0]
            selection.summary = (
                f"⋮ {len(middle):,} segments in {fmt_duration(middle[-1][1].t - middle[0][1].t)} not shown "
                f"({sum(1 for _, s in middle if s.retransmission)} retransmitted, "
                f"{sum(1 for _, s in middle if s.dropped)} lost) ⋮"
            )
        return selection


def _segment_rows(grid: _Grid, plan: _Selection, i: int, e: SegmentEvent) -> list[str]:
    """The lines segment ``i`` adds: a summary or flood line before it, then its arrow."""
    rows = []
    if i == plan.summary_at:
        rows.append(" " * grid.time_w + plan.summary.center(grid.total - grid.time_w).rstrip())
    if plan.spoof and i == plan.spoof[0][0]:
        syns = sum(1 for _, s in plan.spoof if s.src.startswith(_SPOOFED))
        row = grid.timed(e.t)
        put(row, grid.time_w + 1,
            f"{syns:,} spoofed SYNs until {plan.spoof[-1][1].t:.3f} s; {len(plan.spoof) - syns:,} SYN,ACKs back")
        rows.append("".join(row).rstrip())
    if i not in plan.keep:
        return rows
    a, b = lane_of(e.src, grid.lanes), lane_of(e.dst, grid.lanes)
    lo, hi = min(a, b), max(a, b)
    row = grid.timed(e.t)
    text = ("↻ " if e.retransmission else "") + e.label() + (" (lost)" if e.dropped else "")
    put(row, grid.cols[lo] + 1, _arrow(grid.cols[hi] - grid.cols[lo] - 1, text, b > a, e.dropped))
    rows.append("".join(row).rstrip())
    return rows


def _state_row(grid: _Grid, e: StateEvent) -> str:
    """A state change: left of the first timeline, right of the others."""
    k = grid.lanes.index(e.endpoint)
    row = grid.timed(e.t)
    if k == 0:
        put(row, grid.cols[0] - 1 - len(e.state), e.state)
    else:
        put(row, grid.cols[k] + 2, e.state)
    return "".join(row).rstrip()
