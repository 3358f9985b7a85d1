"""Ladder (sequence) diagrams of a run.

:func:`ladder` returns a matplotlib Figure; :func:`ladder_svg` writes the same
picture straight to compact SVG (what the explorers use: about a millisecond
instead of tens).  Both paint one layout, :func:`ladder_scene`.

Each endpoint is a vertical timeline and time flows down.  Every segment is an
arrow from its sender's timeline to its receiver's, sloped by the time it spent in
flight, and labelled as tcpdump would print it (``SYN,ACK seq=300 ack=101``).  A
lost segment stops half-way at a ✗; a retransmission is dashed and marked ↻.
Each endpoint's state is written beside its timeline where it changes, and its
timers (retransmission timeout with its backoff, TIME-WAIT, delayed ACK) are drawn
as brackets in lanes beside the timeline, labelled with their durations.

Time scales in TCP differ by a thousand times (a 100 ms round trip, a SYN backoff of
a minute, 60 s of TIME-WAIT), so by default the axis is *compressed*: every gap up to
a few one-way delays is drawn to scale (arrows keep their true slopes), and each
longer quiet gap is cut out and drawn as a zig-zag break labelled with the time it
hides ("… 58 s …").  ``axis="linear"`` draws true time instead.

**No label covers another.**  Every text is placed on a board that knows what is
already there (:mod:`tcpbook.render.placement`): a segment's label is tried at
several places along its arrow, above and below it, and takes the first free one;
when none is free, the layout makes more room at that moment and starts again.
Segments that repeat the same label one after the other (duplicate ACKs) share one
label, ``3× ACK seq=301 ack=101``; a burst of many segments leaving at once is drawn
as a tight fan whose first and last are labelled, one label counting the rest.  Every
text is at least :data:`~tcpbook.render.style.MIN_TEXT_PT` (11 CSS px at natural
size), and the picture is as wide as the book's text column.

Long runs (thousands of segments) are summarised: the beginning and the end are
drawn and the middle becomes one labelled break (or pass ``window=(t0, t1)``).
Runs with many endpoints (a SYN flood) draw the server and a few legitimate clients,
and aggregate the spoofed sources into one lane with a band instead of arrows.

The figure carries a registry of what it drew, ``fig.tcpbook``: a dict with lists
``arrows`` (segment indices), ``drops``, ``retransmissions``, ``states``
(``(endpoint, state, t)``), ``timers``, ``breaks``, ``hidden`` (segments summarised
rather than drawn), ``refused`` (segments the receiving stack dropped, e.g. a
full SYN queue) and ``unlabelled`` (segments drawn without a label of their own: in a
fan, sharing a repeated label, or — rarely — left out for room).  Each artist also
has a ``gid`` (``segment-3``, ``drop-3``, ``state-client-0``…) that becomes an id in
SVG output.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from ..errors import ParameterError
from ..i18n import tr
from ..trace import SegmentEvent, StateEvent, TimerEvent, Trace
from ..vocabulary import NoteKind
from . import style
from .figurehtml import svg_figure_html
from .lanes import SPOOFED as _SPOOFED
from .lanes import TIMER_NAMES, TIMER_ORDER, choose_lanes, fmt_duration, fmt_time, lane_of, timer_name, timer_rank
from .placement import Board, Rect
from .scene import Box, LadderFigure, Scene, to_matplotlib, to_svg
from .summary import alt_text
from .textsize import LINE, text_size, text_width

__all__ = ["TIMER_NAMES", "TIMER_ORDER", "choose_lanes", "fmt_duration", "fmt_time", "ladder", "ladder_html", "ladder_scene",
           "ladder_svg"]

PT_PER_UNIT = 22.0  # points per one-way delay on the compressed axis
SIZE = style.MIN_TEXT_PT  # labels, states, timers, time stamps, legend
TITLE_SIZE = 11.0  # lane titles
PILL_PAD = 0.12  # label pills: padding in font sizes
TIMER_LANE = 12.0  # points between two timer lanes (a rotated label fits in between)
LEADER = 8.0  # points from a timeline (or its timer lanes) to its state labels
STAMP_ROOM = 40.0  # points of left margin for the time stamps
ATTEMPTS = 8  # layouts tried, each with more room where labels did not fit
MORE_ROOM = 0.8  # units of time axis added before a crowded moment, each attempt
EPS = 1e-9

# ----------------------------------------------------------------------- time map


@dataclass
class TimeMap:
    """Maps (time, stacking slot) to a y position: piecewise linear with cut-out gaps.

    ``moments`` are the distinct times at which something is drawn; between two
    consecutive moments the axis is either to scale or a *break*.
    """

    times: list[float]
    ys: list[float]  # y of each moment (top of its slot)
    slots: list[float]  # height of one stacking slot at each moment
    breaks: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # (t0, t1, y0, y1, label)
    unit: float = 1.0  # seconds per y unit (to-scale parts)
    used: list[int] = field(default_factory=list)  # extra slots taken at each moment

    def y(self, t: float, k: int = 0) -> float:
        """The y of time ``t`` (stacking slot ``k``)."""
        i = bisect.bisect_right(self.times, t + 1e-12) - 1
        if i < 0:
            return self.ys[0] - (self.times[0] - t) / self.unit + k * self.slots[0]
        if i >= len(self.times) - 1 or abs(self.times[i] - t) < 1e-12:
            base = self.ys[i] + (t - self.times[i]) / self.unit
            return base + k * self.slots[i]
        t0, t1, y0, y1 = self.times[i], self.times[i + 1], self.ys[i], self.ys[i + 1]
        # Inside a gap: interpolate, after the slots used at t0.
        y0 = y0 + self.used[i] * self.slots[i]
        return y0 + (y1 - y0) * (t - t0) / (t1 - t0) + k * self.slots[i]

    @property
    def bottom(self) -> float:
        """The y just below the last moment's slots."""
        return self.ys[-1] + self.used[-1] * self.slots[-1]


