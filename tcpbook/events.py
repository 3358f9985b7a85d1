"""The records a run is made of: segments, state changes, timers, application events,
stack decisions — and how the run ended.

Each event is one line of the story, stamped with the virtual time ``t`` (seconds, on a
nanosecond grid).  A :class:`~tcpbook.trace.Trace` is a list of them in time order plus
an :class:`Outcome`.  Treat them as read-only: every renderer is a function of them.
Their JSON form (``to_dict``) is the documented trace contract; the words in them
(states, events, timers, actions, note kinds) are the members of
:mod:`tcpbook.vocabulary`, which serialise as their strings.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

TIME_DECIMALS = 9  # nanoseconds: the simulator's clock grid, and the JSON's precision


def _t(x: float) -> float:
    return round(x, TIME_DECIMALS)


@dataclass(slots=True)
class SegmentEvent:
    """A segment handed to the network at ``t``; it arrives at ``arrival`` unless ``dropped``."""

    type: ClassVar[str] = "segment"
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
    drop_reason: str = ""  # "loss", "rule SENDER:KIND:N", "no such host", "host down"
    window: int = 0
    mss: int | None = None
    src_port: int = 0
    dst_port: int = 0
    kind: str = ""  # SYN, SYN-ACK, ACK, DATA, FIN, FIN-ACK, RST (a vocabulary.SegmentKind)
    note: str = ""  # e.g. "old duplicate" for a segment a scenario injected

    def label(self) -> str:
        """tcpdump-like label: ``SYN,ACK seq=300 ack=101`` or ``ACK seq=101 ack=301 len=1460``."""
        text = f"{','.join(self.flags)} seq={self.seq}"
        if "ACK" in self.flags:
            text += f" ack={self.ack}"
        if self.len:
            text += f" len={self.len}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "segment",
            "t": _t(self.t),
            "src": self.src,
            "dst": self.dst,
            "flags": list(self.flags),
            "seq": self.seq,
            "ack": self.ack,
            "len": self.len,
            "dropped": self.dropped,
            "retransmission": self.retransmission,
            "arrival": None if self.arrival is None else _t(self.arrival),
            "drop_reason": self.drop_reason,
            "window": self.window,
            "mss": self.mss,
            "src_port": self.src_port,
            "dst_port": self.dst_port,
            "kind": self.kind,
            "note": self.note,
        }


@dataclass(slots=True)
class StateEvent:
    """Connection ``endpoint``↔``peer`` took the arc ``old --cause--> state``.

    ``peer`` is ``None`` for a listening socket.  ``cause`` is the arc's event in
    :data:`tcpbook.table.TRANSITIONS` (a :class:`~tcpbook.vocabulary.Event`, e.g. ``"rcv SYN,ACK"``).
    """

    type: ClassVar[str] = "state"
    t: float
    endpoint: str
    peer: str | None
    old: str
    state: str
    cause: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "state", "t": _t(self.t), "endpoint": self.endpoint, "peer": self.peer, "old": self.old, "state": self.state, "cause": self.cause}


@dataclass(slots=True)
class TimerEvent:
    """Timer ``timer`` of ``endpoint`` was ``set`` (to fire at ``deadline``), ``fired`` or ``cancelled``.

    Timers (:class:`~tcpbook.vocabulary.Timer`): ``rto``, ``time-wait``, ``delayed-ack``,
    ``persist`` and ``fin-wait-2``.
    """

    type: ClassVar[str] = "timer"
    t: float
    endpoint: str
    peer: str | None
    timer: str
    action: str  # "set" | "fired" | "cancelled" (a vocabulary.TimerAction)
    deadline: float | None = None
    duration: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "timer",
            "t": _t(self.t),
            "endpoint": self.endpoint,
            "peer": self.peer,
            "timer": self.timer,
            "action": self.action,
            "deadline": None if self.deadline is None else _t(self.deadline),
            "duration": None if self.duration is None else _t(self.duration),
        }


@dataclass(slots=True)
class AppEvent:
    """Something the application did (``listen``, ``connect``, ``send``, ``close``,
    ``shutdown``, ``abort``, ``accept``) or was told (``connected``, ``ready``, ``data``,
    ``eof``, ``error``, ``closed``) — a :class:`~tcpbook.vocabulary.AppAction`."""

    type: ClassVar[str] = "app"
    t: float
    endpoint: str
    peer: str | None
    action: str
    nbytes: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "app",
            "t": _t(self.t),
            "endpoint": self.endpoint,
            "peer": self.peer,
            "action": self.action,
            "nbytes": self.nbytes,
            "detail": self.detail,
        }


@dataclass(slots=True)
class CwndEvent:
    """The congestion window (``cwnd``, in segments) or ``ssthresh`` of ``endpoint``'s
    connection with ``peer`` changed, and why (a :class:`~tcpbook.vocabulary.CwndChange`).
    ``ssthresh`` is None while it is still infinite (before the first loss)."""

    type: ClassVar[str] = "cwnd"
    t: float
    endpoint: str
    peer: str | None
    cwnd: int
    ssthresh: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "cwnd", "t": _t(self.t), "endpoint": self.endpoint, "peer": self.peer, "cwnd": self.cwnd,
                "ssthresh": self.ssthresh, "reason": self.reason}


NOTE_FIELDS = ("peer", "queue", "port", "cookie", "ack", "count", "seconds")


@dataclass(slots=True)
class NoteEvent:
    """A decision of the stack: its ``kind`` (a :class:`~tcpbook.vocabulary.NoteKind`), the
    facts as typed fields (``None`` where they do not apply), and ``text`` for people.

    Code reads the fields, never the text: the SYN a full queue refused is
    ``kind == "syn-dropped"`` with ``peer`` its sender and ``queue`` the full queue.
    """

    type: ClassVar[str] = "note"
    t: float
    endpoint: str
    text: str
    kind: str = ""
    peer: str | None = None  # the other end the decision is about
    queue: str | None = None  # "syn" or "accept": the listener queue that was full
    port: int | None = None  # the port a segment was addressed to
    cookie: int | None = None  # a SYN cookie (the listener's ISN)
    ack: int | None = None  # an acknowledgment number that gave the decision away
    count: int | None = None  # how many (duplicate ACKs …)
    seconds: float | None = None  # how long something waited

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "note", "t": _t(self.t), "endpoint": self.endpoint, "text": self.text, "kind": self.kind}
        for name in NOTE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                d[name] = value
        return d


Event = SegmentEvent | StateEvent | TimerEvent | AppEvent | NoteEvent | CwndEvent
EVENT_TYPES: dict[str, type] = {
    "segment": SegmentEvent,
    "state": StateEvent,
    "timer": TimerEvent,
    "app": AppEvent,
    "note": NoteEvent,
    "cwnd": CwndEvent,
}


@dataclass
class EndpointOutcome:
    """How one endpoint ended: its (main connection's) final state and error, and what its
    application sent and received (byte counts and MD5 digests)."""

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
    """The end of a run.  ``digest_match`` is True when, for every pair of endpoints that
    talked, what one application sent is byte for byte what the other received."""

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
