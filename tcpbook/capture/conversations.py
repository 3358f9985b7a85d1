"""A capture holds many conversations: splitting it into TCP connections, and choosing one.

A TCP connection is named by its two sockets, ``(address, port)`` each: every segment
of it carries the same pair, one way or the other.  So the segments of a capture group
by the pair — with one twist: when a connection ends, the same pair may be used again
for a new one (a client that binds its port, a load test, TIME-WAIT reuse).  A SYN
starts a new connection on the pair when its sender already opened the old one with
another initial sequence number, or was already talking in it without a SYN.

:func:`connections` lists what a capture holds, numbered from 1 in order of first
packet; :func:`choose` picks the one :func:`~tcpbook.capture.read_capture` will
replay, by port or by number, and refuses with the list when the choice is ambiguous.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

from .decode import CapturedSegment, tcp_segments
from .errors import CaptureError, Problems
from .files import check_file


@dataclass(frozen=True)
class ConnectionSummary:
    """One TCP connection found in a capture: its two sockets, how many packets, and its
    number (from 1, in order of first packet) for :func:`~tcpbook.capture.read_capture`'s
    ``connection``."""

    a: tuple[str, int]
    b: tuple[str, int]
    packets: int
    has_syn: bool
    number: int = 1
    reused: int = 0  # how many connections on the same address/port pair came before it

    def __str__(self) -> str:
        again = f", again #{self.reused + 1} on this pair" if self.reused else ""
        return f"{socket_text(self.a)} <-> {socket_text(self.b)} ({self.packets} packets{'' if self.has_syn else ', no SYN'}{again})"


def socket_text(sock: tuple[str, int]) -> str:
    """``address:port``, with an IPv6 address in brackets as in a URL.

    >>> socket_text(("10.0.0.1", 80)), socket_text(("2001:db8::1", 443))
    ('10.0.0.1:80', '[2001:db8::1]:443')
    """
    address, port = sock
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class CapturedConnection:
    """The segments of one connection (several may share an address/port pair)."""

    key: tuple[tuple[str, int], tuple[str, int]]
    reused: int
    segments: list[CapturedSegment] = field(default_factory=list)
    isn: dict[tuple[str, int], int] = field(default_factory=dict)  # socket -> seq of its SYN or SYN,ACK
    talked: set[tuple[str, int]] = field(default_factory=set)  # sockets that sent something but a RST

    def starts_anew(self, seg: CapturedSegment) -> bool:
        """Does this SYN open a new connection on the same pair?  Yes when its sender
        already opened this one with another initial sequence number, or was already
        talking in it without a SYN (a capture that began mid-connection)."""
        if "SYN" not in seg.flags or "ACK" in seg.flags:
            return False
        isn = self.isn.get(seg.src)
        return (isn is not None and isn != seg.seq) or (isn is None and seg.src in self.talked)

    def add(self, seg: CapturedSegment) -> None:
        self.segments.append(seg)
        if "SYN" in seg.flags:
            self.isn.setdefault(seg.src, seg.seq)
        elif "RST" not in seg.flags:
            self.talked.add(seg.src)

    def summary(self, number: int) -> ConnectionSummary:
        a, b = self.key
        return ConnectionSummary(a, b, len(self.segments), bool(self.isn), number, self.reused)


def split(segments: list[CapturedSegment]) -> list[CapturedConnection]:
    """The connections, in order of their first packet."""
    current: dict[Any, CapturedConnection] = {}
    found: list[CapturedConnection] = []
    for seg in segments:
        key = (seg.src, seg.dst) if seg.src <= seg.dst else (seg.dst, seg.src)
        connection = current.get(key)
        if connection is None or connection.starts_anew(seg):
            connection = CapturedConnection(key, 0 if connection is None else connection.reused + 1)
            current[key] = connection
            found.append(connection)
        connection.add(seg)
    return found


def connections(path: str | os.PathLike[str]) -> list[ConnectionSummary]:
    """The TCP connections in a capture, in order of first packet (numbered from 1).

    Two connections that use the same addresses and ports one after the other (a
    reused 4-tuple) are two entries."""
    return [c.summary(n) for n, c in enumerate(split(tcp_segments(check_file(path), Problems())), start=1)]


def _listing(found: list[tuple[int, CapturedConnection]], limit: int = 8) -> str:
    shown = "; ".join(f"#{n} {c.summary(n)}" for n, c in found[:limit])
    return shown + (f"; and {len(found) - limit:,} more" if len(found) > limit else "")


def choose(
    file: pathlib.Path, found: list[CapturedConnection], port: int | None, connection: int | None
) -> tuple[int, CapturedConnection]:
    """The connection numbered ``connection``, or the only one that uses ``port``, or
    the only one there is, with its number; otherwise a :class:`~tcpbook.capture.errors.CaptureError`
    that lists the candidates."""
    numbered = list(enumerate(found, start=1))
    if connection is not None:
        if connection > len(found):
            raise CaptureError(f"{file}: has {len(found)} TCP connection(s), no connection #{connection}: {_listing(numbered)}")
        chosen = numbered[connection - 1]
        if port is not None and port not in (chosen[1].key[0][1], chosen[1].key[1][1]):
            raise CaptureError(f"{file}: connection #{connection} does not use port {port}: {_listing([chosen])}")
        return chosen
    if port is not None:
        numbered = [(n, c) for n, c in numbered if port in (c.key[0][1], c.key[1][1])]
        if not numbered:
            raise CaptureError(f"{file}: no TCP connection uses port {port}; the capture holds: {_listing(list(enumerate(found, 1)))}")
    if len(numbered) > 1:
        raise CaptureError(
            f"{file}: holds {len(numbered)} TCP connections, pick one with port=… or connection=N: {_listing(numbered)}"
        )
    return numbered[0]
