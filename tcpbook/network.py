"""Wiring: endpoints + link + simulator + applications → a :class:`~tcpbook.trace.Trace`.

A :class:`Network` is the driver of the sans-IO endpoints.  After every input it takes
the endpoints' effects and carries them out: segments go to the :class:`~tcpbook.link.Link`
(which drops them or schedules their arrival), timers go into the
:class:`~tcpbook.simulator.Simulator`'s heap, and everything is written to the trace.
Applications (:mod:`tcpbook.apps`) are told what happened and act on it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from .endpoint import AppNotice, CancelTimer, Endpoint, Note, SetTimer, StateChange, Transmit
from .link import Link
from .segment import Segment, flag_names
from .simulator import Simulator
from .table import State
from .trace import (
    TIME_DECIMALS,
    AppEvent,
    EndpointOutcome,
    Event,
    NoteEvent,
    Outcome,
    SegmentEvent,
    StateEvent,
    TimerEvent,
    Trace,
)


def _t(x: float) -> float:
    """Times in the trace are rounded to the nanosecond: 0.1 + 0.2 is recorded as 0.3."""
    return round(x, TIME_DECIMALS)


class App(Protocol):
    """An application on one endpoint: started once, then told about every notice."""

    def start(self, net: Network, endpoint: Endpoint) -> None: ...

    def on_notice(self, net: Network, endpoint: Endpoint, notice: AppNotice) -> None: ...


class Network:
    """Endpoints joined by one link, on one virtual clock."""

    def __init__(self, link: Link, *, record_timers: bool = True) -> None:
        self.link = link
        self.sim = Simulator()
        self.endpoints: dict[str, Endpoint] = {}
        self.apps: dict[str, list[App]] = {}
        self.events: list[Event] = []
        self.record_timers = record_timers
        self._timer_tokens: dict[tuple[str, int, str], int] = {}
        self._token = 0
        self.segments_sent = 0
        self.crashed: dict[str, Endpoint] = {}
        self._order: list[str] = []

    # -- building -------------------------------------------------------------------------

    def add(self, endpoint: Endpoint, *apps: App) -> Endpoint:
        self.endpoints[endpoint.name] = endpoint
        self._order.append(endpoint.name)
        self.apps[endpoint.name] = list(apps)
        return endpoint

    @property
    def now(self) -> float:
        return self.sim.now

    def at(self, t: float, action: Any, *args: Any) -> None:
        """Schedule ``action(*args)`` at time ``t`` and process the effects it causes."""
        self.sim.schedule(t, self._call, action, args)

    def _call(self, action: Any, args: tuple[Any, ...]) -> None:
        action(*args)
        self.flush()

    def inject(self, segment: Segment, t: float) -> None:
        """Put a segment on the wire at ``t`` that no endpoint sent (an old duplicate,
        a spoofed SYN).  It passes through the link like any other."""
        self.sim.schedule(t, self._transmit, segment, False)

    def crash(self, name: str) -> None:
        """Host ``name`` dies: its connections and timers vanish without a FIN or RST,
        and segments sent to it from now on reach nobody."""
        endpoint = self.endpoints.pop(name)
        endpoint.take_effects()
        for key in [k for k in self._timer_tokens if k[0] == name]:
            del self._timer_tokens[key]
        self.crashed[name] = endpoint
        self.events.append(NoteEvent(_t(self.sim.now), name, "host crashed: every connection and timer is gone"))

    # -- running -----------------------------------------------------------------------

    def run(self, until: float | None = None, max_events: int = 5_000_000) -> None:
        for name, endpoint in self.endpoints.items():
            for app in self.apps[name]:
                app.start(self, endpoint)
        self.flush()
        self.sim.run(until=until, max_events=max_events)

    def flush(self) -> None:
        """Carry out every pending effect of every endpoint (repeat until quiet:
        an application's reaction can cause more effects)."""
        busy = True
        while busy:
            busy = False
            for endpoint in self.endpoints.values():
                effects = endpoint.take_effects()
                if effects:
                    busy = True
                    for effect in effects:
                        self._apply(endpoint, effect)

    def _apply(self, endpoint: Endpoint, effect: Any) -> None:
        now = _t(self.sim.now)
        if isinstance(effect, Transmit):
            self._transmit(effect.segment, effect.retransmission)
        elif isinstance(effect, SetTimer):
            key = (effect.endpoint, effect.cid, effect.kind)
            self._token += 1
            self._timer_tokens[key] = self._token
            self.sim.schedule(effect.deadline, self._fire, key, self._token, effect.peer)
            if self.record_timers:
                self.events.append(
                    TimerEvent(now, effect.endpoint, effect.peer, effect.kind, "set", _t(effect.deadline), _t(effect.duration))
                )
        elif isinstance(effect, CancelTimer):
            if self._timer_tokens.pop((effect.endpoint, effect.cid, effect.kind), None) is not None and self.record_timers:
                self.events.append(TimerEvent(now, effect.endpoint, effect.peer, effect.kind, "cancelled"))
        elif isinstance(effect, StateChange):
            self.events.append(StateEvent(now, effect.endpoint, effect.peer, effect.old.value, effect.new.value, effect.cause))
        elif isinstance(effect, AppNotice):
            self.events.append(AppEvent(now, effect.endpoint, effect.peer, effect.action, effect.nbytes, effect.detail))
            for app in self.apps.get(endpoint.name, ()):
                app.on_notice(self, endpoint, effect)
        elif isinstance(effect, Note):
            self.events.append(NoteEvent(now, effect.endpoint, effect.text))

    def _transmit(self, segment: Segment, retransmission: bool) -> None:
        now = _t(self.sim.now)
        self.segments_sent += 1
        decision = self.link.decide(segment, now)
        dropped, arrival, reason = decision.dropped, decision.arrival, decision.reason
        if not dropped and segment.dst not in self.endpoints:
            reason = "host down" if segment.dst in self.crashed else "no such host"
            dropped, arrival = True, None
        self.events.append(
            SegmentEvent(
                t=now,
                src=segment.src,
                dst=segment.dst,
                flags=tuple(flag_names(segment.flags)),
                seq=segment.seq,
                ack=segment.ack,
                len=len(segment.payload),
                dropped=dropped,
                retransmission=retransmission,
                arrival=None if arrival is None else _t(arrival),
                drop_reason=reason,
                window=segment.window,
                mss=segment.mss,
                src_port=segment.src_port,
                dst_port=segment.dst_port,
                kind=segment.kind,
                note=segment.note,
            )
        )
        if arrival is not None:
            self.sim.schedule(arrival, self._arrive, segment)

    def _arrive(self, segment: Segment) -> None:
        endpoint = self.endpoints.get(segment.dst)
        if endpoint is None:  # crashed while the segment was in flight
            self.events.append(NoteEvent(_t(self.sim.now), segment.dst, "segment arrived at a crashed host: lost"))
            return
        endpoint.receive(segment, self.sim.now)
        self.flush()

    def _fire(self, key: tuple[str, int, str], token: int, peer: str | None) -> None:
        if self._timer_tokens.get(key) != token:
            return  # cancelled or re-armed since
        del self._timer_tokens[key]
        name, cid, kind = key
        if self.record_timers:
            self.events.append(TimerEvent(_t(self.sim.now), name, peer, kind, "fired"))
        self.endpoints[name].timer_expired(cid, kind, self.sim.now)
        self.flush()

    def _end_time(self) -> float:
        """When the last thing happened (stale, cancelled timers do not count)."""
        end = 0.0
        for e in reversed(self.events):
            if not isinstance(e, TimerEvent) or e.action == "fired":
                end = max(end, e.t, getattr(e, "arrival", None) or 0.0)
                break
        return end

    # -- result ------------------------------------------------------------------------

    def trace(self, params: dict[str, Any], stats: dict[str, Any] | None = None) -> Trace:
        """The run's :class:`Trace`, with each endpoint's outcome."""
        outcomes: dict[str, EndpointOutcome] = {}
        everyone = {name: self.endpoints.get(name) or self.crashed[name] for name in self._order}
        if self.crashed:
            stats = {**(stats or {}), "crashed": sorted(self.crashed)}
        for name, ep in everyone.items():
            conn = _primary_connection(ep)
            if conn is None:
                final = State.LISTEN.value if ep.listeners else State.CLOSED.value
                error = None
                established = None
            else:
                final = conn.state.value
                error = conn.error
                established = conn.established_at
            sent = b"".join(bytes(c.send_data) for c in ep.all_connections)
            delivered = b"".join(bytes(c.received) for c in ep.all_connections)
            if name in self.crashed:
                final, error = State.CLOSED.value, None  # its TCBs died with it
            outcomes[name] = EndpointOutcome(
                final_state=final,
                error=error,
                bytes_sent=len(sent),
                bytes_delivered=len(delivered),
                md5_sent=hashlib.md5(sent).hexdigest(),
                md5_delivered=hashlib.md5(delivered).hexdigest(),
                established_at=established,
            )
        digest_match = True
        for name, ep in everyone.items():
            for conn in ep.all_connections:
                peer = everyone.get(conn.peer)
                if peer is None:
                    continue
                got = hashlib.md5()
                for other in peer.all_connections:
                    if other.peer == name:
                        got.update(bytes(other.received))
                if hashlib.md5(bytes(conn.send_data)).hexdigest() != got.hexdigest():
                    digest_match = False
        return Trace(
            params=params,
            events=self.events,
            outcome=Outcome(
                endpoints=outcomes,
                bytes_sent=sum(o.bytes_sent for o in outcomes.values()),
                bytes_delivered=sum(o.bytes_delivered for o in outcomes.values()),
                digest_match=digest_match,
                end_time=self._end_time(),
                stats=stats or {},
            ),
            endpoints=tuple(everyone),
        )


def _primary_connection(ep: Endpoint):  # noqa: ANN202 - internal
    """The connection that stands for the endpoint in a two-party run: its first
    connection that got past the handshake, else its first connection."""
    for conn in ep.all_connections:
        if conn.established_at is not None:
            return conn
    return ep.all_connections[0] if ep.all_connections else None
