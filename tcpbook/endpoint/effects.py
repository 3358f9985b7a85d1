"""Effects: what a sans-IO endpoint asks its driver to do, and what it reports.

The endpoint has no clock, no network and no application of its own.  After each input
its driver (the :class:`~tcpbook.network.Network`, or a test) collects a list of effects
and carries them out.  Two kinds:

* instructions — put a segment on the wire (:class:`Transmit`), arm or disarm a timer
  (:class:`SetTimer`, :class:`CancelTimer`);
* records — a state change, something for the application, a decision of the stack.
  These are the trace's own events (:class:`~tcpbook.events.StateEvent`,
  :class:`~tcpbook.events.AppEvent`, :class:`~tcpbook.events.NoteEvent`), stamped with
  the time the driver passed in with the input; the driver appends them to the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..events import AppEvent, CwndEvent, NoteEvent, StateEvent
from ..segment import Segment
from ..vocabulary import Timer


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


# Records: what happened, stamped with the time of the input that caused it.  They are
# the trace's own events — the driver appends them to the trace as they are.
StateChange = StateEvent  # a connection took an arc of the state diagram
AppNotice = AppEvent  # what the application did through the socket API, or is told
Note = NoteEvent  # a decision of the stack worth showing
# (and CwndEvent: the congestion window or ssthresh changed)


#: Anything an endpoint hands its driver, an instruction or a record.
Effect = Transmit | SetTimer | CancelTimer | StateChange | AppNotice | Note | CwndEvent
