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

Long runs (thousands of segments) are summarised: the beginning and the end are
drawn and the middle becomes one labelled break (or pass ``window=(t0, t1)``).
Runs with many endpoints (a SYN flood) draw the server and a few legitimate clients,
and aggregate the spoofed sources into one lane with a band instead of arrows.

Bursts (many segments leaving at one instant, as a window opens) are drawn as a
tight fan: the first and the last are labelled and one label counts the rest.

The figure carries a registry of what it drew, ``fig.tcpbook``: a dict with lists
``arrows`` (segment indices), ``drops``, ``retransmissions``, ``states``
(``(endpoint, state, t)``), ``timers``, ``breaks``, ``hidden`` (segments summarised
rather than drawn) and ``refused`` (segments the receiving stack dropped, e.g. a
full SYN queue).  Each artist also has a ``gid`` (``segment-3``, ``drop-3``,
``state-client-0``…) that becomes an id in SVG output.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from ..errors import ParameterError
from ..trace import SegmentEvent, TimerEvent, Trace
from ..vocabulary import NoteKind
from . import style
from .lanes import SPOOFED as _SPOOFED
from .lanes import TIMER_NAMES, TIMER_ORDER, choose_lanes, fmt_duration, fmt_time, lane_of, timer_rank
from .scene import Box, Scene, to_matplotlib, to_svg

__all__ = ["TIMER_NAMES", "TIMER_ORDER", "choose_lanes", "fmt_duration", "fmt_time", "ladder", "ladder_scene", "ladder_svg"]

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
    moments: dict[float, int], *, axis: str, delay: float, hidden: tuple[float, float, str] | None
) -> TimeMap:
    """Place each moment (time → slots it needs) on the y axis."""
    times = sorted(moments)
    if not times:
        times = [0.0]
        moments = {0.0: 1}
    if axis == "linear":
        span = max(times[-1] - times[0], delay * 4, 1e-6)
        unit = span / 40.0  # the whole run is about 40 units tall
        ys = [(t - times[0]) / unit for t in times]
        # True time: stacked segments are only nudged apart, nothing is pushed down.
        return TimeMap(times, ys, [0.35 if moments[t] <= 8 else 2.5 / moments[t] for t in times], [], unit=unit,
                       used=[0] * len(times))
    unit = max(delay, 1e-4)
    # A burst of many segments at one instant is drawn as a tight fan, not a tower.
    slots = [0.7 if moments[t] <= 8 else max(7.0 / moments[t], 0.12) for t in times]
    threshold = 4.0 * unit  # quiet gaps longer than four one-way delays are cut out
    ys = [0.0]
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
            height = max(gap / unit, 0.45 if gap > 0 else 0.0)
        ys.append(start + height)
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


