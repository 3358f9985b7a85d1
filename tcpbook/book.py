"""Small questions the chapters ask of a trace, answered once and tested.

The book's chapters compute every number they state from a simulation.  The questions
come back again and again — *when did the client reach ESTABLISHED? which segments
carried data? what did client-3 and the server say to each other in that flood?* — so
they live here, documented and tested, and the chapters call them in the open.

>>> from tcpbook import simulate
>>> trace = simulate("handshake")
>>> established_at(trace, "client"), sent_times(trace, "client", ["SYN"])
(0.1, [0.0])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from .events import AppEvent, NoteEvent, SegmentEvent, StateEvent, TimerEvent
from .segment import SEQ_SPACE
from .trace import Trace
from .vocabulary import State

__all__ = [
    "conversation",
    "cwnd_steps",
    "data_segments",
    "entered",
    "established_at",
    "fins",
    "in_flight",
    "last_delivery",
    "pct",
    "probes",
    "pure_acks",
    "queue_occupancy",
    "secs",
    "sent_times",
    "side_by_side",
]


# -- when things happened ----------------------------------------------------------------


def established_at(trace: Trace, who: str) -> float | None:
    """When ``who``'s main connection reached ESTABLISHED (seconds), or None."""
    return trace.outcome.endpoints[who].established_at


def entered(trace: Trace, who: str, state: str, peer: str | None = "*") -> float | None:
    """When ``who`` first *entered* ``state`` (a self-loop does not count), or None.

    ``peer`` as in :meth:`tcpbook.trace.Trace.states_of`: by default the listener and the main connection.
    """
    return next((e.t for e in trace.states_of(who, peer) if e.state == state and e.old != state), None)


def sent_times(trace: Trace, who: str, flags: Iterable[str]) -> list[float]:
    """Times at which ``who`` put a segment with exactly these flags on the wire."""
    wanted = set(flags)
    return [s.t for s in trace.segments if s.src == who and set(s.flags) == wanted]


# -- which segments ------------------------------------------------------------------------


def data_segments(trace: Trace, who: str = "client") -> list[SegmentEvent]:
    """Segments carrying payload sent by ``who``."""
    return [s for s in trace.segments if s.src == who and s.len > 0]


def pure_acks(trace: Trace, who: str = "server") -> list[SegmentEvent]:
    """Segments sent by ``who`` that carry no payload and no SYN, FIN or RST."""
    return [s for s in trace.segments if s.src == who and s.len == 0 and not {"SYN", "FIN", "RST"} & set(s.flags)]


def fins(trace: Trace, who: str) -> list[SegmentEvent]:
    """The FIN segments ``who`` sent (first transmissions and retransmissions)."""
    return [s for s in trace.segments if s.src == who and "FIN" in s.flags]


# -- one conversation out of many ---------------------------------------------------------


def conversation(trace: Trace, name: str, server: str = "server") -> Trace:
    """The part of ``trace`` between endpoint ``name`` and ``server``, as a trace of its own.

    A SYN flood's trace holds thousands of endpoints; this keeps the segments between the
    two, ``name``'s own events, and the server's events about ``name`` (its connection
    with ``name``, its listener, and its decisions whose ``peer`` is ``name``).  Matching
    is on the notes' ``peer`` field, never on their text: ``client-1`` is not
    ``client-10``.
    """

    def involves(e: Any) -> bool:
        if isinstance(e, SegmentEvent):
            return {e.src, e.dst} == {name, server}
        if isinstance(e, NoteEvent):
            return e.endpoint == name or (e.endpoint == server and e.peer == name)
        if isinstance(e, (StateEvent, TimerEvent, AppEvent)):
            return e.endpoint == name or (e.endpoint == server and e.peer in (name, None))
        return False

    return Trace(trace.params, [e for e in trace.events if involves(e)], trace.outcome, (name, server))


def queue_occupancy(trace: Trace, server: str = "server") -> tuple[list[float], list[int]]:
    """``(times, sizes)``: how many half-open requests (SYN-RECEIVED connections)
    ``server``'s listener held, after each change."""
    times, sizes, n = [0.0], [0], 0
    for e in trace.state_changes:
        if e.endpoint != server or e.peer is None or e.old == e.state:
            continue
        if e.state == State.SYN_RECEIVED:
            n += 1
        elif e.old == State.SYN_RECEIVED:
            n -= 1
        else:
            continue
        times.append(e.t)
        sizes.append(n)
    return times, sizes


# -- numbers as the text says them ---------------------------------------------------------


