"""The words of TCP, each written down once.

Every layer of tcpbook — the endpoint, the trace, the renderers, the chapters — talks
about states, arc events, timers, application calls and stack decisions.  They use
these string-valued enums, never free text, so nothing has to parse another layer's
prose.  Each member *is* its string (``State.SYN_SENT == "SYN-SENT"``), which is also
what the trace JSON holds, so the JSON reads like the RFC.

Each member's comment gives its source: a section of RFC 9293 (or another RFC), or
the Linux function or sysctl where Linux goes beyond the RFC.
"""

from __future__ import annotations

import enum


class Word(str, enum.Enum):
    """A string-valued enum member: prints, compares and serialises as its value."""

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__
    # Hash as the string it equals (Enum's own __hash__ hashes the member's *name* in
    # Python code): a member and its value find the same dict entry, at C speed.
    __hash__ = str.__hash__


class State(Word):
    """The connection states of RFC 9293 §3.3.2, spelled as the RFC spells them."""

    CLOSED = "CLOSED"  # §3.3.2: no connection state at all (a "fictional" state)
    LISTEN = "LISTEN"  # §3.3.2: waiting for a connection request from any remote TCP
    SYN_SENT = "SYN-SENT"  # §3.3.2: sent a SYN, waiting for a matching SYN (active open)
    SYN_RECEIVED = "SYN-RECEIVED"  # §3.3.2: got and sent a SYN, waiting for its ACK
    ESTABLISHED = "ESTABLISHED"  # §3.3.2: open, data flows both ways
    FIN_WAIT_1 = "FIN-WAIT-1"  # §3.3.2: we closed and sent FIN; waiting for its ACK or the peer's FIN
    FIN_WAIT_2 = "FIN-WAIT-2"  # §3.3.2: our FIN is ACKed; waiting for the peer's FIN
    CLOSE_WAIT = "CLOSE-WAIT"  # §3.3.2: the peer closed; waiting for our application to close
    CLOSING = "CLOSING"  # §3.3.2: both closed before either FIN was ACKed; waiting for our FIN's ACK
    LAST_ACK = "LAST-ACK"  # §3.3.2: the peer closed first, we closed; waiting for our FIN's ACK
    TIME_WAIT = "TIME-WAIT"  # §3.3.2: waiting so the peer surely got our last ACK (2·MSL; Linux 60 s)

    @property
    def linux_name(self) -> str:
        """The spelling of Linux ``ss``/``netstat`` (``SYN_RECV``, ``TIME_WAIT`` …)."""
        return _LINUX_NAMES[self]

    @classmethod
    def parse(cls, text: str) -> State:
        """Accept the RFC spelling (``SYN-SENT``) or the Linux one (``SYN_SENT``, ``SYN_RECV``)."""
        wanted = text.strip().upper().replace("_", "-")
        wanted = {"SYN-RECV": "SYN-RECEIVED", "FIN-WAIT1": "FIN-WAIT-1", "FIN-WAIT2": "FIN-WAIT-2", "ESTAB": "ESTABLISHED"}.get(
            wanted, wanted
        )
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

# States in which both sides' sequence numbers are known: RFC 9293 §3.10.7.4's
# "synchronized states", the closing half of Figure 5.
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


# States whose receive side still takes data: the peer has not sent its FIN yet.
RECEIVING: frozenset[State] = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
# States in which the application may still SEND (before ESTABLISHED the data waits, §3.10.2).
SENDING: frozenset[State] = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_SENT, State.SYN_RECEIVED})
# States in which queued data and our FIN may go out.
TRANSMITTING: frozenset[State] = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK})


