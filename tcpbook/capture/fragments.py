"""IP fragments put back together (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6).

A datagram larger than a link can carry travels in *fragments*: each holds a slice of
the datagram's payload, its offset (a multiple of 8 bytes), and a "more fragments" bit
that is clear only on the last one.  Fragments of one datagram share the sender, the
receiver, the protocol and an identification number; they may arrive in any order, and
some may never arrive.  A TCP segment inside a fragmented datagram can only be read
once every slice is in.

:class:`Reassembler` keeps the slices of each incomplete datagram and hands back the
whole payload as soon as the slices cover it.  Memory is bounded: when incomplete
datagrams hold more than ``MAX_FRAGMENT_BYTES`` (64 MiB), incomplete ones are given up (the
most recently begun first), and what is given up or malformed is counted as a warning,
never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Problems

MAX_FRAGMENT_BYTES = 64 * 2**20  # incomplete fragmented datagrams held at once


@dataclass(slots=True)
class _Datagram:
    """The fragments of one datagram received so far."""

    pieces: dict[int, bytes] = field(default_factory=dict)  # offset -> bytes
    total: int | None = None  # the payload's length, known once the last fragment is in
    proto: int = -1  # IPv6: the next header named by the first fragment
    size: int = 0  # bytes held in ``pieces``


class Reassembler:
    """Incomplete fragmented datagrams, by key; :meth:`add` one fragment at a time."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.fragments: dict[tuple[Any, ...], _Datagram] = {}
        self.held_bytes = 0

    def add(
        self,
        key: tuple[Any, ...],
        data: bytes,
        start: int,
        end: int,
        offset: int,
        more: bool,
        number: int,
        proto: int = -1,
    ) -> bytes | None:
        """Add the fragment ``data[start:end]`` at ``offset`` (packet ``number``); return
        the whole datagram's payload once every piece is in (for IPv6, prefixed with the
        next-header byte of the first fragment), else None."""
        if end > len(data):
            self.problems.count("were fragments cut short by the snap length (not reassembled)", number)
            return None
        piece = bytes(data[start:end])
        if (more and len(piece) % 8) or offset + len(piece) > 65535 + 8:
            self.problems.count("were malformed IP fragments (skipped)", number)
            return None
        datagram = self._store(key, piece, offset, number)
        if datagram is None:
            return None
        if offset == 0:
            datagram.proto = proto
        if not more:
            datagram.total = offset + len(piece)
        if datagram.total is None:
            return None
        whole = _tiled(datagram.pieces, datagram.total)
        if whole is None:
            return None
        del self.fragments[key]
        self.held_bytes -= datagram.size
        return bytes([datagram.proto & 0xFF]) + whole if key[0] == "6" else whole

    def _store(self, key: tuple[Any, ...], piece: bytes, offset: int, number: int) -> _Datagram | None:
        """Keep ``piece`` with its datagram's other pieces.  A new datagram first makes
        room under the memory bound; a piece that overlaps an earlier copy of itself with
        other bytes spoils the whole datagram (which copy would the receiver keep?)."""
        datagram = self.fragments.get(key)
        if datagram is None:
            while self.held_bytes + len(piece) > MAX_FRAGMENT_BYTES and self.fragments:
                _, old = self.fragments.popitem()
                self.held_bytes -= old.size
                self.problems.count("belonged to fragmented datagrams dropped to bound memory", number)
            datagram = self.fragments[key] = _Datagram()
        pieces = datagram.pieces
        if offset in pieces and pieces[offset] != piece:
            self.problems.count("were overlapping IP fragments with different bytes (datagram dropped)", number)
            self.held_bytes -= datagram.size
            del self.fragments[key]
            return None
        if offset not in pieces:
            pieces[offset] = piece
            datagram.size += len(piece)
            self.held_bytes += len(piece)
        return datagram


def _tiled(pieces: dict[int, bytes], total: int) -> bytes | None:
    """The bytes [0, total) when the pieces tile them, else None (linear in the pieces)."""
    position = 0
    out = bytearray()
    for start_at in sorted(pieces):
        if start_at > position:
            return None
        out += pieces[start_at][position - start_at :]
        position = max(position, start_at + len(pieces[start_at]))
    if position < total:
        return None
    return bytes(out[:total])
