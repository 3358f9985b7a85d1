"""A tiny discrete-event loop with a virtual clock (after SimPy's ``core.py``).

Events are ``(time, sequence, callback, args)`` in a heap.  The sequence number
breaks ties, so two events due at the same instant run in the order they were
scheduled: runs are deterministic.  Nothing here knows about TCP.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from .errors import ParameterError


class Simulator:
    """Virtual time and a queue of things to do.

    >>> sim = Simulator()
    >>> seen = []
    >>> sim.schedule(2.0, seen.append, "b"); sim.schedule(1.0, seen.append, "a")
    >>> sim.run(); seen, sim.now
    (['a', 'b'], 2.0)
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._sequence = itertools.count()
        self.events_run = 0

    def schedule(self, at: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` at virtual time ``at`` (not before now)."""
        if at < self.now:
            raise ValueError(f"cannot schedule at {at} before now ({self.now})")
        heapq.heappush(self._queue, (at, next(self._sequence), callback, args))

    def peek(self) -> float | None:
        """Time of the next event, or None when nothing is left."""
        return self._queue[0][0] if self._queue else None

    def run(self, until: float | None = None, max_events: int | None = None) -> None:
        """Run events in time order until none is left, ``until`` is passed, or
        ``max_events`` have run (a safety net: a bug must not hang a notebook)."""
        if until is not None and until < 0:
            raise ParameterError("until", until, "a time >= 0")
        queue = self._queue
        pop = heapq.heappop
        budget = max_events
        while queue:
            if until is not None and queue[0][0] > until:
                self.now = until
                return
            at, _, callback, args = pop(queue)
            self.now = at
            callback(*args)
            self.events_run += 1
            if budget is not None:
                budget -= 1
                if budget <= 0:
                    raise RuntimeError(f"simulation stopped after {max_events} events at t={self.now}")