# ------------------------------------------------------------------------ ladder


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
    ``figsize``: (width, height) in inches; by default it grows with the run.
    """
    return to_matplotlib(ladder_scene(trace, axis=axis, timers=timers, endpoints=endpoints, window=window,
                                      max_segments=max_segments, figsize=figsize))


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
    """
    _check(trace, axis, timers, window, max_segments, figsize)
    lanes = choose_lanes(trace, endpoints)
    n_lanes = len(lanes)
    delay = float(trace.params.get("rtt", 0.1) or 0.1) / 2
    all_segments = trace.segments
    registry: dict[str, list[Any]] = {k: [] for k in ("arrows", "drops", "retransmissions", "states", "timers", "breaks", "hidden", "refused")}

    # Which segments are drawn as arrows.
    candidates = [
        (i, s) for i, s in enumerate(all_segments)
        if lane_of(s.src, lanes) is not None and lane_of(s.dst, lanes) is not None and s.src != s.dst
        and (window is None or window[0] - 1e-12 <= s.t <= window[1] + 1e-12)
    ]
    spoof = [(i, s) for i, s in candidates if s.src.startswith(_SPOOFED) or s.dst.startswith(_SPOOFED)]
    spoof_ids = {i for i, _ in spoof}
    drawable = [(i, s) for i, s in candidates if i not in spoof_ids]
    hidden: tuple[float, float, str] | None = None
    if len(drawable) > max_segments:
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
            f"⋮  {len(middle):,} segments in {fmt_duration(m1 - m0)} not drawn: {data:,} with data, "
            f"{len(middle) - data:,} without; {retrans} retransmitted, {lost} lost  ⋮\n"
            f"ladder(trace, window=({fmt_time(m0)}, {fmt_time(m1)})) draws them"
        )
        hidden = (h0, h1, label)
        registry["hidden"] = [i for i, _ in middle]
        drawable = head + tail
    lo = window[0] if window else -math.inf
    hi = window[1] if window else math.inf

    # Stacking slots: segments leaving (or reaching) one timeline at the same instant
    # are drawn one under the other so they do not hide each other.
    moments: dict[float, int] = {}
    send_slot: dict[int, int] = {}
    arrive_slot: dict[int, int] = {}
    per_lane: dict[tuple[float, int], int] = {}

    def take(t: float, lane: int) -> int:
        key = (round(t, 9), lane)
        k = per_lane.get(key, 0)
        per_lane[key] = k + 1
        moments[round(t, 9)] = max(moments.get(round(t, 9), 1), k + 1)
        return k

    # At one instant on one timeline, arrivals come first and the segments they
    # trigger after them, so every answer is drawn below what it answers.  A segment
    # that arrives the instant it is sent (no link delay: a packetdrill script's peer)
    # takes its turn in the trace's order instead, among that instant's sends, so that
    # it lands after what caused it and before what it causes.
    entries = [(round(s.t, 9), lane_of(s.src, lanes), 1, i, True) for i, s in drawable]
    entries += [(round(_arrival(s, delay), 9), lane_of(s.dst, lanes), 0 if _arrival(s, delay) > s.t else 1, i, False) for i, s in drawable]
    for t, lane, _, i, is_send in sorted(entries):
        (send_slot if is_send else arrive_slot)[i] = take(t, lane)
    # A server with many peers: draw its listener's states only (its connections'
    # states are the clients' business); otherwise the main connection's too.
    own_states = {
        name: trace.states_of(name, None) if n_lanes > 2 and name == "server" else trace.states_of(name)
        for name in lanes if name != _SPOOFED
    }
    changes = [e for name in own_states for e in own_states[name] if e.old != e.state and lo <= e.t <= hi]
    for e in changes:
        moments.setdefault(round(e.t, 9), 1)
    spans: dict[str, list[TimerSpan]] = {}
    all_timers = trace.timers if timers else []
    if timers:
        for name in lanes:
            if name == _SPOOFED:
                continue
            peers = {None, *lanes} | ({trace.main_peer(name)} if n_lanes <= 2 else set())
            mine = [e for e in all_timers if e.endpoint == name]
            spans[name] = [sp for sp in timer_spans(trace, name, peers, mine) if sp.end >= lo and sp.start <= hi]
            for sp in spans[name]:
                for t in (sp.start, sp.end):
                    if lo <= t <= hi and not (hidden and hidden[0] < t < hidden[1]):
                        moments.setdefault(round(t, 9), 1)
    if spoof:
        syn_times = [s.t for _, s in spoof if s.src.startswith(_SPOOFED)] or [spoof[0][1].t]
        for t in (syn_times[0], syn_times[-1]):
            moments.setdefault(round(t, 9), 1)
    if hidden:
        moments.setdefault(round(hidden[0], 9), 1)
        moments.setdefault(round(hidden[1], 9), 1)
        moments = {t: k for t, k in moments.items() if not hidden[0] + 1e-9 < t < hidden[1] - 1e-9}
    if window:
        moments.setdefault(round(window[0], 9), 1)
    tmap = build_time_map(moments, axis=axis, delay=delay, hidden=hidden)
    y_top = tmap.ys[0] - 1.2
    y_bottom = tmap.bottom + 2.2  # room for a final error label above the legend line

    # Geometry: lanes one unit apart; timer lanes and state labels in the margins.
    gap_x = 1.0
    xs = {name: k * gap_x for k, name in enumerate(lanes)}
    kinds = sorted({sp.timer for ss in spans.values() for sp in ss}, key=timer_rank) if timers else []
    lane_w = 0.045
    outer = 0.06 + lane_w * len(kinds)
    height_units = y_bottom - y_top
    if figsize is None:
        fig_w = width if width is not None else min(4.2 + 3.4 * (n_lanes - 1), 18.0)
        height = min(max(1.0 + 0.30 * height_units, 3.2), 40.0)
        figsize = (fig_w, height)
    # Margins in points, whatever the width: the time stamps and the state labels of
    # the first timeline on the left, those of the last one on the right.
    def label_room(name: str) -> float:
        texts = [e.state for e in own_states.get(name, ())] + ["CLOSED"]
        outcome = trace.outcome.endpoints.get(name)
        if outcome is not None and outcome.error:
            texts.append(outcome.error)
        return max(0.68 * 7.5 * len(t) for t in texts) + 12.0

    left_pt = 36.0 + (label_room(lanes[0]) if n_lanes > 1 else 0.0)
    right_pt = label_room(lanes[-1])
    page_pt = float(figsize[0]) * 72.0
    share = min((left_pt + right_pt) / page_pt, 0.7)
    span = max((n_lanes - 1) * gap_x + 2 * outer, 0.6) / (1.0 - share)
    per_unit = page_pt / span
    x_min = -outer - left_pt / per_unit
    x_max = (n_lanes - 1) * gap_x + outer + right_pt / per_unit
    scene = Scene(float(figsize[0]), float(figsize[1]), (x_min, x_max), (y_top, y_bottom), 0.32, registry=registry)
    colours = {name: style.endpoint_colour(name, k) for k, name in enumerate(lanes)}
    compact = n_lanes > 2

    # Title and legend line.
    scenario = trace.params.get("scenario", "")
    legend = f"{scenario} · time flows down · ↻ retransmission · ✗ lost"
    if axis == "compressed":
        legend += " · axis compressed: quiet gaps cut out (≈)"
    scene.add("text", xs=(0.01,), ys=(0.004,), text=legend, ha="left", va="bottom", size=7.5, colour=style.GREY,
              figure=True)

    # Lifelines: one line each, with a zig-zag wherever quiet time was cut out.
    cuts = [(y0, y1) for (_, _, y0, y1, _) in tmap.breaks]
    for name in lanes:
        x = xs[name]
        line_x, line_y = [x], [y_top + 0.55]
        for y0, y1 in cuts:
            line_x += [x, x - 0.025, x + 0.025, x]
            line_y += [y0 + 0.25, y0 + 0.45, y1 - 0.45, y1 - 0.25]
        line_x.append(x)
        line_y.append(y_bottom - 0.2)
        scene.add("line", xs=tuple(line_x), ys=tuple(line_y), colour=colours[name], lw=2.0, alpha=0.9,
                  gid=f"lifeline-{name}")
        title = name
        if name == _SPOOFED:
            title = f"spoofed sources ×{len({s.src for _, s in spoof if s.src.startswith(_SPOOFED)}):,}"
        scene.add("text", xs=(x,), ys=(y_top + 0.1,), text=title, ha="center", va="bottom", size=11, weight="bold",
                  colour=colours[name], gid=f"lane-{name}")
    for (t0, t1, y0, y1, label) in tmap.breaks:
        registry["breaks"].append((t0, t1))
        # Between the last two timelines: never on top of a lifeline.
        scene.add("text", xs=((xs[lanes[-2]] + xs[lanes[-1]]) / 2 if n_lanes > 1 else xs[lanes[0]] + 0.3,),
                  ys=((y0 + y1) / 2,), text=label, size=8.5,
                  colour=style.GREY, italic=True, gid=f"break-{len(registry['breaks'])}",
                  box=Box(style.PILL, alpha=0.9))

    # Time stamps in the left margin, where something starts.
    last_y = -math.inf
    stamp_times = sorted({round(s.t, 9) for _, s in drawable} | {round(e.t, 9) for e in changes})
    for t in stamp_times:
        y = tmap.y(t)
        if y - last_y >= 0.9:
            scene.add("text", xs=(x_min + 0.01,), ys=(y,), text=f"{fmt_time(t)} s", ha="left", size=7, colour=style.GREY)
            last_y = y

    # Segments.  In a burst (many segments leaving one timeline at one instant) only
    # the first, the last and the remarkable ones are labelled, and one label says
    # how many more there are.
    refused = _refused_segments(trace, drawable, delay)
    bursts: dict[tuple[float, int], list[int]] = {}
    for i, s in drawable:
        bursts.setdefault((round(s.t, 9), lane_of(s.src, lanes)), []).append(i)
    quiet: set[int] = set()
    burst_note: dict[int, tuple[int, int]] = {}
    by_index = dict(drawable)
    for members in bursts.values():
        if len(members) > 8:
            # A tight fan: the first and the last are labelled, one label counts the rest.
            inner = members[1:-1]
            quiet.update(inner)
            burst_note[inner[len(inner) // 2]] = (len(inner), sum(1 for i in inner if by_index[i].dropped))
        elif len(members) > 5:
            inner = [i for i in members[1:-1] if not (by_index[i].dropped or by_index[i].retransmission)]
            if len(inner) >= 3:
                quiet.update(inner)
                burst_note[inner[len(inner) // 2]] = (len(inner), 0)
    for i, s in drawable:
        a, b = lane_of(s.src, lanes), lane_of(s.dst, lanes)
        x0, x1 = xs[lanes[a]], xs[lanes[b]]
        y0 = tmap.y(s.t, send_slot[i])
        y1 = tmap.y(_arrival(s, delay), arrive_slot[i])
        colour = colours[lanes[a]]
        direction = 1 if x1 > x0 else -1
        inset = 0.012 * direction
        xe, ye = ((x0 + x1) / 2, (y0 + y1) / 2) if s.dropped else (x1 - inset, y1)
        scene.add("arrow", xs=(x0 + inset, xe), ys=(y0, ye), head=not s.dropped, lw=1.5, colour=colour,
                  dash=(4, 2) if s.retransmission else None, gid=f"segment-{i}")
        registry["arrows"].append(i)
        if s.retransmission:
            registry["retransmissions"].append(i)
        if s.dropped:
            # Drawn as a shape, not the ✗ glyph: every viewer's fonts draw it the same.
            scene.add("cross", xs=(xe,), ys=(ye,), size=9.0, lw=2.6, colour=style.DROP, gid=f"drop-{i}", text="✗")
            registry["drops"].append(i)
        if i in refused:
            scene.add("text", xs=(x1 - 0.03 * direction,), ys=(y1,), text="✗ " + refused[i],
                      ha="right" if direction > 0 else "left", size=7, colour=style.DROP, gid=f"refused-{i}")
            registry["refused"].append(i)
        if i in quiet and i not in burst_note:
            continue
        if i in burst_note:
            more, lost_here = burst_note[i]
            text = f"… {more} more like these" + (f", {lost_here} lost" if lost_here else "") + " …"
        else:
            text = _segment_label(s, compact)
        # At a fixed distance from the sender: labels of a burst stack like its
        # arrows, and labels of arrows that cross in the middle stay apart.
        size = 7 if not compact else 6.5
        frac, ha = 0.4, "center"
        p0, p1 = scene.to_points(x0, y0), scene.to_points(x1, y1)
        span = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
        if s.dropped:
            # A lost segment's label ends just before its ✗ (or starts at the sender's
            # timeline when it is too long for that), so the ✗ stays clear.
            room = 0.44 * span - 6
            length = 0.6 * size * len(text)
            if length <= room:
                frac, ha = 0.44, "right" if direction > 0 else "left"
            else:
                frac = min(0.03 + length / 2 / max(span, 1.0), 0.5)
        lx, ly = x0 + (x1 - x0) * frac, y0 + (y1 - y0) * frac
        scene.add("text", xs=(lx,), ys=(ly,), text=text, offset=(0.0, 3.5), rotation=scene.screen_angle((x0, y0), (xe, ye)),
                  ha=ha, va="bottom", size=size, colour=style.INK, gid=f"label-{i}",
                  italic=i in burst_note, box=Box(style.PILL, pad=0.12, alpha=0.85))

    # The spoofed flood: one band, not a thousand arrows.
    if spoof and _SPOOFED in lanes and "server" in lanes:
        syn_times = [s.t for _, s in spoof if s.src.startswith(_SPOOFED)] or [spoof[0][1].t]
        t0, t1 = syn_times[0], syn_times[-1]
        xs0, xs1 = xs[_SPOOFED], xs["server"]
        syns = sum(1 for _, s in spoof if s.src.startswith(_SPOOFED))
        answers = len(spoof) - syns
        ya, yb = tmap.y(t0), tmap.y(t1)
        d = tmap.y(t0 + delay) - ya if axis == "linear" else 1.0
        scene.add("polygon", xs=(xs0, xs1, xs1, xs0), ys=(ya, ya + d, yb + d, yb), fill=style.SPOOFED, alpha=0.22,
                  colour=style.SPOOFED, lw=1.0, gid="spoofed-band")
        rate = (syns - 1) / (t1 - t0) if t1 > t0 else float(syns)
        scene.add("text", xs=((xs0 + xs1) / 2,), ys=((ya + yb) / 2 + d / 2,),
                  text=f"{syns:,} spoofed SYNs\n({rate:.0f}/s for {fmt_duration(t1 - t0)})\n{answers:,} SYN,ACKs back to nowhere",
                  size=8, colour=style.INK, box=Box(style.PILL, pad=0.3, alpha=0.9))
        registry["hidden"].extend(i for i, _ in spoof)

    # States beside each timeline (outer side for the edge lanes, right side otherwise).
    for name in lanes:
        if name == _SPOOFED:
            continue
        k = lanes.index(name)
        left = k == 0 and n_lanes > 1
        x = xs[name] + (-outer if left else outer)
        prev_y = -math.inf
        for e in own_states[name]:
            if e.old == e.state or not lo <= e.t <= hi or (hidden and hidden[0] < e.t < hidden[1]):
                continue
            y = max(tmap.y(e.t), prev_y + 0.62)
            prev_y = y
            scene.add("line", xs=(xs[name], x), ys=(tmap.y(e.t), y), colour=colours[name], lw=0.6, alpha=0.7)
            scene.add("text", xs=(x,), ys=(y,), text=e.state, ha="right" if left else "left", size=7.5, weight="bold",
                      colour=style.INK, gid=f"state-{name}-{len(registry['states'])}",
                      box=Box(style.tint(colours[name], 0.25), colours[name], 0.8))
            registry["states"].append((name, e.state, e.t))
        outcome = trace.outcome.endpoints.get(name)
        if outcome is not None and outcome.error and (window is None or trace.outcome.end_time <= hi):
            # Under the last state label: "CLOSED", then why.
            y_err = prev_y + 0.7 if prev_y > -math.inf else y_bottom - 0.9
            scene.add("text", xs=(x,), ys=(y_err,), text=outcome.error, ha="right" if left else "left",
                      size=8, weight="bold", colour="white", gid=f"error-{name}", box=Box(style.DROP))

    # Timer lanes: one bracket per period a timer ran.
    for name, ss in spans.items():
        k = lanes.index(name)
        left = k == 0 and n_lanes > 1
        sign = -1 if left else 1
        for sp in ss:
            j = kinds.index(sp.timer)
            x = xs[name] + sign * (0.035 + lane_w * j)
            if hidden and hidden[0] < sp.end and sp.start < hidden[1] and (sp.start >= hidden[0] or sp.end <= hidden[1]):
                continue  # a period (partly) hidden in the summary
            y0 = tmap.y(max(sp.start, lo))
            y1 = tmap.y(min(sp.end, hi))
            colour = colours[name]
            tick = 0.012 * sign
            scene.add("line", xs=(x - tick, x, x, x - tick), ys=(y0, y0, y1, y1), colour=colour, lw=1.2, alpha=0.85,
                      gid=f"timer-{name}-{len(registry['timers'])}")
            if sp.how == "fired":
                scene.add("dot", xs=(x,), ys=(y1,), size=3.5, colour=colour)
            registry["timers"].append((name, sp.timer, sp.start, sp.end, sp.how))
            text = f"{TIMER_NAMES[sp.timer]} {fmt_duration(sp.duration)}" if sp.duration else TIMER_NAMES[sp.timer]
            if y1 - y0 >= 0.072 * len(text):
                scene.add("text", xs=(x + sign * 0.008,), ys=((y0 + y1) / 2,), text=text, rotation=90,
                          ha="center", va="bottom" if left else "top", size=6.5, colour=style.GREY)
    return scene


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
