"""The timers of one connection: which are armed, and the effects that arm and disarm them.

The endpoint has no clock.  Arming a timer is an effect (:class:`SetTimer`) the driver
carries out; when the deadline comes the driver calls the connection back.  This object
only remembers which timers are armed, so a stale expiry (a timer cancelled or re-armed
since) is ignored and leaving the connection disarms everything.
"""

from __future__ import annotations

from collections.abc import Callable

from ..vocabulary import Timer
from .effects import CancelTimer, Effect, SetTimer


class Timers:
    """Armed timers of connection ``cid`` (of ``endpoint``, talking to ``peer``)."""

    __slots__ = ("_emit", "endpoint", "peer", "cid", "armed")

    def __init__(self, emit: Callable[[Effect], None], endpoint: str, peer: str | None, cid: int) -> None:
        self._emit = emit
        self.endpoint = endpoint
        self.peer = peer
        self.cid = cid
        self.armed: dict[Timer, int] = {}  # kind -> deadline in nanoseconds

    def __contains__(self, kind: Timer) -> bool:
        return kind in self.armed

    def set(self, kind: Timer, now: float, duration: float) -> None:
        """Arm ``kind`` to fire ``duration`` seconds from ``now`` (re-arming replaces it;
        re-arming to the deadline it already has changes nothing)."""
        deadline = now + duration
        on_grid = round(deadline * 1e9)  # the clock's nanosecond grid: equal instants compare equal
        if self.armed.get(kind) == on_grid:
            return
        self.armed[kind] = on_grid
        self._emit(SetTimer(self.endpoint, self.peer, self.cid, kind, deadline, duration))

    def cancel(self, kind: Timer) -> None:
        """Disarm ``kind`` if it is armed."""
        if kind in self.armed:
            del self.armed[kind]
            self._emit(CancelTimer(self.endpoint, self.peer, self.cid, kind))

    def cancel_all(self) -> None:
        """Disarm every timer (in a fixed order, so traces are deterministic)."""
        for kind in sorted(self.armed):
            self.cancel(kind)

    def expired(self, kind: Timer) -> bool:
        """``kind`` fired: True if it was armed (and is no longer), False for a stale expiry."""
        return self.armed.pop(kind, None) is not None
