"""A sans-IO TCP endpoint: RFC 9293 connection management, driven from outside.

The :class:`Endpoint` is a host with a name (``"client"``, ``"server"``).  It owns
:class:`Connection` objects (one TCB each, RFC 9293 §3.3.1) and, when it listens, a
:class:`Listener` with a bounded SYN queue and accept queue.

*Sans-IO* (like h11's ``Connection``) means the endpoint has no clock, no sockets and
no randomness.  You drive it with three kinds of input, always passing the current time:

* user calls — :meth:`Endpoint.listen`, :meth:`Endpoint.connect`, :meth:`Endpoint.send`,
  :meth:`Endpoint.close`, :meth:`Endpoint.shutdown`, :meth:`Endpoint.abort`;
* arriving segments — :meth:`Endpoint.receive`;
* timer expiries — :meth:`Endpoint.timer_expired`;

and after each input you collect what it wants done with :meth:`Endpoint.take_effects`:
segments to transmit, timers to set or cancel, state changes and notices for the
application.  The :class:`~tcpbook.simulator.Simulator` is one such driver; a test can
be another.

Every state change is checked against :data:`tcpbook.table.TRANSITIONS` — the endpoint
cannot take an arc the RFC's diagram does not have.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .errors import (
    ConnectionAlreadyExists,
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionReset,
    TcpUserError,
)
from .profiles import Profile
from .segment import SEQ_SPACE, Flag, Segment, seq_diff
from .table import State, find_arc

# -- effects: what the endpoint asks its driver to do --------------------------------


@dataclass(frozen=True, slots=True)
class Transmit:
    """Put ``segment`` on the network (``retransmission``: it was sent before)."""

    segment: Segment
    retransmission: bool


@dataclass(frozen=True, slots=True)
class SetTimer:
    """(Re)arm timer ``kind`` of connection ``cid`` to fire at ``deadline``."""

    endpoint: str
    peer: str | None
    cid: int
    kind: str
    deadline: float
    duration: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Disarm timer ``kind`` of connection ``cid``."""

    endpoint: str
    peer: str | None
    cid: int
    kind: str


@dataclass(frozen=True, slots=True)
class StateChange:
    """A connection took the arc ``old --cause--> new`` of the state diagram."""

    endpoint: str
    peer: str | None
    old: State
    new: State
    cause: str


@dataclass(frozen=True, slots=True)
class AppNotice:
    """Tell the application something: ``connected``, ``data``, ``eof``, ``error``,
    ``closed``, ``accept`` (a new connection is ready), or record what it did."""

    endpoint: str
    peer: str | None
    action: str
    nbytes: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """A stack decision worth showing (a SYN dropped, a cookie sent, …)."""

    endpoint: str
    text: str


Effect = Transmit | SetTimer | CancelTimer | StateChange | AppNotice | Note

# Socket errors as the application sees them.
ETIMEDOUT = "ETIMEDOUT"
ECONNREFUSED = "ECONNREFUSED"
ECONNRESET = "ECONNRESET"

# States whose receive side still accepts data (the peer has not sent its FIN yet).
RECEIVING = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
# States in which the application may still SEND.
SENDING = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_SENT, State.SYN_RECEIVED})

# MSS values a SYN cookie can encode (Linux msstab in net/ipv4/syncookies.c).
COOKIE_MSS_TABLE = (536, 1300, 1440, 1460)


