"""Putting data and the FIN on the wire, and getting them there: the retransmission machinery.

A :class:`Sender` belongs to one :class:`~tcpbook.endpoint.connection.Connection`.  It owns
the send sequence space (:class:`~tcpbook.endpoint.sendspace.SendSpace`) and the RTT
estimator (:class:`~tcpbook.endpoint.rtt.RttEstimator`) and decides *what* to send:

* :meth:`~Sender.push` — new data in MSS-sized segments as far as the peer's window allows,
  then the FIN once all data is out (RFC 9293 §3.10.2, §3.10.4);
* :meth:`~Sender.on_ack` — an ACK advances SND.UNA, restarts the retransmission timer, feeds the
  RTT estimator, and counts duplicate ACKs for fast retransmit (RFC 5681 §3.2, with
  NewReno's partial ACKs, RFC 6582);
* :meth:`~Sender.retransmission_timeout` — back off the RTO and resend the oldest segment
  (RFC 6298 §5.4–5.6);
* :meth:`~Sender.persist_timeout` — probe a zero window (RFC 9293 §3.8.6.1).

The connection builds and transmits the segments (it knows the ACK number and the
window to advertise) through its public :meth:`~tcpbook.endpoint.connection.Connection.transmit_data` method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..segment import ACK, FIN, PSH
from ..vocabulary import NoteKind, Timer
from .rtt import RttEstimator
from .sendspace import SendSpace

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection


class Sender:
    """What one connection sends, and its retransmission state."""

    __slots__ = ("conn", "profile", "space", "rtt", "timers", "peer_mss", "dupacks", "recover", "waiting_since", "persist_backoff")

    def __init__(self, conn: Connection, iss: int) -> None:
        self.conn = conn
        self.profile = conn.profile
        self.space = SendSpace(iss)
        self.rtt = RttEstimator(conn.profile)
        self.timers = conn.timers
        self.peer_mss = 536  # RFC 9293 §3.7.1: the default when the peer sends no MSS option
        self.dupacks = 0  # duplicate ACKs in a row (RFC 5681)
        self.recover: int | None = None  # NewReno's recovery point after a loss (RFC 6582)
        self.waiting_since: float | None = None  # when the oldest unacknowledged data was first sent
        self.persist_backoff = 0.0

    @property
    def mss(self) -> int:
        """The largest payload we send — our MSS or the peer's, whichever is smaller."""
        return min(self.profile.mss, self.peer_mss)

    # -- sending -------------------------------------------------------------------------

    def push(self, now: float) -> None:
        """Send what the window allows: new data in MSS-sized segments, then the FIN.

        The FIN rides on the last data segment when it fits; it needs no window.  When
        the peer's window is shut and nothing is in flight that could bring news of it
        reopening, the persist timer starts probing.
        """
        space, mss = self.space, self.mss
        sent_any = False
        data_end = space.data_end
        while space.nxt < data_end:
            size = min(mss, data_end - space.nxt, space.una + space.wnd - space.nxt)
            if size <= 0:
                break
            seq = space.nxt
            payload = space.bytes_at(seq, size)
            space.nxt += size
            flags = ACK | PSH
            if space.fin_queued and space.nxt == data_end and space.fin_seq is None:
                flags |= FIN  # the FIN rides on the last data segment
                space.fin_seq = space.nxt
                space.nxt += 1
            self._send_new(seq, flags, payload, now)
            sent_any = True
        if space.fin_queued and space.fin_seq is None and space.nxt == data_end:
            seq = space.fin_seq = space.nxt
            space.nxt += 1
            self._send_new(seq, FIN | ACK, b"", now)
            sent_any = True
        if sent_any and Timer.RTO not in self.timers:
            self.timers.set(Timer.RTO, now, self.rtt.rto)
        if space.wnd == 0 and space.nxt < data_end and space.una == space.nxt:
            if Timer.PERSIST not in self.timers:
                self.persist_backoff = self.rtt.rto
                self.timers.set(Timer.PERSIST, now, self.persist_backoff)
        elif space.wnd > 0 and Timer.PERSIST in self.timers:
            self.timers.cancel(Timer.PERSIST)

    def _send_new(self, seq: int, flags: int, payload: bytes, now: float) -> None:
        """Send a segment for the first time; time it if nothing is being timed (Karn)."""
        if self.waiting_since is None:
            self.waiting_since = now
        if seq >= self.space.max:
            self.rtt.start(seq + 1, now)
        self.conn.transmit_data(seq, flags, payload, now)

    def retransmit_oldest(self, now: float) -> None:
        """Resend the segment at SND.UNA (data, or the FIN, or both)."""
        space = self.space
        seq = space.una
        payload = space.bytes_at(seq, min(self.mss, space.data_end - seq)) if seq < space.data_end else b""
        flags = ACK | PSH if payload else ACK
        if space.fin_seq is not None and seq + len(payload) == space.fin_seq:
            flags |= FIN
        if payload or flags & FIN:
            self.conn.transmit_data(seq, flags, payload, now)

    # -- acknowledgments -------------------------------------------------------------------

    def on_ack(self, ack: int, window: int, carries_data: bool, now: float) -> bool:
        """RFC 9293 §3.10.7.4 fifth check, for the send side: SND.UNA < SEG.ACK =< SND.NXT.

        Advances SND.UNA, restarts the retransmission timer (RFC 6298 §5.3), samples the
        RTT, handles NewReno partial ACKs and counts duplicate ACKs (three trigger a fast
        retransmit, RFC 5681 §3.2).  Updates SND.WND.  Returns True when this ACK covers
        our FIN.
        """
        space = self.space
        fin_acked = False
        if ack > space.una:
            acked_before = space.una
            space.acknowledge(ack)
            self.dupacks = 0
            self.rtt.on_ack(ack, now)
            self.waiting_since = now if ack < space.max else None
            self.timers.cancel(Timer.RTO)
            if self.recover is not None:
                if ack < self.recover:
                    self.retransmit_oldest(now)  # a partial ACK: the next hole is at SND.UNA
                else:
                    self.recover = None
            if ack < space.max:
                self.timers.set(Timer.RTO, now, self.rtt.rto)
            fin_acked = space.fin_seq is not None and acked_before <= space.fin_seq < ack
        elif ack == space.una and space.una < space.max and not carries_data:
            self.dupacks += 1
            threshold = self.profile.dupack_threshold
            if threshold and self.dupacks == threshold and self.recover is None:
                self.recover = space.max
                self.conn.note(
                    now, NoteKind.FAST_RETRANSMIT, f"{threshold} duplicate ACKs from {self.conn.peer}: fast retransmit", count=threshold
                )
                self.retransmit_oldest(now)
        space.wnd = window
        return fin_acked

    # -- timers ----------------------------------------------------------------------------

    def gave_up(self, now: float) -> bool:
        """Has the oldest unacknowledged data waited past the give-up time (tcp_retries2 / R2)?"""
        return self.waiting_since is not None and now - self.waiting_since >= self.profile.data_give_up_after() - 1e-9

    def retransmission_timeout(self, now: float) -> None:
        """RFC 6298 §5.5–5.6: double the RTO, resend the oldest segment, restart the timer.

        Everything sent so far counts as lost: NewReno's recovery point moves to SND.MAX
        (RFC 6582 §3.2 step 4), and the duplicate-ACK count starts over.
        """
        self.rtt.back_off()
        self.recover = self.space.max
        self.dupacks = 0
        self.retransmit_oldest(now)
        self.timers.set(Timer.RTO, now, self.rtt.rto)

    def persist_timeout(self, now: float) -> None:
        """Zero-window probe: a segment with an old sequence number forces the peer to
        answer with an ACK carrying its current window (Linux ``tcp_xmit_probe_skb``)."""
        seq = self.space.una - 1
        self.conn.transmit_data(seq, ACK, b"", now)
        self.persist_backoff = min(self.persist_backoff * 2, self.profile.rto_max)
        self.timers.set(Timer.PERSIST, now, self.persist_backoff)