def build_time_map(
    moments: dict[float, int],
    *,
    axis: str,
    delay: float,
    hidden: tuple[float, float, str] | None,
    room: dict[float, float] | None = None,
) -> TimeMap:
    """Place each moment (time → slots it needs) on the y axis.

    ``room`` (time → units) adds space before a moment, and widens its slots, where an
    earlier layout found its labels crowded.
    """
    room = room or {}
    times = sorted(moments)
    if not times:
        times = [0.0]
        moments = {0.0: 1}
    if axis == "linear":
        span = max(times[-1] - times[0], delay * 4, 1e-6)
        unit = span / 40.0  # the whole run is about 40 units tall
        ys = [(t - times[0]) / unit for t in times]
        shift = 0.0
        for i, t in enumerate(times):  # room pushes everything after it down
            shift += room.get(t, 0.0)
            ys[i] += shift
        # True time: stacked segments are only nudged apart, nothing is pushed down.
        slots = [(0.7 if moments[t] <= 8 else 5.0 / moments[t]) + room.get(t, 0.0) / 4 for t in times]
        return TimeMap(times, ys, slots, [], unit=unit, used=[0] * len(times))
    unit = max(delay, 1e-4)
    # A burst of many segments at one instant is drawn as a tight fan, not a tower.
    slots = [(0.7 if moments[t] <= 8 else max(7.0 / moments[t], 0.12)) + room.get(t, 0.0) / 4 for t in times]
    threshold = 4.0 * unit  # quiet gaps longer than four one-way delays are cut out
    ys = [room.get(times[0], 0.0)]
    breaks = []
    used = [max(moments[t], 1) - 1 for t in times]
    for i in range(1, len(times)):
        gap = times[i] - times[i - 1]
        start = ys[-1] + used[i - 1] * slots[i - 1]
        hidden_here = hidden is not None and times[i - 1] <= hidden[0] + 1e-12 and times[i] >= hidden[1] - 1e-12
        if hidden_here:
            height = 3.2
            breaks.append((times[i - 1], times[i], start, start + height, hidden[2]))
        elif gap > threshold:
            height = 2.0 + 0.35 * math.log10(gap / threshold)
            breaks.append((times[i - 1], times[i], start, start + height, f"… {fmt_duration(gap)} …"))
        else:
            # To scale, but two distinct instants stay at least a label's height apart.
            height = max(gap / unit, 0.6 if gap > 0 else 0.0)
        ys.append(start + height + room.get(times[i], 0.0))
    return TimeMap(times, ys, slots, breaks, unit=unit, used=used)


# ------------------------------------------------------------------------ timers


@dataclass
class TimerSpan:
    endpoint: str
    timer: str
    start: float
    end: float
    duration: float | None
    how: str  # "fired", "cancelled", "restarted", "pending"


def timer_spans(trace: Trace, endpoint: str, peers: set[str | None], events: list[TimerEvent] | None = None) -> list[TimerSpan]:
    """Each period a timer of ``endpoint`` ran, from set to fired, cancelled or restarted."""
    open_: dict[tuple[str | None, str], TimerSpan] = {}
    spans: list[TimerSpan] = []
    for e in trace.timers if events is None else events:
        if e.endpoint != endpoint or e.peer not in peers:
            continue
        key = (e.peer, e.timer)
        if e.action == "set":
            if key in open_:
                span = open_.pop(key)
                span.end, span.how = e.t, "restarted"
                spans.append(span)
            open_[key] = TimerSpan(endpoint, e.timer, e.t, e.deadline if e.deadline is not None else e.t, e.duration, "pending")
        elif key in open_:
            span = open_.pop(key)
            span.end, span.how = e.t, e.action
            spans.append(span)
    for span in open_.values():
        span.end = min(span.end, max(trace.outcome.end_time, span.start))
        spans.append(span)
    spans.sort(key=lambda s: (s.start, s.timer))
    return spans


# ------------------------------------------------------------------------ the API


def _check(trace: Any, axis: Any, timers: Any, window: Any, max_segments: Any, figsize: Any) -> None:
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    if axis not in ("compressed", "linear"):
        raise ParameterError("axis", axis, "'compressed' or 'linear'")
    if not isinstance(timers, bool):
        raise ParameterError("timers", timers, "True or False")
    if window is not None:
        ok = (
            isinstance(window, (tuple, list))
            and len(window) == 2
            and all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in window)
            and 0 <= window[0] < window[1]
        )
        if not ok:
            raise ParameterError("window", window, "None or (t0, t1) with 0 <= t0 < t1, in seconds")
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 4:
        raise ParameterError("max_segments", max_segments, "an integer >= 4")
    if figsize is not None and not (
        isinstance(figsize, (tuple, list)) and len(figsize) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in figsize)
    ):
        raise ParameterError("figsize", figsize, "None or (width, height) in inches")


