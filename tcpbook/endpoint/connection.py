"""One TCP connection, as RFC 9293 §3.10 ("Event Processing") describes it.

A :class:`Connection` is a TCB (RFC 9293 §3.3.1).  Its methods are the events of §3.10,
in the RFC's order, each part in a module of its own:

* the user calls (:mod:`~tcpbook.endpoint.usercalls`) — :meth:`~Connection.open_active`
  (OPEN), :meth:`~Connection.send` (SEND), :meth:`~Connection.read` (RECEIVE),
  :meth:`~Connection.close` (CLOSE, and ``shutdown(SHUT_WR)``), :meth:`~Connection.abort`
  (ABORT);
* SEGMENT ARRIVES (:mod:`~tcpbook.endpoint.arrival`) — :meth:`~Connection.segment_arrives`:
  in SYN-SENT the checks of §3.10.7.3, otherwise the checks of §3.10.7.4, one method each:
  :meth:`~Connection.check_sequence`, :meth:`~Connection.check_rst`,
  :meth:`~Connection.check_syn`, :meth:`~Connection.check_ack`,
  :meth:`~Connection.process_text`, :meth:`~Connection.check_fin`;
* the timeouts of §3.10.8 (:mod:`~tcpbook.endpoint.timeouts`) — :meth:`~Connection.timer_expired`.

This module holds what they share: the state and the one way to change it
(:meth:`~Connection.move`, which asks :func:`tcpbook.table.next_state`), and the way out
(:meth:`~Connection.segment`, :meth:`~Connection.transmit`).  What to send and when to
resend is the :class:`~tcpbook.endpoint.sender.Sender`'s job; the receive sequence space
is a :class:`~tcpbook.endpoint.receivespace.ReceiveSpace`; the timers are
:class:`~tcpbook.endpoint.timers.Timers`.

Where Linux does something the RFC leaves open (or does differently), the method says
so and names the kernel function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ledger import ByteLedger
from ..profiles import Profile
from ..segment import ACK, FIN, RST, SEQ_SPACE, SYN, Segment
from ..table import next_state
from ..vocabulary import AppAction, Event, NoteKind, SocketError, State, Timer
from .arrival import SegmentArrives
from .effects import AppNotice, Effect, Note, StateChange, Transmit
from .receivespace import ReceiveSpace
from .sender import Sender
from .timeouts import Timeouts
from .timers import Timers
from .usercalls import UserCalls

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

class Connection(UserCalls, SegmentArrives, Timeouts):
    """One TCP connection (a TCB): its state, its sequence spaces and timers.

    ``passive`` connections are made by a :class:`~tcpbook.endpoint.listener.Listener`
    from a SYN (they start in LISTEN); active ones by ``connect()`` (they start in CLOSED).
    ``emit`` receives the connection's effects; ``forget`` is called when it reaches CLOSED.
    """

    __slots__ = (
        "endpoint", "profile", "cid", "local_port", "peer", "peer_port", "listener", "passive", "state", "error",
        "established_at", "emit", "_forget", "ledger", "timers", "sender", "rcv", "read_closed",
        "ack_pending", "syn_attempt", "handshake_retransmitted", "synack_sent", "quickacks", "last_heard",
        "keepalive_probes", "keepalive_answered", "_redeliver",
    )  # fmt: skip

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
        redeliver: Callable[[Segment, float, int], None] | None = None,
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
        self.rcv = ReceiveSpace(profile.rcvbuf, profile.mss, profile.sws_avoidance)
        self.read_closed = False  # close(), not shutdown(): data arriving now is answered by RST
        self.ack_pending = 0  # in-order data segments received and not yet ACKed (delayed ACK)
        self.syn_attempt = 0  # index into the SYN / SYN,ACK timeout schedule
        self.handshake_retransmitted = False
        self.synack_sent = False
        self.quickacks = profile.quickack  # data segments still ACKed at once (Linux quick-ACK mode)
        self.last_heard = 0.0  # when the peer's last segment arrived (keepalive)
        self.keepalive_probes = 0  # unanswered keepalive probes
        self.keepalive_answered = False  # the peer has answered a keepalive probe
        self._redeliver = redeliver  # hands a SYN that ends TIME-WAIT to the host's listener

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

    def set_options(self, profile: Profile, now: float) -> None:
        """``setsockopt`` on a live connection: from now on it follows ``profile`` (its
        socket's options: keepalive and its times, ``TCP_USER_TIMEOUT``, ``TCP_SYNCNT`` …).

        Keepalive takes effect at once, as in Linux: turning ``SO_KEEPALIVE`` on arms the
        timer a full ``keepidle`` from now, off disarms it (``tcp_set_keepalive``); a new
        ``TCP_KEEPIDLE`` on a socket that probes re-arms it for what is left of the new
        idle time (``tcp_sock_set_keepidle_locked``).
        """
        old, self.profile = self.profile, profile
        self.sender.profile = self.sender.rtt.profile = profile
        live = self.state not in (State.CLOSED, State.LISTEN, State.TIME_WAIT)
        if not live:
            return
        if profile.keepalive and not old.keepalive:
            self.timers.set(Timer.KEEPALIVE, now, profile.keepidle)
        elif old.keepalive and not profile.keepalive:
            self.timers.cancel(Timer.KEEPALIVE)
        elif profile.keepalive and profile.keepidle != old.keepidle:
            self.timers.set(Timer.KEEPALIVE, now, max(0.0, profile.keepidle - (now - self.last_heard)))

    # -- moving, telling, sending ------------------------------------------------------------

    def move(self, event: Event, now: float) -> None:
        """Take the arc ``event`` leads to from the current state (the table decides)."""
        arc = next_state(self.state, event)
        old, self.state = self.state, arc.target
        self.emit(StateChange(now, self.endpoint, self.peer, old, arc.target, event))
        if arc.target is State.ESTABLISHED and self.established_at is None:
            self.established_at = now
            if self.profile.keepalive:
                self.timers.set(Timer.KEEPALIVE, now, self.profile.keepidle)
        if arc.target is State.CLOSED:
            self.timers.cancel_all()
            self._forget(self)

    def notify(self, action: AppAction, now: float, nbytes: int = 0, detail: str = "") -> None:
        """Tell the application something (or record what it did)."""
        self.emit(AppNotice(now, self.endpoint, self.peer, action, nbytes, detail))

    def note(self, now: float, kind: NoteKind, text: str, **facts: object) -> None:
        """Record a decision of the stack about this connection."""
        self.emit(Note(now, self.endpoint, text, kind, peer=self.peer, **facts))  # type: ignore[arg-type]

    def segment(self, seq: int, flags: int, payload: bytes = b"", *, mss: bool = False, ack: int | None = None) -> Segment:
        """A segment from us to the peer, carrying RCV.NXT (or ``ack``) and our window."""
        window = self.rcv.offer(self.sender.eff_mss, syn=bool(flags & SYN))
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
        flags = seg.flags
        end = seq + len(seg.payload) + (1 if flags & SYN else 0) + (flags & FIN)  # SEG.LEN
        # Sequence space sent before (a probe or an ACK occupies none: not a retransmission)
        retransmission = seq < space.max and end > seq
        if end > space.max:
            space.max = end
        if flags & ACK:
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
        self.sender.space.update_window(seg.window)
        if seg.mss is not None:
            self.sender.peer_mss = seg.mss
        self.rcv.synchronize(seg.seq, self.sender.mss)

    def _handshake_complete(self, now: float) -> None:
        """Our SYN is acknowledged: take the handshake's RTT sample, or apply RFC 6298 §5.7."""
        self.sender.space.una = self.iss + 1
        rtt = self.sender.rtt
        if self.handshake_retransmitted:
            rtt.handshake_was_retransmitted()
        else:
            rtt.on_ack(self.iss + 1, now)
        rtt.forget()

    def _enter_time_wait(self, event: Event, now: float) -> None:
        for timer in (Timer.RTO, Timer.DELAYED_ACK, Timer.FIN_WAIT_2):
            self.timers.cancel(timer)
        self.move(event, now)
        self.timers.set(Timer.TIME_WAIT, now, self.profile.time_wait)

