"""Application data that is generated as it is sent, never held whole.

A scenario's client "sends a file" of ``bytes`` bytes.  Holding 200 MB in memory (and
copies of it in the send buffer, the receive buffer and the trace) would make the
simulator's memory grow with the payload.  A :class:`Payload` is instead a recipe —
``nbytes`` pseudo-random bytes from ``seed`` — that yields its bytes in chunks, as often
as asked, always the same.  The send buffer pulls from it as the window opens, digests
are computed while streaming, and only the bytes in flight are ever in memory.

The bytes only have to *look* random to the receiver's checks (any byte lost, doubled or
out of place changes the MD5), not resist an attacker, and making them must cost less
than moving them through a simulated TCP.  So one 64 KiB block of ``random`` bytes is
drawn per seed, and block *i* of the stream is that block passed through a byte
permutation and a rotation that both depend on *i*: no two blocks alike, about twenty
times cheaper than drawing every byte.

>>> p = Payload(10, seed=1)
>>> bytes(p) == b"".join(p.chunks(4)) == payload(10, 1)
True
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from functools import lru_cache

BLOCK = 1 << 16  # bytes generated at a time
CHUNK = BLOCK


@lru_cache(maxsize=8)
def _base(seed: int) -> bytes:
    """The seed's one block of drawn bytes."""
    return random.Random(seed).randbytes(BLOCK)


def _block(seed: int, index: int) -> bytes:
    """Block ``index`` of the stream for ``seed``: the base block, each byte mapped
    through a permutation of 0..255 and the whole rotated, both drawn for this block."""
    draw = random.Random(seed * 1_000_003 + index).randbytes(258)
    order = sorted(range(256), key=draw.__getitem__)  # a permutation (ties keep index order)
    turned = _base(seed).translate(bytes(order))
    shift = int.from_bytes(draw[256:], "little")
    return turned[shift:] + turned[:shift]


class Payload:
    """``nbytes`` of deterministic pseudo-random data from ``seed``, produced on demand."""

    __slots__ = ("nbytes", "seed", "_md5")

    def __init__(self, nbytes: int, seed: int = 0) -> None:
        self.nbytes = nbytes
        self.seed = seed
        self._md5: str | None = None

    def __len__(self) -> int:
        return self.nbytes

    def __repr__(self) -> str:
        return f"Payload({self.nbytes}, seed={self.seed})"

    def blocks(self) -> Iterator[bytes]:
        """The bytes in order, one generated block at a time (the last may be shorter)."""
        left, index = self.nbytes, 0
        while left > 0:
            block = _block(self.seed, index)
            yield block if left >= BLOCK else block[:left]
            left -= BLOCK
            index += 1

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The bytes in order, ``size`` at a time (the last chunk may be shorter)."""
        if size == BLOCK:
            yield from self.blocks()
            return
        size = max(1, size)
        carry = b""
        for block in self.blocks():
            carry += block
            while len(carry) >= size:
                yield carry[:size]
                carry = carry[size:]
        if carry:
            yield carry

    def __bytes__(self) -> bytes:
        return b"".join(self.blocks())

    def md5(self) -> str:
        """The MD5 of all the bytes, computed once by streaming them."""
        if self._md5 is None:
            h = hashlib.md5()
            for block in self.blocks():
                h.update(block)
            self._md5 = h.hexdigest()
        return self._md5


Data = bytes | bytearray | memoryview | Payload
"""What an application may hand to ``send()``: real bytes, or a :class:`Payload` recipe."""


def payload(nbytes: int, seed: int = 0) -> bytes:
    """``nbytes`` of deterministic pseudo-random data as real bytes (small amounts): the
    same bytes as ``Payload(nbytes, seed)``."""
    return bytes(Payload(nbytes, seed))


class ByteStream:
    """A FIFO of application data: bytes appended at the tail, read from the head.

    The send buffer uses one to pull what it transmits from queued :class:`Payload`
    recipes and byte strings alike, materialising only what is asked for.
    """

    __slots__ = ("_pending", "_iter", "_carry", "_pos", "length")

    def __init__(self) -> None:
        self._pending: list[Data] = []
        self._iter: Iterator[bytes] | None = None
        self._carry = b""  # the current chunk, read from _pos on
        self._pos = 0
        self.length = 0  # bytes ever appended

    def append(self, data: Data) -> None:
        self._pending.append(data)
        self.length += len(data)

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer only when the stream runs dry)."""
        parts = []
        while n > 0:
            if self._pos < len(self._carry):
                piece = self._carry[self._pos : self._pos + n]
                self._pos += len(piece)
                parts.append(piece)
                n -= len(piece)
                continue
            if self._iter is None:
                if not self._pending:
                    break
                head = self._pending.pop(0)
                self._iter = head.chunks() if isinstance(head, Payload) else iter((bytes(head),))
            chunk = next(self._iter, None)
            if chunk is None:
                self._iter = None
                continue
            self._carry, self._pos = chunk, 0
        return parts[0] if len(parts) == 1 else b"".join(parts)
