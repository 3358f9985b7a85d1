"""The user calls of RFC 9293 §3.10.1–§3.10.5 — OPEN, SEND, RECEIVE, CLOSE, ABORT — on a connection.

Part of :class:`~tcpbook.endpoint.connection.Connection` (``self`` is the connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConnectionClosing, ConnectionDoesNotExist, ConnectionReset, TcpUserError
from ..payload import Data
from ..segment import ACK, RST, SEQ_SPACE, Segment
from ..vocabulary import RECEIVING, SENDING, TRANSMITTING, AppAction, Event, NoteKind, SocketError, State, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection as _Self
else:
    _Self = object

# States that answer an ABORT with a RST (RFC 9293 §3.10.5).
ABORT_SENDS_RST = frozenset({State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT})


class UserCalls(_Self):
    """OPEN, SEND, RECEIVE, CLOSE and ABORT, as RFC 9293 §3.10.1–§3.10.5 process them."""

    __slots__ = ()

    def open_active(self, now: float) -> None:
        """OPEN, active (§3.10.1): "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent …
        enter SYN-SENT state."  The first retransmission timer follows the profile's schedule."""
        self.move(Event.ACTIVE_OPEN, now)
        self.syn_attempt = 0
        self._send_syn(now)
        self.timers.set(Timer.RTO, now, self.profile.syn_timeouts()[0])

    def open_from_syn(self, seg: Segment, now: float) -> None:
        """LISTEN, a SYN arrives (§3.10.7.2): "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ …
        send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> … change the connection state to SYN-RECEIVED"."""
        self._synchronized(seg)
        self.move(Event.RCV_SYN, now)
        self.syn_attempt = 0
        self._send_synack(now)
        self.timers.set(Timer.RTO, now, self.profile.synack_timeouts()[0])

    def open_from_cookie(self, seg: Segment, now: float) -> None:
        """A valid SYN cookie came back in ``seg``'s ACK: rebuild SYN-RECEIVED as if our
        SYN,ACK had been sent from a queued request, then process the ACK (Linux
        ``cookie_v4_check``).  No SYN,ACK is sent again."""
        self.rcv.synchronize((seg.seq - 1) % SEQ_SPACE, self.sender.mss, window_mss=self.sender.peer_mss)
        space = self.sender.space
        space.nxt = space.max = space.iss + 1
        self.move(Event.RCV_SYN, now)
        self.segment_arrives(seg, now)

    def send(self, data: Data, now: float) -> None:
        """SEND (§3.10.2): queue ``data``; it goes out as the windows allow.  Before the
        handshake completes it waits ("queue the data for transmission after entering
        ESTABLISHED")."""
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist("SEND")
        if self.state is State.LISTEN:
            raise TcpUserError("error: foreign socket unspecified (SEND on a listening socket)")
        if self.fin_requested or self.state not in SENDING:
            raise ConnectionClosing("SEND")
        self.sender.queued(now)
        self.sender.space.queue(data)
        self.ledger.sent(self.peer, data)
        self.notify(AppAction.SEND, now, len(data))
        if self.state is State.ESTABLISHED or self.state is State.CLOSE_WAIT:
            self.sender.push(now)

    def read(self, now: float, nbytes: int | None = None) -> bytes:
        """RECEIVE (§3.10.3): take up to ``nbytes`` unread bytes (all by default).

        Reading frees receive buffer.  If the window we last advertised was small and the
        window we could offer now is at least twice as large, tell the peer at once with
        a window update (Linux ``tcp_cleanup_rbuf``: ``2 * rcv_window_now <=
        window_clamp`` and ``__tcp_select_window() >= 2 * rcv_window_now``); otherwise a
        sender facing a zero window waits for its persist timer.  Both sides of the
        comparison are windows that can be offered (at most 65535 here, and rounded as the
        profile's ``sws_avoidance`` rounds them), not the raw free buffer: a big buffer
        behind a full-size window has nothing new to say.
        """
        if self.state is State.CLOSED and self.error is SocketError.ECONNRESET:
            raise ConnectionReset("RECEIVE")
        data = self.rcv.read(nbytes)
        advertised = self.rcv.window
        if (
            data
            and self.state in RECEIVING
            and 2 * advertised <= self.rcv.clamp
            and self.rcv.select(self.sender.eff_mss) >= 2 * max(advertised, 1)
        ):
            self.send_ack()
        return data

    def close(self, now: float, *, half: bool = False, linger: float | None = None) -> None:
        """CLOSE (§3.10.4), like close(2); with ``half=True`` shutdown(SHUT_WR).

        Both queue a FIN after the data ("segmentize any queued data … then form a FIN").
        A full close also stops reading: unread data makes it an ABORT (RST, RFC 2525
        §2.17, Linux ``tcp_close``), and so does data arriving afterwards.  A half close
        keeps reading.  In SYN-SENT the connection is simply deleted.

        ``linger=0`` is ``SO_LINGER`` with ``{l_onoff = 1, l_linger = 0}``: close() aborts
        at once with a RST, throwing away whatever was not yet acknowledged (Linux
        ``tcp_close`` → ``tcp_disconnect``).  Any other linger time only makes close()
        wait; the segments on the wire are the same, so it is not modelled.
        """
        call = "SHUTDOWN" if half else "CLOSE"
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist(call)
        if self.fin_requested:
            if half:
                raise ConnectionClosing(call)
            self.read_closed = True  # close() after shutdown(): stop reading too
            self.notify(AppAction.CLOSE, now)
            return
        if not half and self.rcv.unread > 0:
            self.notify(AppAction.CLOSE, now, detail=f"with {self.rcv.unread} unread bytes: abort")
            self.abort(now, quietly=True)
            return
        if not half and linger == 0:
            self.notify(AppAction.CLOSE, now, detail="SO_LINGER 0: abort")
            self.note(now, NoteKind.LINGER_ABORT, "close() with SO_LINGER {1, 0}: abort with RST, unsent data discarded")
            self.abort(now, quietly=True)
            return
        self.notify(AppAction.SHUTDOWN if half else AppAction.CLOSE, now)
        self.read_closed = not half
        if self.state is State.SYN_SENT:
            self.move(Event.CLOSE, now)
            return
        self.sender.space.fin_queued = True
        if self.state in (State.ESTABLISHED, State.SYN_RECEIVED, State.CLOSE_WAIT):
            self.move(Event.CLOSE, now)
        if self.state in TRANSMITTING and self.sender.space.una > self.iss:
            self.sender.push(now)  # our SYN is acknowledged: the FIN may go (after the data)

    def abort(self, now: float, *, quietly: bool = False) -> None:
        """ABORT (§3.10.5): a RST from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT
        (<SEQ=SND.NXT>; Linux ``tcp_send_active_reset`` sets ACK too); silently from the other
        states.  Queued data is thrown away.  ``quietly``: the stack aborts on its own (the
        application did not call ABORT)."""
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist("ABORT")
        if self.state in ABORT_SENDS_RST:
            nxt = self.sender.space.nxt
            self.transmit(self.segment(nxt, RST | ACK), nxt)
        if not quietly:
            self.notify(AppAction.ABORT, now)
        self.move(Event.ABORT, now)

