"""SEGMENT ARRIVES (RFC 9293 §3.10.7): what a connection does with an arriving segment.

Part of :class:`~tcpbook.endpoint.connection.Connection` (``self`` is the connection).
In SYN-SENT the rules of §3.10.7.3 apply; in TIME-WAIT Linux's own (a separate mini
socket); in every other state the checks of §3.10.7.4, in the RFC's order, each a method:

1. :meth:`~SegmentArrives.check_sequence` — is the segment in the window?
2. :meth:`~SegmentArrives.check_rst` — the RST bit;
3. (security — not modelled);
4. :meth:`~SegmentArrives.check_syn` — the SYN bit;
5. :meth:`~SegmentArrives.check_ack` — the ACK field;
6. (URG — not modelled);
7. :meth:`~SegmentArrives.process_text` — the segment text;
8. :meth:`~SegmentArrives.check_fin` — the FIN bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..segment import ACK, FIN, PSH, RST, SEQ_SPACE, SYN, Segment, seq_diff
from ..vocabulary import RECEIVING, TRANSMITTING, AppAction, Event, NoteKind, SocketError, State, Timer
from .receivespace import Arrival

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection as _Self
else:
    _Self = object

# States whose application is told "connection reset" by a RST (§3.10.7.4 second check).
RESET_IS_AN_ERROR = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT})


class SegmentArrives(_Self):
    """RFC 9293 §3.10.7.3 and §3.10.7.4: one method per check, in the RFC's order."""

    __slots__ = ()

    def segment_arrives(self, seg: Segment, now: float) -> None:
        """SEGMENT ARRIVES (§3.10.7): SYN-SENT has its own rules (§3.10.7.3); every other
        state runs the checks of §3.10.7.4 in order, each of which may end processing."""
        if self.keepalive_probes:
            self.keepalive_answered = True
        self.last_heard, self.keepalive_probes = now, 0  # the peer is alive
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
        if self.state in TRANSMITTING and self.sender.has_work():
            self.sender.push(now)

    def arrives_in_syn_sent(self, seg: Segment, now: float) -> None:
        """§3.10.7.3, SYN-SENT.  First the ACK: one that does not acknowledge our SYN
        (SEG.ACK =< ISS or > SND.NXT) comes from an old connection — "send a reset
        <SEQ=SEG.ACK><CTL=RST>" (Figure 8's old duplicate); Linux then resends its SYN within
        milliseconds if it has not retransmitted it yet (``synsent_bad_ack_resend``).  Then the RST: with an acceptable
        ACK, "connection refused".  Then the SYN: with our SYN acknowledged the connection
        is ESTABLISHED and we ACK the SYN,ACK; without, both SYNs crossed — a simultaneous
        open, answered with a SYN,ACK from SYN-RECEIVED."""
        space = self.sender.space
        ack_ok = False
        if seg.flags & ACK:
            ack = space.una + seq_diff(seg.ack, space.una)
            if ack <= space.iss or ack > space.max:
                if not seg.flags & RST:
                    what = "SYN,ACK" if seg.flags & SYN else "ACK"
                    self.note(now, NoteKind.OLD_DUPLICATE, f"{what} acknowledges {seg.ack}, not our SYN: answered with RST", ack=seg.ack)
                    self.send_rst_for(seg)
                resend = self.profile.synsent_bad_ack_resend
                if resend is not None and self.syn_attempt == 0:
                    # Linux tcp_rcv_synsent_state_process(): "Previous FIN/ACK or RST/ACK might be
                    # ignored" — the RST may have cleared the way (an old connection's TIME-WAIT
                    # ends on it), so while no SYN was retransmitted yet, the SYN goes again
                    # after TCP_TIMEOUT_MIN instead of a whole RTO.
                    self.timers.set(Timer.RTO, now, resend)
                return
            ack_ok = True
        if seg.flags & RST:
            if ack_ok:
                self.error = SocketError.ECONNREFUSED
                self.notify(AppAction.ERROR, now, detail=SocketError.ECONNREFUSED)
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
            self.notify(AppAction.CONNECTED, now)
            self.sender.push(now)
        else:
            self.move(Event.RCV_SYN, now)
            self.syn_attempt = 0
            self._send_synack(now)
            self.timers.set(Timer.RTO, now, self.profile.synack_timeouts()[0])

    def arrives_in_time_wait(self, seg: Segment, now: float) -> None:
        """TIME-WAIT, as Linux's separate mini socket does it (``tcp_timewait_state_process``).

        RFC 9293: "The only thing that can arrive in this state is a retransmission of the
        remote FIN.  Acknowledge it, and restart the 2 MSL timeout."  Linux, in detail:

        * a RST carrying exactly RCV.NXT ends TIME-WAIT early (the "assassination" of RFC
          1337) unless ``tcp_rfc1337`` is set; any other RST is ignored;
        * a SYN (no ACK) with a sequence number beyond RCV.NXT is a new connection on the
          same 4-tuple (RFC 6191): TIME-WAIT ends and the listener takes the SYN, with an
          ISN above everything this connection sent;
        * a bare ACK exactly at RCV.NXT restarts the timer; anything else (the peer's FIN
          again, a stray segment) restarts it if it carries an ACK, and is answered with
          an ACK.
        """
        seq = self.rcv.unwrap(seg.seq)
        flags = seg.flags
        if flags & RST:
            if seq == self.rcv.nxt and not self.profile.rfc1337:
                self.note(now, NoteKind.TIME_WAIT_KILLED, f"RST from {self.peer} ends TIME-WAIT early (RFC 1337; tcp_rfc1337 = 0)")
                self.move(Event.RCV_RST, now)
            return
        if flags & SYN and not flags & ACK and seq > self.rcv.nxt and self._redeliver is not None:
            isn = (self.sender.space.nxt + 65535 + 2) % SEQ_SPACE or 1  # Linux: tw_snd_nxt + 65535 + 2
            self.note(now, NoteKind.TIME_WAIT_REUSED, f"newer SYN from {self.peer}: TIME-WAIT ends, the 4-tuple is reused (RFC 6191)")
            self.move(Event.RCV_NEW_SYN, now)
            self._redeliver(seg, now, isn)
            return
        if seq == self.rcv.nxt and seg.seg_len == 0 and flags & ACK:
            self._restart_time_wait(now)
            return
        if flags & FIN:
            self.move(Event.RCV_FIN, now)  # the peer's FIN again: our last ACK was lost
        if flags & ACK:
            self._restart_time_wait(now)
        self.send_ack()

    def _restart_time_wait(self, now: float) -> None:
        self.timers.cancel(Timer.TIME_WAIT)
        self.timers.set(Timer.TIME_WAIT, now, self.profile.time_wait)

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
        LAST-ACK and TIME-WAIT just close: their application has closed, nobody is told."""
        if seq != self.rcv.nxt and self.state is not State.SYN_RECEIVED:
            self.send_ack()  # in window but not exact: challenge ACK
            return
        if self.state is State.SYN_RECEIVED:
            if self.passive:
                self.note(now, NoteKind.REQUEST_RESET, f"RST from {self.peer}: request dropped, back to LISTEN")
                self.move(Event.RCV_RST, now)
                self.timers.cancel_all()
                self._forget(self)
            else:
                self.error = SocketError.ECONNREFUSED
                self.notify(AppAction.ERROR, now, detail=SocketError.ECONNREFUSED)
                self.move(Event.RCV_RST_REFUSED, now)
            return
        if self.state in RESET_IS_AN_ERROR:
            self.error = SocketError.ECONNRESET
            self.notify(AppAction.ERROR, now, detail=SocketError.ECONNRESET)
        # CLOSING, LAST-ACK, TIME-WAIT: the application has closed already — nobody to tell
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
        return bool(seg.flags & ACK) and seq + 1 == self.rcv.nxt and space.una + seq_diff(seg.ack, space.una) == space.iss + 1

    def check_ack(self, seg: Segment, now: float) -> bool:
        """Fifth check (§3.10.7.4), the ACK field.  SYN-RECEIVED: "If SND.UNA < SEG.ACK =<
        SND.NXT, then enter ESTABLISHED" (a passive open also needs room in the listener's
        accept queue), else reset <SEQ=SEG.ACK><CTL=RST>.  Then, in every state, the send
        side advances (:meth:`~tcpbook.endpoint.sender.Sender.on_ack`), an ACK of something not yet sent is answered
        with an ACK and dropped, and an ACK of our FIN takes its arc: FIN-WAIT-1 →
        FIN-WAIT-2, CLOSING → TIME-WAIT, LAST-ACK → CLOSED.  Returns True to continue."""
        space = self.sender.space
        ack = space.una + seq_diff(seg.ack, space.una)
        if self.state is State.SYN_RECEIVED:
            if not space.una < ack <= space.max:
                self.send_rst_for(seg)
                return False
            if self.listener is not None and not self.listener.has_room_for(self, now):
                return False  # accept queue full: ignore the ACK, the SYN,ACK timer will retry
            self.timers.cancel(Timer.RTO)
            space.una = space.iss + 1
            space.update_window(seg.window)
            self._handshake_complete(now)
            self.move(Event.RCV_ACK_OF_SYN, now)
            self.notify(AppAction.CONNECTED, now)
            if self.listener is not None:
                self.listener.established(self, now)
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
            self.notify(AppAction.CLOSED, now)

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
            self.note(now, NoteKind.DATA_AFTER_CLOSE, f"data from {self.peer} after close(): connection aborted with RST")
            self.rcv.nxt = seq + len(seg.payload)
            self.abort(now, quietly=True)
            return True
        arrival, ready = self.rcv.take(seq, seg.payload)
        if arrival is Arrival.IN_ORDER or arrival is Arrival.FILLED_HOLE:
            # Linux tcp_event_data_recv → tcp_measure_rcv_mss: the peer's segment size, for
            # rounding our window (TCP_REMNANT: FIN, URG, SYN or PSH marks a short segment)
            self.rcv.measure(len(seg.payload), bool(seg.flags & (FIN | SYN | PSH)))
        if ready:
            self.rcv.deliver(ready)
            self.ledger.delivered(self.peer, ready)
            self.notify(AppAction.DATA, now, len(ready))  # the application gets it in one piece
            self.ack_pending += 1
        return arrival is not Arrival.IN_ORDER

    def _acknowledge_text(self, ack_now: bool, now: float) -> None:
        """ACK received data now, or hold the ACK back (RFC 1122 §4.2.3.2 delayed ACK: at
        least every second segment, or when the timer fires).  Linux starts a connection
        in quick-ACK mode: its first data segments (up to 16) are ACKed at once, so the
        sender's window can open quickly (``tcp_incr_quickack``)."""
        if self.quickacks > 0:
            self.quickacks -= 1
            self.send_ack()
        elif ack_now or not self.profile.delayed_ack or self.ack_pending >= 2:
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
            self.notify(AppAction.EOF, now)
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
            self.notify(AppAction.EOF, now)
        elif state is State.FIN_WAIT_2:
            self.send_ack()
            self._enter_time_wait(Event.RCV_FIN, now)
            self.notify(AppAction.EOF, now)
        else:
            self.send_ack()

