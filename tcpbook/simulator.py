"""A tiny discrete-event loop with a virtual clock (after SimPy's ``core.py``).

Events are ``(time, sequence, callback, args)`` in a heap.  The sequence number breaks
ties, so two events due at the same instant run in the order they were scheduled: runs
are deterministic.  Nothing here knows about TCP.

**One clock.**  Virtual time is an integer count of nanoseconds (``now_ns``); ``now`` is
the same instant in seconds.  Every time handed to :meth:`Simulator.schedule` is put on
that grid once, so time can never run backwards through rounding (an event is never due
"before now" by a float's last bit), and the trace records exactly the instants that
happened.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from .errors import ParameterError, TcpbookError

NS = 1_000_000_000  # nanoseconds per second


def to_ns(seconds: float) -> int:
    """``seconds`` on the nanosecond grid (raises ``ValueError`` for inf or NaN)."""
    if not math.isfinite(seconds):
        raise ValueError(f"time {seconds!r} is not a finite number of seconds")
    return round(seconds * NS)


class SimulationError(TcpbookError):
    """The event loop was asked to do something impossible (a bug, or a run that did not end)."""


class RunDidNotFinish(SimulationError):
    """The run hit its event budget before it ended: ``events`` events, virtual time ``now``."""

    def __init__(self, events: int, now: float) -> None:
        self.events, self.now = events, now
        super().__init__(f"the run did not finish within {events} events (virtual time {now:.6f} s)")


class Simulator:
    """Virtual time and a queue of things to do.

    >>> sim = Simulator()
    >>> seen = []
    >>> sim.schedule(2.0, seen.append, "b"); sim.schedule(1.0, seen.append, "a")
    >>> sim.run(); seen, sim.now
    (['a', 'b'], 2.0)
    """

    def __init__(self) -> None:
        self.now = 0.0  # seconds
        self.now_ns = 0  # the same instant, in nanoseconds: the clock itself
        self._queue: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._sequence = itertools.count()
        self.events_run = 0

    def schedule(self, at: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` at virtual time ``at`` seconds (not before now)."""
        self.schedule_ns(to_ns(at), callback, *args)

    def schedule_ns(self, at_ns: int, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` at ``at_ns`` nanoseconds (not before now)."""
        if at_ns < self.now_ns:
            raise SimulationError(f"cannot schedule at {at_ns / NS} s, before now ({self.now} s)")
        heapq.heappush(self._queue, (at_ns, next(self._sequence), callback, args))

    def pending(self) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
        """What is still to do, in no particular order: (callback, args) pairs."""
        return [(callback, args) for _, _, callback, args in self._queue]

    def clear(self) -> None:
        """Forget everything still to do: the run ends here."""
        self._queue.clear()

    def peek(self) -> float | None:
        """Time of the next event in seconds, or None when nothing is left."""
        return self._queue[0][0] / NS if self._queue else None

    def run(self, until: float | None = None, max_events: int | None = None) -> None:
        """Run events in time order until none is left, ``until`` is passed, or
        ``max_events`` have run — then raise :class:`RunDidNotFinish` (a bug or a runaway
        run must not hang a notebook)."""
        if until is not None and (not isinstance(until, (int, float)) or not until >= 0 or not math.isfinite(until)):
            raise ParameterError("until", until, "a finite time >= 0")
        until_ns = None if until is None else to_ns(until)
        queue = self._queue
        pop = heapq.heappop
        budget = max_events
        while queue:
            if until_ns is not None and queue[0][0] > until_ns:
                self.now_ns, self.now = until_ns, until_ns / NS
                return
            at, _, callback, args = pop(queue)
            if at != self.now_ns:
                self.now_ns, self.now = at, at / NS
            callback(*args)
            self.events_run += 1
            if budget is not None:
                budget -= 1
                if budget <= 0 and queue:
                    raise RunDidNotFinish(max_events, self.now)
