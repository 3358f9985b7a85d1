"""Sequence numbers in a capture: where each segment sits in its sender's byte stream.

TCP numbers every byte it sends, SYN and FIN included, from an initial sequence number
(ISN) chosen at random (RFC 9293 §3.4).  The numbers are 32 bits wide and wrap around, so
a raw number says little; what matters is its *position*: how far it lies from its
sender's ISN.  :class:`Side` keeps what the replay knows about one end of the
connection, and turns a 32-bit number into a position (:meth:`Side.rel`) — *unwrapped*,
so that a transfer of more than 4 GiB keeps counting up.

:func:`geometry` computes, once and in time order, each segment's position, its end
(position + SYN + data + FIN), and the position its ACK names in the peer's stream.  A
segment whose numbers lie farther from the stream than any window could reach, or that
carries data after its sender's FIN, is set aside: shown in the trace, but ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..table import State
from .decode import CapturedSegment

SEQ_SPACE = 2**32
MAX_WINDOW = 2**30  # the largest window TCP can advertise (65535 << 14): no sender jumps further


def signed(x: int) -> int:
    """A 32-bit sequence difference as a signed number (RFC 1982 style).

    >>> signed(5), signed(2**32 - 5)
    (5, -5)
    """
    x %= SEQ_SPACE
    return x - SEQ_SPACE if x >= SEQ_SPACE // 2 else x


@dataclass
class Side:
    """What the replay knows about one end of the connection.

    Sequence numbers are *unwrapped*: ``rel`` turns a 32-bit number into a position
    from the side's initial sequence number, taking the one nearest to the highest
    position seen so far, so a transfer of more than 2 GiB (or 4 GiB) keeps counting up.
    """

    name: str
    peer: str
    base: int  # sequence number of its SYN (or its first segment when the SYN was not captured)
    saw_syn: bool
    state: State = State.CLOSED
    passive: bool = False  # reached SYN-RECEIVED from LISTEN
    high: int = 0  # highest position sent + 1 (SYN and FIN count)
    sent_end: int = 0  # as ``high``, updated during the replay (retransmissions are below it)
    space_end: int = 0  # end of the sequence space (SYN, data, FIN) the capture shows it sending
    fin_rel: int | None = None  # position of its FIN
    peer_fin_seen: bool = False
    acked_by_peer: int = 0  # highest position of this side the peer acknowledged
    max_ack_sent: int = 0  # highest ACK this side sent, in the peer's positions
    synack_sent: bool = False
    error: str | None = None
    error_at: float = 0.0  # when the RST that caused ``error`` arrived
    established_at: float | None = None
    stream_end: int = 0  # data bytes sent (by sequence space), even where not captured
    pieces: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, captured bytes, packet) of its data
    wire: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes on the wire) of its data, even if cut short

    def rel(self, seq: int) -> int:
        """The position of the 32-bit sequence number ``seq`` in this side's stream."""
        return self.high + signed(seq - self.base - self.high)


@dataclass
class Geometry:
    """Per segment, where it sits in its sender's sequence space (computed once, in
    time order, before the replay)."""

    rel: list[int]
    end: list[int]
    ack: list[int | None]  # the ACK as a position of the receiver's sequence space
    ignored: dict[int, str]  # index -> why it lies outside any window


def geometry(segs: list[CapturedSegment], side_of: Callable[[tuple[str, int]], Side]) -> Geometry:
    """Each segment's position, end and ACK as positions (see :class:`Geometry`);
    advances each side's ``high`` as it goes."""
    rels: list[int] = []
    ends: list[int] = []
    acks: list[int | None] = []
    ignored: dict[int, str] = {}
    fin_at: dict[str, int] = {}  # position of each side's first FIN: its stream ends there
    for i, seg in enumerate(segs):
        a, b = side_of(seg.src), side_of(seg.dst)
        syn, fin = "SYN" in seg.flags, "FIN" in seg.flags
        rel = a.rel(seg.seq)
        end = rel + seg.payload_len + syn + fin
        ack = b.rel(seg.ack) if "ACK" in seg.flags else None
        if abs(rel - a.high) > MAX_WINDOW:
            ignored[i] = f"ignored: sequence number {abs(rel - a.high):,} bytes away from the stream, outside any window"
        elif ack is not None and abs(ack - b.high) > MAX_WINDOW:
            ignored[i] = f"ignored: acknowledges {abs(ack - b.high):,} bytes away from anything sent, outside any window"
        elif a.name in fin_at and seg.payload_len and rel + syn + seg.payload_len > fin_at[a.name]:
            # No TCP sends data after its FIN (RFC 9293 §3.10.4: CLOSE means "no more
            # SENDs"); a receiver would drop it, and it is not part of the stream.
            ignored[i] = "ignored: data beyond the sender's FIN"
        else:
            a.high = max(a.high, end)
            if fin and a.name not in fin_at:
                fin_at[a.name] = end - 1
        rels.append(rel)
        ends.append(end)
        acks.append(ack)
    return Geometry(rels, ends, acks, ignored)
