"""One TCP connection, as RFC 9293 §3.10 ("Event Processing") describes it.

A :class:`Connection` is a TCB (RFC 9293 §3.3.1).  Its methods are the events of §3.10,
in the RFC's order:

* the user calls — :meth:`~Connection.open_active` (OPEN), :meth:`~Connection.send`
  (SEND), :meth:`~Connection.read` (RECEIVE), :meth:`~Connection.close` (CLOSE, and
  ``shutdown(SHUT_WR)``), :meth:`~Connection.abort` (ABORT);
* SEGMENT ARRIVES — :meth:`~Connection.segment_arrives`: in SYN-SENT the checks of
  §3.10.7.3 (:meth:`~Connection.arrives_in_syn_sent`), otherwise the eight checks of
  §3.10.7.4, one method each: :meth:`~Connection.check_sequence`,
  :meth:`~Connection.check_rst`, :meth:`~Connection.check_syn`,
  :meth:`~Connection.check_ack`, :meth:`~Connection.process_text`,
  :meth:`~Connection.check_fin` (the security and URG checks are not modelled);
* the timeouts of §3.10.8 — :meth:`~Connection.timer_expired`.

What to send and when to resend is the :class:`~tcpbook.endpoint.sender.Sender`'s job;
the receive sequence space is a :class:`~tcpbook.endpoint.receivespace.ReceiveSpace`;
the timers are :class:`~tcpbook.endpoint.timers.Timers`.  The connection never picks a
next state itself: it names the event and :func:`tcpbook.table.next_state` decides.

Where Linux does something the RFC leaves open (or does differently), the method says
so and names the kernel function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConnectionClosing, ConnectionDoesNotExist, ConnectionReset, TcpUserError
from ..ledger import ByteLedger
from ..payload import Data
from ..profiles import Profile
from ..segment import ACK, FIN, RST, SEQ_SPACE, SYN, Segment
from ..table import next_state
from ..vocabulary import AppAction, Event, NoteKind, SocketError, State, Timer
from .effects import AppNotice, Effect, Note, StateChange, Transmit
from .receivespace import Arrival, ReceiveSpace
from .sender import Sender
from .timers import Timers

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

# States whose receive side still takes data: the peer has not sent its FIN yet.
RECEIVING = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
# States in which the application may still SEND (data waits for the handshake to finish).
SENDING = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_SENT, State.SYN_RECEIVED})
# States in which queued data and our FIN may go out.
TRANSMITTING = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK})
# States that answer an ABORT with a RST (RFC 9293 §3.10.5).
ABORT_SENDS_RST = frozenset({State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT})
# States whose application is told "connection reset" by a RST (§3.10.7.4 second check).
RESET_IS_AN_ERROR = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT})


class Connection:
    """One TCP connection (a TCB): its state, its sequence spaces and timers.

    ``passive`` connections are made by a :class:`~tcpbook.endpoint.listener.Listener`
    from a SYN (they start in LISTEN); active ones by ``connect()`` (they start in CLOSED).
    ``emit`` receives the connection's effects; ``forget`` is called when it reaches CLOSED.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        profile: Profile,
        cid: int,
        local_port: int,
        peer: str,
        peer_port: int,
        iss: int,
        emit: Callable[[Effect], None],
        forget: Callable[[Connection], None],
        ledger: ByteLedger,
        listener: Listener | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.profile = profile
        self.cid = cid
        self.local_port = local_port
        self.peer = peer
        self.peer_port = peer_port
        self.listener = listener  # set for a passive open: RST sends it back to LISTEN
        self.passive = listener is not None
        self.state = State.LISTEN if self.passive else State.CLOSED
        self.error: SocketError | None = None
        self.established_at: float | None = None
        self.emit = emit
        self._forget = forget
        self.ledger = ledger  # the host's account of bytes sent and delivered (for digests)
        self.timers = Timers(emit, endpoint, peer, cid)
        self.sender = Sender(self, iss)
        self.rcv = ReceiveSpace(profile.rcv_buffer)
        self.read_closed = False  # close(), not shutdown(): data arriving now is answered by RST
        self.advertised_window = profile.rcv_buffer  # the window in our last segment
        self.ack_pending = 0  # in-order data segments received and not yet ACKed (delayed ACK)
        self.syn_attempt = 0  # index into the SYN / SYN,ACK timeout schedule
        self.handshake_retransmitted = False
        self.synack_sent = False

    def __repr__(self) -> str:
        return f"<Connection {self.endpoint}:{self.local_port}->{self.peer}:{self.peer_port} {self.state}>"

    @property
    def snd(self):  # noqa: ANN201 - SendSpace; a short name for the RFC's SND.* variables
        """The send sequence space (SND.UNA, SND.NXT, SND.WND …)."""
        return self.sender.space

    @property
    def iss(self) -> int:
        return self.sender.space.iss

    @property
    def fin_requested(self) -> bool:
        """The application has closed its sending side (close or shutdown)."""
        return self.sender.space.fin_queued

    # -- moving, telling, sending ------------------------------------------------------------

    def move(self, event: Event, now: float) -> None:
        """Take the arc ``event`` leads to from the current state (the table decides)."""
        arc = next_state(self.state, event)
        old, self.state = self.state, arc.target
        self.emit(StateChange(self.endpoint, self.peer, old, arc.target, event))
        if arc.target is State.ESTABLISHED and self.established_at is None:
            self.established_at = now
        if arc.target is State.CLOSED:
            self.timers.cancel_all()
            self._forget(self)

    def notify(self, action: AppAction, nbytes: int = 0, detail: str = "") -> None:
        """Tell the application something (or record what it did)."""
        self.emit(AppNotice(self.endpoint, self.peer, action, nbytes, detail))

    def note(self, kind: NoteKind, text: str, **facts: object) -> None:
        """Record a decision of the stack about this connection."""
        self.emit(Note(self.endpoint, kind, text, peer=self.peer, **facts))  # type: ignore[arg-type]

    def segment(self, seq: int, flags: int, payload: bytes = b"", *, mss: bool = False, ack: int | None = None) -> Segment:
        """A segment from us to the peer, carrying RCV.NXT (or ``ack``) and our window."""
        window = self.rcv.window
        if window > 65535:
            window = 65535
        self.advertised_window = window
        return Segment(
            self.endpoint,
            self.peer,
            self.local_port,
            self.peer_port,
            seq % SEQ_SPACE,
            ((self.rcv.nxt if ack is None else ack) % SEQ_SPACE) if flags & ACK else 0,
            flags,
            payload,
            window,
            self.profile.mss if mss else None,
        )

    def transmit(self, seg: Segment, seq: int) -> None:
        """Send ``seg``, whose first sequence number (unwrapped) is ``seq``.  A segment that
        carries an ACK answers any ACK we were holding back (delayed ACK)."""
        space = self.sender.space
        end = seq + seg.seg_len
        retransmission = seq < space.max
        if end > space.max:
            space.max = end
        if seg.flags & ACK:
            self.ack_pending = 0
            self.timers.cancel(Timer.DELAYED_ACK)
        self.emit(Transmit(seg, retransmission))

    def transmit_data(self, seq: int, flags: int, payload: bytes, now: float) -> None:
        """Send a data, FIN or probe segment at ``seq`` (the sender's way out)."""
        self.transmit(self.segment(seq, flags, payload), seq)

    def send_ack(self) -> None:
        """An ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
        nxt = self.sender.space.nxt
        self.transmit(self.segment(nxt, ACK), nxt)

    def send_rst_for(self, seg: Segment) -> None:
        """<SEQ=SEG.ACK><CTL=RST>: reject a segment that acknowledges what we never sent."""
        rst = Segment(self.endpoint, self.peer, self.local_port, self.peer_port, seg.ack, 0, RST)
        self.transmit(rst, self.sender.space.max)

    def _send_syn(self, now: float) -> None:
        space = self.sender.space
        seg = self.segment(space.iss, SYN, mss=True)
        space.nxt = space.iss + 1
        if not self.handshake_retransmitted:
            self.sender.rtt.start(space.iss + 1, now)
        self.transmit(seg, space.iss)

    def _send_synack(self, now: float) -> None:
        """Our SYN,ACK.  In a simultaneous open it repeats our SYN's sequence number, but it
        is a new kind of segment, not a retransmission of the SYN."""
        space = self.sender.space
        seg = self.segment(space.iss, SYN | ACK, mss=True)
        space.nxt = max(space.nxt, space.iss + 1)
        if not self.handshake_retransmitted:
            self.sender.rtt.start(space.iss + 1, now)
        retransmission, self.synack_sent = self.synack_sent, True
        space.max = max(space.max, space.iss + 1)
        self.ack_pending = 0
        self.timers.cancel(Timer.DELAYED_ACK)
        self.emit(Transmit(seg, retransmission))

    def _synchronized(self, seg: Segment) -> None:
        """The peer's SYN is in: learn its ISN, window and MSS."""
        self.rcv.synchronize(seg.seq)
        self.sender.space.wnd = seg.window
        if seg.mss is not None:
            self.sender.peer_mss = seg.mss

    # -- user calls (RFC 9293 §3.10.1–§3.10.6) -------------------------------------------------

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
        self.rcv.synchronize((seg.seq - 1) % SEQ_SPACE)
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
        self.sender.space.queue(data)
        self.ledger.sent(self.peer, data)
        self.notify(AppAction.SEND, len(data))
        if self.state is State.ESTABLISHED or self.state is State.CLOSE_WAIT:
            self.sender.push(now)

    def read(self, now: float, nbytes: int | None = None) -> bytes:
        """RECEIVE (§3.10.3): take up to ``nbytes`` unread bytes (all by default).

        Reading frees receive buffer.  If the window we last advertised was small and has
        at least doubled, tell the peer at once with a window update (Linux
        ``tcp_cleanup_rbuf``); otherwise a sender facing a zero window waits for its
        persist timer.
        """
        if self.state is State.CLOSED and self.error is SocketError.ECONNRESET:
            raise ConnectionReset("RECEIVE")
        data = self.rcv.read(nbytes)
        advertised = self.advertised_window
        if (
            data
            and self.state in RECEIVING
            and 2 * advertised <= self.profile.rcv_buffer
            and self.rcv.window >= 2 * max(advertised, 1)
        ):
            self.send_ack()
        return data

    def close(self, now: float, *, half: bool = False) -> None:
        """CLOSE (§3.10.4), like close(2); with ``half=True`` shutdown(SHUT_WR).

        Both queue a FIN after the data ("segmentize any queued data … then form a FIN").
        A full close also stops reading: unread data makes it an ABORT (RST, RFC 2525
        §2.17, Linux ``tcp_close``), and so does data arriving afterwards.  A half close
        keeps reading.  In SYN-SENT the connection is simply deleted.
        """
        call = "SHUTDOWN" if half else "CLOSE"
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist(call)
        if self.fin_requested:
            if half:
                raise ConnectionClosing(call)
            self.read_closed = True  # close() after shutdown(): stop reading too
            self.notify(AppAction.CLOSE)
            return
        if not half and self.rcv.unread > 0:
            self.notify(AppAction.CLOSE, detail=f"with {self.rcv.unread} unread bytes: abort")
            self.abort(now, quietly=True)
            return
        self.notify(AppAction.SHUTDOWN if half else AppAction.CLOSE)
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
            self.notify(AppAction.ABORT)
        self.move(Event.ABORT, now)

    # -- SEGMENT ARRIVES (RFC 9293 §3.10.7) ------------------------------------------------------

    def segment_arrives(self, seg: Segment, now: float) -> None:
        """SEGMENT ARRIVES (§3.10.7): SYN-SENT has its own rules (§3.10.7.3); every other
        state runs the checks of §3.10.7.4 in order, each of which may end processing."""
        if self.state is State.SYN_SENT:
            self.arrives_in_syn_sent(seg, now)
            return
        if self.state is State.TIME_WAIT:
            self.arrives_in_time_wait(seg, now)
            return
        seq = self.rcv.unwrap(seg.seq)
        if not self.check_sequence(seg, seq, now):
            return
        if seg.flags & RST:
            self.check_rst(seg, seq, now)
            return
        if seg.flags & SYN and not self.check_syn(seg, seq, now):
            return
        if not seg.flags & ACK:
            return  # fifth: "if the ACK bit is off, drop the segment and return"
        if not self.check_ack(seg, now):
            return
        ack_now = False
        if seg.payload:
            ack_now = self.process_text(seg, seq, now)
            if self.state is State.CLOSED:
                return
        if seg.flags & FIN or (seg.payload and self.rcv.fin_in_order):
            self.check_fin(seg, seq, ack_now, now)
        elif seg.payload:
            self._acknowledge_text(ack_now, now)
        if self.state in TRANSMITTING:
            self.sender.push(now)

    def arrives_in_syn_sent(self, seg: Segment, now: float) -> None:
        """§3.10.7.3, SYN-SENT.  First the ACK: one that does not acknowledge our SYN
        (SEG.ACK =< ISS or > SND.NXT) comes from an old connection — "send a reset
        <SEQ=SEG.ACK><CTL=RST>" (Figure 8's old duplicate).  Then the RST: with an acceptable
        ACK, "connection refused".  Then the SYN: with our SYN acknowledged the connection
        is ESTABLISHED and we ACK the SYN,ACK; without, both SYNs crossed — a simultaneous
        open, answered with a SYN,ACK from SYN-RECEIVED."""
        space = self.sender.space
        ack_ok = False
        if seg.flags & ACK:
            ack = space.una + _seq_diff(seg.ack, space.una)
            if ack <= space.iss or ack > space.max:
                if not seg.flags & RST:
                    self.note(NoteKind.OLD_DUPLICATE, f"SYN,ACK acknowledges {seg.ack}, not our SYN: old duplicate, answered with RST", ack=seg.ack)
                    self.send_rst_for(seg)
                return
            ack_ok = True
        if seg.flags & RST:
            if ack_ok:
                self.error = SocketError.ECONNREFUSED
                self.notify(AppAction.ERROR, detail=SocketError.ECONNREFUSED)
                self.move(Event.RCV_RST_ACK, now)
            return
        if not seg.flags & SYN:
            return
        self._synchronized(seg)
        self.timers.cancel(Timer.RTO)
        if ack_ok:
            self._handshake_complete(now)
            self.move(Event.RCV_SYN_ACK, now)
            self.send_ack()
            self.notify(AppAction.CONNECTED)
            self.sender.push(now)
        else:
            self.move(Event.RCV_SYN, now)
            self.syn_attempt = 0
            self._send_synack(now)
            self.timers.set(Timer.RTO, now, self.profile.synack_timeouts()[0])

    def arrives_in_time_wait(self, seg: Segment, now: float) -> None:
        """TIME-WAIT (§3.10.7.4; Linux keeps a separate mini-socket, ``tcp_timewait_state_process``).

        "The only thing that can arrive in this state is a retransmission of the remote
        FIN.  Acknowledge it, and restart the 2 MSL timeout."  A valid RST ends it (RFC 5961
        exactness applies); a SYN gets a challenge ACK; anything else unacceptable an ACK.
        """
        seq = self.rcv.unwrap(seg.seq)
        acceptable = self.rcv.acceptable(seq, seg.seg_len)
        if seg.flags & RST:
            if acceptable:
                self.check_rst(seg, seq, now)
            return
        if seg.flags & SYN or not (acceptable or seg.flags & FIN):
            self.send_ack()
            return
        if not seg.flags & ACK or not self.check_ack(seg, now):
            return
        if seg.flags & FIN:
            self.move(Event.RCV_FIN, now)
            self.send_ack()
            self.timers.cancel(Timer.TIME_WAIT)
            self.timers.set(Timer.TIME_WAIT, now, self.profile.time_wait)
        elif seg.payload:
            self.send_ack()

    def check_sequence(self, seg: Segment, seq: int, now: float) -> bool:
        """First check (§3.10.7.4): is the segment acceptable — does it overlap the window?

        "If an incoming segment is not acceptable, an acknowledgment should be sent in
        reply (unless the RST bit is set …) … After sending the acknowledgment, drop the
        unacceptable segment and return."  Two SYN-RECEIVED cases, as Linux handles them:
        the peer's SYN again (our SYN,ACK was lost) is answered with our SYN,ACK at once
        (``tcp_check_req``); and in a simultaneous open the peer's SYN,ACK, which repeats
        its SYN, passes on to the SYN check (``tcp_validate_incoming``, RFC 5961 §4.2).
        """
        if self.state is State.SYN_RECEIVED and seg.flags & SYN and not seg.flags & RST:
            if not seg.flags & ACK:
                self.move(Event.RCV_SYN, now)  # the duplicate-SYN self-loop
                self._send_synack(now)
                return False
            if self._crossing_synack(seg, seq):
                return True
        if self.rcv.acceptable(seq, seg.seg_len):
            return True
        if not seg.flags & RST:
            self.send_ack()
        return False

    def check_rst(self, seg: Segment, seq: int, now: float) -> None:
        """Second check (§3.10.7.4), with RFC 5961 §3.2: a RST must carry exactly RCV.NXT;
        one merely in the window earns a challenge ACK.  SYN-RECEIVED after a passive open
        returns to LISTEN; after an active open the connection was refused.  In ESTABLISHED,
        FIN-WAIT-1/2 and CLOSE-WAIT the application hears "connection reset"; CLOSING,
        LAST-ACK and TIME-WAIT just close."""
        if seq != self.rcv.nxt and self.state is not State.SYN_RECEIVED:
            self.send_ack()  # in window but not exact: challenge ACK
            return
        if self.state is State.SYN_RECEIVED:
            if self.passive:
                self.note(NoteKind.REQUEST_RESET, f"RST from {self.peer}: request dropped, back to LISTEN")
                self.move(Event.RCV_RST, now)
                self.timers.cancel_all()
                self._forget(self)
            else:
                self.error = SocketError.ECONNREFUSED
                self.notify(AppAction.ERROR, detail=SocketError.ECONNREFUSED)
                self.move(Event.RCV_RST_REFUSED, now)
            return
        if self.state in RESET_IS_AN_ERROR:
            self.error = SocketError.ECONNRESET
            self.notify(AppAction.ERROR, detail=SocketError.ECONNRESET)
        else:
            self.notify(AppAction.CLOSED, detail="reset")
        self.move(Event.RCV_RST, now)

    def check_syn(self, seg: Segment, seq: int, now: float) -> bool:
        """Fourth check (§3.10.7.4): a SYN in a synchronized state gets a challenge ACK
        (RFC 5961 §4.2) and is dropped.  In SYN-RECEIVED a SYN,ACK that acknowledges our SYN
        is the peer's half of a simultaneous open (RFC 9293 Figure 7): it goes on to the ACK
        check.  Returns True to continue."""
        if self.state is State.SYN_RECEIVED:
            if self._crossing_synack(seg, seq):
                return True
            self.move(Event.RCV_SYN, now)  # a duplicate SYN (our SYN,ACK was lost or is late)
            self._send_synack(now)
            return False
        self.send_ack()
        return False

    def _crossing_synack(self, seg: Segment, seq: int) -> bool:
        """In SYN-RECEIVED after a simultaneous open: the peer's SYN,ACK, repeating its SYN
        and acknowledging ours (RFC 9293 Figure 7, line 6)."""
        space = self.sender.space
        return bool(seg.flags & ACK) and seq + 1 == self.rcv.nxt and space.una + _seq_diff(seg.ack, space.una) == space.iss + 1

    def check_ack(self, seg: Segment, now: float) -> bool:
        """Fifth check (§3.10.7.4), the ACK field.  SYN-RECEIVED: "If SND.UNA < SEG.ACK =<
        SND.NXT, then enter ESTABLISHED" (a passive open also needs room in the listener's
        accept queue), else reset <SEQ=SEG.ACK><CTL=RST>.  Then, in every state, the send
        side advances (:meth:`Sender.on_ack`), an ACK of something not yet sent is answered
        with an ACK and dropped, and an ACK of our FIN takes its arc: FIN-WAIT-1 →
        FIN-WAIT-2, CLOSING → TIME-WAIT, LAST-ACK → CLOSED.  Returns True to continue."""
        space = self.sender.space
        ack = space.una + _seq_diff(seg.ack, space.una)
        if self.state is State.SYN_RECEIVED:
            if not space.una < ack <= space.max:
                self.send_rst_for(seg)
                return False
            if self.listener is not None and not self.listener.has_room_for(self):
                return False  # accept queue full: ignore the ACK, the SYN,ACK timer will retry
            self.timers.cancel(Timer.RTO)
            space.una = space.iss + 1
            space.wnd = seg.window
            self._handshake_complete(now)
            self.move(Event.RCV_ACK_OF_SYN, now)
            self.notify(AppAction.CONNECTED)
            if self.listener is not None:
                self.listener.established(self)
        if ack > space.max:
            self.send_ack()  # acknowledges data we never sent: re-synchronise, drop
            return False
        fin_acked = self.sender.on_ack(ack, seg.window, bool(seg.payload or seg.flags & FIN), now)
        if fin_acked:
            self._our_fin_acked(seg, now)
        return self.state is not State.CLOSED

    def _our_fin_acked(self, seg: Segment, now: float) -> None:
        if self.state is State.FIN_WAIT_1:
            if seg.flags & FIN and self.rcv.unwrap(seg.seq) + len(seg.payload) == self.rcv.nxt:
                return  # the FIN comes with it: the eighth check takes FIN-WAIT-1 → TIME-WAIT
            self.move(Event.RCV_ACK_OF_FIN, now)
            if self.read_closed and self.profile.fin_timeout is not None:
                # close(), not shutdown(): an orphan nobody reads; Linux gives the peer
                # tcp_fin_timeout to send its FIN, then drops the socket (tcp_close).
                self.timers.set(Timer.FIN_WAIT_2, now, self.profile.fin_timeout)
        elif self.state is State.CLOSING:
            self._enter_time_wait(Event.RCV_ACK_OF_FIN, now)
        elif self.state is State.LAST_ACK:
            self.move(Event.RCV_ACK_OF_FIN, now)
            self.notify(AppAction.CLOSED)

    def _handshake_complete(self, now: float) -> None:
        """Our SYN is acknowledged: take the handshake's RTT sample, or apply RFC 6298 §5.7."""
        self.sender.space.una = self.iss + 1
        rtt = self.sender.rtt
        if self.handshake_retransmitted:
            rtt.handshake_was_retransmitted()
        else:
            rtt.on_ack(self.iss + 1, now)
        rtt.forget()

    def process_text(self, seg: Segment, seq: int, now: float) -> bool:
        """Seventh check (§3.10.7.4), the segment text: in ESTABLISHED and FIN-WAIT-1/2
        deliver it in order, queue what lies beyond a hole, and decide how soon to ACK.
        After the peer's FIN only duplicates can come; they are ACKed at once.  Data for a
        socket the application closed with close() is answered with a RST — nobody will
        read it (RFC 2525 §2.17; Linux ``tcp_rcv_state_process``).  Returns True when the
        segment deserves an immediate ACK."""
        if self.state not in RECEIVING:
            return True
        if self.read_closed and seq + len(seg.payload) > self.rcv.nxt:
            self.note(NoteKind.DATA_AFTER_CLOSE, f"data from {self.peer} after close(): connection aborted with RST")
            self.rcv.nxt = seq + len(seg.payload)
            self.abort(now, quietly=True)
            return True
        arrival, ready = self.rcv.take(seq, seg.payload)
        if ready:
            self.rcv.deliver(ready)
            self.ledger.delivered(self.peer, ready)
            self.notify(AppAction.DATA, len(ready))  # the application gets it in one piece
            self.ack_pending += 1
        return arrival is not Arrival.IN_ORDER

    def _acknowledge_text(self, ack_now: bool, now: float) -> None:
        """ACK received data now, or hold the ACK back (RFC 1122 §4.2.3.2 delayed ACK: at
        least every second segment, or when the timer fires)."""
        if ack_now or not self.profile.delayed_ack or self.ack_pending >= 2:
            self.send_ack()
        elif Timer.DELAYED_ACK not in self.timers:
            self.timers.set(Timer.DELAYED_ACK, now, self.profile.delayed_ack_timeout)

    def check_fin(self, seg: Segment, seq: int, ack_now: bool, now: float) -> None:
        """Eighth check (§3.10.7.4), the FIN bit.  Once everything before it has arrived:
        ESTABLISHED → CLOSE-WAIT; FIN-WAIT-1 → TIME-WAIT if our FIN is ACKed ("perhaps in
        this segment"), else CLOSING; FIN-WAIT-2 → TIME-WAIT.  A FIN that came early waits
        for the hole before it to fill; a duplicate FIN is ACKed again.

        Linux delays the ACK of a FIN in ESTABLISHED ("pingpong" mode): if the application
        closes at once, the ACK rides on its own FIN — the three-segment close.
        """
        if seg.flags & FIN:
            self.rcv.see_fin(seq + len(seg.payload))
        if not self.rcv.fin_in_order:
            if seg.flags & FIN and self.rcv.fin_received:
                ack_now = True  # a duplicate FIN in CLOSE-WAIT, CLOSING or LAST-ACK
            self._acknowledge_text(ack_now, now)
            return
        self.rcv.nxt += 1
        state = self.state
        if state is State.ESTABLISHED:
            self.move(Event.RCV_FIN, now)
            self.notify(AppAction.EOF)
            if not self.profile.delay_fin_ack:
                self.send_ack()
            elif Timer.DELAYED_ACK not in self.timers:
                self.timers.set(Timer.DELAYED_ACK, now, self.profile.delayed_ack_timeout)
        elif state is State.FIN_WAIT_1:
            if self.sender.space.fin_acked:
                self.send_ack()
                self._enter_time_wait(Event.RCV_FIN_ACK_OF_FIN, now)
            else:
                self.move(Event.RCV_FIN, now)
                self.send_ack()
            self.notify(AppAction.EOF)
        elif state is State.FIN_WAIT_2:
            self.send_ack()
            self._enter_time_wait(Event.RCV_FIN, now)
            self.notify(AppAction.EOF)
        else:
            self.send_ack()

    def _enter_time_wait(self, event: Event, now: float) -> None:
        for timer in (Timer.RTO, Timer.DELAYED_ACK, Timer.FIN_WAIT_2):
            self.timers.cancel(timer)
        self.move(event, now)
        self.timers.set(Timer.TIME_WAIT, now, self.profile.time_wait)

    # -- timeouts (RFC 9293 §3.10.8) ------------------------------------------------------------

    def timer_expired(self, kind: Timer, now: float) -> None:
        """One of the connection's timers fired (a stale one is ignored)."""
        if not self.timers.expired(kind):
            return
        if kind is Timer.RTO:
            self.retransmission_timeout(now)
        elif kind is Timer.TIME_WAIT:
            self.move(Event.TIME_WAIT_TIMEOUT, now)  # "delete the TCB, enter the CLOSED state"
            self.notify(AppAction.CLOSED, detail="TIME-WAIT over")
        elif kind is Timer.DELAYED_ACK:
            self.send_ack()
        elif kind is Timer.FIN_WAIT_2 and self.state is State.FIN_WAIT_2:
            seconds = self.profile.fin_timeout
            self.note(NoteKind.ORPHAN_TIMEOUT, f"FIN-WAIT-2 orphan waited {seconds:g} s for {self.peer}'s FIN: dropped", seconds=seconds)
            self.move(Event.FIN_WAIT_2_TIMEOUT, now)
        elif kind is Timer.PERSIST:
            self.sender.persist_timeout(now)

    def retransmission_timeout(self, now: float) -> None:
        """RETRANSMISSION TIMEOUT (§3.10.8).  In SYN-SENT and SYN-RECEIVED the SYN or SYN,ACK
        is resent on the profile's schedule (Linux: ``tcp_syn_retries`` with linear then
        exponential timeouts; ``tcp_synack_retries``) until it runs out; afterwards the
        oldest data or FIN is resent with a doubled RTO until the give-up time.  Running
        out is the USER TIMEOUT: "connection aborted due to user timeout" (ETIMEDOUT)."""
        self.sender.rtt.forget()  # Karn: a retransmitted segment gives no RTT sample
        if self.state is State.SYN_SENT or self.state is State.SYN_RECEIVED:
            self._handshake_timeout(now)
            return
        if self.sender.gave_up(now):
            self._give_up(now, send_rst=True)
            return
        space = self.sender.space
        if self.state in (State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK) and space.una == space.fin_seq:
            self.move(Event.TIMEOUT, now)  # the self-loop "timeout / FIN"
        self.sender.retransmission_timeout(now)

    def _handshake_timeout(self, now: float) -> None:
        syn_sent = self.state is State.SYN_SENT
        schedule = self.profile.syn_timeouts() if syn_sent else self.profile.synack_timeouts()
        self.syn_attempt += 1
        if self.syn_attempt >= len(schedule):
            if self.passive:
                self.note(NoteKind.REQUEST_TIMED_OUT, f"half-open request from {self.peer} dropped: SYN,ACK retries exhausted")
                if self.listener is not None:
                    self.listener.request_timed_out(self)
                self.move(Event.USER_TIMEOUT, now)
            else:
                self._give_up(now, send_rst=False)
            return
        self.handshake_retransmitted = True
        self.move(Event.TIMEOUT, now)
        if syn_sent:
            self._send_syn(now)
        else:
            self._send_synack(now)
        self.timers.set(Timer.RTO, now, schedule[self.syn_attempt])

    def _give_up(self, now: float, *, send_rst: bool) -> None:
        """USER TIMEOUT (§3.10.8): ETIMEDOUT, connect() fails or the connection is aborted."""
        self.error = SocketError.ETIMEDOUT
        if send_rst:
            nxt = self.sender.space.nxt
            self.transmit(self.segment(nxt, RST | ACK), nxt)
        self.notify(AppAction.ERROR, detail=SocketError.ETIMEDOUT)
        self.move(Event.USER_TIMEOUT, now)


def _seq_diff(wire: int, reference: int) -> int:
    """Signed distance from ``reference`` (unbounded) to the 32-bit number ``wire``."""
    d = (wire - reference) % SEQ_SPACE
    return d - SEQ_SPACE if d >= SEQ_SPACE // 2 else d
