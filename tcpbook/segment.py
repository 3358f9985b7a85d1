"""A TCP segment as the simulator sees it: the header fields that matter for connection
management, plus the payload bytes (real bytes, so delivery can be checked by digest).

The control bits are a plain ``int`` inside the simulator (``seg.flags & SYN``): that is
how a header holds them, and it keeps the hot path free of enum arithmetic.
:class:`Flag` gives them names for people (``Flag(seg.flags)``, :func:`flag_names`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .vocabulary import SegmentKind

SEQ_SPACE = 2**32  # sequence numbers live modulo 2**32 (RFC 9293 §3.4)
HALF_SEQ_SPACE = SEQ_SPACE // 2

# The control bits tcpbook models, with their header values (RFC 9293 §3.1).
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10


class Flag(enum.IntFlag):
    """The control bits as an enum, for display and parsing (RFC 9293 §3.1)."""

    FIN = FIN
    SYN = SYN
    RST = RST
    PSH = PSH
    ACK = ACK


# Order in which flags are written: tcpdump-like and RFC-like ("SYN,ACK").
_FLAG_ORDER = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"))
# Every combination's names, computed once: the trace asks for them on every segment.
FLAG_NAMES: tuple[tuple[str, ...], ...] = tuple(tuple(name for bit, name in _FLAG_ORDER if value & bit) for value in range(32))


def flag_names(flags: int) -> list[str]:
    """``SYN | ACK`` → ``["SYN", "ACK"]`` (in the conventional order)."""
    return list(FLAG_NAMES[int(flags) & 0x1F])


def flag_tuple(flags: int) -> tuple[str, ...]:
    """Like :func:`flag_names`, as a shared tuple (no copy)."""
    return FLAG_NAMES[flags & 0x1F]


def parse_flags(names: list[str] | tuple[str, ...]) -> Flag:
    """``["SYN", "ACK"]`` → ``Flag.SYN | Flag.ACK``."""
    flags = Flag(0)
    for name in names:
        flags |= Flag[name]
    return flags


def segment_kind(flags: int, payload_length: int) -> SegmentKind:
    """The kind used by drop rules and labels: SYN, SYN-ACK, FIN, FIN-ACK, RST, DATA or ACK.

    ``FIN-ACK`` is a FIN that also acknowledges (every FIN after the handshake does), so
    a rule on ``FIN`` matches any FIN and ``FIN-ACK`` only those with ACK set.
    """
    if flags & RST:
        return SegmentKind.RST
    if flags & SYN:
        return SegmentKind.SYN_ACK if flags & ACK else SegmentKind.SYN
    if flags & FIN:
        return SegmentKind.FIN_ACK if flags & ACK else SegmentKind.FIN
    if payload_length:
        return SegmentKind.DATA
    return SegmentKind.ACK


# segment_kind for every (flags, carries payload) pair, computed once: index 2*flags + payload.
KIND_TABLE: tuple[SegmentKind, ...] = tuple(segment_kind(i // 2, i % 2) for i in range(64))


@dataclass(slots=True)
class Segment:
    """One TCP segment on the wire (treat it as immutable once sent).

    ``seq`` and ``ack`` are 32-bit sequence numbers.  ``ack`` is meaningful only when the
    ACK bit is set.  ``flags`` is the control bits as an ``int`` (``SYN | ACK``).
    ``window`` is the receive window the sender advertises; ``mss`` is the MSS option
    (sent on SYNs only).
    """

    src: str
    dst: str
    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    payload: bytes = b""
    window: int = 65535
    mss: int | None = None
    note: str = ""  # why the scenario injected it, if it did

    @property
    def seg_len(self) -> int:
        """The segment length SEG.LEN in sequence numbers.

        Payload bytes, plus one for a SYN and one for a FIN (both use sequence space).
        """
        return len(self.payload) + (self.flags & SYN and 1) + (self.flags & FIN)

    @property
    def kind(self) -> SegmentKind:
        """What the segment is in drop-rule words (see :func:`segment_kind`)."""
        return segment_kind(self.flags, len(self.payload))

    def describe(self) -> str:
        """A tcpdump-like summary: ``SYN,ACK seq=300 ack=101 win=65535 len=0``."""
        parts = [",".join(flag_tuple(self.flags)) or "none", f"seq={self.seq}"]
        if self.flags & ACK:
            parts.append(f"ack={self.ack}")
        parts.append(f"win={self.window}")
        if self.mss is not None:
            parts.append(f"mss={self.mss}")
        parts.append(f"len={len(self.payload)}")
        return " ".join(parts)


def seq_add(a: int, n: int) -> int:
    """Sequence arithmetic: ``a + n`` modulo 2**32."""
    return (a + n) % SEQ_SPACE


def seq_lt(a: int, b: int) -> bool:
    """``a`` comes before ``b`` in sequence space (RFC 1982-style comparison)."""
    return 0 < (b - a) % SEQ_SPACE < HALF_SEQ_SPACE


def seq_le(a: int, b: int) -> bool:
    """``a`` comes before or equals ``b`` in sequence space."""
    return a == b or seq_lt(a, b)


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` in sequence space."""
    d = (a - b) % SEQ_SPACE
    return d - SEQ_SPACE if d >= HALF_SEQ_SPACE else d
