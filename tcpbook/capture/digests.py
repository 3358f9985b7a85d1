"""The applications' bytes in a capture: how many each side sent and had acknowledged,
and the MD5 digests of the streams.

A simulated run knows what each application sent and received; a capture only shows
segments.  The bytes are counted from sequence numbers: ``bytes_sent`` is what a side
put on the wire, each byte once (retransmissions are not counted again);
``bytes_delivered`` is what the other side acknowledged.  :func:`capture_bytes` turns
them into the same application events and digests a simulated run ends with, so one
function, :func:`tcpbook.outcome.derive_outcome`, derives the outcome of both.

The digests are computed from the payload actually captured, in a second reading of
the file (memory then grows with the number of segments, not with the payload).  When
the capture did not keep every payload byte — tcpdump's ``-s`` snap length, packets
the capture missed — no digest is computed: the trace says the payload is partial
instead of claiming a mismatch.
"""

from __future__ import annotations

import hashlib
import heapq
import pathlib
from collections.abc import Iterator
from typing import Any

from ..events import AppEvent
from ..outcome import DIGEST_UNKNOWN
from ..vocabulary import AppAction
from .decode import CapturedSegment, Decoder
from .errors import Problems
from .files import records
from .sequence import Side

MAX_OUT_OF_ORDER = 64 * 2**20  # payload bytes buffered while hashing a stream that arrived out of order


class _CaptureDigests:
    """One side's digests, as :func:`tcpbook.outcome.derive_outcome` asks for them: of the
    stream it sent, and of the part of the peer's stream it acknowledged (``None``: the
    capture did not keep those bytes)."""

    def __init__(self, sent: str | None, delivered: str | None) -> None:
        self.sent, self.delivered = sent, delivered

    def digest_sent(self) -> str:
        return self.sent or DIGEST_UNKNOWN

    def digest_delivered(self) -> str:
        return self.delivered or DIGEST_UNKNOWN

    def digest_sent_to(self, peer: str) -> str | None:
        return self.sent

    def digest_delivered_from(self, peer: str) -> str | None:
        return self.delivered


def capture_bytes(
    file: pathlib.Path, segs: list[CapturedSegment], sides: dict[str, Side], problems: Problems, *, one_direction: bool
) -> tuple[list[AppEvent], dict[str, _CaptureDigests], dict[str, Any]]:
    """What the capture shows of the applications' bytes, as the events and digests
    :func:`tcpbook.outcome.derive_outcome` reads — the same function that ends a
    simulated run.  A capture sees no ``send()`` calls: each side's ``send`` event holds
    the data it put in sequence space (each byte once), its peer's ``data`` event what the
    peer acknowledged, both at the end of the capture and marked as inferred; a connection
    reset or refused gets its ``error`` event at the RST's time.  Digests are computed
    when the capture holds every byte.
    """
    delivered = {name: max(0, min(side.acked_by_peer - (1 if side.saw_syn else 0), side.stream_end)) for name, side in sides.items()}
    missed = _missed_space(sides, problems, one_direction=one_direction) + _holes(sides, problems, one_direction=one_direction)
    hashed, why = _stream_digests(file, segs, sides, delivered, missed)
    end = (segs[-1].time_ns - segs[0].time_ns) / 1e9
    events: list[AppEvent] = []
    for name, side in sides.items():
        if side.error:
            events.append(AppEvent(side.error_at, name, side.peer, AppAction.ERROR, 0, side.error))
        if side.stream_end:
            events.append(AppEvent(end, name, side.peer, AppAction.SEND, side.stream_end, "inferred from the capture"))
        if delivered[side.peer]:
            events.append(AppEvent(end, name, side.peer, AppAction.DATA, delivered[side.peer], "acknowledged, inferred from the capture"))
    digests = {
        name: _CaptureDigests(hashed[name][0] if name in hashed else None, hashed[side.peer][1] if side.peer in hashed else None)
        for name, side in sides.items()
    }
    stats: dict[str, Any] = {"digests": "computed from the captured payload" if not why else "not computed: " + why}
    if why:
        problems.warn(f"the payload is partial ({why}): MD5 digests not computed")
    return events, digests, stats


def _missed_space(sides: dict[str, Side], problems: Problems, *, one_direction: bool) -> list[str]:
    """Sequence space a side sent (its own later sequence numbers show it, or the peer
    acknowledged it) but the capture never showed: packets the capture missed
    (tcpdump's "packets dropped by kernel").  Each is a warning; the returned reasons
    stop the digests."""
    missed: list[str] = []
    for name, side in sides.items():
        unseen = max(side.acked_by_peer, side.high) - side.space_end
        if unseen <= 0 or not side.space_end or one_direction:
            continue
        if unseen == 1 and side.fin_rel is None:
            problems.warn(f"the capture missed the {name}'s FIN (the sequence numbers show it was sent)")
            continue
        problems.warn(
            f"the capture missed packets: {unseen:,} byte(s) of sequence space the {name} sent were never captured "
            "(its later sequence numbers, or the peer's ACKs, show them); counts are of what was captured"
        )
        missed.append(f"bytes the {name} sent are missing from the capture")
    return missed