def ladder(
    trace: Trace,
    *,
    axis: str = "compressed",
    timers: bool = True,
    endpoints: Sequence[str] | None = None,
    window: tuple[float, float] | None = None,
    max_segments: int = 60,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw ``trace`` as a ladder diagram and return the matplotlib :class:`~matplotlib.figure.Figure`.

    ``axis``: ``"compressed"`` (long quiet gaps cut out and labelled) or ``"linear"``.
    ``timers``: draw the timer lanes.  ``endpoints``: the timelines to draw, left to
    right (default: client and server; for a SYN flood the spoofed sources, the
    server and four clients).  ``window=(t0, t1)``: draw only what happens between
    ``t0`` and ``t1`` seconds.  ``max_segments``: a longer run is summarised (its
    first and last segments drawn, the middle replaced by a labelled break).
    ``figsize``: (width, height) in inches; by default the width of the book's text
    column, and the height grows with the run (a height given here is a minimum).

    In Jupyter the figure shows as inline SVG with an alt text made from the trace.
    """
    scene = ladder_scene(trace, axis=axis, timers=timers, endpoints=endpoints, window=window,
                         max_segments=max_segments, figsize=figsize)
    fig = to_matplotlib(scene, BookLadderFigure)
    fig.tcpbook_scene = scene  # type: ignore[attr-defined]  # the HTML repr paints the same scene
    fig.tcpbook_alt = alt_text(trace, "ladder")  # type: ignore[attr-defined]  # ... and says what it shows
    return fig


class BookLadderFigure(LadderFigure):
    """A ladder Figure that Jupyter (and the book) shows as inline SVG with its alt text;
    other front ends get the SVG (or PNG) of the figure itself."""

    def _repr_html_(self) -> str:
        return svg_figure_html(to_svg(self.tcpbook_scene), self.tcpbook_alt, kind="tcpbook-ladder")  # type: ignore[attr-defined]


def ladder_html(trace: Trace, **options: Any) -> str:
    """The ladder as an inline figure with its alt text (what explorers and the book embed)."""
    return svg_figure_html(ladder_svg(trace, **options), alt_text(trace, "ladder"), kind="tcpbook-ladder")


def ladder_svg(trace: Trace, **options: Any) -> bytes:
    """The same ladder as :func:`ladder`, written straight to compact SVG (fast: for explorers)."""
    return to_svg(ladder_scene(trace, **options))


def ladder_scene(
    trace: Trace,
    *,
    axis: str = "compressed",
    timers: bool = True,
    endpoints: Sequence[str] | None = None,
    window: tuple[float, float] | None = None,
    max_segments: int = 60,
    figsize: tuple[float, float] | None = None,
    width: float | None = None,
) -> Scene:
    """Lay the ladder out as a :class:`~tcpbook.render.scene.Scene` (see :func:`ladder`).

    ``width`` (inches) fixes only the width and lets the height follow the run.
    Coordinates of the scene are points, y growing downwards.
    """
    _check(trace, axis, timers, window, max_segments, figsize)
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0):
        raise ParameterError("width", width, "None or a width in inches > 0")
    plan = _plan(trace, axis=axis, timers=timers, endpoints=endpoints, window=window, max_segments=max_segments)
    width_pt = float(figsize[0] if figsize else (width or style.PAGE_WIDTH_PT / 72)) * 72
    min_height_pt = float(figsize[1]) * 72 if figsize else 0.0
    room: dict[float, float] = {}
    spread: set[float] = set()
    for attempt in range(ATTEMPTS):
        layout = _Layout(plan, _stack(plan, spread), width_pt, room)
        crowded = _draw(layout)
        if not crowded or attempt == ATTEMPTS - 1:
            break
        # More room where labels found none: the simultaneous segments of all timelines
        # stacked apart, and more time axis before the moment.
        spread |= set(crowded)
        for t in crowded:
            room[t] = room.get(t, 0.0) + MORE_ROOM
    return layout.finish(min_height_pt)


# ------------------------------------------------------------------------ the plan


@dataclass
class _Plan:
    """What the ladder shows, decided once from the trace (before any geometry)."""

    trace: Trace
    axis: str
    lanes: list[str]
    delay: float
    lo: float
    hi: float
    drawable: list[tuple[int, SegmentEvent]]
    spoof: list[tuple[int, SegmentEvent]]
    hidden: tuple[float, float, str] | None
    own_states: dict[str, list[StateEvent]]
    spans: dict[str, list[TimerSpan]]
    kinds: list[str]
    refused: dict[int, str]
    texts: dict[int, str]  # the label of each labelled segment
    italic: set[int]
    hidden_ids: list[int]  # segments summarised in the middle of a long run
    moments: dict[float, int] = field(default_factory=dict)  # of states, timers, flood, cuts (not segments)
    send_slot: dict[int, int] = field(default_factory=dict)
    arrive_slot: dict[int, int] = field(default_factory=dict)

    @property
    def compact(self) -> bool:
        return len(self.lanes) > 2


def _plan(trace: Trace, *, axis: str, timers: bool, endpoints: Sequence[str] | None,
          window: tuple[float, float] | None, max_segments: int) -> _Plan:
    # Of a flood's legitimate clients, two: five timelines would not fit the page's width.
    lanes = choose_lanes(trace, endpoints, max_clients=2)
    delay = float(trace.params.get("rtt", 0.1) or 0.1) / 2
    hidden_ids: list[int] = []
    drawable, spoof, hidden = _select_segments(trace, lanes, window, max_segments, delay, hidden_ids)
    lo, hi = (window[0], window[1]) if window else (-math.inf, math.inf)
    own_states = _own_states(trace, lanes, lo, hi, hidden)
    spans = _timer_spans(trace, lanes, lo, hi) if timers else {}
    kinds = sorted({sp.timer for ss in spans.values() for sp in ss}, key=timer_rank)
    plan = _Plan(trace, axis, lanes, delay, lo, hi, drawable, spoof, hidden, own_states, spans, kinds,
                 _refused_segments(trace, drawable, delay), {}, set(), hidden_ids)
    plan.texts, plan.italic = _segment_texts(plan)
    _collect_moments(plan, window)
    return plan


def _select_segments(trace: Trace, lanes: list[str], window: tuple[float, float] | None, max_segments: int,
                     delay: float, hidden_ids: list[int]):  # noqa: ANN202 - three values, named below
    """(drawable, spoof, hidden): the segments drawn as arrows, the flood's spoofed ones
    (drawn as a band), and the summarised middle of a long run (t0, t1, label) or None."""
    candidates = [
        (i, s) for i, s in enumerate(trace.segments)
        if lane_of(s.src, lanes) is not None and lane_of(s.dst, lanes) is not None and s.src != s.dst
        and (window is None or window[0] - 1e-12 <= s.t <= window[1] + 1e-12)
    ]
    spoof = [(i, s) for i, s in candidates if s.src.startswith(_SPOOFED) or s.dst.startswith(_SPOOFED)]
    spoof_ids = {i for i, _ in spoof}
    drawable = [(i, s) for i, s in candidates if i not in spoof_ids]
    if len(drawable) <= max_segments:
        return drawable, spoof, None
    head, tail = drawable[: max_segments // 2], drawable[-(max_segments - max_segments // 2):]
    h0 = max(_arrival(s, delay) for _, s in head)
    # No drawn arrow may fly across the cut: the tail starts once the head has landed.
    tail = [(i, s) for i, s in tail if s.t >= h0]
    kept = {i for i, _ in head} | {i for i, _ in tail}
    middle = [(i, s) for i, s in drawable if i not in kept]
    h1 = tail[0][1].t if tail else max(_arrival(s, delay) for _, s in drawable)
    retrans = sum(1 for _, s in middle if s.retransmission)
    lost = sum(1 for _, s in middle if s.dropped)
    data = sum(1 for _, s in middle if s.len)
    m0, m1 = middle[0][1].t, max(_arrival(s, delay) for _, s in middle)
    label = (
        f"⋮ {len(middle):,} segments in {fmt_duration(m1 - m0)} not drawn:\n{data:,} with data, "
        f"{len(middle) - data:,} without; {retrans} retransmitted, {lost} lost\n"
        f"ladder(trace, window=({fmt_time(m0)}, {fmt_time(m1)})) draws them"
    )
    hidden_ids.extend(i for i, _ in middle)
    return head + tail, spoof, (h0, h1, label)


def _own_states(trace: Trace, lanes: list[str], lo: float, hi: float,
                hidden: tuple[float, float, str] | None) -> dict[str, list[StateEvent]]:
    """The state changes written beside each timeline.  A server with many peers shows its
    listener's states only (its connections' states are the clients' business)."""
    out = {}
    for name in lanes:
        if name == _SPOOFED:
            continue
        events = trace.states_of(name, None) if len(lanes) > 2 and name == "server" else trace.states_of(name)
        out[name] = [e for e in events if e.old != e.state and lo <= e.t <= hi
                     and not (hidden and hidden[0] < e.t < hidden[1])]
    return out


def _timer_spans(trace: Trace, lanes: list[str], lo: float, hi: float) -> dict[str, list[TimerSpan]]:
    spans = {}
    for name in lanes:
        if name == _SPOOFED:
            continue
        peers = {None, *lanes} | ({trace.main_peer(name)} if len(lanes) <= 2 else set())
        mine = [e for e in trace.timers if e.endpoint == name]
        spans[name] = [sp for sp in timer_spans(trace, name, peers, mine) if sp.end >= lo and sp.start <= hi]
    return spans


def _segment_texts(plan: _Plan) -> tuple[dict[int, str], set[int]]:
    """The label of each labelled segment, and which labels are italic (summaries).

    A burst (many segments leaving one timeline at one instant) labels its first and
    last segment, and one label counts the rest; segments that repeat the label of the
    one before them (duplicate ACKs) share one label, ``3× ACK …``.
    """
    by_index = dict(plan.drawable)
    texts = {i: _segment_label(s, plan.compact) for i, s in plan.drawable}
    italic: set[int] = set()
    bursts: dict[tuple[float, int | None], list[int]] = {}
    for i, s in plan.drawable:
        bursts.setdefault((round(s.t, 9), lane_of(s.src, plan.lanes)), []).append(i)
    for members in bursts.values():
        inner = members[1:-1] if len(members) > 8 else [
            i for i in members[1:-1] if not (by_index[i].dropped or by_index[i].retransmission)]
        if len(members) <= 5 or len(inner) < 3:
            continue
        for i in inner:
            del texts[i]
        note = inner[len(inner) // 2]
        lost = sum(1 for i in inner if by_index[i].dropped)
        texts[note] = f"… {len(inner)} more like these" + (f", {lost} lost" if lost else "") + " …"
        italic.add(note)
    _share_repeated_labels(plan, texts, italic)
    return texts, italic


def _share_repeated_labels(plan: _Plan, texts: dict[int, str], italic: set[int]) -> None:
    """Label a run of segments with the same label, each sent within a round trip of the
    one before, once: ``3× ACK seq=301 ack=101`` on the first."""
    last: dict[tuple[str, str], list[tuple[int, SegmentEvent]]] = {}
    runs: list[list[tuple[int, SegmentEvent]]] = []
    for i, s in plan.drawable:
        if i not in texts or i in italic:
            continue
        key = (s.src, s.dst)
        run = last.get(key)
        if run and texts.get(run[-1][0]) == texts[i] and s.t - run[-1][1].t <= 2 * plan.delay and not s.dropped \
                and not run[-1][1].dropped:
            run.append((i, s))
        else:
            run = [(i, s)]
            runs.append(run)
            last[key] = run
    for run in runs:
        if len(run) > 1:
            first = run[0][0]
            texts[first] = f"{len(run)}× {texts[first]}"
            for i, _ in run[1:]:
                del texts[i]


def _stack(plan: _Plan, spread: set[float]) -> dict[float, int]:
    """Stacking slots: segments leaving (or reaching) one timeline at the same instant are
    drawn one under the other; at the instants in ``spread`` (crowded in an earlier
    layout) all timelines share one stack, so simultaneous segments of different
    timelines are drawn apart too.  At one instant on one timeline, arrivals come first
    and the segments they trigger after them, so every answer is drawn below what it
    answers.  A segment that arrives the instant it is sent (no link delay: a packetdrill
    script's peer) takes its turn in the trace's order instead, among that instant's
    sends, so that it lands after what caused it and before what it causes.  Returns
    every moment (time → slots it needs), the other marks included."""
    moments = dict(plan.moments)
    per_lane: dict[tuple[float, int | None], int] = {}
    plan.send_slot, plan.arrive_slot = {}, {}
    entries = [(round(s.t, 9), lane_of(s.src, plan.lanes), 1, i, True) for i, s in plan.drawable]
    entries += [(round(_arrival(s, plan.delay), 9), lane_of(s.dst, plan.lanes),
                 0 if _arrival(s, plan.delay) > s.t else 1, i, False) for i, s in plan.drawable]
    for t, lane, _, i, is_send in sorted(entries, key=lambda e: (e[0], e[1] if e[1] is not None else -1, e[2], e[3], e[4])):
        key = (t, None if t in spread else lane)
        k = per_lane.get(key, 0)
        per_lane[key] = k + 1
        moments[t] = max(moments.get(t, 1), k + 1)
        (plan.send_slot if is_send else plan.arrive_slot)[i] = k
    hidden = plan.hidden
    if hidden:
        moments = {t: k for t, k in moments.items() if not hidden[0] + 1e-9 < t < hidden[1] - 1e-9}
    return moments


def _collect_moments(plan: _Plan, window: tuple[float, float] | None) -> None:
    """Every other instant the picture marks: state changes, timer starts and ends, the
    flood's first and last SYN, the edges of a summarised middle and of a window."""
    hidden = plan.hidden
    for events in plan.own_states.values():
        for e in events:
            plan.moments.setdefault(round(e.t, 9), 1)
    for ss in plan.spans.values():
        for sp in ss:
            for t in (sp.start, sp.end):
                if plan.lo <= t <= plan.hi and not (hidden and hidden[0] < t < hidden[1]):
                    plan.moments.setdefault(round(t, 9), 1)
    for n in plan.trace.notes:
        if n.kind in HOST_NOTES and n.endpoint in plan.own_states and plan.lo <= n.t <= plan.hi \
                and not (hidden and hidden[0] < n.t < hidden[1]):
            plan.moments.setdefault(round(n.t, 9), 1)
    if plan.spoof:
        syn_times = [s.t for _, s in plan.spoof if s.src.startswith(_SPOOFED)] or [plan.spoof[0][1].t]
        for t in (syn_times[0], syn_times[-1]):
            plan.moments.setdefault(round(t, 9), 1)
    if hidden:
        plan.moments.setdefault(round(hidden[0], 9), 1)
        plan.moments.setdefault(round(hidden[1], 9), 1)
    if window:
        plan.moments.setdefault(round(window[0], 9), 1)


# ---------------------------------------------------------------------- the layout


class _Layout:
    """One attempt at laying the plan out: the time map, the x of every timeline, the
    scene being painted and the board of placed texts.  Coordinates are points."""


    def __init__(self, plan: _Plan, moments: dict[float, int], width_pt: float, room: dict[float, float]) -> None:
        self.plan = plan
        # Room above the first moment for the lane titles (two rows when many timelines).
        self.top = 34.0 if len(plan.lanes) <= 2 else 50.0
        self.tmap = build_time_map(moments, axis=plan.axis, delay=plan.delay, hidden=plan.hidden, room=room)
        self.y0 = self.tmap.ys[0]
        self.board = Board(gap=1.0)
        self.colours = {name: style.endpoint_colour(name, k) for k, name in enumerate(plan.lanes)}
        self.width = width_pt
        self.xs, self.lane_w = self._lane_positions(width_pt)
        self.bottom = self.y(self.tmap.times[-1]) + self.tmap.used[-1] * self.tmap.slots[-1] * PT_PER_UNIT + 16
        self.registry: dict[str, list[Any]] = {k: [] for k in ("arrows", "drops", "retransmissions", "states", "timers",
                                                                "breaks", "hidden", "refused", "unlabelled")}
        self.registry["hidden"] = list(plan.hidden_ids)
        self.scene = Scene(width_pt / 72, 1.0, (0.0, width_pt), (0.0, 1.0), 0.0, registry=self.registry, board=self.board)
        self.unplaced: list[int] = []

    def y(self, t: float, k: int = 0) -> float:
        """The y (points) of time ``t`` in stacking slot ``k``."""
        return self.top + (self.tmap.y(t, k) - self.y0) * PT_PER_UNIT

    def y_units(self, units: float) -> float:
        """The y (points) of a position on the time map given in its own units."""
        return self.top + (units - self.y0) * PT_PER_UNIT

    def side(self, name: str) -> int:
        """-1 when ``name``'s states and timers go to the left of its timeline, else +1."""
        return -1 if self.plan.lanes.index(name) == 0 and len(self.plan.lanes) > 1 else 1

    def kinds_of(self, name: str) -> list[str]:
        """The timer kinds drawn beside ``name``'s timeline, inner to outer."""
        return sorted({sp.timer for sp in self.plan.spans.get(name, ())}, key=timer_rank)

    def timer_room(self, name: str) -> float:
        return 4.0 + TIMER_LANE * len(self.kinds_of(name))

    def _state_room(self, name: str) -> float:
        texts = [e.state for e in self.plan.own_states.get(name, ())] + ["CLOSED"]
        outcome = self.plan.trace.outcome.endpoints.get(name)
        if outcome is not None and outcome.error:
            texts.append(outcome.error)
        return max(text_width(t, SIZE, bold=True) for t in texts) + 2 * PILL_PAD * SIZE + 4

    def _lane_positions(self, width_pt: float) -> tuple[dict[str, float], float]:
        lanes = self.plan.lanes
        first, last = lanes[0], lanes[-1]
        left = STAMP_ROOM + (self.timer_room(first) + LEADER + self._state_room(first) if len(lanes) > 1 else 8.0)
        right = self.timer_room(last) + LEADER + self._state_room(last) + 4
        gap = (width_pt - left - right) / max(len(lanes) - 1, 1)
        gap = max(gap, 60.0)  # a narrow width still leaves room for short labels
        xs = {name: left + k * gap for k, name in enumerate(lanes)}
        if len(lanes) == 1:
            xs = {first: max(left, width_pt / 3)}
        self.width = max(width_pt, xs[last] + right)
        return xs, gap

    # -- adding texts ------------------------------------------------------------------

    def text_rect(self, text: str, x: float, y: float, *, size: float = SIZE, bold: bool = False, ha: str = "center",
                  angle: float = 0.0, pad: float = PILL_PAD) -> Rect:
        """The box a text will take (its pill included), anchored like matplotlib's ha/va=center."""
        w, h = text_size(text, size, bold=bold)
        w, h = w + 2 * pad * size, h + 2 * pad * size
        cx = {"left": x + w / 2, "center": x, "right": x - w / 2}[ha]
        return Rect(cx, y, w, h, angle)

    def put_text(self, rect: Rect, text: str, *, kind: str = "text", **shape: Any) -> None:
        """Draw ``text`` centred in ``rect`` and file the rectangle on the board."""
        self.board.add(rect, kind)
        shape.setdefault("size", SIZE)
        self.scene.add("text", xs=(rect.cx,), ys=(rect.cy,), text=text, ha="center", va="center",
                       rotation=rect.angle, **shape)

    def finish(self, min_height: float) -> Scene:
        """Close the picture: the legend at the bottom and the final size."""
        _draw_legend(self)
        height = max(self.bottom, min_height)
        scene = self.scene
        scene.width, scene.height = self.width / 72, height / 72
        scene.xlim, scene.ylim = (0.0, self.width), (0.0, height)
        return scene


def _draw(lay: _Layout) -> list[float]:
    """Paint one attempt; returns the moments whose labels found no room (empty: done)."""
    _draw_lanes(lay)
    _draw_states(lay)
    _draw_host_notes(lay)
    _draw_timers(lay)
    _draw_flood(lay)
    ends = _draw_arrows(lay)
    _draw_breaks(lay)
    _draw_refused(lay, ends)
    crowded = _draw_labels(lay, ends)
    _draw_time_stamps(lay)
    return crowded


# ------------------------------------------------------------------------ painting


def _draw_lanes(lay: _Layout) -> None:
    """Lifelines — with a zig-zag wherever quiet time was cut out — and their titles."""
    top, bottom = lay.top - 10, lay.bottom - 6
    cuts = [(lay.y_units(y0), lay.y_units(y1)) for (_, _, y0, y1, _) in lay.tmap.breaks]
    for name in lay.plan.lanes:
        x = lay.xs[name]
        line_x, line_y = [x], [top]
        for y0, y1 in cuts:
            line_x += [x, x - 4, x + 4, x]
            line_y += [y0 + 5, y0 + 10, y1 - 10, y1 - 5]
        line_x.append(x)
        line_y.append(bottom)
        lay.scene.add("line", xs=tuple(line_x), ys=tuple(line_y), colour=lay.colours[name], lw=2.0, alpha=0.9,
                      gid=f"lifeline-{name}")
        _draw_title(lay, name, x, top - 11)


def _draw_title(lay: _Layout, name: str, x: float, y: float) -> None:
    """A timeline's title above it: shortened, or lifted to a second row, when the title
    of the timeline before it is in the way."""
    titles = [name]
    if name == _SPOOFED:
        count = len({s.src for _, s in lay.plan.spoof if s.src.startswith(_SPOOFED)})
        titles = [f"spoofed sources ×{count:,}", f"spoofed ×{count:,}", "spoofed"]
    for row in (0.0, -TITLE_SIZE * LINE - 1):
        for title in titles:
            rect = lay.text_rect(title, x, y + row, size=TITLE_SIZE, bold=True, pad=0.0)
            shift = max(0.0, 2 - rect.bounds()[0]) - max(0.0, rect.bounds()[2] - (lay.width - 2))
            rect = Rect(rect.cx + shift, rect.cy, rect.w, rect.h)
            if lay.board.free(rect) and rect.bounds()[1] >= 0:
                lay.put_text(rect, title, size=TITLE_SIZE, weight="bold", gid=f"lane-{name}",
                             colour=style.text_colour(lay.colours[name], "#FFFFFF"))
                return


def _draw_breaks(lay: _Layout) -> None:
    """The labels of cut-out gaps, between the last two timelines (never on a lifeline).
    Drawn after the arrows: a lost segment's ✗ near the cut keeps its place on its arrow,
    so the label moves aside (left, right, up, down within the cut) to a free spot."""
    lanes = lay.plan.lanes
    x = (lay.xs[lanes[-2]] + lay.xs[lanes[-1]]) / 2 if len(lanes) > 1 else lay.xs[lanes[0]] + 80
    spacing = abs(lay.xs[lanes[-1]] - lay.xs[lanes[-2]]) if len(lanes) > 1 else 80.0
    for (t0, t1, y0, y1, label) in lay.tmap.breaks:
        lay.registry["breaks"].append((t0, t1))
        top, bottom = lay.y_units(y0), lay.y_units(y1)
        centre = lay.text_rect(label, x, (top + bottom) / 2, pad=0.25)
        room = max(0.0, (bottom - top - centre.h) / 2)
        candidates = [lay.text_rect(label, x + dx * spacing, (top + bottom) / 2 + dy * room, pad=0.25)
                      for dy in (0.0, -1.0, 1.0) for dx in (0.0, -0.12, 0.12, -0.22, 0.22)]
        rect = lay.board.first_free(candidates) or centre
        lay.put_text(rect, label, size=SIZE, colour=style.INK_SOFT, italic=True,
                     gid=f"break-{len(lay.registry['breaks'])}", box=Box(style.PILL, pad=0.25, alpha=0.95))


def _draw_states(lay: _Layout) -> None:
    """Each timeline's states where they change (outer side for the edge timelines),
    pushed down below the previous one when two changes come close, with a leader line."""
    for name, events in lay.plan.own_states.items():
        side = lay.side(name)
        x_anchor = lay.xs[name] + side * (lay.timer_room(name) + LEADER)
        ha = "right" if side < 0 else "left"
        floor = -math.inf
        for e in events:
            y_event = lay.y(e.t)
            rect = lay.text_rect(e.state, x_anchor, y_event, bold=True, ha=ha)
            y = max(y_event, floor + rect.h / 2 + 1.5)
            rect = Rect(rect.cx, y, rect.w, rect.h)
            floor = y + rect.h / 2
            lay.scene.add("line", xs=(lay.xs[name], x_anchor), ys=(y_event, y), colour=lay.colours[name], lw=0.6,
                          alpha=0.7)
            lay.put_text(rect, e.state, weight="bold", colour=style.INK, gid=f"state-{name}-{len(lay.registry['states'])}",
                         box=Box(style.tint(lay.colours[name], 0.25), lay.colours[name], 0.8, pad=PILL_PAD))
            lay.registry["states"].append((name, e.state, e.t))
        _draw_error(lay, name, x_anchor, ha, floor)


def _draw_error(lay: _Layout, name: str, x: float, ha: str, floor: float) -> None:
    """Under an endpoint's last state: the socket error its application saw, if any."""
    outcome = lay.plan.trace.outcome.endpoints.get(name)
    if outcome is None or not outcome.error or lay.plan.trace.outcome.end_time > lay.plan.hi:
        return
    y = floor + SIZE if floor > -math.inf else lay.bottom - 20
    rect = lay.text_rect(outcome.error, x, y + SIZE * 0.8, bold=True, ha=ha)
    lay.put_text(rect, outcome.error, weight="bold", colour="white", gid=f"error-{name}",
                 box=Box(style.text_colour(style.DROP, "#FFFFFF"), pad=PILL_PAD))
    lay.bottom = max(lay.bottom, rect.bounds()[3] + 8)


# Notes a timeline shows where they happen: the host itself, not one connection, changed.
HOST_NOTES = {NoteKind.HOST_CRASHED: "host crashed", NoteKind.HOST_REBOOTED: "host rebooted"}


def _draw_host_notes(lay: _Layout) -> None:
    """A crash or a reboot of an endpoint's host, beside its timeline where it happened."""
    for n in lay.plan.trace.notes:
        text = HOST_NOTES.get(n.kind)
        hidden = lay.plan.hidden
        if text is None or n.endpoint not in lay.plan.own_states or not lay.plan.lo <= n.t <= lay.plan.hi \
                or (hidden and hidden[0] < n.t < hidden[1]):
            continue
        side = lay.side(n.endpoint)
        x = lay.xs[n.endpoint] + side * (lay.timer_room(n.endpoint) + LEADER)
        rect = _free_near(lay, text, x, lay.y(n.t), "right" if side < 0 else "left", lambda r: True, pad=PILL_PAD)
        if rect is not None:
            lay.put_text(rect, text, weight="bold", colour="white", gid=f"note-{n.endpoint}-{n.kind}",
                         box=Box(style.text_colour(style.DROP, "#FFFFFF"), pad=PILL_PAD))


def _draw_timers(lay: _Layout) -> None:
    """One bracket per period a timer ran, in that timer's lane beside the timeline,
    labelled along the bracket when the label fits."""
    plan = lay.plan
    hidden = plan.hidden
    for name, spans in plan.spans.items():
        sign = lay.side(name)
        kinds = lay.kinds_of(name)
        for sp in spans:
            j = kinds.index(sp.timer)
            x = lay.xs[name] + sign * (4 + TIMER_LANE * j)
            if hidden and hidden[0] < sp.end and sp.start < hidden[1] and (sp.start >= hidden[0] or sp.end <= hidden[1]):
                continue  # a period (partly) hidden in the summary
            y0, y1 = lay.y(max(sp.start, plan.lo)), lay.y(min(sp.end, plan.hi))
            colour = lay.colours[name]
            lay.scene.add("line", xs=(x - 3 * sign, x, x, x - 3 * sign), ys=(y0, y0, y1, y1), colour=colour, lw=1.2,
                          alpha=0.85, gid=f"timer-{name}-{len(lay.registry['timers'])}")
            if sp.how == "fired":
                lay.scene.add("dot", xs=(x,), ys=(y1,), size=3.5, colour=colour)
            lay.registry["timers"].append((name, sp.timer, sp.start, sp.end, sp.how))
            _timer_label(lay, sp, x + sign * TIMER_LANE / 2, y0, y1)


def _timer_label(lay: _Layout, sp: TimerSpan, x: float, y0: float, y1: float) -> None:
    name = timer_name(sp.timer)
    for text in ([f"{name} {fmt_duration(sp.duration)}"] if sp.duration else []) + [name]:
        rect = Rect(x, (y0 + y1) / 2, text_width(text, SIZE) + 2, SIZE * LINE, 90.0)
        if rect.w <= y1 - y0 - 2 and lay.board.free(rect):
            lay.put_text(rect, text, colour=style.INK_SOFT)
            return


def _draw_flood(lay: _Layout) -> None:
    """The spoofed flood: one band, not a thousand arrows, with one label counting it."""
    plan = lay.plan
    if not plan.spoof or _SPOOFED not in plan.lanes or "server" not in plan.lanes:
        return
    syn_times = [s.t for _, s in plan.spoof if s.src.startswith(_SPOOFED)] or [plan.spoof[0][1].t]
    t0, t1 = syn_times[0], syn_times[-1]
    xs0, xs1 = lay.xs[_SPOOFED], lay.xs["server"]
    syns = sum(1 for _, s in plan.spoof if s.src.startswith(_SPOOFED))
    answers = len(plan.spoof) - syns
    ya, yb = lay.y(t0), lay.y(t1)
    d = lay.y(t0 + plan.delay) - ya if plan.axis == "linear" else PT_PER_UNIT
    lay.scene.add("polygon", xs=(xs0, xs1, xs1, xs0), ys=(ya, ya + d, yb + d, yb), fill=style.SPOOFED, alpha=0.22,
                  colour=style.SPOOFED, lw=1.0, gid="spoofed-band")
    rate = (syns - 1) / (t1 - t0) if t1 > t0 else float(syns)
    text = f"{syns:,} spoofed SYNs\n({rate:.0f}/s for {fmt_duration(t1 - t0)})\n{answers:,} SYN,ACKs\nback to nowhere"
    rect = lay.text_rect(text, (xs0 + xs1) / 2, (ya + yb) / 2 + d / 2, pad=0.3)
    lay.put_text(rect, text, colour=style.INK, box=Box(style.PILL, pad=0.3, alpha=0.92))
    lay.registry["hidden"].extend(i for i, _ in plan.spoof)


@dataclass
class _Arrow:
    p0: tuple[float, float]
    p1: tuple[float, float]  # where the receiver's timeline is (for a lost segment: where it would be)
    end: tuple[float, float]  # where the drawn arrow ends (the ✗ of a lost segment)
    direction: int


def _draw_arrows(lay: _Layout) -> dict[int, _Arrow]:
    """Every drawn segment's arrow, and a ✗ (a mark labels keep clear of) where it was lost."""
    plan = lay.plan
    ends: dict[int, _Arrow] = {}
    for i, s in plan.drawable:
        a, b = lane_of(s.src, plan.lanes), lane_of(s.dst, plan.lanes)
        x0, x1 = lay.xs[plan.lanes[a]], lay.xs[plan.lanes[b]]
        y0 = lay.y(s.t, plan.send_slot[i])
        y1 = lay.y(_arrival(s, plan.delay), plan.arrive_slot[i])
        direction = 1 if x1 > x0 else -1
        p0, p1 = (x0 + 1.5 * direction, y0), (x1 - 1.5 * direction, y1)
        end = ((x0 + x1) / 2, (y0 + y1) / 2) if s.dropped else p1
        lay.scene.add("arrow", xs=(p0[0], end[0]), ys=(p0[1], end[1]), head=not s.dropped, lw=1.5,
                      colour=lay.colours[plan.lanes[a]], dash=(4, 2) if s.retransmission else None, gid=f"segment-{i}")
        lay.registry["arrows"].append(i)
        if s.retransmission:
            lay.registry["retransmissions"].append(i)
        if s.dropped:
            # Drawn as a shape, not the ✗ glyph: every viewer's fonts draw it the same.
            lay.scene.add("cross", xs=end[:1], ys=end[1:], size=9.0, lw=2.6, colour=style.DROP, gid=f"drop-{i}",
                          text="✗", mark=True)
            lay.board.add(Rect(end[0], end[1], 10.0, 10.0), "mark")
            lay.registry["drops"].append(i)
        ends[i] = _Arrow(p0, p1, end, direction)
    return ends


def _draw_refused(lay: _Layout, ends: dict[int, _Arrow]) -> None:
    """Beside the receiver's timeline, on the sender's side: why an arriving segment was
    thrown away (shortened, or left out, when the gap to the next timeline is too narrow)."""
    for i, why in lay.plan.refused.items():
        arrow = ends[i]
        ha = "right" if arrow.direction > 0 else "left"
        x = arrow.p1[0] - 4 * arrow.direction
        limit = x - arrow.direction * (lay.lane_w - 10)  # the next timeline, with a margin
        for text in ("✗ " + why, "✗ full" if "full" in why else "✗"):
            rect = _free_near(lay, text, x, arrow.p1[1], ha,
                              lambda r, lim=limit, right=ha == "right": r.bounds()[0] >= lim if right else r.bounds()[2] <= lim)
            if rect is not None:
                lay.put_text(rect, text, colour=style.text_colour(style.DROP, "#FFFFFF"), gid=f"refused-{i}")
                lay.registry["refused"].append(i)
                break


def _free_near(lay: _Layout, text: str, x: float, y: float, ha: str, fits: Any, pad: float = 0.0) -> Rect | None:
    """A free place for a horizontal ``text`` anchored at ``x`` near ``y`` (tried at
    ``y``, then a line above, a line below …) that ``fits`` accepts, or None."""
    for dy in (0.0, -12.0, 12.0, -24.0, 24.0):
        rect = lay.text_rect(text, x, y + dy, ha=ha, pad=pad)
        if fits(rect) and lay.board.free(rect):
            return rect
    return None


# Where along its arrow a label is tried first: near the sender, so the labels of two
# arrows that cross in the middle stay apart.
_FRACTIONS = (0.3, 0.4, 0.22, 0.5, 0.6, 0.15, 0.7, 0.78, 0.1, 0.86, 0.05, 0.93)


def _draw_labels(lay: _Layout, ends: dict[int, _Arrow]) -> list[float]:
    """Each segment's label at the first free place along its arrow; returns the send
    moments of the labels that found none."""
    plan = lay.plan
    crowded: list[float] = []
    for i, s in plan.drawable:
        if i not in plan.texts:
            lay.registry["unlabelled"].append(i)
            continue
        rect = None
        for text in _label_variants(plan.texts[i], s, plan.compact or i in plan.italic):
            rect = _label_place(lay, ends[i], text, s.dropped)
            if rect is not None:
                break
        if rect is None:
            crowded.append(round(s.t, 9))
            lay.registry["unlabelled"].append(i)
            continue
        lay.put_text(rect, text, colour=style.INK, gid=f"label-{i}", italic=i in plan.italic,
                     box=Box(style.PILL, pad=PILL_PAD, alpha=0.88))
    return sorted(set(crowded))


def _label_variants(text: str, s: SegmentEvent, compact: bool) -> list[str]:
    """The label, then the same on two lines, then (a full label only) its flags alone."""
    out = [text]
    words = text.split(" ")
    if len(words) > 2:
        # Split where the two lines come out most even.
        cut = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))))
        out.append(" ".join(words[:cut]) + "\n" + " ".join(words[cut:]))
    if not compact:
        out.append(_segment_label(s, True))
    return out


