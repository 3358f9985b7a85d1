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
        self.armed: set[Timer] = set()

    def __contains__(self, kind: Timer) -> bool:
        return kind in self.armed

    def set(self, kind: Timer, now: float, duration: float) -> None:
        """Arm ``kind`` to fire ``duration`` seconds from ``now`` (re-arming replaces it)."""
        self.armed.add(kind)
        self._emit(SetTimer(self.endpoint, self.peer, self.cid, kind, now + duration, duration))

    def cancel(self, kind: Timer) -> None:
        """Disarm ``kind`` if it is armed."""
        if kind in self.armed:
            self.armed.discard(kind)
            self._emit(CancelTimer(self.endpoint, self.peer, self.cid, kind))

    def cancel_all(self) -> None:
        """Disarm every timer (in a fixed order, so traces are deterministic)."""
        for kind in sorted(self.armed):
            self.cancel(kind)

    def expired(self, kind: Timer) -> bool:
        """``kind`` fired: True if it was armed (and is no longer), False for a stale expiry."""
        if kind in self.armed:
            self.armed.discard(kind)
            return True
        return False
