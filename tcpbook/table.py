"""TCP's connection state machine, written down once.

This module is the single source of truth for the eleven states of RFC 9293
(§3.3.2, Figure 5) and the arcs between them.  The :class:`~tcpbook.endpoint.Endpoint`
checks every state change it makes against :data:`TRANSITIONS`; the state diagram
is drawn from it; the tests compare it with the RFC.  A diagram can never disagree
with the code, because it *is* the code.

Each :class:`Arc` reads like a line of the RFC's figure::

    CLOSED --active OPEN / snd SYN--> SYN-SENT

``event`` is what happens (a user call, an arriving segment, a timer), ``sends``
is what the endpoint transmits as it moves (``""`` for nothing).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    """The connection states of RFC 9293 §3.3.2, spelled as the RFC spells them."""

    CLOSED = "CLOSED"  # no connection state at all (§3.3.2: "fictional" state)
    LISTEN = "LISTEN"  # waiting for a connection request from any remote TCP
    SYN_SENT = "SYN-SENT"  # sent a SYN, waiting for a matching SYN (active open)
    SYN_RECEIVED = "SYN-RECEIVED"  # got and sent a SYN, waiting for its ACK
    ESTABLISHED = "ESTABLISHED"  # open: data flows both ways
    FIN_WAIT_1 = "FIN-WAIT-1"  # we closed and sent FIN; waiting for its ACK or the peer's FIN
    FIN_WAIT_2 = "FIN-WAIT-2"  # our FIN is ACKed; waiting for the peer's FIN
    CLOSE_WAIT = "CLOSE-WAIT"  # the peer closed; waiting for our application to close
    CLOSING = "CLOSING"  # both closed at once; waiting for the ACK of our FIN
    LAST_ACK = "LAST-ACK"  # peer closed first, we closed; waiting for the ACK of our FIN
    TIME_WAIT = "TIME-WAIT"  # waiting 2*MSL so the peer surely got our last ACK

    @property
    def linux_name(self) -> str:
        """The spelling used by Linux ``ss``/``netstat`` (``SYN_RECV``, ``TIME_WAIT``…)."""
        return _LINUX_NAMES[self]

    def __str__(self) -> str:  # print the RFC spelling
        return self.value

    @classmethod
    def parse(cls, text: str) -> State:
        """Accept the RFC spelling (``SYN-SENT``) or the Linux one (``SYN_SENT``)."""
        wanted = text.strip().upper().replace("_", "-")
        if wanted == "SYN-RECV":
            wanted = "SYN-RECEIVED"
        if wanted in ("FIN-WAIT1", "FIN-WAIT2"):
            wanted = wanted[:-1] + "-" + wanted[-1]
        for state in cls:
            if state.value == wanted:
                return state
        raise ValueError(f"state {text!r} is not a TCP state; allowed: {', '.join(s.value for s in cls)}")


_LINUX_NAMES = {
    State.CLOSED: "CLOSE",
    State.LISTEN: "LISTEN",
    State.SYN_SENT: "SYN_SENT",
    State.SYN_RECEIVED: "SYN_RECV",
    State.ESTABLISHED: "ESTAB",
    State.FIN_WAIT_1: "FIN_WAIT1",
    State.FIN_WAIT_2: "FIN_WAIT2",
    State.CLOSE_WAIT: "CLOSE_WAIT",
    State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST_ACK",
    State.TIME_WAIT: "TIME_WAIT",
}


# States in which both sides' sequence numbers are known (RFC 9293 §3.10.7.4's
# "synchronized states"): the closing half of Figure 5.
SYNCHRONIZED: frozenset[State] = frozenset(
    {
        State.ESTABLISHED,
        State.FIN_WAIT_1,
        State.FIN_WAIT_2,
        State.CLOSE_WAIT,
        State.CLOSING,
        State.LAST_ACK,
        State.TIME_WAIT,
    }
)


class Phase(enum.Enum):
    """Which part of a connection's life an arc belongs to (used for focused diagrams)."""

    OPEN = "open"
    CLOSE = "close"
    RESET = "reset"


