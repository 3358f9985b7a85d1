"""Application data that is generated as it is sent, never held whole.

A scenario's client "sends a file" of ``bytes`` bytes.  Holding 200 MB in memory (and
copies of it in the send buffer, the receive buffer and the trace) would make the
simulator's memory grow with the payload.  A :class:`Payload` is instead a recipe —
``nbytes`` pseudo-random bytes from ``seed`` — that yields its bytes in chunks, as often
as asked, always the same.  The send buffer pulls from it as the window opens, digests
are computed while streaming, and only the bytes in flight are ever in memory.

>>> p = Payload(10, seed=1)
>>> bytes(p) == b"".join(p.chunks(4)) == payload(10, 1)
True
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

CHUNK = 1 << 16  # bytes generated at a time: a multiple of 4 (see Payload.chunks)


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

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The bytes in order, ``size`` at a time (the last chunk may be shorter).

        ``random.Random.randbytes`` consumes the generator 4 bytes at a time, so chunks
        of a multiple of 4 concatenate to exactly ``randbytes(nbytes)``.
        """
        size = max(4, size - size % 4)
        rng = random.Random(self.seed)
        left = self.nbytes
        while left > 0:
            n = min(size, left)
            yield rng.randbytes(n)
            left -= n

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks())

    def md5(self) -> str:
        """The MD5 of all the bytes, computed once by streaming them."""
        if self._md5 is None:
            h = hashlib.md5()
            for chunk in self.chunks():
                h.update(chunk)
            self._md5 = h.hexdigest()
        return self._md5


Data = bytes | bytearray | memoryview | Payload
"""What an application may hand to ``send()``: real bytes, or a :class:`Payload` recipe."""


def payload(nbytes: int, seed: int = 0) -> bytes:
    """``nbytes`` of deterministic pseudo-random data as real bytes (small amounts)."""
    return random.Random(seed).randbytes(nbytes)


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
