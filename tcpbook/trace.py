"""The Trace: the single record of one simulated (or captured) run.

Every renderer — the text ladder, the pictures, JSON, pcap — is a pure function of a
:class:`Trace`.  A trace holds:

* ``params`` — the scenario name and every parameter of the run (so it can be re-run);
* ``events`` — in time order: :class:`SegmentEvent` (every segment sent, delivered or
  dropped), :class:`StateEvent` (every state change of every connection),
  :class:`TimerEvent` (every timer set, fired or cancelled), :class:`AppEvent` (what the
  applications did and were told) and :class:`NoteEvent` (kernel decisions such as
  "SYN queue full, SYN dropped");
* ``outcome`` — each endpoint's final state and error, bytes sent and delivered with
  their MD5 digests, and whether every byte sent arrived intact.

The event classes live in :mod:`tcpbook.events`; the outcome is derived from the events
by :func:`tcpbook.outcome.derive_outcome`.  The JSON form (``Trace.to_json``) is a stable
contract documented in the README (schema ``tcpbook/data/trace-schema.json``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from .errors import TraceFormatError
from .events import (
    EVENT_TYPES,
    TIME_DECIMALS,
    AppEvent,
    EndpointOutcome,
    Event,
    NoteEvent,
    Outcome,
    SegmentEvent,
    StateEvent,
    TimerEvent,
)
from .textlog import format_trace

__all__ = [
    "TIME_DECIMALS",
    "AppEvent",
    "EndpointOutcome",
    "Event",
    "NoteEvent",
    "Outcome",
    "SegmentEvent",
    "StateEvent",
    "TimerEvent",
    "Trace",
]


SCHEMAS = ("tcpbook-trace/2",)  # the JSON forms this version reads (and writes the first of)

# What each annotated field of an event may hold in JSON (None where the annotation allows it).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {"float": (int, float), "int": (int,), "str": (str,), "bool": (bool,)}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _event_from_dict(index: int, raw: Any) -> Event:
    """Event ``index`` of a trace document, checked field by field against its class."""
    if not isinstance(raw, dict):
        raise TraceFormatError(f"event {index} is not an object")
    type_name = raw.get("type")
    kind = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        raise TraceFormatError(f"event {index} has type {raw.get('type')!r}, not one of {', '.join(EVENT_TYPES)}")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    values = {k: v for k, v in raw.items() if k != "type"}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TraceFormatError(f"event {index} ({raw['type']}) has unknown field(s) {', '.join(unknown)}")
    for name, f in fields.items():
        if name not in values:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise TraceFormatError(f"event {index} ({raw['type']}) lacks {name!r}")
            continue
        value, annotation = values[name], str(f.type)
        if value is None and "None" in annotation:
            continue
        if name == "flags":
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise TraceFormatError(f"event {index}: flags must be a list of names")
            values[name] = tuple(value)
            continue
        allowed = _FIELD_TYPES.get(annotation.split(" | ")[0].strip())
        if allowed and (not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed)):
            raise TraceFormatError(f"event {index} ({raw['type']}): {name}={value!r} is not a {annotation}")
    t = values["t"]
    if not (t >= 0 and t < float("inf")):
        raise TraceFormatError(f"event {index}: t={t!r} is not a time >= 0")
    return kind(**values)


class Trace:
    """Everything that happened in one run; see the module docstring.

    ``outcome`` may be given, or — as the simulator does — a function that derives it
    from the events when it is first asked for (a Monte Carlo of thousands of runs that
    only looks at the events never pays for it).
    """

    __slots__ = ("params", "events", "endpoints", "_outcome", "_derive")

    def __init__(
        self,
        params: dict[str, Any],
        events: list[Event],
        outcome: Outcome | None = None,
        endpoints: tuple[str, ...] = (),
        *,
        derive: Callable[[], Outcome] | None = None,
    ) -> None:
        if outcome is None and derive is None:
            raise TypeError("a Trace needs its outcome, or a function that derives it")
        self.params = params
        self.events = events
        self.endpoints = tuple(endpoints)  # the endpoints' names, in drawing order (client first)
        self._outcome = outcome
        self._derive = derive

    @property
    def outcome(self) -> Outcome:
        """How the run ended (see :class:`~tcpbook.events.Outcome`)."""
        if self._outcome is None:
            self._outcome = self._derive()  # type: ignore[misc]
            self._derive = None
        return self._outcome

    def __repr__(self) -> str:
        return f"<Trace {self.params.get('scenario', '?')}: {len(self.events)} events, endpoints {', '.join(self.endpoints)}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # -- views ---------------------------------------------------------------------

    @property
    def segments(self) -> list[SegmentEvent]:
        """Every segment sent, in the order sent."""
        return [e for e in self.events if isinstance(e, SegmentEvent)]

    @property
    def state_changes(self) -> list[StateEvent]:
        """Every state change of every connection, in time order."""
        return [e for e in self.events if isinstance(e, StateEvent)]

    @property
    def timers(self) -> list[TimerEvent]:
        return [e for e in self.events if isinstance(e, TimerEvent)]

    @property
    def app_events(self) -> list[AppEvent]:
        return [e for e in self.events if isinstance(e, AppEvent)]

    @property
    def notes(self) -> list[NoteEvent]:
        return [e for e in self.events if isinstance(e, NoteEvent)]

    def states_of(self, endpoint: str, peer: str | None = "*") -> list[StateEvent]:
        """State changes of ``endpoint``.  With the default ``peer="*"`` the listener's
        own changes (peer None) and those of its connection with the scenario's main
        peer are returned, which is "the server's path" of a two-party run."""
        changes = [e for e in self.state_changes if e.endpoint == endpoint]
        if peer == "*":
            main = self.main_peer(endpoint)
            return [e for e in changes if e.peer is None or e.peer == main]
        return [e for e in changes if e.peer == peer]

    def state_path(self, endpoint: str, peer: str | None = "*") -> list[str]:
        """The states ``endpoint`` went through, starting from CLOSED."""
        changes = self.states_of(endpoint, peer)
        path = [changes[0].old] if changes else ["CLOSED"]
        path.extend(e.state for e in changes)
        return path

    def state_at(self, endpoint: str, t: float, peer: str | None = "*") -> str:
        """The state ``endpoint`` was in at time ``t`` (after changes at exactly ``t``)."""
        state = "CLOSED"
        for e in self.states_of(endpoint, peer):
            if e.t <= t + 1e-12:
                state = e.state
            else:
                break
        return state

    def established_at(self, endpoint: str) -> float | None:
        """When ``endpoint`` first had a connection in ESTABLISHED (the outcome's
        ``established_at``, read straight from the state changes), or None."""
        for e in self.events:
            if type(e) is StateEvent and e.state == "ESTABLISHED" and e.endpoint == endpoint and e.peer is not None:
                return e.t
        return None

    def main_peer(self, endpoint: str) -> str | None:
        """The peer of ``endpoint``'s first connection (``client`` for the server)."""
        for e in self.state_changes:
            if e.endpoint == endpoint and e.peer is not None:
                return e.peer
        return None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    # -- serialisation ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON document as Python objects (see README, "Trace JSON")."""
        events = [e.to_dict() for e in self.events]
        return {
            "schema": SCHEMAS[0],
            "params": self.params,
            "endpoints": list(self.endpoints),
            "events": events,
            "outcome": self.outcome.to_dict(),
        }

    def to_json(self, indent: int | None = None) -> str:
        """One JSON document; identical inputs give identical bytes."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trace:
        """A trace from its documented JSON form; raises
        :class:`~tcpbook.errors.TraceFormatError` naming the first thing that is wrong."""
        if not isinstance(d, dict):
            raise TraceFormatError(f"a trace is a JSON object, not {type(d).__name__}")
        missing = [key for key in ("schema", "params", "events", "outcome") if key not in d]
        if missing:
            raise TraceFormatError(f"not a tcpbook trace: no {', '.join(repr(k) for k in missing)}")
        if d["schema"] not in SCHEMAS:
            raise TraceFormatError(f"schema {d['schema']!r} is not one this version reads ({', '.join(SCHEMAS)})")
        if not isinstance(d["params"], dict) or not isinstance(d["events"], list):
            raise TraceFormatError("'params' must be an object and 'events' a list")
        endpoints = d.get("endpoints", [])
        if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
            raise TraceFormatError("'endpoints' must be a list of names")
        events = [_event_from_dict(i, raw) for i, raw in enumerate(d["events"])]
        try:
            outcome = Outcome.from_dict(d["outcome"])
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            raise TraceFormatError(f"'outcome' is not a run's outcome ({exc})") from None
        return cls(params=d["params"], events=events, outcome=outcome, endpoints=tuple(endpoints))

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """A trace from ``tcpbook run … --json`` output (see :meth:`from_dict`)."""
        try:
            doc = json.loads(text, parse_constant=_no_constant)
        except (ValueError, TypeError) as exc:  # (JSONDecodeError and UnicodeDecodeError are ValueErrors)
            raise TraceFormatError(f"not JSON: {exc}") from None
        return cls.from_dict(doc)

    def digest(self) -> str:
        """SHA-256 of the JSON form: two runs are identical iff their digests are."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_text(self, *, timers: bool = False, cwnd: bool = False) -> str:
        """The run as tcpdump-like lines (see :func:`tcpbook.textlog.format_trace`)."""
        return format_trace(self, timers=timers, cwnd=cwnd)
