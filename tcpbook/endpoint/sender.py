"""Putting data and the FIN on the wire, and getting them there: windows and retransmission.

A :class:`Sender` belongs to one :class:`~tcpbook.endpoint.connection.Connection`.  It owns
the send sequence space (:class:`~tcpbook.endpoint.sendspace.SendSpace`), the segments in
flight, the RTT estimator (:class:`~tcpbook.endpoint.rtt.RttEstimator`) and the congestion
control (:mod:`~tcpbook.endpoint.congestion`), and decides *what* to send and *when*:

* :meth:`~Sender.push` — data in MSS-sized segments while both windows allow (the peer's
  receive window, RFC 9293 §3.8.6, and the congestion window, RFC 5681), then the FIN;
  a segment goes only whole into the peer's window, never cut to fill a gap at its
  right edge (silly window syndrome avoidance, :meth:`~Sender.sendable`);
* :meth:`~Sender.on_ack` — an ACK advances SND.UNA, grows the congestion window, feeds
  the RTT estimator; three duplicate ACKs start a fast retransmit and NewReno's fast
  recovery (RFC 5681 §3.2, RFC 6582);
* :meth:`~Sender.retransmission_timeout` — double the RTO (RFC 6298 §5.5), drop the
  congestion window to one segment and send everything unacknowledged again as it grows;
* :meth:`~Sender.loss_probe` — Linux's tail loss probe (RFC 8985 §7): when a flight's
  last segments go unanswered, resend the last one after about two round trips, before
  the RTO;
* :meth:`~Sender.persist_timeout` — probe a zero window (RFC 9293 §3.8.6.1), or fill a
  window too small for the next segment once nothing else will come (§3.8.6.2.1's
  override timeout).

The connection builds and transmits the segments (it knows the ACK number and the window
to advertise) through :meth:`~tcpbook.endpoint.connection.Connection.transmit_data`.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..events import CwndEvent
from ..segment import ACK, FIN, PSH
from ..vocabulary import CwndChange, NoteKind, Timer
from .congestion import INFINITE_SSTHRESH, make
from .rtt import RttEstimator
from .sendspace import SendSpace

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

OPEN, RECOVERY, LOSS = "open", "recovery", "loss"  # Linux's TCP_CA_Open, TCP_CA_Recovery, TCP_CA_Loss
TCP_TIMEOUT_MIN = 0.002  # Linux: 2 jiffies added to a loss probe's 2·SRTT with several segments out
SWS_OVERRIDE = 1.0  # RFC 9293 §3.8.6.2.1: the sender's SWS override timeout "should be in the range 0.1 - 1.0 seconds"


class Sender:
    """What one connection sends, and its windows and retransmission state."""

    __slots__ = (
        "conn", "profile", "space", "rtt", "timers", "cc", "flight", "peer_mss", "dupacks", "state", "recover",
        "retrans_stamp", "retrans_high", "persist_backoff", "tlp_high_seq", "tlp_retrans", "last_sent_at", "is_cwnd_limited",
        "max_packets_out", "cwnd_usage_seq", "_reported",
    )  # fmt: skip

    def __init__(self, conn: Connection, iss: int) -> None:
        self.conn = conn
        self.profile = conn.profile
        self.space = SendSpace(iss)
        self.rtt = RttEstimator(conn.profile)
        self.timers = conn.timers
        self.cc = make(conn.profile.cc, conn.profile.initcwnd)
        self.flight: deque[tuple[int, int]] = deque()  # (seq, end) of each segment sent and not acknowledged
        self.peer_mss = 536  # RFC 9293 §3.7.1: the default when the peer sends no MSS option
        self.dupacks = 0  # duplicate ACKs in a row (RFC 5681)
        self.state = OPEN
        self.recover = 0  # the highest sequence sent when the loss was found (RFC 6582)
        # Linux retrans_stamp: when the first retransmission of data not yet repaired went
        # out (a loss probe does not count); the give-up budget runs from here.
        self.retrans_stamp: float | None = None
        self.retrans_high = 0  # end of the highest segment retransmitted
        self.persist_backoff = 0.0
        self.tlp_high_seq: int | None = None  # SND.NXT when a loss probe went out (one at a time)
        self.tlp_retrans = False  # the probe resent old data (rather than new)
        self.last_sent_at: float | None = None  # for slow start after idle
        self.is_cwnd_limited = False  # Linux tcp_cwnd_validate: did the window hold us back?
        self.max_packets_out = 0
        self.cwnd_usage_seq = 0
        self._reported = (self.cc.cwnd, self.cc.ssthresh)

    @property
    def eff_mss(self) -> int:
        """The effective send MSS, Eff.snd.MSS of RFC 9293 §3.7.1 — our MSS or the peer's,
        whichever is smaller (no IP or TCP options here)."""
        return min(self.profile.mss, self.peer_mss)

    @property
    def mss(self) -> int:
        """The largest payload we send — Eff.snd.MSS, and on Linux at most half the largest
        window the peer ever offered (``tcp_bound_to_half_wnd``, applied by
        ``tcp_sync_mss``: "When peer uses tiny windows, there is no use in packetizing to
        sub-MSS pieces for the sake of SWS" — the whole window if it is 536 or less, and
        never below 48 bytes)."""
        mss = min(self.profile.mss, self.peer_mss)
        if self.profile.sws_avoidance == "linux":
            max_window = self.space.max_wnd
            cutoff = max_window >> 1 if max_window > 536 else max_window
            if cutoff and mss > cutoff:
                return max(cutoff, 68 - 20)  # 68 - tp->tcp_header_len, a header without options
        return mss

    @property
    def packets_out(self) -> int:
        """Segments in flight (sent, not acknowledged)."""
        return len(self.flight)

    def _report(self, reason: CwndChange, now: float) -> None:
        """Record cwnd and ssthresh when they changed (so a chapter can plot them)."""
        now_values = (self.cc.cwnd, self.cc.ssthresh)
        if now_values != self._reported and self.cc.name != "none":
            self._reported = now_values
            ssthresh = None if self.cc.ssthresh == INFINITE_SSTHRESH else self.cc.ssthresh
            self.conn.emit(CwndEvent(now, self.conn.endpoint, self.conn.peer, self.cc.cwnd, ssthresh, reason))

    # -- sending -------------------------------------------------------------------------

    def queued(self, now: float) -> None:
        """The application queued data: after an idle period longer than the RTO the old
        congestion window is stale (RFC 5681 §4.1; Linux ``tcp_slow_start_after_idle``)."""
        if self.profile.slow_start_after_idle and not self.flight and self.last_sent_at is not None:
            idle = now - self.last_sent_at
            if idle > self.rtt.rto:
                self.cc.restart_after_idle(idle, self.rtt.rto)
                self._report(CwndChange.IDLE, now)

    def has_work(self) -> bool:
        """Is there anything :meth:`push` could do: data or a FIN not yet sent, or a
        persist timer to stop?  (A pure receiver's ACKs skip the push entirely.)"""
        space = self.space
        if space.nxt < space.data_end or Timer.PERSIST in self.timers:
            return True
        return space.fin_queued and (space.fin_seq is None or space.fin_seq >= space.nxt)

    def sendable(self, seq: int) -> int:
        """How many data bytes the peer's window lets us send at ``seq`` now (0: none).

        The next segment is min(MSS, data left) bytes.  If it fits in the usable window
        (SND.UNA + SND.WND − ``seq``), it goes.  If not, the profile's ``sws_avoidance``
        decides (the sender's half of silly window syndrome avoidance):

        ``linux``
            nothing: ``tcp_write_xmit`` stops when ``tcp_snd_wnd_test`` fails — "Does at
            least the first segment of SKB fit into the send window?" — and the sender is
            receive-window limited until an ACK opens the window or the persist timer
            fires (:meth:`persist_timeout`).  Never a sliver cut to fill the window's edge.
        ``rfc``
            RFC 9293 §3.8.6.2.1 (a MUST), with U the usable window and D the data waiting:
            send "(1) if a maximum-sized segment can be sent … min(D,U) >= Eff.snd.MSS;
            (2) … if the data is pushed and all queued data can be sent now … D <= U;
            (3) or if at least a fraction Fs of the maximum window can be sent …
            min(D,U) >= Fs * Max(SND.WND)" (Fs = 1/2) — then U bytes go; "(4) or if the
            override timeout occurs" (:meth:`persist_timeout`).  The model has no Nagle
            algorithm, so the bracketed "SND.NXT = SND.UNA" of (2) and (3) does not apply,
            and every write is pushed.
        ``none``
            as much as fits: a segment cut to the window's edge, however small.
        """
        space = self.space
        size = min(self.mss, space.data_end - seq)
        usable = space.una + space.wnd - seq
        if size <= usable:
            return size
        rules = self.profile.sws_avoidance
        if rules == "none":
            return max(usable, 0)
        if rules == "rfc" and usable > 0 and 2 * usable >= space.max_wnd:
            return usable
        return 0

    def push(self, now: float) -> None:
        """Send what both windows allow from SND.NXT on: data in MSS-sized segments, the
        FIN after the last byte (riding on the last data segment when it fits).  The FIN
        needs no receive window.  When the peer's window holds the data back and nothing
        in flight could bring news of it opening, the persist timer starts (Linux
        ``tcp_check_probe_timer``, whatever the window: zero, or too small for the next
        segment)."""
        space, cc = self.space, self.cc
        data_end = space.data_end
        sent_any = cwnd_full = rwnd_limited = False
        while True:
            seq = space.nxt
            wants_fin = space.fin_queued and (space.fin_seq is None or space.fin_seq >= seq)
            if seq > data_end or (seq == data_end and not wants_fin):
                break
            if len(self.flight) >= cc.cwnd:
                cwnd_full = True
                break
            size = self.sendable(seq) if seq < data_end else 0
            if seq < data_end and size <= 0:
                rwnd_limited = True
                break
            self._send_new(seq, size, wants_fin, now)
            sent_any = True
        if sent_any or cwnd_full:
            self._validate_cwnd(cwnd_full)
        if sent_any:
            self.arm_timer(now, sent_new=True)
        if rwnd_limited and not self.flight:
            if Timer.PERSIST not in self.timers:
                self.persist_backoff = self.rtt.rto
                first = self.persist_backoff
                if self.profile.sws_avoidance == "rfc" and space.una + space.wnd > space.nxt:
                    first = min(first, SWS_OVERRIDE)  # a window, but too small: the override timeout
                self.timers.set(Timer.PERSIST, now, first)
        elif Timer.PERSIST in self.timers:
            self.timers.cancel(Timer.PERSIST)

    def _send_new(self, seq: int, size: int, wants_fin: bool, now: float, *, push: bool = False) -> None:
        """Send ``size`` data bytes from ``seq`` (and the FIN after them, if it is due there)."""
        space = self.space
        payload = space.bytes_at(seq, size) if size else b""
        end = seq + size
        flags = ACK | PSH if size and (push or space.pushes(seq, end)) else ACK
        if wants_fin and end == space.data_end:
            flags |= FIN  # the FIN: alone, or riding on the last data segment
            space.fin_seq = end
            end += 1
        self._send(seq, end, flags, payload, now)

    def _send(self, seq: int, end: int, flags: int, payload: bytes, now: float) -> None:
        """Put one segment on the wire and into the flight; time it if it is new (Karn)."""
        space = self.space
        if seq >= space.max:
            self.rtt.start(seq + 1, now)
        else:  # sent again after a timeout (go-back-N)
            self._retransmitted(end, now)
        space.nxt = end
        self.flight.append((seq, end))
        self.last_sent_at = now
        self.conn.transmit_data(seq, flags, payload, now)

    def _validate_cwnd(self, is_cwnd_limited: bool) -> None:
        """Linux ``tcp_cwnd_validate``: remember whether the congestion window is what
        held the sender back in this window of data (only then does it grow)."""
        if self.space.una >= self.cwnd_usage_seq or is_cwnd_limited or (not self.is_cwnd_limited and len(self.flight) > self.max_packets_out):
            self.is_cwnd_limited = is_cwnd_limited
            self.max_packets_out = len(self.flight)
            self.cwnd_usage_seq = self.space.nxt

    def cwnd_limited(self) -> bool:
        """Linux ``tcp_is_cwnd_limited``: may the window grow on this ACK?"""
        if self.is_cwnd_limited:
            return True
        return self.cc.in_slow_start and self.cc.cwnd < 2 * self.max_packets_out

    def resend(self, seq: int, now: float, *, probe: bool = False, end: int | None = None) -> None:
        """Resend the segment that starts at ``seq`` (data, or the FIN, or both), as it
        was sent (``end``: where it ended, if it is no longer in the flight), cut to the
        MSS (Linux ``__tcp_retransmit_skb`` fragments to ``tcp_current_mss``).  A loss
        ``probe`` does not start the give-up clock (Linux sends it without
        ``tcp_retransmit_skb``)."""
        space = self.space
        if end is None:
            end = next((e for s, e in self.flight if s == seq), None)
        if seq < space.data_end:
            limit = space.data_end if end is None else min(end, space.data_end)
            size = min(self.mss, limit - seq)
        else:
            size = 0
        payload = space.bytes_at(seq, size) if size else b""
        flags = ACK | PSH if size and space.pushes(seq, seq + size) else ACK
        if space.fin_seq is not None and seq + size == space.fin_seq:
            flags |= FIN
        if size or flags & FIN:
            if not probe:
                self._retransmitted(seq + size + (1 if flags & FIN else 0), now)
            self.last_sent_at = now
            self.conn.transmit_data(seq, flags, payload, now)

    def _retransmitted(self, end: int, now: float) -> None:
        if self.retrans_stamp is None:
            self.retrans_stamp = now
        self.retrans_high = max(self.retrans_high, end)

    # -- acknowledgments -------------------------------------------------------------------

    def on_ack(self, ack: int, window: int, carries_data: bool, now: float) -> bool:
        """RFC 9293 §3.10.7.4 fifth check, for the send side: SND.UNA < SEG.ACK =< SND.NXT.

        A new ACK advances SND.UNA, takes the acknowledged segments out of the flight,
        samples the RTT, grows the congestion window (or ends a recovery); a duplicate
        ACK (same ACK, same window, no data) counts toward a fast retransmit.  Updates
        SND.WND and the retransmission timer.  Returns True when this ACK covers our FIN.
        """
        space = self.space
        fin_acked = False
        old_window = space.wnd
        space.update_window(window)
        if ack > space.una:
            acked_before = space.una
            space.acknowledge(ack)
            if ack > space.nxt:
                space.nxt = ack  # after a timeout, the originals arrived after all
            acked = 0
            while self.flight and self.flight[0][1] <= ack:
                self.flight.popleft()
                acked += 1
            self.dupacks = 0
            self.rtt.on_ack(ack, now)
            if ack >= self.retrans_high:
                self.retrans_stamp = None  # every retransmitted segment got through
            self._new_ack(ack, acked, now)
            fin_acked = space.fin_seq is not None and acked_before <= space.fin_seq < ack
        elif ack == space.una and self.flight and not carries_data and window == old_window:
            self._duplicate_ack(now)
        self.arm_timer(now)
        return fin_acked

    def _new_ack(self, ack: int, acked: int, now: float) -> None:
        """An ACK of new data, in each state of the loss recovery."""
        cc = self.cc
        if self.tlp_high_seq is not None and ack >= self.tlp_high_seq:
            repaired = self.tlp_retrans  # the probe's retransmission, not the original, got through
            self.tlp_high_seq = None
            if repaired and self.state is OPEN:
                cc.on_loss(len(self.flight))  # Linux tcp_process_tlp_ack: a loss repaired by the probe: reduce
                cc.cwnd = cc.ssthresh
                self._report(CwndChange.TLP, now)
                return
        if self.state is RECOVERY:
            if ack < self.recover:  # RFC 6582 step 5: a partial ACK — the next hole is at SND.UNA
                self.resend(ack, now)
                cc.cwnd = max(cc.cwnd - acked + 1, 1)  # deflate by what was acknowledged, add back one
                self._report(CwndChange.RECOVERY, now)
            else:
                self.state = OPEN  # RFC 6582 step 6: full ACK — the window is ssthresh
                cc.cwnd = cc.ssthresh
                self._report(CwndChange.RECOVERED, now)
            return
        if self.state is LOSS and ack >= self.recover:
            self.state = OPEN
        if acked and self.cwnd_limited():
            cc.on_ack(acked, now, self.rtt.min_rtt or 0.0)
            self._report(CwndChange.SLOW_START if cc.in_slow_start else CwndChange.AVOIDANCE, now)

    def _duplicate_ack(self, now: float) -> None:
        """RFC 5681 §3.2 / RFC 6582: the third duplicate ACK resends the hole and starts
        fast recovery (ssthresh from the loss, cwnd = ssthresh + 3); each further one
        lets another segment out (cwnd + 1)."""
        self.dupacks += 1
        threshold, cc = self.profile.dupack_threshold, self.cc
        if self.state is RECOVERY:
            cc.cwnd += 1
            self._report(CwndChange.RECOVERY, now)
        elif threshold and self.dupacks == threshold and self.state is OPEN:
            self.state, self.recover = RECOVERY, self.space.max
            cc.on_loss(len(self.flight))
            cc.cwnd = cc.ssthresh + threshold
            self._report(CwndChange.FAST_RETRANSMIT, now)
            self.conn.note(now, NoteKind.FAST_RETRANSMIT, f"{threshold} duplicate ACKs from {self.conn.peer}: fast retransmit", count=threshold)
            self.resend(self.space.una, now)

    # -- timers ----------------------------------------------------------------------------

    def arm_timer(self, now: float, *, sent_new: bool = False) -> None:
        """The retransmission timer after an ACK or a send (Linux ``tcp_set_xmit_timer``):
        nothing in flight — none; else the tail loss probe when it may run, or the RTO
        (restarted on every ACK of new data, RFC 6298 §5.3; after a send, only started)."""
        timers = self.timers
        if not self.flight:
            timers.cancel(Timer.RTO)
            timers.cancel(Timer.TLP)
            return
        if self.profile.tlp and self.state is OPEN and self.tlp_high_seq is None:
            srtt = self.rtt.srtt
            if srtt is None:
                pto = self.profile.rto_initial
            else:
                pto = 2 * srtt + (self.profile.rto_min if len(self.flight) == 1 else TCP_TIMEOUT_MIN)
            timers.cancel(Timer.RTO)
            timers.set(Timer.TLP, now, min(pto, self._rto_duration(now)))
            return
        if sent_new and Timer.RTO in timers:
            return
        timers.cancel(Timer.TLP)
        timers.set(Timer.RTO, now, self._rto_duration(now))

    def _rto_duration(self, now: float) -> float:
        """The RTO, cut short so the timer fires exactly at TCP_USER_TIMEOUT's deadline
        (Linux ``tcp_clamp_rto_to_user_timeout``)."""
        rto = self.rtt.rto
        user_timeout = self.profile.user_timeout
        if user_timeout is not None and self.retrans_stamp is not None:
            rto = min(rto, max(user_timeout - (now - self.retrans_stamp), 0.001))
        return rto

    def gave_up(self, now: float) -> bool:
        """Has the time budget (tcp_retries2, TCP_USER_TIMEOUT or R2) run out since the
        first retransmission of data still not acknowledged (Linux
        ``retransmits_timed_out``)?"""
        budget = self.profile.data_give_up_after(orphan=self.conn.read_closed)
        return self.retrans_stamp is not None and now - self.retrans_stamp >= budget - 1e-9

    def retransmission_timeout(self, now: float) -> None:
        """RFC 6298 §5.5–5.6 and Linux ``tcp_enter_loss``: double the RTO; everything in
        flight counts as lost — ssthresh from the loss, cwnd 1 segment, and from SND.UNA on
        everything is sent again as the window grows back (slow start)."""
        self.rtt.back_off()
        # A timeout before the last losses were repaired — a repeated timeout, or one during
        # fast recovery: Linux (tcp_enter_loss) reduces ssthresh only "if it has not yet been
        # made inside this window", so it keeps the earlier one and only drops cwnd.
        again = self.state in (LOSS, RECOVERY) and self.space.una < self.recover
        self.cc.on_timeout(len(self.flight), keep_ssthresh=again)
        self.state, self.recover, self.dupacks = LOSS, self.space.max, 0
        self.tlp_high_seq = None
        self._report(CwndChange.TIMEOUT, now)
        head_end = self.flight[0][1] if self.flight else None
        self.flight.clear()
        self.space.nxt = self.space.una
        self.push(now)
        if not self.flight:  # a zero (or too small) window: nothing could go; resend the head anyway
            self.resend(self.space.una, now, end=head_end)
        self.timers.cancel(Timer.TLP)
        if Timer.RTO not in self.timers:  # (the push armed it when it sent)
            self.timers.set(Timer.RTO, now, self._rto_duration(now))

    def loss_probe(self, now: float) -> None:
        """The tail loss probe fired (RFC 8985 §7.2; Linux ``tcp_send_loss_probe``): send
        new data if the window allows, else the last segment again; then the RTO runs,
        from now."""
        if self.flight:
            before = len(self.flight)
            self.push(now)
            if len(self.flight) > before:
                self.tlp_retrans = False
            else:
                seq, _ = self.flight[-1]
                self.rtt.forget()  # Karn: the probe may resend the segment being timed
                self.resend(seq, now, probe=True)
                self.tlp_retrans = True
            self.tlp_high_seq = self.space.nxt
        self.timers.cancel(Timer.TLP)
        if self.flight:
            self.timers.set(Timer.RTO, now, self._rto_duration(now))

    def probe_resends_fin(self) -> bool:
        """Will the loss probe resend our FIN (no new data may go, and the last segment
        in flight carries the FIN)?"""
        space = self.space
        if not self.flight or space.fin_seq is None or self.flight[-1][1] != space.fin_seq + 1:
            return False
        return not (space.nxt < space.data_end and self.sendable(space.nxt) > 0)

    def persist_timeout(self, now: float) -> None:
        """The persist timer fired: data waits, nothing is in flight, and the peer's
        window held it back (Linux ``tcp_probe_timer`` → ``tcp_send_probe0`` →
        ``tcp_write_wakeup``).

        If the window has room, though less than the next segment needs, the sender held
        back to avoid the silly window syndrome; now it fills the window: as many bytes as
        fit (at most an MSS), with PSH, sent as new data.  Linux: "We are probing the
        opening of a window but the window size is != 0 must have been a result SWS
        avoidance ( sender )"; RFC 9293 §3.8.6.2.1: "(4) or if the override timeout
        occurs".  The segment is in flight: the retransmission timer takes over.

        Otherwise the window is zero: a zero-window probe, a segment with an old sequence
        number that forces the peer to answer with an ACK carrying its current window
        (Linux ``tcp_xmit_probe_skb``), and the next probe after twice as long."""
        space = self.space
        room = space.una + space.wnd - space.nxt
        if space.nxt < space.data_end and room > 0:
            seq = space.nxt
            size = min(room, self.mss, space.data_end - seq)
            wants_fin = space.fin_queued and (space.fin_seq is None or space.fin_seq >= seq)
            self._send_new(seq, size, wants_fin, now, push=True)
            self.timers.cancel(Timer.PERSIST)
            self.arm_timer(now, sent_new=True)
            return
        seq = space.una - 1
        self.conn.transmit_data(seq, ACK, b"", now)
        self.persist_backoff = min(self.persist_backoff * 2, self.profile.rto_max)
        self.timers.set(Timer.PERSIST, now, self.persist_backoff)