class Event(Word):
    """What makes a connection take an arc of the state diagram (RFC 9293 Figure 5 and §3.10).

    Each (state, event) pair has exactly one arc: where the RFC's words are ambiguous
    (a timeout that retransmits or gives up; a RST in SYN-RECEIVED after a passive or
    an active open) they are split into distinct events here.
    """

    PASSIVE_OPEN = "passive OPEN"  # §3.10.1 OPEN call, passive: listen()
    ACTIVE_OPEN = "active OPEN"  # §3.10.1 OPEN call, active: connect()
    SEND = "SEND"  # §3.10.2 SEND call (on a listener it turns the socket into an active open)
    CLOSE = "CLOSE"  # §3.10.4 CLOSE call: close(2) or shutdown(SHUT_WR)
    ABORT = "ABORT"  # §3.10.5 ABORT call (also close(2) with unread data, RFC 2525 §2.17)
    RCV_SYN = "rcv SYN"  # §3.10.7.2/§3.10.7.3: a SYN without ACK arrives
    RCV_SYN_ACK = "rcv SYN,ACK"  # §3.10.7.3: the SYN,ACK acknowledging our SYN arrives
    RCV_ACK_OF_SYN = "rcv ACK of SYN"  # §3.10.7.4 fifth check, SYN-RECEIVED: our SYN is ACKed
    RCV_FIN = "rcv FIN"  # §3.10.7.4 eighth check: the peer's FIN, in order
    RCV_FIN_ACK_OF_FIN = "rcv FIN,ACK of FIN"  # §3.10.7.4 eighth check, FIN-WAIT-1: FIN and the ACK of ours together
    RCV_ACK_OF_FIN = "rcv ACK of FIN"  # §3.10.7.4 fifth check: our FIN is ACKed
    RCV_RST = "rcv RST"  # §3.10.7.4 second check: a valid RST (SYN-RECEIVED: after a passive open)
    RCV_RST_REFUSED = "rcv RST, refused"  # §3.10.7.4 second check, SYN-RECEIVED after an active open
    RCV_RST_ACK = "rcv RST,ACK"  # §3.10.7.3: a RST acknowledging our SYN: connection refused
    TIMEOUT = "timeout"  # §3.10.8 RETRANSMISSION TIMEOUT: resend the oldest unacknowledged segment
    USER_TIMEOUT = "user timeout"  # §3.10.8 USER TIMEOUT: retries or time budget exhausted, give up
    TIME_WAIT_TIMEOUT = "timeout=2MSL"  # §3.10.8 TIME-WAIT TIMEOUT (Linux: a fixed 60 s)
    KEEPALIVE_TIMEOUT = "keepalive timeout"  # RFC 1122 §4.2.3.6: the peer answered no probe; Linux sends a RST
    RCV_NEW_SYN = "rcv newer SYN"  # TIME-WAIT: a SYN with a newer sequence number reuses the 4-tuple (RFC 6191)
    FIN_WAIT_2_TIMEOUT = "fin-wait-2 timeout"  # Linux tcp_fin_timeout for an orphaned FIN-WAIT-2 socket; not in the RFC


class Timer(Word):
    """The timers of a connection (RFC 9293 §3.8, §3.10.8; Linux where named)."""

    RTO = "rto"  # §3.8.1 / RFC 6298: retransmission of SYN, SYN,ACK, data or FIN
    TIME_WAIT = "time-wait"  # §3.10.8: 2·MSL (Linux TCP_TIMEWAIT_LEN, 60 s)
    DELAYED_ACK = "delayed-ack"  # RFC 1122 §4.2.3.2: hold a lone ACK back, hoping to piggy-back it
    PERSIST = "persist"  # §3.8.6.1: probe a zero window
    FIN_WAIT_2 = "fin-wait-2"  # Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 socket is dropped
    TLP = "tlp"  # RFC 8985 §7: the tail loss probe, about 2·SRTT after the last send
    KEEPALIVE = "keepalive"  # RFC 1122 §4.2.3.6: probe an idle connection (SO_KEEPALIVE)


class TimerAction(Word):
    """What happened to a timer, as the trace records it."""

    SET = "set"  # armed (or re-armed) to fire at a deadline
    FIRED = "fired"  # its deadline came
    CANCELLED = "cancelled"  # disarmed before its deadline


class AppAction(Word):
    """What an application did through the socket API, or was told (RFC 9293 §3.9.1, POSIX)."""

    LISTEN = "listen"  # §3.10.1 passive OPEN
    CONNECT = "connect"  # §3.10.1 active OPEN
    SEND = "send"  # §3.10.2 SEND: bytes handed to the kernel
    CLOSE = "close"  # §3.10.4 CLOSE: close(2)
    SHUTDOWN = "shutdown"  # shutdown(SHUT_WR): FIN, but keep reading (POSIX)
    ABORT = "abort"  # §3.10.5 ABORT
    ACCEPT = "accept"  # accept(2): an established connection taken from the accept queue
    CONNECTED = "connected"  # told: the connection is ESTABLISHED (connect() returned)
    READY = "ready"  # told: a connection waits in the listener's accept queue
    DATA = "data"  # told: bytes arrived in order and can be read (§3.10.3 RECEIVE)
    EOF = "eof"  # told: the peer's FIN arrived, read() returns 0
    ERROR = "error"  # told: the connection failed (detail: the socket error)
    CLOSED = "closed"  # told: the connection is gone (detail says why)


class SocketError(Word):
    """The socket errors an application sees (errno names), each with its RFC 9293 wording."""

    ETIMEDOUT = "ETIMEDOUT"  # §3.10.8 "connection aborted due to user timeout"
    ECONNREFUSED = "ECONNREFUSED"  # §3.10.7.3 "connection refused"
    ECONNRESET = "ECONNRESET"  # §3.10.7.4 "connection reset"


