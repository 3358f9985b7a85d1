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

The JSON form (``Trace.to_json``) is a stable contract documented in the README.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

TIME_DECIMALS = 9  # nanoseconds: hides float noise (0.1 + 0.2), keeps JSON round trips exact


def _t(x: float) -> float:
    return round(x, TIME_DECIMALS)


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A segment handed to the network at ``t``; it arrives at ``arrival`` unless ``dropped``."""

    t: float
    src: str
    dst: str
    flags: tuple[str, ...]
    seq: int
    ack: int
    len: int
    dropped: bool
    retransmission: bool
    arrival: float | None = None  # when it reaches dst (None if dropped)
    drop_reason: str = ""  # "loss", "rule SENDER:KIND:N", "no such host"
    window: int = 0
    mss: int | None = None
    src_port: int = 0
    dst_port: int = 0
    kind: str = ""  # SYN, SYN-ACK, ACK, DATA, FIN, FIN-ACK, RST (the drop-rule kind)
    note: str = ""  # e.g. "old duplicate" for a segment a scenario injected
    type: str = field(default="segment", init=False)

    def label(self) -> str:
        """tcpdump-like label: ``SYN,ACK seq=300 ack=101`` or ``ACK seq=101 ack=301 len=1460``."""
        text = f"{','.join(self.flags)} seq={self.seq}"
        if "ACK" in self.flags:
            text += f" ack={self.ack}"
        if self.len:
            text += f" len={self.len}"
        return text


@dataclass(frozen=True, slots=True)
class StateEvent:
    """Connection ``endpoint``↔``peer`` moved from ``old`` to ``state`` because of ``cause``.

    ``peer`` is ``None`` for a listening socket.  ``cause`` is the event of the arc in
    :data:`tcpbook.table.TRANSITIONS` that was taken (e.g. ``"rcv SYN,ACK"``).
    """

    t: float
    endpoint: str
    peer: str | None
    old: str
    state: str
    cause: str
    type: str = field(default="state", init=False)


@dataclass(frozen=True, slots=True)
class TimerEvent:
    """Timer ``timer`` of ``endpoint`` was ``set`` (to fire at ``deadline``), ``fired`` or ``cancelled``.

    Timers: ``rto`` (retransmission of SYN, SYN,ACK, data or FIN), ``time-wait`` (2·MSL),
    ``delayed-ack``, ``persist`` (zero-window probes) and ``fin-wait-2`` (Linux's
    ``tcp_fin_timeout`` for an orphaned FIN-WAIT-2 socket).
    """

    t: float
    endpoint: str
    peer: str | None
    timer: str
    action: str  # "set" | "fired" | "cancelled"
    deadline: float | None = None
    duration: float | None = None
    type: str = field(default="timer", init=False)


@dataclass(frozen=True, slots=True)
class AppEvent:
    """Something the application did (``listen``, ``connect``, ``send``, ``close``,
    ``shutdown``, ``abort``, ``accept``) or was told (``connected``, ``data``, ``eof``,
    ``error``, ``closed``)."""

    t: float
    endpoint: str
    peer: str | None
    action: str
    nbytes: int = 0
    detail: str = ""
    type: str = field(default="app", init=False)


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """A decision of the stack worth showing: a SYN dropped because a queue is full,
    a SYN cookie sent or accepted, a request dropped, an old duplicate rejected."""

    t: float
    endpoint: str
    text: str
    type: str = field(default="note", init=False)


Event = SegmentEvent | StateEvent | TimerEvent | AppEvent | NoteEvent
_EVENT_TYPES: dict[str, type] = {
    "segment": SegmentEvent,
    "state": StateEvent,
    "timer": TimerEvent,
    "app": AppEvent,
    "note": NoteEvent,
}


@dataclass
class EndpointOutcome:
    """How one endpoint ended: its final state, its error, and what its application
    sent and received (byte counts and MD5 digests)."""

    final_state: str
    error: str | None  # "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET" or None
    bytes_sent: int = 0  # bytes the application handed to send()
    bytes_delivered: int = 0  # bytes delivered, in order, to the application
    md5_sent: str = hashlib.md5(b"").hexdigest()
    md5_delivered: str = hashlib.md5(b"").hexdigest()
    established_at: float | None = None  # first time it reached ESTABLISHED

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["established_at"] is not None:
            d["established_at"] = _t(d["established_at"])
        return d


@dataclass
class Outcome:
    """The end of a run.  ``digest_match`` is True when, for every pair of endpoints
    that talked, what one application sent is byte for byte what the other received."""

    endpoints: dict[str, EndpointOutcome]
    bytes_sent: int
    bytes_delivered: int
    digest_match: bool
    end_time: float
    stats: dict[str, Any] = field(default_factory=dict)  # scenario-specific counters

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoints": {name: o.to_dict() for name, o in self.endpoints.items()},
            "bytes_sent": self.bytes_sent,
            "bytes_delivered": self.bytes_delivered,
            "digest_match": self.digest_match,
            "end_time": _t(self.end_time),
            "stats": self.stats,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        return cls(
            endpoints={k: EndpointOutcome(**v) for k, v in d["endpoints"].items()},
            bytes_sent=d["bytes_sent"],
            bytes_delivered=d["bytes_delivered"],
            digest_match=d["digest_match"],
            end_time=d["end_time"],
            stats=d.get("stats", {}),
        )


@dataclass
class Trace:
    """Everything that happened in one run; see the module docstring."""

    params: dict[str, Any]
    events: list[Event]
    outcome: Outcome
    endpoints: tuple[str, ...] = ()  # the endpoints' names, in drawing order (client first)

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
        events = []
        for e in self.events:
            d = {"type": e.type}
            d.update(asdict(e))
            d["t"] = _t(d["t"])
            for key in ("arrival", "deadline", "duration"):
                if key in d and d[key] is not None:
                    d[key] = _t(d[key])
            if "flags" in d:
                d["flags"] = list(d["flags"])
            events.append(d)
        return {
            "schema": "tcpbook-trace/1",
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
        events: list[Event] = []
        for raw in d["events"]:
            raw = dict(raw)
            kind = _EVENT_TYPES[raw.pop("type")]
            if "flags" in raw:
                raw["flags"] = tuple(raw["flags"])
            events.append(kind(**raw))
        return cls(
            params=d["params"],
            events=events,
            outcome=Outcome.from_dict(d["outcome"]),
            endpoints=tuple(d.get("endpoints", ())),
        )

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))

    def digest(self) -> str:
        """SHA-256 of the JSON form: two runs are identical iff their digests are."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_text(self, *, timers: bool = False) -> str:
        """The run as tcpdump-like lines (see :func:`tcpbook.textlog.format_trace`)."""
        from .textlog import format_trace

        return format_trace(self, timers=timers)