def _label_place(lay: _Layout, arrow: _Arrow, text: str, dropped: bool) -> Rect | None:
    """The first free place for ``text`` along ``arrow``: centred at a fraction of its
    way, above the arrow or below it, kept between the timelines (and, for a lost
    segment, before its ✗ or else past it)."""
    (x0, y0), (x1, y1) = arrow.p0, arrow.p1
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 1:
        return None
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    angle = math.degrees(math.atan2(-uy, ux))
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    w, h = text_size(text, SIZE)
    w, h = w + 2 * PILL_PAD * SIZE, h + 2 * PILL_PAD * SIZE
    margin = 6.0  # keep clear of the timelines
    lo_f, hi_f = (w / 2 + margin) / length, 1 - (w / 2 + margin) / length
    if lo_f > hi_f:
        return None
    a = math.radians(angle)
    up = (-math.sin(a), -math.cos(a))  # the screen-up side of the rotated text
    for f in _fractions(lo_f, hi_f, dropped, (w / 2 + 7) / length):
        cx, cy = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
        for side in (1, -1):
            off = side * (h / 2 + 1.5)
            rect = Rect(cx + up[0] * off, cy + up[1] * off, w, h, angle)
            if rect.inside(0, 0, lay.width, math.inf) and lay.board.free(rect):
                return rect
    return None