class Connection:
    """One TCP connection (a TCB): its state, send and receive sequence space, timers.

    Sequence numbers are kept internally as unbounded integers (``iss`` + bytes) and
    reduced modulo 2**32 only on the wire, which keeps the arithmetic readable.
    """

    def __init__(
        self,
        host: Endpoint,
        cid: int,
        local_port: int,
        peer: str,
        peer_port: int,
        iss: int,
        *,
        passive: bool,
    ) -> None:
        self.host = host
        self.profile: Profile = host.profile
        self.cid = cid
        self.local_port = local_port
        self.peer = peer
        self.peer_port = peer_port
        self.passive = passive  # reached SYN-RECEIVED from LISTEN (an RST sends it back there)
        self.state = State.LISTEN if passive else State.CLOSED
        self.error: str | None = None
        self.established_at: float | None = None
        # send sequence space (RFC 9293 §3.3.1)
        self.iss = iss
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_max = iss  # highest sequence number ever sent (+1)
        self.snd_wnd = 0
        self.send_data = bytearray()  # everything the application sent; byte i has seq iss+1+i
        self.fin_requested = False  # the application closed (or shut down) its sending side
        self.fin_seq: int | None = None  # sequence number our FIN occupies, once sent
        self.read_closed = False  # close() (not shutdown()): data arriving now is answered by RST
        # receive sequence space
        self.irs: int | None = None
        self.rcv_nxt = 0
        self.out_of_order: dict[int, bytes] = {}  # seq -> payload, waiting for the hole to fill
        self.peer_fin_seq: int | None = None  # where the peer's FIN sits, if it came early
        self.received = bytearray()  # delivered in order to the application
        self.unread = 0  # delivered but not yet read by the application
        self.advertised_window = self.profile.rcv_buffer
        # retransmission (RFC 6298) and timers
        self.rto = self.profile.rto_initial
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rtt_probe: tuple[int, float] | None = None  # (seq that acks it, time sent): Karn
        self.handshake_retransmitted = False
        self.synack_sent = False
        self.first_sent_at: float | None = None  # first transmission of the oldest unacked data
        self.syn_attempt = 0  # index into the SYN / SYN,ACK timeout schedule
        self.dupacks = 0
        self.recover: int | None = None  # NewReno-style recovery point after a loss
        self.ack_pending = 0  # full segments received and not yet ACKed (delayed ACK)
        self.timers: set[str] = set()
        self.persist_backoff = self.rto

    # -- small helpers ---------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Connection {self.host.name}:{self.local_port}->{self.peer}:{self.peer_port} {self.state}>"

    @property
    def label(self) -> str | None:
        return self.peer

    def _emit(self, effect: Effect) -> None:
        self.host._effects.append(effect)

    def _move(self, new: State, cause: str, now: float) -> None:
        """Take the arc ``state --cause--> new``; it must exist in the transition table."""
        find_arc(self.state, cause, new)
        old = self.state
        self.state = new
        self._emit(StateChange(self.host.name, self.peer, old, new, cause))
        if new is State.ESTABLISHED and self.established_at is None:
            self.established_at = now
        if new is State.CLOSED:
            self._stop_all_timers()
            self.host._forget(self)

    def _set_timer(self, kind: str, now: float, duration: float) -> None:
        self.timers.add(kind)
        self._emit(SetTimer(self.host.name, self.peer, self.cid, kind, now + duration, duration))

    def _cancel_timer(self, kind: str) -> None:
        if kind in self.timers:
            self.timers.discard(kind)
            self._emit(CancelTimer(self.host.name, self.peer, self.cid, kind))

    def _stop_all_timers(self) -> None:
        for kind in sorted(self.timers):
            self._cancel_timer(kind)

    def _notify(self, action: str, nbytes: int = 0, detail: str = "") -> None:
        self._emit(AppNotice(self.host.name, self.peer, action, nbytes, detail))

    def _window(self) -> int:
        return max(0, self.profile.rcv_buffer - self.unread)

    def _segment(self, seq: int, flags: Flag, payload: bytes = b"", *, mss: bool = False, ack: int | None = None) -> Segment:
        ack_value = self.rcv_nxt if ack is None else ack
        self.advertised_window = min(self._window(), 65535)
        return Segment(
            src=self.host.name,
            dst=self.peer,
            src_port=self.local_port,
            dst_port=self.peer_port,
            seq=seq % SEQ_SPACE,
            ack=(ack_value % SEQ_SPACE) if flags & Flag.ACK else 0,
            flags=flags,
            payload=payload,
            window=min(self._window(), 65535),
            mss=self.profile.mss if mss else None,
        )

    def _transmit(self, seg: Segment, seq: int, now: float) -> None:
        """Send ``seg`` (whose first sequence number, unwrapped, is ``seq``)."""
        retransmission = seq < self.snd_max
        end = seq + seg.seg_len
        if end > self.snd_max:
            self.snd_max = end
        if seg.flags & Flag.ACK:
            self.ack_pending = 0
            self._cancel_timer("delayed-ack")
        self._emit(Transmit(seg, retransmission))

    def _send_ack(self, now: float) -> None:
        self._transmit(self._segment(self.snd_nxt, Flag.ACK), self.snd_nxt, now)

    def _unwrap(self, value: int, reference: int) -> int:
        """A 32-bit sequence number from the wire, as an unbounded integer near ``reference``."""
        return reference + seq_diff(value, reference % SEQ_SPACE)

    @property
    def data_end(self) -> int:
        """Sequence number just after the last byte the application has sent."""
        return self.iss + 1 + len(self.send_data)

    # -- opening ---------------------------------------------------------------------

    def open_active(self, now: float) -> None:
        """CLOSED --active OPEN / SYN--> SYN-SENT."""
        self._move(State.SYN_SENT, "active OPEN", now)
        self.syn_attempt = 0
        self._send_syn(now)
        self._set_timer("rto", now, self.profile.syn_timeouts()[0])

    def _send_syn(self, now: float) -> None:
        seg = self._segment(self.iss, Flag.SYN, mss=True)
        self.snd_nxt = self.iss + 1
        if self.rtt_probe is None and not self.handshake_retransmitted:
            self.rtt_probe = (self.iss + 1, now)
        self._transmit(seg, self.iss, now)

    def _send_synack(self, now: float) -> None:
        seg = self._segment(self.iss, Flag.SYN | Flag.ACK, mss=True)
        self.snd_nxt = max(self.snd_nxt, self.iss + 1)
        if self.rtt_probe is None and not self.handshake_retransmitted:
            self.rtt_probe = (self.iss + 1, now)
        # In a simultaneous open the SYN,ACK repeats our SYN's sequence number, but it
        # is a new kind of segment, not a retransmission of the SYN.
        retransmission = self.synack_sent
        self.synack_sent = True
        self.snd_max = max(self.snd_max, self.iss + 1)
        if seg.flags & Flag.ACK:
            self.ack_pending = 0
            self._cancel_timer("delayed-ack")
        self._emit(Transmit(seg, retransmission))

    def accept_syn(self, seg: Segment, now: float) -> None:
        """LISTEN --rcv SYN / SYN,ACK--> SYN-RECEIVED (called by the listener)."""
        self.irs = seg.seq
        self.rcv_nxt = seg.seq + 1
        self.snd_wnd = seg.window
        self._move(State.SYN_RECEIVED, "rcv SYN", now)
        self.syn_attempt = 0
        self._send_synack(now)
        self._set_timer("rto", now, self.profile.synack_timeouts()[0])

    # -- user calls --------------------------------------------------------------------

    def send(self, data: bytes, now: float) -> None:
        """SEND: queue ``data``; it goes out as the window allows (RFC 9293 §3.10.2)."""
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist("SEND")
        if self.state is State.LISTEN:
            raise TcpUserError("error: foreign socket unspecified (SEND on a listening socket)")
        if self.fin_requested or self.state not in SENDING:
            raise ConnectionClosing("SEND")
        self.send_data += data
        self._notify("send", len(data))
        self.host.sent_digest[self.peer].update(data)
        if self.state in (State.ESTABLISHED, State.CLOSE_WAIT):
            self._push(now)

    def close(self, now: float, *, half: bool = False) -> None:
        """CLOSE (``half=False``, like close(2)) or shutdown(SHUT_WR) (``half=True``).

        Both send a FIN once all queued data is out.  A full close also stops reading:
        unread data makes it an abort (RST, RFC 2525 §2.17), and so does data that
        arrives afterwards.  A half close keeps reading (the peer may keep sending).
        """
        call = "SHUTDOWN" if half else "CLOSE"
        state = self.state
        if state is State.CLOSED:
            raise ConnectionDoesNotExist(call)
        if self.fin_requested:
            if half:
                raise ConnectionClosing(call)
            self.read_closed = True  # close() after shutdown(): stop reading too
            self._notify("close")
            return
        if not half and self.unread > 0:
            self._notify("close", detail=f"with {self.unread} unread bytes: abort")
            self.abort(now, cause_detail="close with unread data")
            return
        self._notify("shutdown" if half else "close")
        self.read_closed = not half
        if state is State.SYN_SENT:
            self._move(State.CLOSED, "CLOSE", now)
            return
        self.fin_requested = True
        if state in (State.ESTABLISHED, State.SYN_RECEIVED):
            self._move(State.FIN_WAIT_1, "CLOSE", now)
        elif state is State.CLOSE_WAIT:
            self._move(State.LAST_ACK, "CLOSE", now)
        if self.state is not State.SYN_RECEIVED and self.irs is not None and self.snd_una > self.iss:
            self._push(now)

    def abort(self, now: float, *, cause_detail: str = "") -> None:
        """ABORT (RFC 9293 §3.10.5): RST from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and
        CLOSE-WAIT; silently from the other states.  Queued data is thrown away."""
        if self.state is State.CLOSED:
            raise ConnectionDoesNotExist("ABORT")
        if self.state in (State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
            self._transmit(self._segment(self.snd_nxt, Flag.RST | Flag.ACK), self.snd_nxt, now)
        if not cause_detail:
            self._notify("abort")
        self._move(State.CLOSED, "ABORT", now)

    def read(self, now: float, nbytes: int | None = None) -> bytes:
        """RECEIVE: take up to ``nbytes`` unread bytes (all of them by default).

        Reading frees receive buffer.  If the window we last advertised was small and
        has at least doubled, tell the peer at once with a window update (as Linux's
        ``tcp_cleanup_rbuf`` does); otherwise a sender facing a zero window would wait
        for its persist timer.
        """
        if self.state is State.CLOSED and self.error == ECONNRESET:
            raise ConnectionReset("RECEIVE")
        n = self.unread if nbytes is None else min(nbytes, self.unread)
        start = len(self.received) - self.unread
        self.unread -= n
        if (
            n
            and self.state in RECEIVING
            and 2 * self.advertised_window <= self.profile.rcv_buffer
            and self._window() >= 2 * max(self.advertised_window, 1)
        ):
            self._send_ack(now)
        return bytes(self.received[start : start + n])

    # -- timers ---------------------------------------------------------------------------

    def on_timer(self, kind: str, now: float) -> None:
        if kind not in self.timers:
            return
        self.timers.discard(kind)
        if kind == "rto":
            self._on_rto(now)
        elif kind == "time-wait":
            self._move(State.CLOSED, "timeout=2MSL", now)
            self._notify("closed", detail="TIME-WAIT over")
        elif kind == "delayed-ack":
            self._send_ack(now)
        elif kind == "fin-wait-2" and self.state is State.FIN_WAIT_2:
            self.host._note(f"FIN-WAIT-2 orphan waited {self.profile.fin_timeout:g} s for {self.peer}'s FIN: dropped")
            self._move(State.CLOSED, "timeout", now)
        elif kind == "persist":
            # Zero-window probe: an old sequence number forces the peer to answer with
            # an ACK that carries its current window (Linux tcp_xmit_probe_skb).
            self._transmit(self._segment(self.snd_una - 1, Flag.ACK), self.snd_una - 1, now)
            self.persist_backoff = min(self.persist_backoff * 2, self.profile.rto_max)
            self._set_timer("persist", now, self.persist_backoff)

    def _give_up(self, now: float, *, send_rst: bool) -> None:
        """Retries exhausted: ETIMEDOUT (connect() fails, or the connection is aborted)."""
        self.error = ETIMEDOUT
        if send_rst:
            self._transmit(self._segment(self.snd_nxt, Flag.RST | Flag.ACK), self.snd_nxt, now)
        self._notify("error", detail=ETIMEDOUT)
        self._move(State.CLOSED, "timeout", now)

    def _on_rto(self, now: float) -> None:
        self.rtt_probe = None  # Karn: a retransmitted segment gives no RTT sample
        if self.state is State.SYN_SENT:
            schedule = self.profile.syn_timeouts()
            self.syn_attempt += 1
            if self.syn_attempt >= len(schedule):
                self._give_up(now, send_rst=False)
                return
            self.handshake_retransmitted = True
            self._move(State.SYN_SENT, "timeout", now)
            self._send_syn(now)
            self._set_timer("rto", now, schedule[self.syn_attempt])
            return
        if self.state is State.SYN_RECEIVED:
            schedule = self.profile.synack_timeouts()
            self.syn_attempt += 1
            if self.syn_attempt >= len(schedule):
                if self.passive:
                    self.host._note(f"half-open request from {self.peer} dropped: SYN,ACK retries exhausted")
                    self.host._count(self.local_port, "requests_timed_out")
                    self._move(State.CLOSED, "timeout", now)
                else:
                    self._give_up(now, send_rst=False)
                return
            self.handshake_retransmitted = True
            self._move(State.SYN_RECEIVED, "timeout", now)
            self._send_synack(now)
            self._set_timer("rto", now, schedule[self.syn_attempt])
            return
        # data or FIN retransmission (RFC 6298 §5.4-5.6)
        if self.first_sent_at is not None and now - self.first_sent_at >= self.profile.data_give_up_after() - 1e-9:
            self._give_up(now, send_rst=True)
            return
        self.rto = min(self.rto * 2, self.profile.rto_max)
        self.recover = self.snd_max
        self.dupacks = 0
        if self.state in (State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK) and self.snd_una == self.fin_seq:
            self._move(self.state, "timeout", now)  # the self-loop "timeout / FIN"
        self._retransmit_head(now)
        self._set_timer("rto", now, self.rto)

    def _retransmit_head(self, now: float) -> None:
        """Resend the oldest unacknowledged segment (data, or the FIN)."""
        seq = self.snd_una
        payload = bytes(self.send_data[seq - self.iss - 1 : seq - self.iss - 1 + self.profile.mss]) if seq < self.data_end else b""
        flags = Flag.ACK
        if payload:
            flags |= Flag.PSH
        if self.fin_seq is not None and seq + len(payload) == self.fin_seq:
            flags |= Flag.FIN
        if not payload and not flags & Flag.FIN:
            return
        self._transmit(self._segment(seq, flags, payload), seq, now)

    # -- sending data ----------------------------------------------------------------------

    def _push(self, now: float) -> None:
        """Send what the window allows: new data in MSS-sized segments, then the FIN."""
        if self.state not in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK):
            return
        mss = min(self.profile.mss, self.peer_mss)
        sent_any = False
        while self.snd_nxt < self.data_end:
            usable = self.snd_una + self.snd_wnd - self.snd_nxt
            size = min(mss, self.data_end - self.snd_nxt, usable)
            if size <= 0:
                break
            start = self.snd_nxt - self.iss - 1
            payload = bytes(self.send_data[start : start + size])
            seq = self.snd_nxt
            self.snd_nxt += size
            flags = Flag.ACK | Flag.PSH
            if self.fin_requested and self.snd_nxt == self.data_end and self.fin_seq is None:
                flags |= Flag.FIN  # the FIN rides on the last data segment
                self.fin_seq = self.snd_nxt
                self.snd_nxt += 1
            self._start_measuring(seq, now)
            self._transmit(self._segment(seq, flags, payload), seq, now)
            sent_any = True
        if self.fin_requested and self.fin_seq is None and self.snd_nxt == self.data_end:
            seq = self.snd_nxt
            self.fin_seq = seq
            self.snd_nxt += 1
            self._start_measuring(seq, now)
            self._transmit(self._segment(seq, Flag.FIN | Flag.ACK), seq, now)
            sent_any = True
        if sent_any and "rto" not in self.timers:
            self._set_timer("rto", now, self.rto)
        if self.snd_wnd == 0 and self.snd_nxt < self.data_end and self.snd_una == self.snd_nxt:
            # The peer's window is shut and nothing is in flight to bring news: probe.
            if "persist" not in self.timers:
                self.persist_backoff = self.rto
                self._set_timer("persist", now, self.persist_backoff)
        elif "persist" in self.timers and self.snd_wnd > 0:
            self._cancel_timer("persist")

    def _start_measuring(self, seq: int, now: float) -> None:
        """Note when unacknowledged data started waiting (for giving up) and pick one
        new segment to time (an RTT probe; Karn: never a retransmitted one)."""
        if self.first_sent_at is None:
            self.first_sent_at = now
        if self.rtt_probe is None and seq >= self.snd_max:
            self.rtt_probe = (seq + 1, now)

    @property
    def peer_mss(self) -> int:
        return getattr(self, "_peer_mss", 536)

    def _rtt_sample(self, rtt: float) -> None:
        """RFC 6298 §2.2-2.3: update SRTT, RTTVAR and RTO from one measurement."""
        if self.srtt is None:
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        rto = self.srtt + max(self.profile.clock_granularity, 4 * self.rttvar)
        self.rto = min(max(rto, self.profile.rto_min), self.profile.rto_max)

    # -- arriving segments ------------------------------------------------------------------

    def on_segment(self, seg: Segment, now: float) -> None:
        """Process an arriving segment (RFC 9293 §3.10.7)."""
        if self.state is State.SYN_SENT:
            self._on_segment_syn_sent(seg, now)
            return
        rcv_seq = self._unwrap(seg.seq, self.rcv_nxt)
        if self.state is State.SYN_RECEIVED and seg.flags & Flag.SYN and not seg.flags & (Flag.ACK | Flag.RST):
            # A duplicate SYN: the peer has not seen our SYN,ACK.  Linux answers at once
            # (and leaves the retransmission timer alone).
            self._move(State.SYN_RECEIVED, "rcv SYN", now)
            self._send_synack(now)
            return
        # The peer's SYN,ACK in a simultaneous open repeats its SYN (already counted) and
        # acknowledges ours: Figure 7 of RFC 9293 and Linux take it as the ACK of our SYN.
        crossing_synack = (
            self.state is State.SYN_RECEIVED
            and seg.flags & Flag.SYN
            and seg.flags & Flag.ACK
            and not seg.flags & Flag.RST
            and rcv_seq + 1 == self.rcv_nxt
            and self._unwrap(seg.ack, self.snd_una) == self.iss + 1
        )
        if not crossing_synack:
            # 1. acceptability (§3.10.7.4 first check)
            if not self._acceptable(seg, rcv_seq):
                if seg.flags & Flag.RST:
                    return
                if not (self.state is State.TIME_WAIT and seg.flags & Flag.FIN):  # that one is handled below
                    self._send_ack(now)
                    return
            # 2. RST
            if seg.flags & Flag.RST:
                self._on_rst(seg, rcv_seq, now)
                return
            # 3. SYN
            if seg.flags & Flag.SYN:
                if self.state is State.SYN_RECEIVED:
                    # A duplicate SYN (our SYN,ACK was lost or is late): answer it at once.
                    self._move(State.SYN_RECEIVED, "rcv SYN", now)
                    self._send_synack(now)
                else:
                    self._send_ack(now)  # challenge ACK (RFC 5961 §4)
                return
        # 4. ACK
        if not seg.flags & Flag.ACK:
            return
        ack = self._unwrap(seg.ack, self.snd_una)
        if self.state is State.SYN_RECEIVED:
            if self.snd_una < ack <= self.snd_max:
                if not self.host._may_establish(self, now):
                    return  # accept queue full: ignore the ACK, the SYN,ACK timer will retry
                self._cancel_timer("rto")
                self.snd_una = self.iss + 1
                self.snd_wnd = seg.window
                if self.rtt_probe is not None and not self.handshake_retransmitted:
                    self._rtt_sample(now - self.rtt_probe[1])
                elif self.handshake_retransmitted and self.srtt is None:
                    self.rto = max(self.rto, 3.0)  # RFC 6298 §5.7
                self.rtt_probe = None
                self._move(State.ESTABLISHED, "rcv ACK of SYN", now)
                self._notify("connected")
                self.host._established(self, now)
            else:
                self._transmit(
                    Segment(self.host.name, self.peer, self.local_port, self.peer_port, seg.ack, 0, Flag.RST),
                    self.snd_max,
                    now,
                )
                return
        fin_was_acked = self._process_ack(seg, ack, now)
        if self.state is State.CLOSED:
            return
        # 5. data
        fin_here = bool(seg.flags & Flag.FIN)
        if seg.payload or fin_here:
            self._process_data(seg, rcv_seq, fin_was_acked, now)
        if self.state in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.LAST_ACK):
            self._push(now)

    def _acceptable(self, seg: Segment, rcv_seq: int) -> bool:
        """RFC 9293 §3.10.7.4's four-case test: does the segment overlap our window?"""
        wnd = max(self._window(), 1)
        length = seg.seg_len
        if length == 0:
            return self.rcv_nxt <= rcv_seq < self.rcv_nxt + wnd
        end = rcv_seq + length - 1
        return (self.rcv_nxt <= rcv_seq < self.rcv_nxt + wnd) or (self.rcv_nxt <= end < self.rcv_nxt + wnd)

    def _on_rst(self, seg: Segment, rcv_seq: int, now: float) -> None:
        if rcv_seq != self.rcv_nxt and self.state is not State.SYN_RECEIVED:
            self._send_ack(now)  # in window but not exact: challenge ACK (RFC 5961 §3)
            return
        if self.state is State.SYN_RECEIVED:
            if self.passive:
                self.host._note(f"RST from {self.peer}: request dropped, back to LISTEN")
                self._move(State.LISTEN, "rcv RST", now)
                self._stop_all_timers()
                self.host._forget(self)
            else:
                self.error = ECONNREFUSED
                self._notify("error", detail=ECONNREFUSED)
                self._move(State.CLOSED, "rcv RST", now)
            return
        if self.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
            self.error = ECONNRESET
            self._notify("error", detail=ECONNRESET)
        else:
            self._notify("closed", detail="reset")
        self._move(State.CLOSED, "rcv RST", now)

    def _on_segment_syn_sent(self, seg: Segment, now: float) -> None:
        """RFC 9293 §3.10.7.3: a segment arrives in SYN-SENT."""
        ack_ok = False
        if seg.flags & Flag.ACK:
            ack = self._unwrap(seg.ack, self.snd_una)
            if ack <= self.iss or ack > self.snd_max:
                # It acknowledges something we never sent: an old duplicate (Figure 8).
                if not seg.flags & Flag.RST:
                    self.host._note(f"SYN,ACK acknowledges {seg.ack}, not our SYN: old duplicate, answered with RST")
                    self._transmit(
                        Segment(self.host.name, self.peer, self.local_port, self.peer_port, seg.ack, 0, Flag.RST),
                        self.snd_max,
                        now,
                    )
                return
            ack_ok = True
        if seg.flags & Flag.RST:
            if ack_ok:
                self.error = ECONNREFUSED
                self._notify("error", detail=ECONNREFUSED)
                self._move(State.CLOSED, "rcv RST,ACK", now)
            return
        if not seg.flags & Flag.SYN:
            return
        self.irs = seg.seq
        self.rcv_nxt = seg.seq + 1
        self.snd_wnd = seg.window
        if seg.mss is not None:
            self._peer_mss = seg.mss
        if ack_ok:
            self._cancel_timer("rto")
            self.snd_una = self.iss + 1
            if self.rtt_probe is not None and not self.handshake_retransmitted:
                self._rtt_sample(now - self.rtt_probe[1])
            elif self.handshake_retransmitted:
                self.rto = max(self.rto, 3.0)  # RFC 6298 §5.7: SYN was retransmitted
            self.rtt_probe = None
            self._move(State.ESTABLISHED, "rcv SYN,ACK", now)
            self._send_ack(now)
            self._notify("connected")
            self._push(now)
        else:
            # Simultaneous open: both sent SYNs that crossed.
            self._cancel_timer("rto")
            self._move(State.SYN_RECEIVED, "rcv SYN", now)
            self.syn_attempt = 0
            self._send_synack(now)
            self._set_timer("rto", now, self.profile.synack_timeouts()[0])

    def _process_ack(self, seg: Segment, ack: int, now: float) -> bool:
        """Advance SND.UNA; take the ACK-of-FIN arcs.  Returns True if our FIN became ACKed."""
        if ack > self.snd_max:
            self._send_ack(now)  # acknowledges data we never sent: re-sync and ignore
            return False
        fin_acked = False
        if ack > self.snd_una:
            acked_before = self.snd_una
            self.snd_una = ack
            self.dupacks = 0
            if self.rtt_probe is not None and ack >= self.rtt_probe[0]:
                self._rtt_sample(now - self.rtt_probe[1])
                self.rtt_probe = None
            self.first_sent_at = now if ack < self.snd_max else None
            self._cancel_timer("rto")
            if self.recover is not None:
                if ack < self.recover:
                    # partial ACK after a loss: the next hole is at SND.UNA, resend it now
                    self._retransmit_head(now)
                else:
                    self.recover = None
            if ack < self.snd_max:
                self._set_timer("rto", now, self.rto)
            if self.fin_seq is not None and acked_before <= self.fin_seq < ack:
                fin_acked = True
        elif ack == self.snd_una and self.snd_una < self.snd_max and not seg.payload and not seg.flags & Flag.FIN:
            self.dupacks += 1
            if self.profile.dupack_threshold and self.dupacks == self.profile.dupack_threshold and self.recover is None:
                self.recover = self.snd_max
                self.host._note(f"{self.profile.dupack_threshold} duplicate ACKs from {self.peer}: fast retransmit")
                self._retransmit_head(now)
        self.snd_wnd = seg.window
        if fin_acked:
            fin_with_it = bool(seg.flags & Flag.FIN) and self._unwrap(seg.seq, self.rcv_nxt) + len(seg.payload) == self.rcv_nxt
            if self.state is State.FIN_WAIT_1 and not fin_with_it:
                self._move(State.FIN_WAIT_2, "rcv ACK of FIN", now)
                if self.read_closed and self.profile.fin_timeout is not None:
                    # close(), not shutdown(): an orphan nobody reads; Linux gives the peer
                    # tcp_fin_timeout to send its FIN, then drops the socket.
                    self._set_timer("fin-wait-2", now, self.profile.fin_timeout)
            elif self.state is State.CLOSING:
                self._enter_time_wait("rcv ACK of FIN", now)
            elif self.state is State.LAST_ACK:
                self._move(State.CLOSED, "rcv ACK of FIN", now)
                self._notify("closed")
        return fin_acked

    def _process_data(self, seg: Segment, rcv_seq: int, fin_acked: bool, now: float) -> None:
        """Receive payload and FIN: in-order delivery, out-of-order buffering, duplicates."""
        payload = seg.payload
        if payload and self.state in RECEIVING and self.read_closed:
            # close() was called: nobody will read this (RFC 2525 §2.17; Linux does the same)
            end = rcv_seq + len(payload)
            if end > self.rcv_nxt:
                self.host._note(f"data from {self.peer} after close(): connection aborted with RST")
                self.rcv_nxt = end
                self.abort(now, cause_detail="data after close")
                return
        immediate_ack = False
        if payload and self.state in RECEIVING:
            if rcv_seq > self.rcv_nxt:
                # a hole before it: keep it for later, and say at once what we still miss
                self.out_of_order.setdefault(rcv_seq, payload)
                immediate_ack = True
            else:
                new = payload[self.rcv_nxt - rcv_seq :]
                if not new:
                    immediate_ack = True  # a duplicate: ACK again, discard
                else:
                    filled_hole = bool(self.out_of_order)
                    in_order = bytearray(new)
                    next_seq = self.rcv_nxt + len(new)
                    while self.out_of_order:
                        nxt = min(self.out_of_order)
                        if nxt > next_seq:
                            break
                        chunk = self.out_of_order.pop(nxt)
                        in_order += chunk[next_seq - nxt :]
                        next_seq = max(next_seq, nxt + len(chunk))
                    self._deliver(bytes(in_order))  # the application gets it in one piece
                    immediate_ack = immediate_ack or filled_hole
                    self.ack_pending += 1
        elif payload:
            immediate_ack = True  # data after the peer's FIN can only be a duplicate
        if seg.flags & Flag.FIN:
            fin_pos = rcv_seq + len(payload)
            if self.peer_fin_seq is None and fin_pos >= self.rcv_nxt:
                self.peer_fin_seq = fin_pos
        if self.peer_fin_seq is not None and self.peer_fin_seq == self.rcv_nxt:
            self.rcv_nxt += 1
            self._on_fin(fin_acked, now)
            return
        if self.state is State.TIME_WAIT and seg.flags & Flag.FIN:
            # A retransmitted FIN: our last ACK was lost.  ACK again, restart 2*MSL.
            self._move(State.TIME_WAIT, "rcv FIN", now)
            self._send_ack(now)
            self._cancel_timer("time-wait")
            self._set_timer("time-wait", now, self.profile.time_wait)
            return
        if seg.flags & Flag.FIN and self.peer_fin_seq is not None and self.peer_fin_seq < self.rcv_nxt:
            immediate_ack = True  # duplicate FIN in CLOSE-WAIT, CLOSING or LAST-ACK
        if seg.payload or seg.flags & Flag.FIN:
            self._ack_data(immediate_ack, now)

    def _deliver(self, data: bytes) -> None:
        self.rcv_nxt += len(data)
        self.received += data
        self.unread += len(data)
        self.host.delivered_digest[self.peer].update(data)
        self._notify("data", len(data))

    def _ack_data(self, immediate: bool, now: float) -> None:
        """ACK now, or hold it back (delayed ACK: every second full segment, or the timer)."""
        if immediate or not self.profile.delayed_ack or self.ack_pending >= 2:
            self._send_ack(now)
        elif "delayed-ack" not in self.timers:
            self._set_timer("delayed-ack", now, self.profile.delayed_ack_timeout)

    def _on_fin(self, fin_acked: bool, now: float) -> None:
        """The peer's FIN, in order: the arcs ``rcv FIN`` of the state diagram."""
        if self.state is State.ESTABLISHED:
            self._move(State.CLOSE_WAIT, "rcv FIN", now)
            self._notify("eof")
            if self.profile.delay_fin_ack:
                # Linux enters "pingpong" mode: the ACK waits a moment, and rides on our
                # FIN if the application closes right away (the three-segment close).
                if "delayed-ack" not in self.timers:
                    self._set_timer("delayed-ack", now, self.profile.delayed_ack_timeout)
            else:
                self._send_ack(now)
            return
        if self.state is State.FIN_WAIT_1:
            if fin_acked or (self.fin_seq is not None and self.snd_una > self.fin_seq):
                self._send_ack(now)
                self._enter_time_wait("rcv FIN,ACK of FIN", now)
            else:
                self._move(State.CLOSING, "rcv FIN", now)
                self._send_ack(now)
            self._notify("eof")
            return
        if self.state is State.FIN_WAIT_2:
            self._send_ack(now)
            self._enter_time_wait("rcv FIN", now)
            self._notify("eof")
            return
        self._send_ack(now)

    def _enter_time_wait(self, cause: str, now: float) -> None:
        self._cancel_timer("rto")
        self._cancel_timer("delayed-ack")
        self._cancel_timer("fin-wait-2")
        self._move(State.TIME_WAIT, cause, now)
        self._set_timer("time-wait", now, self.profile.time_wait)


