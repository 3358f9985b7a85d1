"""The timeouts of RFC 9293 §3.10.8 (and Linux's own timers) on a connection.

Part of :class:`~tcpbook.endpoint.connection.Connection` (``self`` is the connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..segment import ACK, RST
from ..vocabulary import AppAction, Event, NoteKind, SocketError, State, Timer

# States in which our FIN may be unacknowledged (its retransmission is a self-loop).
FIN_STATES = frozenset({State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK})
# States in which a connection with SO_KEEPALIVE probes an idle peer (Linux: all but
# CLOSED, LISTEN and SYN-SENT; TIME-WAIT is a separate mini socket without keepalive).
KEEPALIVE_STATES = frozenset(
    {State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT, State.CLOSING, State.LAST_ACK}
)

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection as _Self
else:
    _Self = object


class Timeouts(_Self):
    """USER TIMEOUT, RETRANSMISSION TIMEOUT and TIME-WAIT TIMEOUT (§3.10.8), plus the
    delayed-ACK, persist, tail-loss-probe, keepalive and Linux FIN-WAIT-2 timers."""

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
        elif kind is Timer.TLP:
            if self.state in FIN_STATES and self.sender.probe_resends_fin():
                self.move(Event.TIMEOUT, now)  # the self-loop "timeout / FIN", by the probe timer
            self.sender.loss_probe(now)
        elif kind is Timer.KEEPALIVE:
            self.keepalive_timeout(now)

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
            self._give_up(now, send_rst=False)  # Linux tcp_write_err: no RST, the peer is presumed gone
            return
        space = self.sender.space
        if self.state in FIN_STATES and space.una == space.fin_seq:
            self.move(Event.TIMEOUT, now)  # the self-loop "timeout / FIN"
        self.sender.retransmission_timeout(now)

    def _handshake_timeout(self, now: float) -> None:
        syn_sent = self.state is State.SYN_SENT
        schedule = self.profile.syn_timeouts() if syn_sent else self.profile.synack_timeouts()
        retries = len(schedule) - 1
        if self.listener is not None and self.profile.synack_retries is not None:
            retries = self.listener.synack_retries_now(retries)  # Linux prunes old requests under load
        self.syn_attempt += 1
        if self.syn_attempt == 1 and self.listener is not None:
            self.listener.aged(self)
        if self.syn_attempt > retries:
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
        """USER TIMEOUT (§3.10.8): "flush all queues, signal the user 'error: connection
        aborted due to user timeout' … delete the TCB" — ETIMEDOUT; connect() fails or the
        connection is aborted.  No segment is sent (Linux ``tcp_write_err``), except after
        keepalive, where Linux sends a RST first (``send_rst``).  When the program has
        already closed the socket (an orphan still sending its data or FIN), nobody is
        left to be told: the stack just deletes it."""
        if send_rst:
            nxt = self.sender.space.nxt
            self.transmit(self.segment(nxt, RST | ACK), nxt)
        if self.read_closed:
            self.note(now, NoteKind.ORPHAN_GAVE_UP, f"no answer from {self.peer}: the closed socket is deleted, nobody is told (ETIMEDOUT)")
        else:
            self.error = SocketError.ETIMEDOUT
            self.notify(AppAction.ERROR, now, detail=SocketError.ETIMEDOUT)
        self.move(Event.KEEPALIVE_TIMEOUT if send_rst else Event.USER_TIMEOUT, now)

    def only_keepalive_left(self) -> bool:
        """Is this connection idle, healthy and kept only by keepalive probes its peer has
        answered before?  (From here on the same exchange repeats every keepidle.)"""
        sender = self.sender
        return (
            self.state in KEEPALIVE_STATES and self.keepalive_answered and not self.keepalive_probes
            and not sender.flight and sender.space.nxt >= sender.space.data_end and not self.ack_pending
        )

    def keepalive_timeout(self, now: float) -> None:
        """The keepalive timer (RFC 1122 §4.2.3.6; Linux ``tcp_keepalive_timer``).

        After ``keepidle`` seconds without a segment from the peer, a probe goes out — an
        ACK with an old sequence number (SND.UNA − 1), which a live peer must answer —
        then one every ``keepintvl``.  After ``keepcnt`` unanswered probes (or, with
        TCP_USER_TIMEOUT, once that much time has passed since the peer was last heard)
        the connection is given up: a RST, and ETIMEDOUT.  While data is in flight the
        retransmission timer watches the peer instead, and keepalive waits.
        """
        p, sender = self.profile, self.sender
        if self.state not in KEEPALIVE_STATES:
            return
        if sender.flight or sender.space.nxt < sender.space.data_end:
            self.timers.set(Timer.KEEPALIVE, now, p.keepidle)
            return
        elapsed = now - self.last_heard
        if elapsed < p.keepidle - 1e-9:
            self.timers.set(Timer.KEEPALIVE, now, p.keepidle - elapsed)
            return
        if (p.user_timeout is not None and elapsed >= p.user_timeout - 1e-9 and self.keepalive_probes > 0) or (
            p.user_timeout is None and self.keepalive_probes >= p.keepcnt
        ):
            self.note(now, NoteKind.KEEPALIVE_GAVE_UP, f"{self.keepalive_probes} keepalive probes unanswered: the peer is gone",
                      count=self.keepalive_probes)
            self._give_up(now, send_rst=True)
            return
        una = sender.space.una
        self.transmit(self.segment(una - 1, ACK), una - 1)
        self.keepalive_probes += 1
        self.timers.set(Timer.KEEPALIVE, now, p.keepintvl)