class NoteKind(Word):
    """A decision of the stack worth showing, as a :class:`~tcpbook.trace.NoteEvent` records it.

    The note's typed fields (``peer``, ``queue``, ``port``, ``cookie``, ``ack``, ``count``,
    ``seconds``) carry the facts; its ``text`` is only for people.
    """

    SYN_DROPPED = "syn-dropped"  # a SYN found the SYN or accept queue full (field queue); Linux tcp_conn_request
    FINAL_ACK_DROPPED = "final-ack-dropped"  # the handshake's last ACK found the accept queue full; tcp_abort_on_overflow=0
    COOKIE_SENT = "syn-cookie-sent"  # SYN queue full: answered with a SYN cookie, no state kept; tcp_syncookies
    COOKIE_ACCEPTED = "syn-cookie-accepted"  # a final ACK carried a valid cookie: connection rebuilt from it
    NO_SOCKET = "no-socket"  # §3.10.7.1: a segment for no connection, answered with RST
    REQUEST_TIMED_OUT = "request-timed-out"  # a half-open request ran out of SYN,ACK retries and was dropped
    REQUEST_RESET = "request-reset"  # §3.10.7.4: a RST in SYN-RECEIVED sent a passive open back to LISTEN
    OLD_DUPLICATE = "old-duplicate"  # §3.10.7.3, Figure 8: a SYN,ACK for something we never sent: RST
    FAST_RETRANSMIT = "fast-retransmit"  # RFC 5681 §3.2: duplicate ACKs (field count) resend the hole
    DATA_AFTER_CLOSE = "data-after-close"  # RFC 2525 §2.17: data for a socket nobody reads: RST
    ORPHAN_TIMEOUT = "orphan-timeout"  # Linux tcp_fin_timeout dropped an orphaned FIN-WAIT-2 socket
    KEEPALIVE_ONLY = "keepalive-only"  # the run stops: nothing is left but answered keepalive probes, forever
    ORPHAN_GAVE_UP = "orphan-gave-up"  # a socket its program closed ran out of retransmissions: nobody is told
    KEEPALIVE_GAVE_UP = "keepalive-gave-up"  # RFC 1122 §4.2.3.6: keepcnt probes unanswered (field count)
    TIME_WAIT_REUSED = "time-wait-reused"  # RFC 6191 / Linux tcp_timewait_state_process: a newer SYN ends TIME-WAIT
    TIME_WAIT_KILLED = "time-wait-killed"  # RFC 1337: a RST ended TIME-WAIT early (Linux tcp_rfc1337 = 0)
    LINGER_ABORT = "linger-abort"  # SO_LINGER {1, 0}: close() aborts with a RST
    HOST_REBOOTED = "host-rebooted"  # the crashed host is back, with no connections
    HOST_CRASHED = "host-crashed"  # the whole host died: no FIN, no RST, every buffer lost
    ARRIVED_AT_DEAD_HOST = "arrived-at-dead-host"  # a segment reached a host that had crashed meanwhile
    CAPTURE_WARNING = "capture-warning"  # an imported capture: something it cannot show (lost packets, one direction …)
    CAPTURE_OPTIONS = "capture-options"  # an imported capture: the TCP options a side offered on its SYN
    MID_CONNECTION = "mid-connection"  # an imported capture starts after the handshake: states assumed


class CwndChange(Word):
    """Why the congestion window or ssthresh changed, as a :class:`~tcpbook.events.CwndEvent` records it."""

    SLOW_START = "slow start"  # RFC 5681 §3.1: +1 segment per segment acknowledged
    AVOIDANCE = "congestion avoidance"  # RFC 5681 §3.1 / CUBIC: about +1 segment per round trip
    FAST_RETRANSMIT = "fast retransmit"  # RFC 5681 §3.2: three duplicate ACKs; ssthresh from the loss
    RECOVERY = "fast recovery"  # RFC 6582: inflated by duplicate ACKs, deflated by partial ACKs
    RECOVERED = "recovery over"  # RFC 6582 step 6: the whole flight acknowledged, cwnd = ssthresh
    TIMEOUT = "retransmission timeout"  # RFC 5681 §3.1: cwnd to 1 segment, slow start again
    IDLE = "idle restart"  # RFC 5681 §4.1: after an idle RTO, the window is stale
    TLP = "tail loss repaired"  # RFC 8985 / Linux: a loss the tail loss probe repaired reduces cwnd


class Queue(Word):
    """The two queues of a listening socket (Linux's request and accept queues)."""

    SYN = "syn"  # half-open requests in SYN-RECEIVED (bounded by the SYN backlog)
    ACCEPT = "accept"  # established connections not yet accept()ed (listen()'s backlog)


class Role(Word):
    """The part an endpoint plays in a two-party scenario; also its name in the trace."""

    CLIENT = "client"  # the active opener: connect()
    SERVER = "server"  # the passive opener: listen() and accept()


class SegmentKind(Word):
    """What a segment is, in the words of drop rules and ladder labels."""

    SYN = "SYN"  # SYN without ACK: an active open
    SYN_ACK = "SYN-ACK"  # SYN with ACK: the answer to a SYN
    ACK = "ACK"  # a pure ACK: no data, SYN, FIN or RST
    DATA = "DATA"  # carries payload
    FIN = "FIN"  # a FIN without ACK (drop rules: any FIN)
    FIN_ACK = "FIN-ACK"  # a FIN with ACK set (every FIN after the handshake)
    RST = "RST"  # a reset, with or without ACK
