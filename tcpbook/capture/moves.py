"""What one captured segment says about the states of its sender and of its receiver.

A capture records packets, not states: tcpdump cannot see that a socket moved from
FIN-WAIT-1 to FIN-WAIT-2.  But each arc of the state diagram has a visible cause, so the
states can be *inferred* the way a learner would with the diagram in hand:

* What a side **sends** reveals its own moves (:func:`after_sending`): its first SYN
  means the application called connect() (``active OPEN``); its first FIN means it
  called close() (``CLOSE``); a retransmitted SYN, SYN,ACK or FIN is a ``timeout``
  self-loop; a RST from a synchronized state is an ``ABORT``.
* What a side **receives** moves it along the diagram (:func:`after_receiving`):
  ``rcv SYN``, ``rcv SYN,ACK``, ``rcv ACK of SYN``, ``rcv FIN``, ``rcv ACK of FIN``,
  ``rcv FIN,ACK of FIN``, ``rcv RST``…

Every move goes through ``move``, which asks :func:`tcpbook.table.find_arc` for the
arc: an inference that the state diagram does not allow raises instead of drawing it.
Timers are invisible in a capture — it never shows TIME-WAIT ending or connect() giving
up — except in one case: a socket in TIME-WAIT that answers with a RST instead of an ACK
was already gone, so its 2*MSL timer had expired.
"""

from __future__ import annotations

from collections.abc import Callable

from ..table import State
from .decode import CapturedSegment
from .sequence import Side

Move = Callable[[Side, float, str, State], None]  # move(side, t, arc event, target state)

_SYNCHRONIZED = (State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT)


# -- what sending says about the sender ------------------------------------------------


def after_sending(
    a: Side,
    seg: CapturedSegment,
    t: float,
    rel: int,
    retransmission: bool,
    just_received_syn: bool,
    move: Move,
    *,
    one_direction: bool,
) -> None:
    """What sending ``seg`` (at position ``rel``) says about its sender ``a``.

    ``just_received_syn``: the last segment ``a`` received was a SYN, so a SYN,ACK it
    sends again answers that SYN rather than its own timer.  ``one_direction``: the
    capture shows only ``a``'s segments.
    """
    syn, fin, rst, ack = "SYN" in seg.flags, "FIN" in seg.flags, "RST" in seg.flags, "ACK" in seg.flags
    if one_direction and ack and not syn and not rst:
        # Only this side was captured; acknowledging the peer at all means the
        # handshake's answer it waited for had arrived.
        if a.state is State.SYN_SENT:
            move(a, t, "rcv SYN,ACK", State.ESTABLISHED)
        elif a.state is State.SYN_RECEIVED:
            move(a, t, "rcv ACK of SYN", State.ESTABLISHED)
    if rst and a.state is State.TIME_WAIT:
        # Linux answers a segment in TIME-WAIT with an ACK; a RST means the socket
        # is gone: the one time a capture shows that the 2*MSL timer has expired.
        move(a, t, "timeout=2MSL", State.CLOSED)
    if syn:
        _sending_syn(a, t, ack, retransmission, just_received_syn, move)
    if fin and not rst:
        _sending_fin(a, seg, t, rel, retransmission, move)
    if rst and a.state in _SYNCHRONIZED:
        move(a, t, "ABORT", State.CLOSED)


def _sending_syn(a: Side, t: float, ack: bool, retransmission: bool, just_received_syn: bool, move: Move) -> None:
    """A SYN opens (or, sent again, times out); a SYN,ACK shows its sender was listening."""
    if not ack:
        if a.state is State.CLOSED:
            move(a, t, "active OPEN", State.SYN_SENT)
        elif a.state is State.SYN_SENT and retransmission:
            move(a, t, "timeout", State.SYN_SENT)
        elif a.state is State.LISTEN:
            move(a, t, "SEND", State.SYN_SENT)
        return
    if a.state is State.LISTEN:
        a.passive = True
        move(a, t, "rcv SYN", State.SYN_RECEIVED)  # the SYN itself was not captured
    elif a.state is State.SYN_RECEIVED and a.synack_sent:
        move(a, t, "rcv SYN" if just_received_syn else "timeout", State.SYN_RECEIVED)
    a.synack_sent = True


def _sending_fin(a: Side, seg: CapturedSegment, t: float, rel: int, retransmission: bool, move: Move) -> None:
    """The first FIN is the application's close(); a FIN alone sent again is its timer."""
    if a.fin_rel is None:
        a.fin_rel = rel + seg.payload_len + ("SYN" in seg.flags)
        if a.state in (State.ESTABLISHED, State.SYN_RECEIVED):
            move(a, t, "CLOSE", State.FIN_WAIT_1)
        elif a.state is State.CLOSE_WAIT:
            move(a, t, "CLOSE", State.LAST_ACK)
    elif retransmission and not seg.payload_len and a.state in (State.FIN_WAIT_1, State.LAST_ACK, State.CLOSING):
        # a FIN sent again on its own; when it rides on retransmitted data it is
        # the data's timer that fired, not a move of the state diagram
        move(a, t, "timeout", a.state)


# -- what arriving does to the receiver ------------------------------------------------