def _holes(sides: dict[str, Side], problems: Problems, *, one_direction: bool) -> list[str]:
    """A hole inside a side's stream: data before its last captured byte that no captured
    segment carries (a packet the capture missed between two it kept).  Judged by the
    lengths on the wire, so a capture cut short by its snap length is judged too.  Each
    is a warning; the returned reasons stop the digests."""
    missed: list[str] = []
    for name, side in sides.items():
        hole = _hole_bytes(side.wire, side.stream_end)
        if hole and not one_direction:
            problems.warn(
                f"the capture missed packets: {hole:,} byte(s) of data the {name} sent before its last captured byte "
                "were never captured; counts are of what was captured"
            )
            missed.append(f"bytes the {name} sent are missing from the capture")
    return missed


def _hole_bytes(wire: list[tuple[int, int]], length: int) -> int:
    """How many bytes of [0, length) no (offset, size) piece covers.

    >>> _hole_bytes([(0, 100), (200, 50)], 250)
    100
    """
    missing = position = 0
    for offset, size in sorted(wire):
        if offset > position:
            missing += offset - position
        position = max(position, offset + size)
    return missing + max(0, length - position)


def _stream_digests(
    file: pathlib.Path, segs: list[CapturedSegment], sides: dict[str, Side], delivered: dict[str, int], missed: list[str]
) -> tuple[dict[str, tuple[str, str]], str]:
    """MD5 of each side's stream (all of it, and the part the peer acknowledged), from a
    second reading of the file.  When the capture did not keep every byte, no digest is
    computed and the reason is returned instead."""
    reasons: list[str] = list(missed)
    clipped = sum(1 for s in segs if s.captured_len < s.payload_len)
    if clipped:
        reasons.append(f"{clipped} packet(s) cut short by the capture's snap length")
    for name, side in sides.items():
        if not clipped and not missed and not _covers(side.pieces, side.stream_end):
            reasons.append(f"bytes the {name} sent are missing from the capture")
    if reasons:
        return {}, "; ".join(reasons)
    wanted = {packet: (name, offset) for name, side in sides.items() for offset, _, packet in side.pieces}
    hashers = {name: _StreamHasher(side.stream_end, delivered[name]) for name, side in sides.items()}
    for packet, payload in _payloads(file):
        where = wanted.get(packet)
        if where is not None and not hashers[where[0]].add(where[1], payload):
            return {}, "the stream arrived too far out of order to hash within the memory bound"
    out = {}
    for name, hasher in hashers.items():
        result = hasher.result()
        if result is None:
            return {}, "the file gave other bytes when read a second time"
        out[name] = result
    return out, ""


def _covers(pieces: list[tuple[int, int, int]], length: int) -> bool:
    """Do the captured pieces (offset, captured bytes, packet) hold every byte of [0, length)?"""
    position = 0
    for offset, size, _ in sorted(pieces):
        if offset > position:
            return False
        position = max(position, offset + size)
        if position >= length:
            return True
    return position >= length


def _payloads(file: pathlib.Path) -> Iterator[tuple[int, memoryview | bytes]]:
    """(packet number, captured TCP payload) of every segment, reading the file again."""
    decoder = Decoder(Problems(), keep_payload=True)
    for record in records(file, Problems()):
        segment = decoder.decode(record)
        if segment is not None:
            yield segment.packet, decoder.payload


class _StreamHasher:
    """MD5 of one byte stream fed in pieces in any order (first copy of a byte wins):
    the whole stream, and its first ``delivered`` bytes.  Pieces ahead of the contiguous
    part wait in a heap; at most :data:`MAX_OUT_OF_ORDER` bytes of them."""

    def __init__(self, length: int, delivered: int) -> None:
        self.length = length
        self.delivered = delivered
        self.position = 0
        self.md5 = hashlib.md5()
        self.delivered_md5 = hashlib.md5() if delivered == 0 else None
        self.waiting: list[tuple[int, int, bytes]] = []
        self.waiting_bytes = 0
        self.order = 0

    def add(self, offset: int, data: memoryview | bytes) -> bool:
        if offset > self.position:
            self.order += 1
            heapq.heappush(self.waiting, (offset, self.order, bytes(data)))
            self.waiting_bytes += len(data)
            return self.waiting_bytes <= MAX_OUT_OF_ORDER
        self._take(offset, data)
        while self.waiting and self.waiting[0][0] <= self.position:
            start, _, piece = heapq.heappop(self.waiting)
            self.waiting_bytes -= len(piece)
            self._take(start, piece)
        return True

    def _take(self, offset: int, data: memoryview | bytes) -> None:
        new = data[self.position - offset : self.length - offset]
        if not len(new):
            return
        if self.delivered_md5 is None and self.position + len(new) >= self.delivered:
            cut = self.delivered - self.position
            self.md5.update(new[:cut])
            self.delivered_md5 = self.md5.copy()
            self.md5.update(new[cut:])
        else:
            self.md5.update(new)
        self.position += len(new)

    def result(self) -> tuple[str, str] | None:
        if self.position < self.length or self.delivered_md5 is None:
            return None
        return self.md5.hexdigest(), self.delivered_md5.hexdigest()
