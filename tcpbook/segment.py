"""A TCP segment as the simulator sees it: the header fields that matter for connection
management, plus the payload bytes (real bytes, so delivery can be checked by digest)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

SEQ_SPACE = 2**32  # sequence numbers live modulo 2**32 (RFC 9293 §3.4)


class Flag(enum.IntFlag):
    """The TCP control bits tcpbook models (RFC 9293 §3.1)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10


# Order in which flags are written: tcpdump-like and RFC-like ("SYN,ACK").
_FLAG_ORDER = (Flag.SYN, Flag.FIN, Flag.RST, Flag.PSH, Flag.ACK)


def flag_names(flags: Flag) -> list[str]:
    """``Flag.SYN | Flag.ACK`` → ``["SYN", "ACK"]`` (in the conventional order)."""
    return [f.name for f in _FLAG_ORDER if flags & f]  # type: ignore[misc]


def parse_flags(names: list[str] | tuple[str, ...]) -> Flag:
    """``["SYN", "ACK"]`` → ``Flag.SYN | Flag.ACK``."""
    flags = Flag(0)
    for name in names:
        flags |= Flag[name]
    return flags


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP segment on the wire.

    ``seq`` and ``ack`` are absolute 32-bit sequence numbers.  ``ack`` is meaningful only
    when the ACK flag is set.  ``window`` is the receive window the sender advertises;
    ``mss`` is the MSS option (sent on SYNs only).
    """

    src: str
    dst: str
    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: Flag
    payload: bytes = b""
    window: int = 65535
    mss: int | None = None
    note: str = field(default="", compare=False)  # why the scenario injected it, if it did

    @property
    def seg_len(self) -> int:
        """The segment length SEG.LEN in sequence numbers.

        Payload bytes, plus one for a SYN and one for a FIN (both use sequence space).
        """
        return len(self.payload) + (1 if self.flags & Flag.SYN else 0) + (1 if self.flags & Flag.FIN else 0)

    @property
    def kind(self) -> str:
        """The kind used by drop rules, one of SYN, SYN-ACK, FIN, FIN-ACK, RST, DATA or ACK (pure ACK).

        ``FIN-ACK`` is a FIN that also acknowledges (every FIN after the handshake does),
        so a rule on ``FIN`` matches any FIN and ``FIN-ACK`` only those with ACK set.
        """
        f = self.flags
        if f & Flag.RST:
            return "RST"
        if f & Flag.SYN:
            return "SYN-ACK" if f & Flag.ACK else "SYN"
        if f & Flag.FIN:
            return "FIN-ACK" if f & Flag.ACK else "FIN"
        if self.payload:
            return "DATA"
        return "ACK"

    def describe(self) -> str:
        """A tcpdump-like summary: ``SYN,ACK seq=300 ack=101 win=65535 len=0``."""
        parts = [",".join(flag_names(self.flags)) or "none", f"seq={self.seq}"]
        if self.flags & Flag.ACK:
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
    return 0 < (b - a) % SEQ_SPACE < SEQ_SPACE // 2


def seq_le(a: int, b: int) -> bool:
    """``a`` comes before or equals ``b`` in sequence space."""
    return a == b or seq_lt(a, b)


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` in sequence space."""
    d = (a - b) % SEQ_SPACE
    return d - SEQ_SPACE if d >= SEQ_SPACE // 2 else d