def pct(x: float, digits: int = 1) -> str:
    """0.4237 → ``'42.4 %'``."""
    return f"{100 * x:.{digits}f} %"


def secs(x: float, digits: int = 2) -> str:
    """1.5 → ``'1.50 s'``."""
    return f"{x:.{digits}f} s"


# -- pictures side by side --------------------------------------------------------------


def side_by_side(figures: Sequence[Any], titles: Sequence[str], *, dpi: int = 72) -> str:
    """HTML that shows matplotlib figures next to each other where the page is wide enough
    for both at a legible size, one under the other otherwise (the book's column: each
    keeps its full width).  Each is an inline SVG with its alt text
    (:func:`tcpbook.render.figurehtml.figure_html`) under its title.  Display it with
    ``IPython.display.HTML``.  ``dpi`` is kept for compatibility and no longer used."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 - only the chapters that show figures need it

    from .render.figurehtml import figure_html  # noqa: PLC0415

    cells = []
    for fig, title in zip(figures, titles, strict=True):
        html = figure_html(fig)
        plt.close(fig)
        cells.append(f'<div style="flex:1 1 30rem;min-width:0"><p style="text-align:center;margin:0">'
                     f"<b>{escape(title)}</b></p>{html}</div>")
    return '<div class="tcpbook-side-by-side" style="display:flex;gap:1em;flex-wrap:wrap">' + "".join(cells) + "</div>"


# -- windows, probes and progress (flow and congestion; dead peers) ---------------------


def cwnd_steps(trace: Trace, who: str = "client") -> tuple[list[float], list[int], list[int | None]]:
    """``(times, cwnd, ssthresh)``: ``who``'s congestion window (in segments) and slow-start
    threshold (None while still "infinite"), from the moment its connection was
    established (the initial window) and after each change the trace records.

    Empty lists when ``who`` never reached ESTABLISHED or runs without congestion
    control (``cc="none"``: only the peer's window limits it).
    """
    start = trace.outcome.endpoints[who].established_at if who in trace.outcome.endpoints else None
    changes = [e for e in trace.events if e.type == "cwnd" and e.endpoint == who]
    profile = _profile_of(trace)
    if start is None or (profile is not None and profile.cc == "none"):
        return [], [], []
    times: list[float] = []
    cwnd: list[int] = []
    ssthresh: list[int | None] = []
    if profile is not None:
        times, cwnd, ssthresh = [start], [profile.initcwnd], [None]
    for e in changes:
        times.append(e.t)
        cwnd.append(e.cwnd)
        ssthresh.append(e.ssthresh)
    return times, cwnd, ssthresh


def _profile_of(trace: Trace) -> Any:
    """The profile a simulated trace ran with (None for a trace that is not a simulation)."""
    from .profiles import PROFILE_PARAMETERS, PROFILES, get_profile  # noqa: PLC0415 - only these helpers need it

    name = trace.params.get("profile", "linux")
    if name not in PROFILES:
        return None
    return get_profile(name, **{k: v for k, v in trace.params.items() if k in PROFILE_PARAMETERS})


def in_flight(trace: Trace, who: str = "client") -> tuple[list[float], list[int]]:
    """``(times, bytes)``: how many sequence numbers ``who`` has sent that it has not yet
    seen acknowledged, after each change — a segment ``who`` sends raises it, an ACK
    *arriving at* ``who`` lowers it.  (After a retransmission timeout the sender resends
    from the first unacknowledged byte; this counts the highest number ever sent.)"""
    isn = next((s.seq for s in trace.segments if s.src == who and "SYN" in s.flags), None)
    if isn is None:
        return [], []
    changes: list[tuple[float, int, int]] = []  # (time, 0 = ACK arrives / 1 = send, relative number)
    for s in trace.segments:
        if s.src == who and not {"SYN", "RST"} & set(s.flags):
            end = (s.seq - isn) % SEQ_SPACE + s.len + (1 if "FIN" in s.flags else 0)
            changes.append((s.t, 1, end))
        elif s.dst == who and s.arrival is not None and "ACK" in s.flags and "RST" not in s.flags:
            changes.append((s.arrival, 0, (s.ack - isn) % SEQ_SPACE))
    changes.sort(key=lambda c: (c[0], c[1]))  # at one instant the ACK comes first: it lets the sends out
    una = nxt = 1  # the SYN is number 0
    times, flight = [], []
    for t, kind, number in changes:
        if kind == 1:
            nxt = max(nxt, number)
        else:
            una = max(una, number)
        times.append(t)
        flight.append(max(0, nxt - una))
    return times, flight


def probes(trace: Trace, who: str, timer: str) -> list[SegmentEvent]:
    """The segments ``who`` sent at the instants its ``timer`` fired: zero-window probes
    (``"persist"``), keepalive probes (``"keepalive"``), tail loss probes (``"tlp"``).
    A RST sent when the timer gives up (keepalive's last expiry) is not a probe."""
    fired = {e.t for e in trace.timers if e.endpoint == who and e.timer == timer and e.action == "fired"}
    return [s for s in trace.segments if s.src == who and s.t in fired and "RST" not in s.flags]


def last_delivery(trace: Trace, who: str = "server") -> float | None:
    """When ``who``'s TCP last handed data to its application (seconds), or None."""
    return max((e.t for e in trace.app_events if e.endpoint == who and e.action == "data"), default=None)


# -- SYN floods: the queue, the requests, the setting chapters 2 and 8 share ------------------

#: The legitimate side of the SYN floods in chapters 2 and 8, so that both chapters measure
#: the same thing.  Twenty clients connect, one every 3.3 s from t = 20.3 s: late enough
#: for the flood to have filled the queue, and not on whole seconds, because a client's
#: SYN retries and the server's SYN,ACK timers both tick in whole seconds from their
#: start, and a client in step with the server's timers would meet the queue at the same
#: moment of its cycle every time.  The flood lasts until the last client's last SYN
#: (sent 67 s after its first, with Linux's defaults) has met it.
FLOOD_SETUP: dict[str, float] = {"clients": 20, "client_start": 20.3, "client_interval": 3.3, "attack_duration": 155.0}


def syn_queue_length(trace: Trace, server: str = "server") -> tuple[list[float], list[int]]:
    """``(times, sizes)``: the length of ``server``'s SYN queue after each change.

    A request is in the queue from the moment its connection enters SYN-RECEIVED until it
    leaves that state (ESTABLISHED, or CLOSED when its SYN,ACK retries ran out).  Unlike
    :func:`queue_occupancy`, a connection rebuilt from a SYN cookie — which passes
    through SYN-RECEIVED within one instant and never holds a place in the queue — is not
    counted, so the length never exceeds the listener's limit (backlog + 1).
    """
    changes: list[tuple[float, int, int]] = []  # (time, order in the trace, +1 or -1)
    since: dict[str, tuple[float, int]] = {}
    for order, e in enumerate(trace.state_changes):
        if e.endpoint != server or e.peer is None or e.old == e.state:
            continue
        if e.state == State.SYN_RECEIVED:
            since[e.peer] = (e.t, order)
        elif e.old == State.SYN_RECEIVED and e.peer in since:
            entered_at, entered_order = since.pop(e.peer)
            if e.t > entered_at:
                changes += [(entered_at, entered_order, 1), (e.t, order, -1)]
    changes += [(t, order, 1) for t, order in since.values()]
    changes.sort()
    times, sizes, n = [0.0], [0], 0
    for t, _, step in changes:
        n += step
        times.append(t)
        sizes.append(n)
    return times, sizes


def mean_queue_length(times: Sequence[float], sizes: Sequence[int], start: float, end: float) -> float:
    """The time average of a step function ``(times, sizes)`` (as :func:`syn_queue_length`
    returns it: each size holds from its time until the next) over ``[start, end)``."""
    if not end > start:
        raise ValueError(f"mean_queue_length: end={end!r} must be later than start={start!r}")
    area = 0.0
    for i, (t, n) in enumerate(zip(times, sizes)):
        until = times[i + 1] if i + 1 < len(times) else end
        lo, hi = max(t, start), min(until, end)
        if hi > lo:
            area += n * (hi - lo)
    return area / (end - start)


def half_open_lifetimes(trace: Trace, prefix: str = "spoofed", server: str = "server") -> list[float]:
    """How long each half-open request from a peer whose name starts with ``prefix``
    stayed in ``server``'s SYN queue before it was dropped or completed, in the order the
    requests ended (requests still open when the run ended are left out)."""
    since: dict[str, float] = {}
    lifetimes = []
    for e in trace.state_changes:
        if e.endpoint != server or e.peer is None or e.old == e.state or not e.peer.startswith(prefix):
            continue
        if e.state == State.SYN_RECEIVED:
            since[e.peer] = e.t
        elif e.old == State.SYN_RECEIVED and e.peer in since:
            lifetimes.append(round(e.t - since.pop(e.peer), 9))
    return lifetimes


__all__ += ["FLOOD_SETUP", "half_open_lifetimes", "mean_queue_length", "syn_queue_length"]