@dataclass(frozen=True)
class Arc:
    """One arc of the state diagram: ``source --event / sends--> target``."""

    source: State
    event: str  # RFC-style event name, e.g. "rcv SYN,ACK"
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


S = State
# The arcs of RFC 9293 Figure 5 with the notes of §3.5 and §3.10.  The event strings
# are the vocabulary the endpoint uses when it reports why it changed state.
TRANSITIONS: tuple[Arc, ...] = (
    Arc(S.CLOSED, "passive OPEN", "", S.LISTEN, Phase.OPEN, "create TCB", in_figure_5=True),
    Arc(S.CLOSED, "active OPEN", "SYN", S.SYN_SENT, Phase.OPEN, "create TCB", in_figure_5=True),
    Arc(S.LISTEN, "rcv SYN", "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, in_figure_5=True),
    Arc(S.LISTEN, "SEND", "SYN", S.SYN_SENT, Phase.OPEN, in_figure_5=True),
    Arc(S.LISTEN, "CLOSE", "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(S.SYN_SENT, "CLOSE", "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(
        S.SYN_SENT,
        "rcv SYN",
        "SYN,ACK",
        S.SYN_RECEIVED,
        Phase.OPEN,
        "simultaneous open; RFC 793's figure says 'snd ACK', RFC 9293 corrects it",
        in_figure_5=True,
    ),
    Arc(S.SYN_SENT, "rcv SYN,ACK", "ACK", S.ESTABLISHED, Phase.OPEN, in_figure_5=True),
    Arc(S.SYN_RECEIVED, "rcv ACK of SYN", "", S.ESTABLISHED, Phase.OPEN, in_figure_5=True),
    Arc(S.SYN_RECEIVED, "CLOSE", "FIN", S.FIN_WAIT_1, Phase.CLOSE, in_figure_5=True),
    Arc(S.SYN_RECEIVED, "rcv RST", "", S.LISTEN, Phase.RESET, "if reached by passive open (§3.10.7.4)", in_figure_5=True),
    Arc(S.SYN_RECEIVED, "rcv RST", "", S.CLOSED, Phase.RESET, "if reached by active open: connection refused", in_figure_5=True),
    Arc(S.ESTABLISHED, "CLOSE", "FIN", S.FIN_WAIT_1, Phase.CLOSE, in_figure_5=True),
    Arc(S.ESTABLISHED, "rcv FIN", "ACK", S.CLOSE_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.FIN_WAIT_1, "rcv ACK of FIN", "", S.FIN_WAIT_2, Phase.CLOSE, in_figure_5=True),
    Arc(S.FIN_WAIT_1, "rcv FIN", "ACK", S.CLOSING, Phase.CLOSE, "simultaneous close", in_figure_5=True),
    Arc(S.FIN_WAIT_1, "rcv FIN,ACK of FIN", "ACK", S.TIME_WAIT, Phase.CLOSE, "FIN and ACK of our FIN together", in_figure_5=True),
    Arc(S.FIN_WAIT_2, "rcv FIN", "ACK", S.TIME_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.CLOSING, "rcv ACK of FIN", "", S.TIME_WAIT, Phase.CLOSE, in_figure_5=True),
    Arc(S.CLOSE_WAIT, "CLOSE", "FIN", S.LAST_ACK, Phase.CLOSE, in_figure_5=True),
    Arc(S.LAST_ACK, "rcv ACK of FIN", "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    Arc(S.TIME_WAIT, "timeout=2MSL", "", S.CLOSED, Phase.CLOSE, "delete TCB", in_figure_5=True),
    # Self-loops: the state stays, something is sent again (§3.8.1, §3.10.7.4, Linux).
    Arc(S.SYN_SENT, "timeout", "SYN", S.SYN_SENT, Phase.OPEN, "retransmit SYN with backoff"),
    Arc(S.SYN_RECEIVED, "timeout", "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, "retransmit SYN,ACK"),
    Arc(S.SYN_RECEIVED, "rcv SYN", "SYN,ACK", S.SYN_RECEIVED, Phase.OPEN, "duplicate SYN: answer at once"),
    Arc(S.TIME_WAIT, "rcv FIN", "ACK", S.TIME_WAIT, Phase.CLOSE, "retransmitted FIN: re-ACK, restart 2MSL"),
    Arc(S.LAST_ACK, "timeout", "FIN", S.LAST_ACK, Phase.CLOSE, "retransmit FIN"),
    Arc(S.FIN_WAIT_1, "timeout", "FIN", S.FIN_WAIT_1, Phase.CLOSE, "retransmit FIN"),
    Arc(S.CLOSING, "timeout", "FIN", S.CLOSING, Phase.CLOSE, "retransmit FIN"),
    # §3.10: a connection that is given up or reset goes straight to CLOSED.
    Arc(S.SYN_SENT, "rcv RST,ACK", "", S.CLOSED, Phase.RESET, "connection refused (§3.10.7.3)"),
    Arc(S.SYN_SENT, "timeout", "", S.CLOSED, Phase.RESET, "SYN retries exhausted: ETIMEDOUT"),
    Arc(S.SYN_RECEIVED, "timeout", "", S.CLOSED, Phase.RESET, "SYN,ACK retries exhausted: request dropped"),
    Arc(S.SYN_RECEIVED, "ABORT", "RST", S.CLOSED, Phase.RESET, "§3.10.5"),
    *(
        Arc(s, "rcv RST", "", S.CLOSED, Phase.RESET, "connection reset (§3.10.7.4)")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)
    ),
    *(
        Arc(s, "ABORT", "RST", S.CLOSED, Phase.RESET, "§3.10.5; also on close with unread data (RFC 2525 §2.17)")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)
    ),
    *(Arc(s, "ABORT", "", S.CLOSED, Phase.RESET, "§3.10.5: no RST sent") for s in (S.LISTEN, S.SYN_SENT)),
    *(Arc(s, "ABORT", "", S.CLOSED, Phase.RESET, "§3.10.5: no RST sent") for s in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
    *(
        Arc(s, "timeout", "RST", S.CLOSED, Phase.RESET, "retransmission retries exhausted: ETIMEDOUT")
        for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK)
    ),
    # Not in RFC 9293: Linux drops a FIN-WAIT-2 socket whose application has closed it
    # (an orphan, nobody can read) after tcp_fin_timeout, so a peer that never closes
    # cannot pin it forever.  A half-closed socket (shutdown) waits as the RFC says.
    Arc(S.FIN_WAIT_2, "timeout", "", S.CLOSED, Phase.CLOSE, "Linux tcp_fin_timeout (60 s) for an orphaned socket; not in the RFC"),
)
del S

# The arcs drawn in RFC 9293 Figure 5 itself (the rest come from the event-processing text).
FIGURE_5_ARCS: tuple[Arc, ...] = tuple(a for a in TRANSITIONS if a.in_figure_5)


class IllegalTransition(RuntimeError):
    """The code tried a state change that is not an arc of :data:`TRANSITIONS`.

    This is a bug in tcpbook, never a user error: the endpoint checks each move.
    """


def find_arc(source: State, event: str, target: State) -> Arc:
    """Return the arc ``source --event--> target`` or raise :class:`IllegalTransition`."""
    arc = _INDEX.get((source, event, target))
    if arc is None:
        raise IllegalTransition(f"no arc {source} --{event}--> {target} in RFC 9293's state diagram")
    return arc


def arcs_from(state: State) -> list[Arc]:
    """Every arc that leaves ``state``."""
    return [a for a in TRANSITIONS if a.source is state]


def is_arc(source: State, target: State) -> bool:
    """True when some event moves a connection from ``source`` to ``target``."""
    return any(a.source is source and a.target is target for a in TRANSITIONS)


_INDEX: dict[tuple[State, str, State], Arc] = {(a.source, a.event, a.target): a for a in TRANSITIONS}
