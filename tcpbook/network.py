"""Wiring: endpoints + link + simulator + applications → a :class:`~tcpbook.trace.Trace`.

A :class:`Network` is the driver of the sans-IO endpoints.  After every input it takes
the endpoint's effects and carries them out: segments go to the :class:`~tcpbook.link.Link`
(which drops them or says when they arrive), timers go into the
:class:`~tcpbook.simulator.Simulator`'s heap, and everything is written down as trace
events.  Applications (:mod:`tcpbook.apps`) are told what happened and act on it.
"""

from __future__ import annotations

from typing import Any, Protocol

from .endpoint import CancelTimer, Endpoint, SetTimer, Transmit
from .events import AppEvent, CwndEvent, Event, NoteEvent, SegmentEvent, StateEvent, TimerEvent
from .link import Link
from .outcome import derive_outcome
from .segment import FLAG_NAMES, KIND_TABLE, Segment
from .simulator import NS, Simulator
from .trace import Trace
from .vocabulary import NoteKind, Timer, TimerAction

DEFAULT_MAX_EVENTS = 5_000_000  # a run longer than this is a runaway (see RunDidNotFinish)


def segment_event(segment: Segment, now: float, retransmission: bool, arrival: float | None, drop_reason: str = "") -> SegmentEvent:
    """The trace's record of ``segment`` handed to the network at ``now``: it arrives at
    ``arrival``, or is dropped (``arrival`` None) for ``drop_reason``.  Every driver of
    endpoints (this network, :mod:`tcpbook.packetdrill`'s script runner) records
    segments this way."""
    flags, size = segment.flags & 0x1F, len(segment.payload)
    return SegmentEvent(
        now,
        segment.src,
        segment.dst,
        FLAG_NAMES[flags],
        segment.seq,
        segment.ack,
        size,
        arrival is None,
        retransmission,
        arrival,
        drop_reason,
        segment.window,
        segment.mss,
        segment.src_port,
        segment.dst_port,
        KIND_TABLE[2 * flags + (size > 0)],
        segment.note,
    )


class App(Protocol):
    """An application on one endpoint: started once, then told about every notice."""

    def start(self, net: Network, endpoint: Endpoint) -> None: ...

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppEvent) -> None: ...