@dataclass
class _CookieRequest:
    """What a SYN cookie lets the listener rebuild from the final ACK alone."""

    mss: int


class Listener:
    """A listening socket (LISTEN) with a SYN queue and an accept queue.

    * The **SYN queue** (half-open queue) holds connections in SYN-RECEIVED, each
      retransmitting its SYN,ACK until the final ACK arrives or its retries run out.
      It holds at most ``syn_backlog`` of them; a SYN that finds it full is dropped,
      or — with ``syncookies`` — answered statelessly with a SYN cookie.
    * The **accept queue** holds established connections the application has not
      accepted yet, at most ``accept_backlog``; while it is full new SYNs are dropped,
      and a final ACK is ignored (Linux's default ``tcp_abort_on_overflow = 0``).
    """

    def __init__(self, host: Endpoint, port: int) -> None:
        self.host = host
        self.port = port
        self.state = State.LISTEN
        self.syn_queue: dict[tuple[str, int], Connection] = {}
        self.accept_queue: list[Connection] = []
        self.stats = {
            "syn_received": 0,
            "syn_dropped_syn_queue_full": 0,
            "syn_dropped_accept_queue_full": 0,
            "cookies_sent": 0,
            "cookies_accepted": 0,
            "requests_timed_out": 0,
            "ack_dropped_accept_queue_full": 0,
            "established": 0,
        }

    def cookie(self, peer: str, peer_port: int, mss_index: int, t_slot: int) -> int:
        """A SYN cookie: a keyed hash of the 4-tuple and a 64-second time slot, plus the
        MSS index in its low bits (like Linux's cookie_v4_init_sequence)."""
        digest = hashlib.md5(f"{self.host.name}:{self.port}:{peer}:{peer_port}:{t_slot}:{self.host.cookie_secret}".encode()).digest()
        base = int.from_bytes(digest[:4], "big") & ~0x3
        return (base | mss_index) % SEQ_SPACE

    def on_segment(self, seg: Segment, now: float) -> None:
        """LISTEN processing (RFC 9293 §3.10.7.2) with Linux's queues and cookies."""
        host = self.host
        if seg.flags & Flag.RST:
            return  # LISTEN ignores RSTs
        if seg.flags & Flag.ACK and not seg.flags & Flag.SYN:
            if host.profile.syncookies and self._try_cookie(seg, now):
                return
            host._reply_rst(seg, now)
            return
        if not seg.flags & Flag.SYN:
            return
        self.stats["syn_received"] += 1
        key = (seg.src, seg.src_port)
        if len(self.accept_queue) >= host.profile.accept_backlog:
            self.stats["syn_dropped_accept_queue_full"] += 1
            host._note(f"SYN from {seg.src} dropped: accept queue full")
            return
        if len(self.syn_queue) >= host.profile.syn_backlog:
            if host.profile.syncookies:
                self._send_cookie(seg, now)
            else:
                self.stats["syn_dropped_syn_queue_full"] += 1
                host._note(f"SYN from {seg.src} dropped: SYN queue full")
            return
        conn = host._new_connection(self.port, seg.src, seg.src_port, passive=True)
        if seg.mss is not None:
            conn._peer_mss = seg.mss
        self.syn_queue[key] = conn
        conn.accept_syn(seg, now)

    def _send_cookie(self, seg: Segment, now: float) -> None:
        mss = seg.mss or 536
        index = max(i for i, m in enumerate(COOKIE_MSS_TABLE) if m <= mss) if mss >= COOKIE_MSS_TABLE[0] else 0
        isn = self.cookie(seg.src, seg.src_port, index, int(now // 64))
        self.stats["cookies_sent"] += 1
        self.host._note(f"SYN queue full: SYN cookie sent to {seg.src} (no state kept)")
        reply = Segment(
            self.host.name,
            seg.src,
            self.port,
            seg.src_port,
            isn,
            (seg.seq + 1) % SEQ_SPACE,
            Flag.SYN | Flag.ACK,
            window=min(self.host.profile.rcv_buffer, 65535),
            mss=COOKIE_MSS_TABLE[index],
        )
        self.host._effects.append(Transmit(reply, False))

    def _try_cookie(self, seg: Segment, now: float) -> bool:
        isn = (seg.ack - 1) % SEQ_SPACE
        slot = int(now // 64)
        for t_slot in (slot, slot - 1):
            for index in range(len(COOKIE_MSS_TABLE)):
                if self.cookie(seg.src, seg.src_port, index, t_slot) == isn:
                    if len(self.accept_queue) >= self.host.profile.accept_backlog:
                        self.stats["ack_dropped_accept_queue_full"] += 1
                        return True
                    self.stats["cookies_accepted"] += 1
                    self.host._note(f"valid SYN cookie from {seg.src}: connection rebuilt from the ACK")
                    conn = self.host._new_connection(self.port, seg.src, seg.src_port, passive=True, iss=isn)
                    conn._peer_mss = COOKIE_MSS_TABLE[index]
                    conn.irs = (seg.seq - 1) % SEQ_SPACE
                    conn.rcv_nxt = conn.irs + 1
                    conn.snd_nxt = conn.snd_max = isn + 1
                    conn._move(State.SYN_RECEIVED, "rcv SYN", now)  # reconstructed, no SYN,ACK resent
                    conn.on_segment(seg, now)
                    return True
        return False


class Endpoint:
    """A host running TCP: its connections, its listener, and the effects queue.

    Parameters
    ----------
    name:
        How the trace and the drop rules call it (``"client"``, ``"server"``).
    profile:
        The :class:`~tcpbook.profiles.Profile` with its timers and limits.
    isn:
        Initial sequence number of its first connection (later ones add 64000 each,
        deterministically; real stacks use a clock plus a keyed hash, RFC 6528).
    """

    def __init__(self, name: str, profile: Profile, *, isn: int = 0, cookie_secret: str = "tcpbook") -> None:
        self.name = name
        self.profile = profile
        self.isn = isn % SEQ_SPACE
        self.cookie_secret = cookie_secret
        self.connections: dict[tuple[int, str, int], Connection] = {}
        self.all_connections: list[Connection] = []
        self.listeners: dict[int, Listener] = {}
        self._by_cid: dict[int, Connection] = {}
        self._effects: list[Effect] = []
        self._next_cid = 0
        self._next_port = 40000
        self.sent_digest: dict[str, hashlib._Hash] = _DigestMap()
        self.delivered_digest: dict[str, hashlib._Hash] = _DigestMap()

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {len(self.connections)} connections>"

    # -- driver interface ---------------------------------------------------------------

    def take_effects(self) -> list[Effect]:
        """Everything the endpoint wants done since the last call, in order."""
        effects, self._effects = self._effects, []
        return effects

    def receive(self, segment: Segment, now: float) -> None:
        """A segment arrives from the network."""
        key = (segment.dst_port, segment.src, segment.src_port)
        conn = self.connections.get(key)
        if conn is not None:
            conn.on_segment(segment, now)
            return
        listener = self.listeners.get(segment.dst_port)
        if listener is not None:
            listener.on_segment(segment, now)
            return
        self._reply_rst(segment, now)

    def timer_expired(self, cid: int, kind: str, now: float) -> None:
        """Timer ``kind`` of connection ``cid`` fired."""
        conn = self._by_cid.get(cid)
        if conn is not None:
            conn.on_timer(kind, now)

    # -- user calls -------------------------------------------------------------------------

    def listen(self, now: float, port: int = 80) -> Listener:
        """Passive OPEN: CLOSED --passive OPEN--> LISTEN on ``port``."""
        if port in self.listeners:
            raise ConnectionAlreadyExists("LISTEN")
        find_arc(State.CLOSED, "passive OPEN", State.LISTEN)
        listener = Listener(self, port)
        self.listeners[port] = listener
        self._effects.append(AppNotice(self.name, None, "listen", detail=f"port {port}"))
        self._effects.append(StateChange(self.name, None, State.CLOSED, State.LISTEN, "passive OPEN"))
        return listener

    def stop_listening(self, now: float, port: int = 80) -> None:
        """CLOSE on a listening socket: LISTEN --CLOSE--> CLOSED."""
        if port not in self.listeners:
            raise ConnectionDoesNotExist("CLOSE")
        del self.listeners[port]
        self._effects.append(StateChange(self.name, None, State.LISTEN, State.CLOSED, "CLOSE"))

    def connect(self, now: float, peer: str, port: int = 80, *, local_port: int | None = None) -> Connection:
        """Active OPEN toward ``peer``:``port``; returns the new connection (in SYN-SENT)."""
        if local_port is None:
            local_port = self._next_port
            self._next_port += 1
        if (local_port, peer, port) in self.connections:
            raise ConnectionAlreadyExists("OPEN")
        conn = self._new_connection(local_port, peer, port, passive=False)
        self._effects.append(AppNotice(self.name, peer, "connect", detail=f"port {port}"))
        conn.open_active(now)
        return conn

    def connection(self, peer: str | None = None) -> Connection:
        """The (most recent) connection with ``peer`` (or the only/most recent one)."""
        for conn in reversed(self.all_connections):
            if peer is None or conn.peer == peer:
                return conn
        raise ConnectionDoesNotExist("lookup")

    def accept(self, now: float, port: int = 80) -> Connection | None:
        """Take the oldest established connection from the accept queue (None if empty)."""
        listener = self.listeners.get(port)
        if listener is None:
            raise ConnectionDoesNotExist("ACCEPT")
        if not listener.accept_queue:
            return None
        conn = listener.accept_queue.pop(0)
        self._effects.append(AppNotice(self.name, conn.peer, "accept"))
        return conn

    def send(self, now: float, data: bytes, peer: str | None = None) -> None:
        """SEND ``data`` on the connection with ``peer``."""
        self._user_connection("SEND", peer).send(data, now)

    def close(self, now: float, peer: str | None = None) -> None:
        """CLOSE the connection with ``peer`` (like close(2))."""
        self._user_connection("CLOSE", peer).close(now)

    def shutdown(self, now: float, peer: str | None = None) -> None:
        """Half-close: send FIN but keep receiving (shutdown(SHUT_WR))."""
        self._user_connection("SHUTDOWN", peer).close(now, half=True)

    def abort(self, now: float, peer: str | None = None) -> None:
        """ABORT the connection with ``peer`` (RST where the RFC says so)."""
        self._user_connection("ABORT", peer).abort(now)

    def read(self, now: float, peer: str | None = None, nbytes: int | None = None) -> bytes:
        """RECEIVE: read delivered bytes from the connection with ``peer``."""
        return self._user_connection("RECEIVE", peer).read(now, nbytes)

    def _user_connection(self, call: str, peer: str | None) -> Connection:
        for conn in reversed(self.all_connections):
            if peer is None or conn.peer == peer:
                if conn.state is State.CLOSED:
                    if conn.error == ECONNRESET:
                        raise ConnectionReset(call)
                    raise ConnectionDoesNotExist(call)
                return conn
        raise ConnectionDoesNotExist(call)

    # -- inside the stack ---------------------------------------------------------------

    def _new_connection(self, local_port: int, peer: str, peer_port: int, *, passive: bool, iss: int | None = None) -> Connection:
        if iss is None:
            iss = (self.isn + 64000 * len(self.all_connections)) % SEQ_SPACE
        conn = Connection(self, self._next_cid, local_port, peer, peer_port, iss, passive=passive)
        self._next_cid += 1
        self.connections[(local_port, peer, peer_port)] = conn
        self._by_cid[conn.cid] = conn
        self.all_connections.append(conn)
        return conn

    def _forget(self, conn: Connection) -> None:
        self.connections.pop((conn.local_port, conn.peer, conn.peer_port), None)
        self._by_cid.pop(conn.cid, None)
        listener = self.listeners.get(conn.local_port)
        if listener is not None and listener.syn_queue.get((conn.peer, conn.peer_port)) is conn:
            del listener.syn_queue[(conn.peer, conn.peer_port)]

    def _count(self, port: int, counter: str) -> None:
        listener = self.listeners.get(port)
        if listener is not None:
            listener.stats[counter] += 1

    def _may_establish(self, conn: Connection, now: float) -> bool:
        listener = self.listeners.get(conn.local_port) if conn.passive else None
        if listener is None:
            return True
        if len(listener.accept_queue) >= self.profile.accept_backlog:
            listener.stats["ack_dropped_accept_queue_full"] += 1
            self._note(f"final ACK from {conn.peer} ignored: accept queue full")
            return False
        return True

    def _established(self, conn: Connection, now: float) -> None:
        listener = self.listeners.get(conn.local_port) if conn.passive else None
        if listener is None:
            return
        listener.syn_queue.pop((conn.peer, conn.peer_port), None)
        listener.accept_queue.append(conn)
        listener.stats["established"] += 1
        self._effects.append(AppNotice(self.name, conn.peer, "ready", detail="in accept queue"))

    def _note(self, text: str) -> None:
        self._effects.append(Note(self.name, text))

    def _reply_rst(self, seg: Segment, now: float) -> None:
        """RFC 9293 §3.10.7.1: a segment for no connection gets a RST (unless it is one)."""
        if seg.flags & Flag.RST:
            return
        if seg.flags & Flag.ACK:
            rst = Segment(self.name, seg.src, seg.dst_port, seg.src_port, seg.ack, 0, Flag.RST, window=0)
        else:
            rst = Segment(
                self.name, seg.src, seg.dst_port, seg.src_port, 0, (seg.seq + seg.seg_len) % SEQ_SPACE, Flag.RST | Flag.ACK, window=0
            )
        self._note(f"no socket for port {seg.dst_port}: answered with RST")
        self._effects.append(Transmit(rst, False))


class _DigestMap(dict):
    """peer name -> running MD5 of the bytes exchanged with that peer."""

    def __missing__(self, key: str) -> hashlib._Hash:
        value = hashlib.md5()
        self[key] = value
        return value
