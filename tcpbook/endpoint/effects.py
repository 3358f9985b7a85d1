"""Effects: what a sans-IO endpoint asks its driver to do.

The endpoint has no clock, no network and no application of its own.  After each input
its driver (the :class:`~tcpbook.network.Network`, or a test) collects a list of these
and carries them out: put a segment on the wire, arm or disarm a timer, record a state
change, tell the application something, record a decision of the stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..segment import Segment
from ..vocabulary import AppAction, Event, NoteKind, Queue, State, Timer


@dataclass(slots=True)
class Transmit:
    """Put ``segment`` on the network (``retransmission``: its sequence numbers were sent before)."""

    segment: Segment
    retransmission: bool


@dataclass(slots=True)
class SetTimer:
    """(Re)arm timer ``kind`` of connection ``cid`` to fire at ``deadline`` (``duration`` from now)."""

    endpoint: str
    peer: str | None
    cid: int
    kind: Timer
    deadline: float
    duration: float


@dataclass(slots=True)
class CancelTimer:
    """Disarm timer ``kind`` of connection ``cid``."""

    endpoint: str
    peer: str | None
    cid: int
    kind: Timer


@dataclass(slots=True)
class StateChange:
    """A connection took the arc ``old --cause--> new`` of the state diagram."""

    endpoint: str
    peer: str | None
    old: State
    new: State
    cause: Event


@dataclass(slots=True)
class AppNotice:
    """What the application did through the socket API, or is told (``connected``, ``data`` …)."""

    endpoint: str
    peer: str | None
    action: AppAction
    nbytes: int = 0
    detail: str = ""


@dataclass(slots=True)
class Note:
    """A decision of the stack worth showing: its :class:`~tcpbook.vocabulary.NoteKind`, the
    facts as typed fields (``None`` when they do not apply), and a sentence for people."""

    endpoint: str
    kind: NoteKind
    text: str
    peer: str | None = None  # the other end the decision is about
    queue: Queue | None = None  # which listener queue was full
    port: int | None = None  # the port a segment was addressed to
    cookie: int | None = None  # the SYN cookie (our ISN)
    ack: int | None = None  # an acknowledgment number that gave the decision away
    count: int | None = None  # how many (duplicate ACKs …)
    seconds: float | None = None  # how long something waited


Effect = Transmit | SetTimer | CancelTimer | StateChange | AppNotice | Note
