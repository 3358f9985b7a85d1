"""The timeouts of RFC 9293 §3.10.8 (and Linux's own timers) on a connection.

Part of :class:`~tcpbook.endpoint.connection.Connection` (``self`` is the connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..segment import ACK, RST
from ..vocabulary import AppAction, Event, NoteKind, SocketError, State, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection as _Self
else:
    _Self = object


class Timeouts(_Self):
    """USER TIMEOUT, RETRANSMISSION TIMEOUT and TIME-WAIT TIMEOUT (§3.10.8), plus the
    delayed-ACK, persist and Linux FIN-WAIT-2 timers."""

    __slots__ = ()

    def timer_expired(self, kind: Timer, now: float) -> None:
        """One of the connection's timers fired (a stale one is ignored)."""
        if not self.timers.expired(kind):
            return
        if kind is Timer.RTO:
            self.retransmission_timeout(now)
        elif kind is Timer.TIME_WAIT:
            self.move(Event.TIME_WAIT_TIMEOUT, now)  # "delete the TCB, enter the CLOSED state"
            self.notify(AppAction.CLOSED, now, detail="TIME-WAIT over")
        elif kind is Timer.DELAYED_ACK:
            self.send_ack()
        elif kind is Timer.FIN_WAIT_2 and self.state is State.FIN_WAIT_2:
            seconds = self.profile.fin_timeout
            self.note(now, NoteKind.ORPHAN_TIMEOUT, f"FIN-WAIT-2 orphan waited {seconds:g} s for {self.peer}'s FIN: dropped", seconds=seconds)
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
                self.note(now, NoteKind.REQUEST_TIMED_OUT, f"half-open request from {self.peer} dropped: SYN,ACK retries exhausted")
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
        self.notify(AppAction.ERROR, now, detail=SocketError.ETIMEDOUT)
        self.move(Event.USER_TIMEOUT, now)

