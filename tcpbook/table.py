"""TCP's connection state machine, written down once — and it decides.

This module is the single source of truth for the eleven states of RFC 9293 (§3.3.2,
Figure 5) and the arcs between them.  The endpoint never chooses a next state itself:
it names what happened (an :class:`~tcpbook.vocabulary.Event`) and asks
:func:`next_state`, which returns the arc or raises :class:`IllegalTransition`.  The
state diagram is drawn from :data:`TRANSITIONS`; the tests compare it with the RFC.
A diagram can never disagree with the code, because it *is* the code.

Each :class:`Arc` reads like a line of the RFC's figure::

    CLOSED --active OPEN / snd SYN--> SYN-SENT

``event`` is what happens (a user call, an arriving segment, a timer), ``sends`` what
the endpoint transmits as it moves (``""`` for nothing).  Every (state, event) pair has
one arc at most, so :func:`next_state` needs no further hint.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import TcpbookError
from .vocabulary import SYNCHRONIZED, Event, State  # noqa: F401 - re-exported: the table's words

# State, Event and SYNCHRONIZED are importable from here too (they are the table's
# words), but they belong to tcpbook.vocabulary.
__all__ = ["FIGURE_5_ARCS", "TRANSITIONS", "Arc", "IllegalTransition", "Phase", "arcs_from", "find_arc", "is_arc", "next_state"]


class Phase(enum.Enum):
    """Which part of a connection's life an arc belongs to (used for focused diagrams)."""

    OPEN = "open"
    CLOSE = "close"
    RESET = "reset"


@dataclass(frozen=True)
class Arc:
    """One arc of the state diagram: ``source --event / sends--> target``."""

    source: State
    event: Event
    sends: str  # segment sent while taking the arc, "" for none
    target: State
    phase: Phase
    note: str = ""  # where the RFC says so, or a caveat
    in_figure_5: bool = False  # drawn in RFC 9293 Figure 5 itself (the rest come from §3.10)

    @property
    def is_loop(self) -> bool:
        """True for a self-loop, where something is (re)sent but the state does not change."""
        return self.source is self.target

    @property
    def label(self) -> str:
        """The RFC-style label ``event / sends`` (``event / -`` when nothing is sent)."""
        return f"{self.event} / {self.sends or '-'}"