def after_receiving(
    b: Side, seg: CapturedSegment, acked: int | None, t: float, move: Move, *, answered_by_rst: bool = False
) -> None:
    """Apply the arrival of ``seg`` to its receiver ``b``'s state.

    ``acked``: the segment's ACK as a position of ``b``'s stream (None without ACK).
    ``answered_by_rst``: the next segment ``b`` sends is a RST (so, in TIME-WAIT, its
    2*MSL timer had already expired and the socket was gone)."""
    syn, fin, rst, ack = ("SYN" in seg.flags), ("FIN" in seg.flags), ("RST" in seg.flags), ("ACK" in seg.flags)
    if acked is not None and acked > b.acked_by_peer:
        b.acked_by_peer = acked
    # it acknowledges our SYN, and nothing we never sent (with Fast Open, also the SYN's data)
    acks_our_syn = acked is not None and 1 <= acked <= max(b.high, 1)
    if rst:
        _receiving_rst(b, t, acks_our_syn, move)
        return
    if syn:
        _receiving_syn(b, t, ack, acks_our_syn, move)
        return
    new_fin = fin and not b.peer_fin_seen
    fin_done = acked is not None and _receiving_ack(b, t, acked, new_fin, move)
    if fin:
        _receiving_fin(b, t, new_fin, fin_done, answered_by_rst, move)


def _receiving_rst(b: Side, t: float, acks_our_syn: bool, move: Move) -> None:
    """A RST closes (or, in SYN-RECEIVED after LISTEN, returns to LISTEN); in SYN-SENT
    only one that acknowledges our SYN counts: the connection was refused."""
    if b.state is State.SYN_SENT:
        if acks_our_syn:  # a RST that acknowledges our SYN: connection refused
            move(b, t, "rcv RST,ACK", State.CLOSED)
            b.error, b.error_at = "ECONNREFUSED", t
    elif b.state is State.SYN_RECEIVED:
        move(b, t, "rcv RST", State.LISTEN if b.passive else State.CLOSED)
    elif b.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
        move(b, t, "rcv RST", State.CLOSED)
        b.error, b.error_at = "ECONNRESET", t
    elif b.state in (State.CLOSING, State.LAST_ACK, State.TIME_WAIT):
        move(b, t, "rcv RST", State.CLOSED)


def _receiving_syn(b: Side, t: float, ack: bool, acks_our_syn: bool, move: Move) -> None:
    """A SYN reaches a listener, or crosses our own SYN (simultaneous open); a SYN,ACK
    that acknowledges our SYN completes our side of the handshake."""
    if not ack:
        if b.state is State.LISTEN:
            b.passive = True
            move(b, t, "rcv SYN", State.SYN_RECEIVED)
        elif b.state is State.SYN_SENT:
            move(b, t, "rcv SYN", State.SYN_RECEIVED)  # simultaneous open
        return
    if acks_our_syn:  # anything else Linux would answer with RST
        if b.state is State.SYN_SENT:
            move(b, t, "rcv SYN,ACK", State.ESTABLISHED)
        elif b.state is State.SYN_RECEIVED:
            move(b, t, "rcv ACK of SYN", State.ESTABLISHED)


def _receiving_ack(b: Side, t: float, acked: int, new_fin: bool, move: Move) -> bool:
    """An ACK of our SYN or of our FIN.  True when it came with the peer's first FIN
    and took FIN-WAIT-1 straight to TIME-WAIT (the FIN is then dealt with)."""
    if b.state is State.SYN_RECEIVED and acked >= 1:
        move(b, t, "rcv ACK of SYN", State.ESTABLISHED)
    if b.fin_rel is not None and acked >= b.fin_rel + 1:
        if b.state is State.FIN_WAIT_1:
            if new_fin:
                move(b, t, "rcv FIN,ACK of FIN", State.TIME_WAIT)
                return True
            move(b, t, "rcv ACK of FIN", State.FIN_WAIT_2)
        elif b.state is State.CLOSING:
            move(b, t, "rcv ACK of FIN", State.TIME_WAIT)
        elif b.state is State.LAST_ACK:
            move(b, t, "rcv ACK of FIN", State.CLOSED)
    return False


def _receiving_fin(b: Side, t: float, new_fin: bool, fin_done: bool, answered_by_rst: bool, move: Move) -> None:
    """The peer's first FIN closes its half; a FIN again in TIME-WAIT means our last ACK
    was lost (or, answered by a RST, that TIME-WAIT had already ended)."""
    if new_fin and not fin_done:
        if b.state is State.ESTABLISHED:
            move(b, t, "rcv FIN", State.CLOSE_WAIT)
        elif b.state is State.FIN_WAIT_1:
            move(b, t, "rcv FIN", State.CLOSING)
        elif b.state is State.FIN_WAIT_2:
            move(b, t, "rcv FIN", State.TIME_WAIT)
    elif not new_fin and b.state is State.TIME_WAIT:
        if answered_by_rst:
            # Linux re-ACKs a FIN in TIME-WAIT; a RST means no socket was left:
            # the one time a capture shows the 2*MSL timer expiring
            move(b, t, "timeout=2MSL", State.CLOSED)
        else:
            move(b, t, "rcv FIN", State.TIME_WAIT)  # retransmitted FIN: the last ACK was lost
    b.peer_fin_seen = True