class Network:
    """Endpoints joined by one link, on one virtual clock."""

    def __init__(self, link: Link, *, record_timers: bool = True) -> None:
        self.link = link
        self.sim = Simulator()
        self.endpoints: dict[str, Endpoint] = {}
        self.apps: dict[str, list[App]] = {}
        self.events: list[Event] = []
        self.record_timers = record_timers
        # Each armed timer: [token, deadline, time of its entry in the event queue].  A timer
        # re-armed to a later deadline keeps its queued entry, which moves itself on when
        # it comes due (re-arming the loss probe on every ACK costs no queue traffic).
        self._timers: dict[tuple[str, int, Timer], list[int]] = {}
        self._token = 0
        self.segments_sent = 0
        self.crashed: dict[str, Endpoint] = {}
        self._order: list[str] = []
        self._injected: set[str] = set()  # senders of segments no endpoint sent (spoofed, stale)
        self._apply = {
            Transmit: self._apply_transmit,
            SetTimer: self._apply_set_timer,
            CancelTimer: self._apply_cancel_timer,
            StateEvent: self._record,
            CwndEvent: self._record,
            AppEvent: self._apply_app_notice,
            NoteEvent: self._record,
        }

    # -- building -------------------------------------------------------------------------

    def add(self, endpoint: Endpoint, *apps: App) -> Endpoint:
        """Put ``endpoint`` on the network, with the applications that run on it."""
        self.endpoints[endpoint.name] = endpoint
        self._order.append(endpoint.name)
        self.apps[endpoint.name] = list(apps)
        return endpoint

    @property
    def now(self) -> float:
        return self.sim.now

    def at(self, t: float, action: Any, *args: Any) -> None:
        """Schedule ``action(*args)`` at time ``t`` and then carry out the effects it causes."""
        self.sim.schedule(t, self._call, action, args)

    def _call(self, action: Any, args: tuple[Any, ...]) -> None:
        action(*args)
        self.flush()

    def inject(self, segment: Segment, t: float) -> None:
        """Put a segment on the wire at ``t`` that no endpoint sent (an old duplicate,
        a spoofed SYN).  It passes through the link like any other."""
        self._injected.add(segment.src)
        self.sim.schedule(t, self._transmit, segment, False)

    def senders(self) -> list[str]:
        """Everyone who may put segments on this network: the endpoints, then injected sources."""
        return [*self._order, *sorted(self._injected - set(self._order))]

    def can_send(self, name: str) -> bool:
        return name in self.endpoints or name in self._injected

    def crash(self, name: str) -> None:
        """Host ``name`` dies: its connections and timers vanish without a FIN or RST,
        and segments sent to it from now on reach nobody."""
        endpoint = self.endpoints.pop(name)
        endpoint.take_effects()
        for key in [k for k in self._timers if k[0] == name]:
            del self._timers[key]
        self.crashed[name] = endpoint
        self.events.append(NoteEvent(self.sim.now, name, "host crashed: every connection and timer is gone", NoteKind.HOST_CRASHED))

    def reboot(self, name: str) -> Endpoint:
        """The crashed host ``name`` is back — a fresh TCP with no connections and no
        applications, so a segment of an old connection finds no socket and is answered
        with a RST (RFC 9293 §3.10.7.1)."""
        old = self.crashed[name]
        endpoint = Endpoint(name, old.profile, isn=old.isn + 10_000_000, cookie_secret=old.cookie_secret + "-rebooted")
        self.endpoints[name] = endpoint
        self.apps[name] = []
        self.events.append(NoteEvent(self.sim.now, name, "host rebooted: no connections", NoteKind.HOST_REBOOTED))
        return endpoint

    # -- running -----------------------------------------------------------------------

    def run(self, until: float | None = None, max_events: int | None = None) -> None:
        """Start every application, then run the clock until nothing is left to do (or
        ``until``).  Raises :class:`~tcpbook.simulator.RunDidNotFinish` past ``max_events``."""
        for name, endpoint in self.endpoints.items():
            for app in self.apps[name]:
                app.start(self, endpoint)
        self.flush()
        self.sim.run(until=until, max_events=DEFAULT_MAX_EVENTS if max_events is None else max_events)

    def flush(self) -> None:
        """Carry out every pending effect of every endpoint (until all are quiet: an
        application's reaction can cause more effects)."""
        for endpoint in list(self.endpoints.values()):
            if endpoint.pending:
                self._flush(endpoint)

    def _flush(self, endpoint: Endpoint) -> None:
        # Effects caused while applying others (an application reacting) join the end of
        # the same queue and are applied in turn.
        pending = endpoint.pending  # drained in place: the driver owns the draining
        apply = self._apply
        for effect in pending:  # a list iterator also visits what is appended meanwhile
            apply[type(effect)](endpoint, effect)
        pending.clear()

    def _apply_transmit(self, endpoint: Endpoint, effect: Transmit) -> None:
        self._transmit(effect.segment, effect.retransmission)

    def _apply_set_timer(self, endpoint: Endpoint, effect: SetTimer) -> None:
        key = (effect.endpoint, effect.cid, effect.kind)
        deadline_ns = round(effect.deadline * NS)  # on the clock's grid (durations are finite, >= 0)
        armed = self._timers.get(key)
        if armed is not None and armed[2] <= deadline_ns:
            armed[1] = deadline_ns  # its queued entry comes first and will move itself on
        else:
            self._token += 1
            self._timers[key] = [self._token, deadline_ns, deadline_ns]
            self.sim.schedule_ns(deadline_ns, self._fire, key, self._token, effect.peer)
        if self.record_timers:
            self.events.append(TimerEvent(self.sim.now, effect.endpoint, effect.peer, effect.kind, TimerAction.SET, deadline_ns / NS, effect.duration))

    def _apply_cancel_timer(self, endpoint: Endpoint, effect: CancelTimer) -> None:
        if self._timers.pop((effect.endpoint, effect.cid, effect.kind), None) is not None and self.record_timers:
            self.events.append(TimerEvent(self.sim.now, effect.endpoint, effect.peer, effect.kind, TimerAction.CANCELLED))

    def _record(self, endpoint: Endpoint, record: StateEvent | NoteEvent) -> None:
        self.events.append(record)

    def _apply_app_notice(self, endpoint: Endpoint, notice: AppEvent) -> None:
        self.events.append(notice)
        for app in self.apps[endpoint.name]:
            app.on_notice(self, endpoint, notice)

    def _transmit(self, segment: Segment, retransmission: bool) -> None:
        now = self.sim.now
        self.segments_sent += 1
        reason, arrival = self.link.route(segment, now)
        arrival_ns = None
        if arrival is not None:
            if segment.dst in self.endpoints:
                arrival_ns = round(arrival * NS)  # on the clock's grid; delay >= 0: never before now
                arrival = arrival_ns / NS
            else:
                reason = "host down" if segment.dst in self.crashed else "no such host"
                arrival = None
        self.events.append(segment_event(segment, now, retransmission, arrival, reason))
        if arrival_ns is not None:
            self.sim.schedule_ns(arrival_ns, self._arrive, segment)

    def _arrive(self, segment: Segment) -> None:
        endpoint = self.endpoints.get(segment.dst)
        if endpoint is None:  # crashed while the segment was in flight
            self.events.append(
                NoteEvent(self.sim.now, segment.dst, "segment arrived at a crashed host: lost", NoteKind.ARRIVED_AT_DEAD_HOST, segment.src)
            )
            return
        endpoint.receive(segment, self.sim.now)
        self._flush(endpoint)

    def _fire(self, key: tuple[str, int, Timer], token: int, peer: str | None) -> None:
        armed = self._timers.get(key)
        if armed is None or armed[0] != token:
            return  # cancelled, or re-armed to an earlier deadline, since
        if armed[1] > self.sim.now_ns:  # re-armed to a later deadline: move on to it
            armed[2] = armed[1]
            self.sim.schedule_ns(armed[1], self._fire, key, token, peer)
            return
        del self._timers[key]
        name, cid, kind = key
        if kind is Timer.KEEPALIVE and self._only_keepalive_left(key):
            return
        if self.record_timers:
            self.events.append(TimerEvent(self.sim.now, name, peer, kind, TimerAction.FIRED))
        endpoint = self.endpoints[name]
        endpoint.timer_expired(cid, kind, self.sim.now)
        self._flush(endpoint)

    def _only_keepalive_left(self, firing: tuple[str, int, Timer]) -> bool:
        """Stop a run that would never end: when every connection still doing anything is
        idle and alive, kept only by keepalive probes its peer has answered before, the
        same exchange would repeat every keepidle forever.  The run ends here, said in a
        note."""
        timers = [firing]
        for callback, args in self.sim.pending():
            if callback != self._fire:
                return False
            key, token = args[0], args[1]
            armed = self._timers.get(key)
            if armed is None or armed[0] != token:
                continue  # a timer cancelled or re-armed since: it will do nothing
            if key[2] is not Timer.KEEPALIVE:
                return False
            timers.append(key)
        if self.link.may_drop():
            return False  # a lost probe would change what happens next
        for name, cid, _ in timers:
            conn = self.endpoints[name].only_keepalive_left(cid)
            peer = self.endpoints.get(conn.peer) if conn is not None else None
            if peer is None or not peer.answers_probes(name, conn.peer_port, conn.local_port):
                return False
        self.sim.clear()
        self._timers.clear()
        self.events.append(NoteEvent(
            self.sim.now, firing[0], "only answered keepalive probes are left, every keepidle forever: the run stops here",
            NoteKind.KEEPALIVE_ONLY,
        ))
        return True

    # -- result ------------------------------------------------------------------------

    def trace(self, params: dict[str, Any], stats: dict[str, Any] | None = None) -> Trace:
        """The run's :class:`Trace`, with its outcome derived from the events."""
        # a crashed host stands for itself (its ledger holds what its applications did),
        # even if it was rebooted since
        everyone = {name: self.crashed.get(name) or self.endpoints[name] for name in self._order}
        if self.crashed:
            stats = {**(stats or {}), "crashed": sorted(self.crashed)}
        names, events, crashed = tuple(everyone), self.events, tuple(self.crashed)
        ledgers = {name: ep.ledger for name, ep in everyone.items()}
        return Trace(params, events, endpoints=names, derive=lambda: derive_outcome(events, names, ledgers, crashed=crashed, stats=stats))