S, E = State, Event
_GIVE_UP = "retries or time budget exhausted (§3.10.8 USER TIMEOUT): ETIMEDOUT"
# The arcs of RFC 9293 Figure 5 with the notes of §3.5 and §3.10.
TRANSITIONS: tuple[Arc, ...] = (
    Arc(S.CLOSED, E.PASSIVE_OPEN, "", S.LISTEN, Phase.OPEN, "create TCB", in_figure_5=True),
    Arc(S.CLOSED, E.ACTIVE_OPEN, "SYN", S.SYN_SENT, Phase.OPEN, "create TCB", in_figure_5=True),
    Arc(S.LISTEN, E.RCV_SYN, "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, in_figure_5=True),
    Arc(S.LISTEN, E.SEND, "SYN", S.SYN_SENT, Phase.OPEN, in_figure_5=True),
    Arc(S.LISTEN, E.CLOSE, "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(S.SYN_SENT, E.CLOSE, "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(
        S.SYN_SENT,
        E.RCV_SYN,
        "SYN,ACK",
        S.SYN_RECEIVED,
        Phase.OPEN,
        "simultaneous open; RFC 793's figure says 'snd ACK', RFC 9293 corrects it",
        in_figure_5=True,
    ),
    Arc(S.SYN_SENT, E.RCV_SYN_ACK, "ACK", S.ESTABLISHED, Phase.OPEN, in_figure_5=True),
    Arc(S.SYN_RECEIVED, E.RCV_ACK_OF_SYN, "", S.ESTABLISHED, Phase.OPEN, in_figure_5=True),
    Arc(S.SYN_RECEIVED, E.CLOSE, "FIN", S.FIN_WAIT_1, Phase.CLOSE, in_figure_5=True),
    Arc(S.SYN_RECEIVED, E.RCV_RST, "", S.LISTEN, Phase.RESET, "if reached by passive open (§3.10.7.4)", in_figure_5=True),
    Arc(S.SYN_RECEIVED, E.RCV_RST_REFUSED, "", S.CLOSED, Phase.RESET, "if reached by active open: connection refused", in_figure_5=True),
    Arc(S.ESTABLISHED, E.CLOSE, "FIN", S.FIN_WAIT_1, Phase.CLOSE, in_figure_5=True),
    Arc(S.ESTABLISHED, E.RCV_FIN, "ACK", S.CLOSE_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.FIN_WAIT_1, E.RCV_ACK_OF_FIN, "", S.FIN_WAIT_2, Phase.CLOSE, in_figure_5=True),
    Arc(S.FIN_WAIT_1, E.RCV_FIN, "ACK", S.CLOSING, Phase.CLOSE, "simultaneous close", in_figure_5=True),
    Arc(S.FIN_WAIT_1, E.RCV_FIN_ACK_OF_FIN, "ACK", S.TIME_WAIT, Phase.CLOSE, "FIN and ACK of our FIN together", in_figure_5=True),
    Arc(S.FIN_WAIT_2, E.RCV_FIN, "ACK", S.TIME_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.CLOSING, E.RCV_ACK_OF_FIN, "", S.TIME_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.CLOSE_WAIT, E.CLOSE, "FIN", S.LAST_ACK, Phase.CLOSE, in_figure_5=True),
    Arc(S.LAST_ACK, E.RCV_ACK_OF_FIN, "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(S.TIME_WAIT, E.TIME_WAIT_TIMEOUT, "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    # Self-loops: the state stays, something is sent again (§3.8.1, §3.10.7.4, Linux).
    Arc(S.SYN_SENT, E.TIMEOUT, "SYN", S.SYN_SENT, Phase.OPEN, "retransmit SYN with backoff"),
    Arc(S.SYN_RECEIVED, E.TIMEOUT, "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, "retransmit SYN,ACK"),
    Arc(S.SYN_RECEIVED, E.RCV_SYN, "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, "duplicate SYN: answer at once"),
    Arc(S.TIME_WAIT, E.RCV_FIN, "ACK", S.TIME_WAIT, Phase.CLOSE, "retransmitted FIN: re-ACK, restart 2MSL"),
    Arc(S.LAST_ACK, E.TIMEOUT, "FIN", S.LAST_ACK, Phase.CLOSE, "retransmit FIN"),
    Arc(S.FIN_WAIT_1, E.TIMEOUT, "FIN", S.FIN_WAIT_1, Phase.CLOSE, "retransmit FIN"),
    Arc(S.CLOSING, E.TIMEOUT, "FIN", S.CLOSING, Phase.CLOSE, "retransmit FIN"),
    # §3.10: a connection that is given up or reset goes straight to CLOSED.
    Arc(S.SYN_SENT, E.RCV_RST_ACK, "", S.CLOSED, Phase.RESET, "connection refused (§3.10.7.3)"),
    Arc(S.SYN_SENT, E.USER_TIMEOUT, "", S.CLOSED, Phase.RESET, "SYN retries exhausted: ETIMEDOUT"),
    Arc(S.SYN_RECEIVED, E.USER_TIMEOUT, "", S.CLOSED, Phase.RESET, "SYN,ACK retries exhausted: request dropped"),
    Arc(S.SYN_RECEIVED, E.ABORT, "RST", S.CLOSED, Phase.RESET, "§3.10.5"),
    *(
        Arc(s, E.RCV_RST, "", S.CLOSED, Phase.RESET, "connection reset (§3.10.7.4)")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)
    ),
    *(
        Arc(s, E.ABORT, "RST", S.CLOSED, Phase.RESET, "§3.10.5; also on close with unread data (RFC 2525 §2.17)")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)
    ),
    *(Arc(s, E.ABORT, "", S.CLOSED, Phase.RESET, "§3.10.5: no RST sent") for s in (S.LISTEN, S.SYN_SENT)),
    *(Arc(s, E.ABORT, "", S.CLOSED, Phase.RESET, "§3.10.5: no RST sent") for s in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
    *(
        Arc(s, E.USER_TIMEOUT, "", S.CLOSED, Phase.RESET, _GIVE_UP)
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK)
    ),
    # RFC 1122 §4.2.3.6 keepalive: no answer to keepcnt probes; Linux resets the peer.
    *(
        Arc(s, E.KEEPALIVE_TIMEOUT, "RST", S.CLOSED, Phase.RESET, "keepalive probes unanswered: ETIMEDOUT (Linux sends RST)")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK)
    ),
    # RFC 6191 (Linux tcp_timewait_state_process): a SYN with a newer sequence number for
    # the 4-tuple ends TIME-WAIT, and the listener takes it as a new connection.
    Arc(S.TIME_WAIT, E.RCV_NEW_SYN, "", S.CLOSED, Phase.CLOSE, "newer SYN reuses the 4-tuple (RFC 6191)"),
    # Not in RFC 9293: Linux drops a FIN-WAIT-2 socket whose application has closed it
    # (an orphan, nobody can read) after tcp_fin_timeout, so a peer that never closes
    # cannot pin it forever.  A half-closed socket (shutdown) waits as the RFC says.
    Arc(S.FIN_WAIT_2, E.FIN_WAIT_2_TIMEOUT, "", S.CLOSED, Phase.CLOSE, "Linux tcp_fin_timeout (60 s) for an orphaned socket; not in the RFC"),
)
del S, E

# The arcs drawn in RFC 9293 Figure 5 itself (the rest come from the event-processing text).
FIGURE_5_ARCS: tuple[Arc, ...] = tuple(a for a in TRANSITIONS if a.in_figure_5)


class IllegalTransition(TcpbookError):
    """A move that is not an arc of :data:`TRANSITIONS` — the state and the event say which.

    The endpoint asks :func:`next_state` for every move, so raising this is always a bug
    in tcpbook, never a user error.  Imported captures use it to refuse an impossible
    reading of a real trace.
    """

    def __init__(self, state: State, event: Event | str, target: State | None = None) -> None:
        self.state, self.event, self.target = state, event, target
        wanted = f" to {target}" if target is not None else ""
        super().__init__(f"no arc from {state} on {event!s}{wanted} in RFC 9293's state diagram")


_NEXT: dict[tuple[State, Event], Arc] = {}
for _arc in TRANSITIONS:
    if (_arc.source, _arc.event) in _NEXT:  # pragma: no cover - guarded by tests/test_table.py
        raise AssertionError(f"two arcs from {_arc.source} on {_arc.event}")
    _NEXT[(_arc.source, _arc.event)] = _arc
del _arc


def next_state(state: State, event: Event) -> Arc:
    """The arc that ``event`` takes from ``state``; raises :class:`IllegalTransition`.

    >>> next_state(State.SYN_SENT, Event.RCV_SYN_ACK).target
    <State.ESTABLISHED: 'ESTABLISHED'>
    """
    arc = _NEXT.get((state, event))
    if arc is None:
        try:
            wanted = Event(event)  # a plain string from outside (an imported capture, a test)
        except ValueError:
            raise IllegalTransition(state, event) from None
        arc = _NEXT.get((state, wanted))
        if arc is None:
            raise IllegalTransition(state, event)
    return arc


def find_arc(source: State, event: Event | str, target: State) -> Arc:
    """The arc ``source --event--> target``, or :class:`IllegalTransition` (used to check a reading)."""
    arc = next_state(source, event)  # type: ignore[arg-type]
    if arc.target is not target:
        raise IllegalTransition(source, event, target)
    return arc


def arcs_from(state: State) -> list[Arc]:
    """Every arc that leaves ``state``."""
    return [a for a in TRANSITIONS if a.source is state]


def is_arc(source: State, target: State) -> bool:
    """True when some event moves a connection from ``source`` to ``target``."""
    return any(a.source is source and a.target is target for a in TRANSITIONS)

