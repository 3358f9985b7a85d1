"""How a run ended, derived from its events — one function for simulated and captured runs.

:func:`derive_outcome` reads the events of a trace and says, for each endpoint, in which
state its main connection ended, with which error, when it was established, and how
many bytes its application sent and received.  Byte *contents* are not in the events,
so the caller passes each endpoint's :class:`~tcpbook.ledger.ByteLedger` (the simulator's
hosts keep one; an imported capture builds one from the reassembled streams) for the
MD5 digests and the question "did every byte arrive intact?".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .events import AppEvent, EndpointOutcome, Event, Outcome, StateEvent, TimerEvent
from .vocabulary import AppAction, State

_EMPTY_MD5 = hashlib.md5(b"").hexdigest()
#: The md5 field of bytes the record does not hold (a clipped or partial capture).
DIGEST_UNKNOWN = "0" * 32
_FRESH = (State.CLOSED, State.LISTEN)  # states a TCB starts from


class Digests(Protocol):
    """What :func:`derive_outcome` needs to know about one endpoint's bytes.

    An imported capture may not hold every byte (a snap length, missed packets): then
    its digests are unknown — ``None`` from the per-peer methods, :data:`DIGEST_UNKNOWN`
    from the others — and whether the bytes arrived is judged by their count.
    """

    def digest_sent(self) -> str: ...  # MD5 of everything its applications sent

    def digest_delivered(self) -> str: ...  # MD5 of everything delivered to them

    def digest_sent_to(self, peer: str) -> str | None: ...

    def digest_delivered_from(self, peer: str) -> str | None: ...


@dataclass
class _Connection:
    """One connection of one endpoint, as its state events tell it."""

    peer: str
    state: str
    established_at: float | None = None
    error: str | None = None


def connections_of(events: Iterable[Event]) -> dict[str, list[_Connection]]:
    """Each endpoint's connections, in the order they were created.

    A connection is identified by its endpoint and peer; a new one with the same peer
    begins when a state change leaves CLOSED or LISTEN after the previous one had gone
    back there (a reconnect, or a request reset to LISTEN and made again).
    """
    return _read(events)[0]


def _read(events: Iterable[Event]) -> tuple[dict[str, list[_Connection]], dict[str, bool], dict[str, int], dict[str, int]]:
    """One pass over the events: connections, whether each listener is open, bytes sent and delivered."""
    by_endpoint: dict[str, list[_Connection]] = {}
    current: dict[tuple[str, str], _Connection] = {}
    listening: dict[str, bool] = {}
    sent: dict[str, int] = {}
    delivered: dict[str, int] = {}
    for e in events:
        kind = type(e)
        if kind is StateEvent:
            if e.peer is None:
                listening[e.endpoint] = e.state == State.LISTEN
                continue
            key = (e.endpoint, e.peer)
            conn = current.get(key)
            if conn is None or (conn.state in _FRESH and e.old in _FRESH):
                conn = current[key] = _Connection(e.peer, e.old)
                by_endpoint.setdefault(e.endpoint, []).append(conn)
            conn.state = e.state
            if conn.established_at is None and e.state == State.ESTABLISHED:
                conn.established_at = e.t
        elif kind is AppEvent:
            action = e.action
            if action == AppAction.SEND:
                sent[e.endpoint] = sent.get(e.endpoint, 0) + e.nbytes
            elif action == AppAction.DATA:
                delivered[e.endpoint] = delivered.get(e.endpoint, 0) + e.nbytes
            elif action == AppAction.ERROR and e.peer is not None:
                conn = current.get((e.endpoint, e.peer))
                if conn is not None:
                    conn.error = e.detail
    return by_endpoint, listening, sent, delivered


def end_time(events: Sequence[Event]) -> float:
    """When the last thing happened: the last event that is not a timer being set or
    cancelled (a timer that never fired did not happen), or that event's arrival."""
    for e in reversed(events):
        if not isinstance(e, TimerEvent) or e.action == "fired":
            return max(e.t, getattr(e, "arrival", None) or 0.0)
    return 0.0


def derive_outcome(
    events: Sequence[Event],
    endpoints: Sequence[str],
    digests: Mapping[str, Digests],
    *,
    crashed: Iterable[str] = (),
    stats: dict[str, Any] | None = None,
) -> Outcome:
    """The :class:`~tcpbook.events.Outcome` of a run from its ``events``.

    Each endpoint's *main* connection is its first one that reached ESTABLISHED (else its
    first one); its final state and error are the endpoint's.  An endpoint without
    connections ends in LISTEN if its listener is still open, else CLOSED; a crashed one
    in CLOSED.  ``digest_match`` compares, for every pair of endpoints that talked, the
    digest of what one sent with the digest of what the other received.
    """
    crashed = set(crashed)
    conns, listening, sent, delivered = _read(events)
    outcomes: dict[str, EndpointOutcome] = {}
    for name in endpoints:
        mine = conns.get(name, [])
        main = next((c for c in mine if c.established_at is not None), mine[0] if mine else None)
        if name in crashed:
            final, error = State.CLOSED.value, None  # its TCBs died with it
        elif main is None:
            final, error = (State.LISTEN.value if listening.get(name) else State.CLOSED.value), None
        else:
            final, error = str(main.state), main.error
        ledger = digests.get(name)
        outcomes[name] = EndpointOutcome(
            final_state=final,
            error=None if error is None else str(error),
            bytes_sent=sent.get(name, 0),
            bytes_delivered=delivered.get(name, 0),
            md5_sent=ledger.digest_sent() if ledger else _EMPTY_MD5,
            md5_delivered=ledger.digest_delivered() if ledger else _EMPTY_MD5,
            established_at=main.established_at if main is not None else None,
        )
    def arrived_intact(sender: str, receiver: str) -> bool:
        sent_md5 = digests[sender].digest_sent_to(receiver)
        got_md5 = digests[receiver].digest_delivered_from(sender)
        if sent_md5 is None or got_md5 is None:  # bytes not all recorded: judge by their count
            return outcomes[sender].bytes_sent == outcomes[receiver].bytes_delivered
        return sent_md5 == got_md5

    match = all(
        arrived_intact(name, conn.peer)
        for name in endpoints
        if name in digests
        for conn in conns.get(name, [])
        if conn.peer in digests
    )
    return Outcome(
        endpoints=outcomes,
        bytes_sent=sum(o.bytes_sent for o in outcomes.values()),
        bytes_delivered=sum(o.bytes_delivered for o in outcomes.values()),
        digest_match=match,
        end_time=end_time(events),
        stats=stats or {},
    )