def _fractions(lo: float, hi: float, dropped: bool, clear: float) -> list[float]:
    """Candidate fractions in order of preference, inside [lo, hi]; for a lost segment the
    ones that keep the label ``clear`` of the ✗ half-way come first."""
    span = [min(max(f, lo), hi) for f in _FRACTIONS]
    if dropped:
        before = [min(max(f * 0.5, lo), 0.5 - clear) for f in _FRACTIONS if lo <= 0.5 - clear]
        after = [f for f in span if f >= 0.5 + clear]
        span = before + after
    out: list[float] = []
    for f in span:
        if all(abs(f - g) > 1e-3 for g in out):
            out.append(f)
    return out


def _draw_time_stamps(lay: _Layout) -> None:
    """Time stamps in the left margin, where a segment leaves or a state changes, when
    they have room."""
    plan = lay.plan
    times = sorted({round(s.t, 9) for _, s in plan.drawable} | {round(e.t, 9) for ev in plan.own_states.values() for e in ev})
    for t in times:
        text = f"{fmt_time(t)} s"
        rect = lay.text_rect(text, 2.0, lay.y(t), ha="left", pad=0.0)
        if lay.board.free(rect):
            lay.put_text(rect, text, colour=style.INK_SOFT)


def _draw_legend(lay: _Layout) -> None:
    """The legend at the bottom, wrapped to the width of the picture."""
    plan = lay.plan
    items = [str(plan.trace.params.get("scenario", "")), tr("time flows down"), tr("↻ retransmission"), tr("✗ lost")]
    if plan.axis == "compressed":
        items.append(tr("axis compressed: quiet gaps cut out"))
    left_out = len([i for i in lay.registry["unlabelled"] if i in plan.texts])
    if left_out:
        phrase = "{n} labels left out for room" if left_out > 1 else "{n} label left out for room"
        items.append(tr(phrase).format(n=left_out))
    lines, line = [], ""
    for item in (i for i in items if i):
        candidate = f"{line} · {item}" if line else item
        if line and text_width(candidate, SIZE) > lay.width - 8:
            lines.append(line)
            candidate = item
        line = candidate
    lines.append(line)
    text = "\n".join(lines)
    rect = lay.text_rect(text, 4.0, lay.bottom + SIZE * LINE * len(lines) / 2, ha="left", pad=0.0)
    lay.put_text(rect, text, colour=style.INK_SOFT, gid="legend")
    lay.bottom = rect.bounds()[3] + 4


# ------------------------------------------------------------------------ helpers


def _arrival(s: SegmentEvent, delay: float) -> float:
    return s.arrival if s.arrival is not None else s.t + delay


def _segment_label(s: SegmentEvent, compact: bool) -> str:
    text = ",".join(s.flags) if compact else s.label()
    if s.retransmission:
        text = "↻ " + text
    return text


def _refused_segments(trace: Trace, drawable: list[tuple[int, SegmentEvent]], delay: float) -> dict[int, str]:
    """Segments that arrived but the receiving stack dropped (a SYN that found a queue
    full): the ``syn-dropped`` notes name their sender and the full queue."""
    out: dict[int, str] = {}
    by_key: dict[tuple[str, str, float], int] = {}
    for i, s in drawable:
        if not s.dropped:
            by_key[(s.src, s.dst, round(_arrival(s, delay), 6))] = i
    for n in trace.notes:
        if n.kind == NoteKind.SYN_DROPPED and n.peer is not None:
            i = by_key.get((n.peer, n.endpoint, round(n.t, 6)))
            if i is not None:
                out[i] = f"{n.queue} queue full" if n.queue else "dropped"
    return out
