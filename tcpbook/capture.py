"""Load a capture of a real TCP connection (pcap or pcapng) into a :class:`~tcpbook.trace.Trace`.

A capture file records packets, not states: tcpdump cannot see that a socket moved
from FIN-WAIT-1 to FIN-WAIT-2.  :func:`read_capture` *infers* the states the way a
learner would with the state diagram in hand: it replays the captured segments, in
order, through the arcs of :data:`tcpbook.table.TRANSITIONS`.

* The side that sends the first SYN is the ``client`` (CLOSED --active OPEN--> SYN-SENT);
  the other is the ``server``.  If the server ever answers with a SYN,ACK it must have
  been listening, so it starts in LISTEN.  A socket connected to its own address and
  port (a *self-connect*: TCP's simultaneous open with itself) is one endpoint,
  ``self``, that sends every segment to itself.
* What a side *sends* reveals its own moves: its first FIN means the application
  called close() (``CLOSE``); a retransmitted SYN, SYN,ACK or FIN is a ``timeout``
  self-loop; a RST from a synchronized state is an ``ABORT``.
* What a side *receives* moves it along the diagram: ``rcv SYN``, ``rcv SYN,ACK``,
  ``rcv ACK of SYN``, ``rcv FIN``, ``rcv ACK of FIN``, ``rcv FIN,ACK of FIN``,
  ``rcv RST``…

A capture is taken at one place, so a segment it shows may still have been lost
further on.  The peer's behaviour tells: a segment that uses sequence space (SYN, FIN,
data) and is never acknowledged before it is sent again was lost; a pure ACK of a FIN
(or of a SYN) that is followed by a retransmission of that FIN (or SYN,ACK) was lost.
Such segments are marked ``dropped`` with ``drop_reason`` starting with
``"inferred"`` and have no effect on the receiver.  Timers are invisible: a capture never
shows TIME-WAIT ending or connect() giving up, so those arcs are not drawn.  A capture
of one direction only (a filter such as ``dst port 80``, asymmetric routing) has no
answers to judge by: nothing is inferred lost, and a warning says so.

Times are relative to the first packet of the connection.  Byte counts come from
sequence numbers (``bytes_sent`` is what a side put on the wire, each byte once;
``bytes_delivered`` what the other side acknowledged); MD5 digests from the payload
actually captured.  When the capture did not keep every payload byte (tcpdump's
``-s`` snap length, packets the capture missed) the digests are not computed: the
trace says the payload is partial instead of claiming a mismatch.

**What the reader understands.**  Classic pcap (micro- and nanosecond, either byte
order, Kuznetzov's modified pcap), pcapng (several sections, several interfaces with
their own link type and time resolution), both gzip-compressed or not.  Link types:
Ethernet (with 802.1Q/802.1ad VLAN tags, MPLS, PPPoE), Linux "cooked" captures SLL and
SLL2 (``tcpdump -i any``), raw IPv4/IPv6, BSD loopback.  IPv4 with options and IPv6
with extension headers (hop-by-hop, routing, destination options, AH, jumbograms);
IPv4 and IPv6 fragments are reassembled; tunnels (IP-in-IP, 6in4, 4in6, GRE, VXLAN,
Geneve) are opened and the inner connection is the one shown.  Frames larger than
65,535 bytes (loopback, GSO) are read whole.  TCP Fast Open data on the SYN counts
as data.  Several connections one after another on one address/port pair are
separate connections.

**What it refuses**, always with one :class:`CaptureError` sentence and never a
traceback: a missing file, a file that is not a capture, a corrupt one, one without a
TCP connection, or with several when neither ``port`` nor ``connection`` picks one.
A file that simply ends inside a packet (tcpdump killed while writing) is read up to
there, with a warning.  Problems that do not stop the reading — packets of a link type
it does not know, encrypted (ESP) packets, fragments that never completed — become
warnings: ``trace.params["warnings"]``, a note at the start of the trace, and a
:class:`CaptureWarning` through ``warnings``.

The reader decodes the headers itself with ``struct`` rather than with Scapy:
Scapy takes about 300 µs to dissect one packet (a minute for a 200 MB capture) where
reading the dozen fields TCP's state machine needs takes a few; Scapy remains the
reference the tests compare every decoded field with.  Every step is linear in the
size of the file, and memory grows with the number of segments, not with the payload:
payload bytes are read a second time, from the file, to compute the digests.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import heapq
import os
import pathlib
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, BinaryIO

from .errors import ParameterError, TcpbookError
from .outcome import DIGEST_UNKNOWN, derive_outcome
from .table import State, find_arc
from .trace import AppEvent, Event, NoteEvent, SegmentEvent, StateEvent, Trace
from .vocabulary import AppAction, NoteKind

SEQ_SPACE = 2**32
MAX_WINDOW = 2**30  # the largest window TCP can advertise (65535 << 14): no sender jumps further
MAX_RECORD = 16 * 2**20  # bytes in one captured packet; real ones are at most 512 KiB (BIG TCP)
MAX_SEGMENTS = 5_000_000  # TCP segments per capture: bounds memory (a few GB of trace) by construction
MAX_ENCAPSULATION = 8  # tunnels inside tunnels, at most
MAX_FRAGMENT_BYTES = 64 * 2**20  # incomplete fragmented datagrams held at once
MAX_OUT_OF_ORDER = 64 * 2**20  # payload bytes buffered while hashing a stream that arrived out of order
# DIGEST_UNKNOWN (from tcpbook.outcome): the md5 fields when the capture did not keep the whole payload
SELF = "self"  # the one endpoint of a socket connected to itself

_FLAG_BITS = ((0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR"))
_FLAGS = [tuple(name for bit, name in _FLAG_BITS if byte & bit) for byte in range(256)]  # shared tuples: less memory


class CaptureError(TcpbookError, ValueError):
    """The file cannot be read as a capture of one TCP connection; the message says why."""


class CaptureWarning(UserWarning):
    """The capture was read, but something in it could not be used or is incomplete."""


@dataclass(frozen=True, slots=True)
class CapturedSegment:
    """One TCP segment as decoded from a capture (absolute sequence numbers).

    ``packet`` is the packet's number in the file, counting from 1 as Wireshark does
    (for a reassembled fragmented datagram, the number of its last fragment).
    ``payload_len`` comes from the IP header, so it is right even when the capture cut
    the payload short; ``captured_len`` is how many payload bytes the file holds.
    """

    packet: int
    time_ns: int  # nanoseconds since the epoch, as recorded by the capture
    src: tuple[str, int]  # (address, port)
    dst: tuple[str, int]
    flags: tuple[str, ...]
    seq: int
    ack: int
    window: int
    payload_len: int
    captured_len: int
    options: tuple[tuple[str, Any], ...] = ()  # kept for SYNs only: the rest is not used

    @property
    def time(self) -> Decimal:
        """Seconds since the epoch, exactly."""
        return Decimal(self.time_ns) / 1_000_000_000

    @property
    def payload_complete(self) -> bool:
        return self.captured_len == self.payload_len

    @property
    def mss(self) -> int | None:
        for name, value in self.options:
            if name == "MSS":
                return int(value)
        return None


@dataclass(frozen=True)
class ConnectionSummary:
    """One TCP connection found in a capture: its two sockets, how many packets, and its
    number (from 1, in order of first packet) for :func:`read_capture`'s ``connection``."""

    a: tuple[str, int]
    b: tuple[str, int]
    packets: int
    has_syn: bool
    number: int = 1
    reused: int = 0  # how many connections on the same address/port pair came before it

    def __str__(self) -> str:
        again = f", again #{self.reused + 1} on this pair" if self.reused else ""
        return f"{_fmt(self.a)} <-> {_fmt(self.b)} ({self.packets} packets{'' if self.has_syn else ', no SYN'}{again})"


def _fmt(sock: tuple[str, int]) -> str:
    address, port = sock
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class _Problems:
    """What went wrong without stopping the reading; each kind becomes one warning."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first: dict[str, int] = {}  # kind -> first packet number
        self.messages: list[str] = []  # one-off warnings, in order

    def count(self, kind: str, packet: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.first.setdefault(kind, packet)

    def warn(self, message: str) -> None:
        self.messages.append(message)

    def lines(self) -> list[str]:
        out = list(self.messages)
        for kind, n in self.counts.items():
            out.append(f"{n} packet{'s' if n != 1 else ''} {kind} (first: packet {self.first[kind]})")
        return out


# -- the file: pcap and pcapng records ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Record:
    """One packet record of the file."""

    number: int  # 1-based
    time_ns: int
    linktype: int
    data: bytes  # the captured bytes (without a trailing Ethernet FCS)
    wirelen: int  # the packet's length on the wire (without FCS)


_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000, 16),  # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1000, 16),
    b"\x4d\x3c\xb2\xa1": ("<", 1, 16),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1, 16),
    b"\x34\xcd\xb2\xa1": ("<", 1000, 24),  # Kuznetzov's modified pcap: 8 more bytes per record
    b"\xa1\xb2\xcd\x34": (">", 1000, 24),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_COMPRESSED = {b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4", b"BZh": "bzip2", b"\xfd7zXZ": "xz"}


def _open(file: pathlib.Path) -> BinaryIO:
    """The file's bytes, decompressed when gzip'ed (Wireshark writes .pcapng.gz)."""
    try:
        raw = open(file, "rb")  # noqa: SIM115  (closed by the caller)
        head = raw.read(6)
        raw.seek(0)
    except OSError as exc:
        raise CaptureError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            raw.close()
            raise CaptureError(f"{file}: compressed with {name}; decompress it first (tcpbook reads pcap, pcapng and gzip)")
    return raw


def _records(file: pathlib.Path, problems: _Problems) -> Iterator[_Record]:
    """Every packet record of a pcap or pcapng file, in file order."""
    stream = _open(file)
    try:
        try:
            magic = stream.read(4)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(f"{file}: cannot be read as a capture file ({exc})") from None
        if magic in _PCAP_MAGICS:
            yield from _pcap_records(file, stream, magic, problems)
        elif magic == _PCAPNG_MAGIC:
            yield from _pcapng_records(file, stream, problems)
        elif len(magic) < 4:
            raise CaptureError(f"{file}: not a pcap or pcapng capture file (only {len(magic)} bytes)")
        else:
            raise CaptureError(f"{file}: not a pcap or pcapng capture file (it starts with {magic.hex()})")
    except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream
        raise CaptureError(f"{file}: cannot be read ({exc})") from None
    finally:
        stream.close()


def _cut_short(problems: _Problems, count: int, have: int, want: int) -> None:
    problems.warn(
        f"the file ends inside packet {count + 1} ({have} of {want} bytes; tcpdump still writing, or killed?): "
        f"read up to packet {count}"
    )


def _pcap_records(file: pathlib.Path, f: BinaryIO, magic: bytes, problems: _Problems) -> Iterator[_Record]:
    endian, ns_per_tick, header_size = _PCAP_MAGICS[magic]
    header = f.read(20)
    if len(header) < 20:
        raise CaptureError(f"{file}: not a pcap or pcapng capture file (its 24-byte header is cut short)")
    major, _minor, _zone, _sigfigs, snaplen, link_field = struct.unpack(endian + "HHiIII", header)
    if major != 2:
        raise CaptureError(f"{file}: pcap version {major} is not supported (only version 2 exists)")
    linktype = link_field & 0x03FF_FFFF
    # Bits 26-31 of the link-type field: the frames end with an FCS of this many 16-bit words.
    fcs = ((link_field >> 28) & 0xF) * 2 if link_field & 0x0400_0000 else 0
    record = struct.Struct(endian + "IIII")
    count = 0
    while True:
        head = f.read(header_size)
        if not head:
            return
        if len(head) < header_size:
            _cut_short(problems, count, len(head), header_size)
            return
        sec, frac, caplen, wirelen = record.unpack_from(head)
        if caplen > MAX_RECORD:
            raise CaptureError(
                f"{file}: corrupt: packet {count + 1} claims {caplen} bytes (more than {MAX_RECORD}; snap length {snaplen})"
            )
        data = f.read(caplen)
        if len(data) < caplen:
            _cut_short(problems, count, len(data), caplen)
            return
        count += 1
        wirelen = max(wirelen, caplen)
        if fcs and wirelen == caplen and caplen >= fcs:
            data, wirelen = data[:-fcs], wirelen - fcs
        elif fcs:
            wirelen -= fcs
        yield _Record(count, sec * 1_000_000_000 + frac * ns_per_tick, linktype, data, wirelen)


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    resolution: int = 6  # pcapng's if_tsresol byte: 10^-6 s by default
    offset_s: int = 0  # if_tsoffset
    fcs: int = 0  # if_fcslen

    def time_ns(self, ticks: int) -> int:
        exponent = self.resolution & 0x7F
        if self.resolution & 0x80:  # a power of two
            ns = (ticks * 1_000_000_000) >> exponent
        elif exponent <= 9:
            ns = ticks * 10 ** (9 - exponent)
        else:
            ns = ticks // 10 ** (exponent - 9)
        return ns + self.offset_s * 1_000_000_000


def _pcapng_options(body: bytes, start: int, endian: str) -> Iterator[tuple[int, bytes]]:
    """The (code, value) options of a pcapng block body from ``start``; stops at the end
    of the body or at opt_endofopt, ignores an option that overruns the body."""
    position = len(body) if start > len(body) else start
    while position + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, position)
        if code == 0:
            return
        value = body[position + 4 : position + 4 + length]
        if len(value) < length:
            return
        yield code, value
        position += 4 + length + (-length % 4)


def _pcapng_records(file: pathlib.Path, f: BinaryIO, problems: _Problems) -> Iterator[_Record]:
    """pcapng: sections (each with its byte order and its own interfaces) of blocks."""
    endian = "<"
    interfaces: list[_Interface] = []
    count = 0
    block_type = 0x0A0D0D0A  # the magic we already read
    first = True
    while True:
        if first:
            first = False
        else:
            head = f.read(4)
            if not head:
                return
            if len(head) < 4:
                _cut_short(problems, count, len(head), 4)
                return
            block_type = struct.unpack(endian + "I", head)[0]
        if block_type == 0x0A0D0D0A:
            # A Section Header Block: its byte-order magic decides how to read the rest,
            # including its own length; the interfaces of the previous section end here.
            head = f.read(8)
            if len(head) < 8:
                if count == 0:
                    raise CaptureError(f"{file}: not a pcap or pcapng capture file (its section header is cut short)")
                _cut_short(problems, count, len(head), 8)
                return
            if head[4:8] == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif head[4:8] == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise CaptureError(f"{file}: corrupt: a pcapng section header with byte-order magic {head[4:8].hex()}")
            length = struct.unpack(endian + "I", head[:4])[0]
            rest = _block_body(file, f, length, 12, endian, problems, count)
            if rest is None:
                return
            if len(rest) < 2 or struct.unpack_from(endian + "H", rest)[0] != 1:
                raise CaptureError(f"{file}: pcapng version {rest[:2].hex()} is not supported (only version 1)")
            interfaces = []
            continue
        head = f.read(4)
        if len(head) < 4:
            _cut_short(problems, count, len(head), 4)
            return
        length = struct.unpack(endian + "I", head)[0]
        body = _block_body(file, f, length, 8, endian, problems, count)
        if body is None:
            return
        if block_type == 1:  # Interface Description Block
            if len(body) < 8:
                raise CaptureError(f"{file}: corrupt: an interface description of {len(body)} bytes")
            linktype, snaplen = struct.unpack_from(endian + "HxxI", body)
            interface = _Interface(linktype, snaplen)
            for code, value in _pcapng_options(body, 8, endian):
                if code == 9 and len(value) == 1:
                    interface.resolution = value[0]
                elif code == 14 and len(value) == 8:
                    interface.offset_s = struct.unpack(endian + "q", value)[0]
                elif code == 13 and len(value) == 1:
                    interface.fcs = value[0]
            interfaces.append(interface)
        elif block_type in (6, 2):  # Enhanced Packet Block, (obsolete) Packet Block
            if block_type == 6:
                if len(body) < 20:
                    raise CaptureError(f"{file}: corrupt: packet {count + 1} is a block of {len(body)} bytes")
                interface_id, high, low, caplen, wirelen = struct.unpack_from(endian + "5I", body)
            else:
                if len(body) < 20:
                    raise CaptureError(f"{file}: corrupt: packet {count + 1} is a block of {len(body)} bytes")
                interface_id, _drops, high, low, caplen, wirelen = struct.unpack_from(endian + "HH4I", body)
            count += 1
            if caplen > len(body) - 20:
                raise CaptureError(
                    f"{file}: corrupt: packet {count} claims {caplen} bytes in a block that holds {len(body) - 20}"
                )
            if interface_id >= len(interfaces):
                raise CaptureError(
                    f"{file}: corrupt: packet {count} names interface {interface_id}, "
                    f"but its section describes {len(interfaces)}"
                )
            interface = interfaces[interface_id]
            data = body[20 : 20 + caplen]
            wirelen = max(wirelen, caplen)
            if interface.fcs:
                if wirelen == caplen and caplen >= interface.fcs:
                    data = data[: -interface.fcs]
                wirelen = max(wirelen - interface.fcs, len(data))
            yield _Record(count, interface.time_ns((high << 32) | low), interface.linktype, data, wirelen)
        elif block_type == 3:  # Simple Packet Block: no timestamp, nothing to put on a time axis
            count += 1
            problems.count("without a timestamp (pcapng simple packet blocks) were skipped", count)
        # every other block (name resolution, statistics, custom, ...) says nothing about TCP


def _block_body(
    file: pathlib.Path, f: BinaryIO, length: int, read: int, endian: str, problems: _Problems, count: int
) -> bytes | None:
    """The body of a pcapng block of total ``length`` after its first ``read`` bytes;
    None when the file ends inside it (a warning), CaptureError when it is corrupt."""
    if length < 12 or length % 4:
        raise CaptureError(f"{file}: corrupt: a pcapng block of length {length} after packet {count}")
    if length > MAX_RECORD + 4096:
        raise CaptureError(f"{file}: corrupt: a pcapng block of {length} bytes after packet {count}")
    body = f.read(length - read - 4)
    tail = f.read(4)
    if len(body) < length - read - 4 or len(tail) < 4:
        _cut_short(problems, count, read + len(body) + len(tail), length)
        return None
    if struct.unpack(endian + "I", tail)[0] != length:
        raise CaptureError(f"{file}: corrupt: a pcapng block after packet {count} ends with a different length")
    return body


# -- frames to TCP segments -----------------------------------------------------------

# Link types (https://www.tcpdump.org/linktypes.html) and how to find the IP datagram.
LINK_TYPES = {
    0: "BSD loopback (NULL)",
    1: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    101: "raw IP",
    108: "OpenBSD loopback",
    113: "Linux cooked (SLL)",
    228: "raw IPv4",
    229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)",
}
_AF_INET6 = {10, 24, 28, 30}  # AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS


class _Decoder:
    """Frames → TCP segments: link layer, IP (options, extension headers, fragments,
    tunnels), TCP.  Anything that is not a TCP segment is counted, not raised."""

    def __init__(self, problems: _Problems, *, keep_payload: bool = False) -> None:
        self.problems = problems
        self.keep_payload = keep_payload
        self.payload: memoryview | bytes = b""  # the last segment's captured payload (keep_payload)
        # incomplete fragmented datagrams: key -> [first time, fragments {offset: bytes}, total length or None, bytes]
        self.fragments: dict[tuple[Any, ...], list[Any]] = {}
        self.fragment_bytes = 0
        self.record: _Record | None = None

    # The link layer --------------------------------------------------------------

    def decode(self, record: _Record) -> CapturedSegment | None:
        self.record = record
        data, linktype = record.data, record.linktype
        # the frame's end on the wire, relative to the captured bytes: tells whether the
        # capture clipped it, and the length of a datagram whose header says 0 (GSO)
        wire_end = record.wirelen
        if linktype == 1:
            return self._ethernet(data, 0, wire_end, 0)
        if linktype in (101, 12, 14, 228, 229):
            return self._ip_by_version(data, 0, wire_end, 0)
        if linktype in (0, 108):
            if len(data) < 4:
                return self._skip("too short for a loopback header", record)
            family = struct.unpack_from("<I" if linktype == 0 else ">I", data)[0]
            if linktype == 0 and family > 0xFFFF:  # written in the other byte order
                family = struct.unpack_from(">I", data)[0]
            if family == 2:
                return self._ipv4(data, 4, wire_end, 0)
            if family in _AF_INET6:
                return self._ipv6(data, 4, wire_end, 0)
            return self._skip("not IP", record)
        if linktype == 113:  # Linux cooked v1: the protocol is the last 2 of 16 bytes
            if len(data) < 16:
                return self._skip("too short for a Linux cooked header", record)
            return self._ethertype(struct.unpack_from(">H", data, 14)[0], data, 16, wire_end, 0)
        if linktype == 276:  # Linux cooked v2: the protocol comes first, the header has 20 bytes
            if len(data) < 20:
                return self._skip("too short for a Linux cooked v2 header", record)
            return self._ethertype(struct.unpack_from(">H", data, 0)[0], data, 20, wire_end, 0)
        name = LINK_TYPES.get(linktype, f"link type {linktype}")
        self.problems.count(f"of {name}, which tcpbook does not read, were skipped", record.number)
        return None

    def _skip(self, why: str, record: _Record | None = None) -> None:
        self.problems.count(f"were not TCP/IP ({why})", (record or self.record).number)  # type: ignore[union-attr]
        return None

    def _ethernet(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) < at + 14:
            return self._skip("too short for an Ethernet header")
        return self._ethertype(struct.unpack_from(">H", data, at + 12)[0], data, at + 14, wire_end, depth)

    def _ethertype(self, kind: int, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        for _ in range(MAX_ENCAPSULATION):
            if kind in (0x8100, 0x88A8, 0x9100):  # VLAN tags: 2 bytes of tag, then the real type
                if len(data) < at + 4:
                    return self._skip("cut inside a VLAN tag")
                kind = struct.unpack_from(">H", data, at + 2)[0]
                at += 4
            elif kind == 0x0800:
                return self._ipv4(data, at, wire_end, depth)
            elif kind == 0x86DD:
                return self._ipv6(data, at, wire_end, depth)
            elif kind in (0x8847, 0x8848):  # MPLS: labels until bottom-of-stack, then IP
                for _ in range(16):
                    if len(data) < at + 4:
                        return self._skip("cut inside an MPLS label")
                    bottom = data[at + 2] & 1
                    at += 4
                    if bottom:
                        return self._ip_by_version(data, at, wire_end, depth)
                return self._skip("MPLS label stack too deep")
            elif kind == 0x8864:  # PPPoE session: 6 bytes, then a PPP protocol number
                if len(data) < at + 8:
                    return self._skip("cut inside a PPPoE header")
                ppp = struct.unpack_from(">H", data, at + 6)[0]
                at += 8
                kind = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp, -1)
            elif kind == 0x6558:  # transparent Ethernet bridging (GRE): a whole frame inside
                return self._ethernet(data, at, wire_end, depth + 1)
            else:
                return self._skip(f"EtherType 0x{kind:04x}" if kind >= 0x600 else "802.3 frame")
        return self._skip("too many VLAN tags")

    def _ip_by_version(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) <= at:
            return self._skip("empty IP datagram")
        version = data[at] >> 4
        if version == 4:
            return self._ipv4(data, at, wire_end, depth)
        if version == 6:
            return self._ipv6(data, at, wire_end, depth)
        return self._skip(f"IP version {version}")

    # IPv4 and IPv6 ------------------------------------------------------------------

    def _ipv4(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) < at + 20:
            return self._skip("too short for an IPv4 header")
        first, _tos, total, ident, frag, _ttl, proto = struct.unpack_from(">BBHHHBB", data, at)
        header = (first & 0xF) * 4
        if first >> 4 != 4 or header < 20:
            return self._skip("a broken IPv4 header")
        if len(data) < at + header:
            return self._skip("too short for its IPv4 header")
        if total == 0 and wire_end - at > 65535:
            total = wire_end - at  # a GSO super-packet (BIG TCP): the length does not fit 16 bits
        if total < header:
            return self._skip("an IPv4 total length shorter than its header")
        src, dst = _ipv4_text(data[at + 12 : at + 16]), _ipv4_text(data[at + 16 : at + 20])
        end = at + total  # the datagram's end, which may lie beyond the captured bytes
        offset = (frag & 0x1FFF) * 8
        if frag & 0x2000 or offset:
            whole = self._reassemble(("4", src, dst, proto, ident), data, at + header, end, offset, bool(frag & 0x2000))
            if whole is None:
                return None
            return self._transport(proto, whole, 0, len(whole), len(whole), src, dst, depth)
        return self._transport(proto, data, at + header, end, wire_end, src, dst, depth)

    def _ipv6(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) < at + 40:
            return self._skip("too short for an IPv6 header")
        if data[at] >> 4 != 6:
            return self._skip("a broken IPv6 header")
        length, proto = struct.unpack_from(">HB", data, at + 4)
        src, dst = _ipv6_text(data[at + 8 : at + 24]), _ipv6_text(data[at + 24 : at + 40])
        end = at + 40 + length
        position = at + 40
        fragment: tuple[int, bool, int] | None = None
        for _ in range(16):  # extension headers, each naming the next one
            if proto in (0, 43, 60, 135, 139, 140):  # hop-by-hop, routing, destination, mobility, HIP, shim6
                if len(data) < position + 8:
                    return self._skip("cut inside an IPv6 extension header")
                following, size = data[position], (data[position + 1] + 1) * 8
                if len(data) < position + size:
                    return self._skip("cut inside an IPv6 extension header")
                if proto == 0 and length == 0:
                    jumbo = _jumbo_length(data[position + 2 : position + size])
                    if jumbo is not None:
                        end = at + 40 + jumbo
                if proto == 43:
                    dst = _routing_destination(data[position : position + size]) or dst
                proto, position = following, position + size
            elif proto == 44:  # fragment header
                if len(data) < position + 8:
                    return self._skip("cut inside an IPv6 fragment header")
                following, offset_flags, ident = struct.unpack_from(">BxHI", data, position)
                fragment = (offset_flags & 0xFFF8, bool(offset_flags & 1), ident)
                proto, position = following, position + 8
                break  # what follows is the fragmentable part
            elif proto == 51:  # authentication header: authenticates, does not hide
                if len(data) < position + 8:
                    return self._skip("cut inside an IPv6 authentication header")
                following, size = data[position], (data[position + 1] + 2) * 4
                proto, position = following, position + size
            else:
                break
        else:
            return self._skip("more than 16 IPv6 extension headers")
        if length == 0 and end == at + 40:
            end = wire_end  # BIG TCP: a GSO super-packet with no payload length
        if position > end:
            return self._skip("IPv6 extension headers longer than the datagram")
        if fragment is not None:
            offset, more, ident = fragment
            whole = self._reassemble(("6", src, dst, ident), data, position, end, offset, more, proto=proto)
            if whole is None:
                return None
            proto, whole = whole[0], whole[1:]
            return self._transport(proto, whole, 0, len(whole), len(whole), src, dst, depth)
        return self._transport(proto, data, position, end, wire_end, src, dst, depth)

    def _reassemble(
        self, key: tuple[Any, ...], data: bytes, start: int, end: int, offset: int, more: bool, proto: int = -1
    ) -> bytes | None:
        """Add one fragment; return the whole datagram's payload once every piece is in
        (for IPv6, prefixed with the next-header byte of the first fragment)."""
        number = self.record.number  # type: ignore[union-attr]
        if end > len(data):
            self.problems.count("were fragments cut short by the snap length (not reassembled)", number)
            return None
        piece = bytes(data[start:end])
        if (more and len(piece) % 8) or offset + len(piece) > 65535 + 8:
            self.problems.count("were malformed IP fragments (skipped)", number)
            return None
        entry = self.fragments.get(key)
        if entry is None:
            while self.fragment_bytes + len(piece) > MAX_FRAGMENT_BYTES and self.fragments:
                _, old = self.fragments.popitem()
                self.fragment_bytes -= old[3]
                self.problems.count("belonged to fragmented datagrams dropped to bound memory", number)
            entry = self.fragments[key] = [{}, None, -1, 0]
        pieces, total = entry[0], entry[1]
        if offset in pieces and pieces[offset] != piece:
            self.problems.count("were overlapping IP fragments with different bytes (datagram dropped)", number)
            self.fragment_bytes -= entry[3]
            del self.fragments[key]
            return None
        if offset not in pieces:
            pieces[offset] = piece
            entry[3] += len(piece)
            self.fragment_bytes += len(piece)
        if offset == 0:
            entry[2] = proto
        if not more:
            total = entry[1] = offset + len(piece)
        if total is None:
            return None
        # complete when the pieces tile [0, total) (each check is linear in its pieces)
        position = 0
        out = bytearray()
        for start_at in sorted(pieces):
            if start_at > position:
                return None
            out += pieces[start_at][position - start_at :]
            position = max(position, start_at + len(pieces[start_at]))
        if position < total:
            return None
        del self.fragments[key]
        self.fragment_bytes -= entry[3]
        whole = bytes(out[:total])
        return bytes([entry[2] & 0xFF]) + whole if key[0] == "6" else whole

    # Tunnels and TCP -----------------------------------------------------------------

    def _transport(
        self, proto: int, data: bytes, at: int, end: int, wire_end: int, src: str, dst: str, depth: int
    ) -> CapturedSegment | None:
        if proto == 6:
            return self._tcp(data, at, end, src, dst)
        if depth >= MAX_ENCAPSULATION:
            return self._skip(f"tunnels nested more than {MAX_ENCAPSULATION} deep")
        inner_wire = min(end, wire_end)
        if proto == 4:  # IPv4 in IP
            return self._ipv4(data, at, inner_wire, depth + 1)
        if proto == 41:  # IPv6 in IP (6in4, 6to4, SIT)
            return self._ipv6(data, at, inner_wire, depth + 1)
        if proto == 47:
            return self._gre(data, at, inner_wire, depth + 1)
        if proto == 17 and len(data) >= at + 8:
            port = struct.unpack_from(">H", data, at + 2)[0]
            if port == 4789 and len(data) >= at + 16:  # VXLAN: 8 bytes, then an Ethernet frame
                return self._ethernet(data, at + 16, inner_wire, depth + 1)
            if port == 6081 and len(data) >= at + 16:  # Geneve: 8 bytes + options, then the protocol
                options, kind = (data[at + 8] & 0x3F) * 4, struct.unpack_from(">H", data, at + 10)[0]
                return self._ethertype(kind, data, at + 16 + options, inner_wire, depth + 1)
        if proto == 50:
            self.problems.count("were encrypted (IPsec ESP): what they carry cannot be seen", self.record.number)  # type: ignore[union-attr]
            return None
        return self._skip({1: "ICMP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}.get(proto, f"IP protocol {proto}"))

    def _gre(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) < at + 4:
            return self._skip("cut inside a GRE header")
        bits, kind = struct.unpack_from(">HH", data, at)
        if bits & 0x0007 or bits & 0x4000:  # version 1 (PPTP) or source routing (RFC 1701)
            return self._skip("GRE version 1 or with source routing")
        at += 4 + 4 * sum(1 for bit in (0x8000, 0x2000, 0x1000) if bits & bit)  # checksum, key, sequence
        if kind in (0x88BE, 0x22EB):  # ERSPAN type II/III: a header, then the mirrored frame
            return self._ethernet(data, at + (8 if kind == 0x88BE else 12), wire_end, depth)
        return self._ethertype(kind, data, at, wire_end, depth)

    def _tcp(self, data: bytes, at: int, end: int, src: str, dst: str) -> CapturedSegment | None:
        record = self.record
        assert record is not None
        if len(data) < at + 20:
            self.problems.count("were cut by the snap length before the end of the TCP header (skipped)", record.number)
            return None
        sport, dport, seq, ack, offset_byte, flag_byte, window = struct.unpack_from(">HHIIBBH", data, at)
        header = (offset_byte >> 4) * 4
        if header < 20 or at + header > end:
            return self._skip("a broken TCP header")
        if len(data) < at + header:
            self.problems.count("were cut by the snap length before the end of the TCP header (skipped)", record.number)
            return None
        captured_end = min(len(data), end)
        payload_len = end - at - header
        captured = captured_end - at - header
        flags = _FLAGS[flag_byte]
        if self.keep_payload:
            self.payload = memoryview(data)[at + header : captured_end]
        return CapturedSegment(
            packet=record.number,
            time_ns=record.time_ns,
            src=(src, sport),
            dst=(dst, dport),
            flags=flags,
            seq=seq,
            ack=ack,
            window=window,
            payload_len=payload_len,
            captured_len=captured,
            options=_tcp_options(data[at + 20 : at + header]) if flag_byte & 0x02 else (),
        )


def _ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


_V6_TEXT: dict[bytes, str] = {}


def _ipv6_text(raw: bytes) -> str:
    text = _V6_TEXT.get(raw)
    if text is None:
        import ipaddress

        text = str(ipaddress.IPv6Address(raw))
        if len(_V6_TEXT) < 4096:  # the same few addresses again and again: remember them
            _V6_TEXT[raw] = text
    return text


def _jumbo_length(options: bytes) -> int | None:
    """The Jumbo Payload option (RFC 2675) in hop-by-hop options, if any."""
    position = 0
    while position + 2 <= len(options):
        kind = options[position]
        if kind == 0:  # Pad1
            position += 1
            continue
        size = options[position + 1]
        if kind == 0xC2 and size == 4 and position + 6 <= len(options):
            return struct.unpack_from(">I", options, position + 2)[0]
        position += 2 + size
    return None


def _routing_destination(header: bytes) -> str | None:
    """The final destination named by an IPv6 routing header that still has segments
    left: TCP's pseudo-header (and so the connection) uses it, not the IPv6 dst."""
    kind, left = header[2], header[3]
    if not left:
        return None
    if kind in (0, 2) and len(header) >= 24:  # the last address of the list
        count = (len(header) - 8) // 16
        return _ipv6_text(header[8 + 16 * (count - 1) : 8 + 16 * count])
    if kind == 4 and len(header) >= 24:  # segment routing: segment 0 is the last one
        return _ipv6_text(header[8:24])
    return None


_OPTION_NAMES = {2: "MSS", 3: "WScale", 4: "SAckOK", 5: "SAck", 8: "Timestamp", 19: "MD5", 29: "TCP-AO", 30: "MPTCP", 34: "TFO"}


def _tcp_options(raw: bytes) -> tuple[tuple[str, Any], ...]:
    """The options of a SYN as (name, value) pairs; NOP and EOL left out."""
    out: list[tuple[str, Any]] = []
    position = 0
    while position < len(raw):
        kind = raw[position]
        if kind == 0:
            break
        if kind == 1:
            position += 1
            continue
        if position + 1 >= len(raw) or raw[position + 1] < 2 or position + raw[position + 1] > len(raw):
            out.append(("malformed", kind))
            break
        value = raw[position + 2 : position + raw[position + 1]]
        position += raw[position + 1]
        if kind == 2 and len(value) == 2:
            out.append(("MSS", struct.unpack(">H", value)[0]))
        elif kind == 3 and len(value) == 1:
            out.append(("WScale", value[0]))
        elif kind == 8 and len(value) == 8:
            out.append(("Timestamp", struct.unpack(">II", value)))
        elif kind == 254 and value[:2] == b"\xf9\x89":  # TFO with the experimental option number
            out.append(("TFO", value[2:].hex()))
        elif kind in _OPTION_NAMES and kind not in (2, 3, 8):  # those three with a wrong length: below
            out.append((_OPTION_NAMES[kind], value.hex() if value else None))
        else:
            out.append((f"option {kind}", value.hex()))
    return tuple(out)


def _segments(file: pathlib.Path, problems: _Problems, *, keep_payload: bool = False) -> Iterator[CapturedSegment]:
    decoder = _Decoder(problems, keep_payload=keep_payload)
    for record in _records(file, problems):
        segment = decoder.decode(record)
        if segment is not None:
            yield segment
    if decoder.fragments:
        problems.warn(f"{len(decoder.fragments)} fragmented datagram(s) never completed: skipped")


def _check_file(path: str | os.PathLike[str]) -> pathlib.Path:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise ParameterError("path", path, "the path of a pcap or pcapng file")
    file = pathlib.Path(path)
    if not file.exists():
        raise CaptureError(f"{file}: no such file")
    if not file.is_file():
        raise CaptureError(f"{file}: not a regular file")
    return file


def _read(file: pathlib.Path, problems: _Problems) -> list[CapturedSegment]:
    segments: list[CapturedSegment] = []
    sockets: dict[tuple[str, int], tuple[str, int]] = {}  # one tuple per socket: less memory
    for segment in _segments(file, problems):
        if len(segments) >= MAX_SEGMENTS:
            raise CaptureError(
                f"{file}: holds more than {MAX_SEGMENTS:,} TCP segments; cut out the connection you want first "
                "(e.g. tcpdump -r in.pcap -w out.pcap 'port N')"
            )
        src, dst = sockets.setdefault(segment.src, segment.src), sockets.setdefault(segment.dst, segment.dst)
        if src is not segment.src or dst is not segment.dst:
            segment = replace(segment, src=src, dst=dst)
        segments.append(segment)
    return segments


def read_segments(path: str | os.PathLike[str]) -> list[CapturedSegment]:
    """Every IPv4/IPv6 TCP segment in the capture at ``path``, in file order.

    See the module docstring for the formats, link types and encapsulations it reads.
    """
    return _read(_check_file(path), _Problems())


# -- connections ------------------------------------------------------------------------


@dataclass
class _Connection:
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


def _split(segments: list[CapturedSegment]) -> list[_Connection]:
    """The connections, in order of their first packet."""
    current: dict[Any, _Connection] = {}
    found: list[_Connection] = []
    for seg in segments:
        key = (seg.src, seg.dst) if seg.src <= seg.dst else (seg.dst, seg.src)
        connection = current.get(key)
        if connection is None or connection.starts_anew(seg):
            connection = _Connection(key, 0 if connection is None else connection.reused + 1)
            current[key] = connection
            found.append(connection)
        connection.add(seg)
    return found


def connections(path: str | os.PathLike[str]) -> list[ConnectionSummary]:
    """The TCP connections in a capture, in order of first packet (numbered from 1).

    Two connections that use the same addresses and ports one after the other (a
    reused 4-tuple) are two entries."""
    return [c.summary(n) for n, c in enumerate(_split(_read(_check_file(path), _Problems())), start=1)]


def _listing(found: list[tuple[int, _Connection]], limit: int = 8) -> str:
    shown = "; ".join(f"#{n} {c.summary(n)}" for n, c in found[:limit])
    return shown + (f"; and {len(found) - limit:,} more" if len(found) > limit else "")


def _choose(file: pathlib.Path, found: list[_Connection], port: int | None, connection: int | None) -> tuple[int, _Connection]:
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


# -- inferring the states ----------------------------------------------------------------


def _signed(x: int) -> int:
    """A 32-bit sequence difference as a signed number (RFC 1982 style)."""
    x %= SEQ_SPACE
    return x - SEQ_SPACE if x >= SEQ_SPACE // 2 else x


@dataclass
class _Side:
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

    def rel(self, seq: int) -> int:
        return self.high + _signed(seq - self.base - self.high)


@dataclass
class _Geometry:
    """Per segment, where it sits in its sender's sequence space (computed once, in
    time order, before the replay)."""

    rel: list[int]
    end: list[int]
    ack: list[int | None]  # the ACK as a position of the receiver's sequence space
    ignored: dict[int, str]  # index -> why it lies outside any window


def _geometry(segs: list[CapturedSegment], side_of: Callable[[tuple[str, int]], _Side]) -> _Geometry:
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
    return _Geometry(rels, ends, acks, ignored)


def read_capture(
    path: str | os.PathLike[str], *, port: int | None = None, relative: bool = False, connection: int | None = None
) -> Trace:
    """Read one TCP connection from a pcap/pcapng file as a :class:`Trace`.

    ``port`` picks the connection with that port (either side) when the capture holds
    several; ``connection`` picks one by its number in :func:`connections` (needed when
    one address/port pair was used for several connections one after another).
    ``relative=True`` rewrites sequence numbers so that each side's SYN is 0 (as
    Wireshark shows them); by default they are the real 32-bit numbers.

    The trace's endpoints are ``client`` (the side that sent the first SYN) and
    ``server`` (or the one ``self`` of a socket connected to itself); its state changes
    are inferred (see the module docstring); its ``params`` say where it came from
    (``scenario="capture"``, the file name, both sockets, the TCP options each side
    offered on its SYN, whether the payload was captured whole, and warnings).
    """
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise ParameterError("port", port, "a TCP port number 0-65535 or None")
    if connection is not None and (isinstance(connection, bool) or not isinstance(connection, int) or connection < 1):
        raise ParameterError("connection", connection, "a connection number >= 1 (see connections()) or None")
    if not isinstance(relative, bool):
        raise ParameterError("relative", relative, "True or False")
    file = _check_file(path)
    stat = file.stat()
    problems = _Problems()
    segments = _read(file, problems)
    if not segments:
        why = "; ".join(problems.lines())
        raise CaptureError(f"{file}: holds no TCP segments" + (f" ({why})" if why else ""))
    number, chosen = _choose(file, _split(segments), port, connection)
    del segments
    trace = _Replay(file, chosen, number, problems, relative=relative).trace()
    after = file.stat()
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        raise CaptureError(f"{file}: changed while it was being read (is a capture still writing it?)")
    for message in trace.params["warnings"]:
        warnings.warn(f"{file.name}: {message}", CaptureWarning, stacklevel=2)
    return trace


class _Replay:
    """Replays one connection's segments through the state diagram (see the module docstring)."""

    def __init__(self, file: pathlib.Path, chosen: _Connection, number: int, problems: _Problems, *, relative: bool) -> None:
        self.file = file
        self.number = number
        self.problems = problems
        self.relative = relative
        # Capture order is time order, except when clocks or merged interfaces disagree:
        # sort by time (stably, so equal times keep the file's order) and say so.
        segs = chosen.segments
        # Loopback captures step back by a microsecond now and then (CPUs stamp packets
        # in parallel): sorted silently.  A bigger step is worth a warning.
        steps = [(segs[i - 1].time_ns - segs[i].time_ns, i) for i in range(1, len(segs)) if segs[i].time_ns < segs[i - 1].time_ns]
        if steps:
            step, at = max(steps)
            if step > 1_000_000:
                problems.warn(
                    f"timestamps go backwards {len(steps)} time(s), by up to {step / 1e9:.6f} s at packet {segs[at].packet}: "
                    "packets are shown in time order"
                )
            segs = sorted(segs, key=lambda s: s.time_ns)
        self.segs = segs
        first_syn = next((s for s in segs if "SYN" in s.flags and "ACK" not in s.flags), None)
        self.first_syn = first_syn
        self.client_sock = first_syn.src if first_syn is not None else segs[0].src
        self.server_sock = first_syn.dst if first_syn is not None else segs[0].dst
        self.self_connect = self.client_sock == self.server_sock
        bases: dict[tuple[str, int], tuple[int, bool]] = {}
        for s in segs:  # each side's ISN: its SYN's, else its first segment's sequence number
            known = bases.get(s.src)
            if known is None or (not known[1] and "SYN" in s.flags):
                bases[s.src] = (s.seq, "SYN" in s.flags)
        for s in segs:  # a side never captured: what the other acknowledges first, less its SYN
            if s.dst not in bases and "ACK" in s.flags and "RST" not in s.flags:
                bases[s.dst] = ((s.ack - 1) % SEQ_SPACE, False)
        self.sides: dict[tuple[str, int], _Side] = {}
        for sock, name in ((self.client_sock, "client"), (self.server_sock, "server")):
            if self.self_connect:
                name = SELF
            peer = SELF if self.self_connect else ("server" if name == "client" else "client")
            base, saw_syn = bases.get(sock, (0, False))
            self.sides.setdefault(sock, _Side(name=name, peer=peer, base=base, saw_syn=saw_syn))
        self.by_name = {side.name: side for side in self.sides.values()}
        # One side only, yet it acknowledges things: the other side did talk, and the
        # capture did not see it.  (A client whose SYNs go unanswered is not that case.)
        self.one_direction = (
            not self.self_connect and len({s.src for s in segs}) == 1 and any("ACK" in s.flags for s in segs)
        )
        self.events: list[Event] = []
        self.notes: list[NoteEvent] = []

    def side(self, sock: tuple[str, int]) -> _Side:
        return self.sides[sock]

    def move(self, side: _Side, t: float, event: str, target: State) -> None:
        arc = find_arc(side.state, event, target)  # only arcs of the diagram: raises otherwise
        peer = side.peer
        self.events.append(StateEvent(t, side.name, peer, arc.source.value, arc.target.value, arc.event))
        side.state = target
        if target is State.ESTABLISHED and side.established_at is None:
            side.established_at = t

    # -- before the replay: what the whole capture says about each segment ----------

    def _losses(self, geo: _Geometry) -> dict[int, str]:
        """Indexes of captured segments that, judging by the peer, never reached it.

        * A segment that uses sequence space (SYN, FIN, data) is lost if the peer sends
          no acknowledgement of it (nor a RST answering it) before it is sent again or
          the capture ends.
        * A pure ACK that acknowledges the peer's FIN or SYN is lost if the peer sends
          that FIN or SYN,ACK again before this side acknowledges it once more.

        One pass in time order: each side keeps its unanswered segments sorted by
        position, so an ACK or a retransmission finds the ones it settles by bisection.
        """
        lost: dict[int, str] = {}
        if self.one_direction:
            return lost
        segs = self.segs
        first_fin: dict[str, int] = {}
        for i, seg in enumerate(segs):
            if "FIN" in seg.flags and "RST" not in seg.flags and i not in geo.ignored:
                first_fin.setdefault(self.side(seg.src).name, geo.end[i] - 1)
        waiting: dict[str, list[tuple[int, int, int]]] = {name: [] for name in self.by_name}  # (start, end, index)
        pure_acks: dict[str, dict[int, list[int]]] = {name: {} for name in self.by_name}  # acked -> indexes

        def first_at(entries: list[tuple[int, int, int]], position: int) -> int:
            return bisect.bisect_left(entries, position, key=lambda e: e[0])

        for i, seg in enumerate(segs):
            if i in geo.ignored:
                continue
            a, b = self.side(seg.src), self.side(seg.dst)
            syn, fin, rst, ack = "SYN" in seg.flags, "FIN" in seg.flags, "RST" in seg.flags, "ACK" in seg.flags
            rel, end, acked = geo.rel[i], geo.end[i], geo.ack[i]
            # 1. what this segment answers among the peer's unanswered ones
            theirs = waiting[b.name]
            if rst:
                theirs.clear()  # any RST answers them: they arrived, and were refused
            elif acked is not None:
                k = first_at(theirs, acked)
                theirs[:k] = [e for e in theirs[:k] if e[1] > acked]
            # ... and which of its own earlier pure ACKs it repeats
            if ack and acked is not None:
                mine = pure_acks[a.name]
                for value in [v for v in mine if v <= acked]:
                    del mine[value]
            # 2. a retransmission: what it covers again had not been answered, so was lost
            if not rst and end > rel and a is not b:
                own = waiting[a.name]
                lo, hi = first_at(own, rel), first_at(own, end)
                for _start, _end, index in own[lo:hi]:
                    lost[index] = "inferred: sent again before any answer"
                del own[lo:hi]
            if not rst and end > rel:
                own = waiting[a.name]
                own.insert(first_at(own, rel), (rel, end, i))
            # 3. the peer sending its FIN or SYN,ACK again: our ACK of it was lost
            pending = pure_acks[b.name]
            peer_fin = first_fin.get(a.name)
            if fin and peer_fin is not None and end - 1 == peer_fin and a is not b:
                for index in pending.pop(peer_fin + 1, []):
                    lost[index] = "inferred: the peer sent its FIN again"
            if syn and ack and a is not b and not (peer_fin is not None and peer_fin + 1 == 1):
                for index in pending.pop(1, []):
                    lost[index] = "inferred: the peer sent its SYN,ACK again"
            # 4. a pure ACK of the peer's FIN or SYN waits to see whether it is repeated
            if ack and not rst and end == rel and b.saw_syn and acked is not None:
                their_fin = first_fin.get(b.name)
                if acked == 1 or (their_fin is not None and acked == their_fin + 1):
                    pure_acks[a.name].setdefault(acked, []).append(i)
        for entries in waiting.values():
            for _start, _end, index in entries:
                lost[index] = "inferred: never answered in the capture"
        return lost

    def _answered_by_rst(self) -> set[int]:
        """Segments whose receiver's next segment is a RST (one pass, backwards)."""
        answered: set[int] = set()
        next_from: dict[tuple[str, int], CapturedSegment] = {}
        for i in range(len(self.segs) - 1, -1, -1):
            seg = self.segs[i]
            reply = next_from.get(seg.dst)
            if reply is not None and "RST" in reply.flags:
                answered.add(i)
            next_from[seg.src] = seg
        return answered

    # -- the replay ---------------------------------------------------------------------

    def trace(self) -> Trace:
        segs, sides = self.segs, self.by_name
        t0 = segs[0].time_ns
        if self.first_syn is None:
            for side in sides.values():
                side.state = State.ESTABLISHED
            self.notes.append(
                NoteEvent(
                    0.0,
                    self.side(self.client_sock).name,
                    "capture starts mid-connection (no SYN): both sides assumed ESTABLISHED",
                    NoteKind.MID_CONNECTION,
                )
            )
        elif not self.self_connect:
            server = self.side(self.server_sock)
            if any(s.src == self.server_sock and "SYN" in s.flags and "ACK" in s.flags for s in segs) and not any(
                s.src == self.server_sock and "SYN" in s.flags and "ACK" not in s.flags for s in segs
            ):
                # It answered a SYN with SYN,ACK, so it was listening before the capture began.
                self.events.append(StateEvent(0.0, "server", None, State.CLOSED.value, State.LISTEN.value, "passive OPEN"))
                server.state = State.LISTEN
        geo = _geometry(segs, self.side)
        lost = self._losses(geo)
        answered_by_rst = self._answered_by_rst()
        options: dict[str, list[str]] = {}
        last_received_syn = {name: False for name in sides}
        last_sent = {name: 0.0 for name in sides}
        for side in sides.values():
            side.sent_end = 0
        queues = {name: _DeliveryQueue() for name in sides}
        segment_event_at: dict[int, int] = {}
        events = self.events

        def deliver(receiver: _Side, items: list[tuple[int, float]], when: float | None) -> None:
            """Deliver waiting segments to ``receiver`` at ``when`` (None: when captured,
            but never before the receiver's last segment, which did not acknowledge them
            and so was sent before they arrived)."""
            for index, captured_at in items:
                at = max(captured_at, last_sent[receiver.name]) if when is None else when
                position = segment_event_at[index]
                events[position] = replace(events[position], arrival=at)  # type: ignore[type-var]
                _receive(receiver, self.segs[index], geo, index, at, self.move, answered_by_rst=index in answered_by_rst)

        for index, seg in enumerate(segs):
            t = (seg.time_ns - t0) / 1e9
            a, b = self.side(seg.src), self.side(seg.dst)
            syn, _fin, _rst, ack = "SYN" in seg.flags, "FIN" in seg.flags, "RST" in seg.flags, "ACK" in seg.flags
            rel, end = geo.rel[index], geo.end[index]
            ignored = geo.ignored.get(index, "")
            retransmission = not ignored and end > rel and end <= a.sent_end
            if not ignored:
                a.sent_end = max(a.sent_end, end)
                if end > rel:
                    a.space_end = max(a.space_end, end)
                if syn and seg.options and a.name not in options:
                    options[a.name] = [_describe_option(name, value) for name, value in seg.options]
                if seg.payload_len:
                    offset = rel + syn - (1 if a.saw_syn else 0)  # data on a SYN (Fast Open) starts after it
                    if offset >= 0:
                        a.stream_end = max(a.stream_end, offset + seg.payload_len)
                        a.pieces.append((offset, seg.captured_len, seg.packet))

            if not ignored:
                # 0. this segment's ACK proves which waiting segments of the peer had arrived
                acked = geo.ack[index]
                if acked is not None:
                    deliver(a, queues[a.name].through(acked), t)
                    a.max_ack_sent = max(a.max_ack_sent, acked)

                # 1. what sending this segment says about the sender
                last_sent[a.name] = t
                self._sent(a, seg, t, rel, retransmission, last_received_syn)
                last_received_syn[b.name] = syn and not ack

            # 2. the segment itself; then its delivery, unless it evidently never arrived.
            # Moves caused by sending come before the segment in the trace, moves caused by
            # receiving after it, as in the simulator's traces.
            reason = ignored or lost.get(index, "")
            segment_event_at[index] = len(events)
            events.append(self._segment_event(seg, a, b, t, rel, geo.ack[index], reason, retransmission))
            if reason:
                continue
            queue = queues[b.name]
            queue.add(index, t, end if end > rel else None)
            if not (end > rel and end > b.max_ack_sent):
                # A pure ACK, a RST, or sequence space the receiver had already acknowledged:
                # its arrival leaves no trace in the receiver's ACKs, so take it as it was
                # captured (after everything sent before it on the same path).
                deliver(b, queue.everything(), t)
        for side in sides.values():
            deliver(side, queues[side.name].everything(), None)
        return self._finish(options, lost, geo)

    def _sent(self, a: _Side, seg: CapturedSegment, t: float, rel: int, retransmission: bool, last_received_syn: dict[str, bool]) -> None:
        """What sending ``seg`` says about its sender ``a``."""
        syn, fin, rst, ack = "SYN" in seg.flags, "FIN" in seg.flags, "RST" in seg.flags, "ACK" in seg.flags
        move = self.move
        if self.one_direction and ack and not syn and not rst:
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
        if syn and not ack:
            if a.state is State.CLOSED:
                move(a, t, "active OPEN", State.SYN_SENT)
            elif a.state is State.SYN_SENT and retransmission:
                move(a, t, "timeout", State.SYN_SENT)
            elif a.state is State.LISTEN:
                move(a, t, "SEND", State.SYN_SENT)
        elif syn and ack:
            if a.state is State.LISTEN:
                a.passive = True
                move(a, t, "rcv SYN", State.SYN_RECEIVED)  # the SYN itself was not captured
            elif a.state is State.SYN_RECEIVED and a.synack_sent:
                move(a, t, "rcv SYN" if last_received_syn[a.name] else "timeout", State.SYN_RECEIVED)
            a.synack_sent = True
        if fin and not rst:
            if a.fin_rel is None:
                a.fin_rel = rel + seg.payload_len + syn
                if a.state in (State.ESTABLISHED, State.SYN_RECEIVED):
                    move(a, t, "CLOSE", State.FIN_WAIT_1)
                elif a.state is State.CLOSE_WAIT:
                    move(a, t, "CLOSE", State.LAST_ACK)
            elif retransmission and not seg.payload_len and a.state in (State.FIN_WAIT_1, State.LAST_ACK, State.CLOSING):
                # a FIN sent again on its own; when it rides on retransmitted data it is
                # the data's timer that fired, not a move of the state diagram
                move(a, t, "timeout", a.state)
        if rst and a.state in (State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
            move(a, t, "ABORT", State.CLOSED)

    def _segment_event(
        self, seg: CapturedSegment, a: _Side, b: _Side, t: float, rel: int, acked: int | None, reason: str, retransmission: bool
    ) -> SegmentEvent:
        syn, ack = "SYN" in seg.flags, "ACK" in seg.flags
        seq = rel % SEQ_SPACE if self.relative and a.saw_syn else seg.seq
        if not ack:
            ack_value = 0
        elif self.relative and b.saw_syn and acked is not None:
            ack_value = acked % SEQ_SPACE
        else:
            ack_value = seg.ack
        return SegmentEvent(
            t=t,
            src=a.name,
            dst=b.name,
            flags=tuple(f for f in seg.flags if f in _TRACE_FLAGS),
            seq=seq,
            ack=ack_value,
            len=seg.payload_len,
            dropped=bool(reason),
            retransmission=retransmission,
            arrival=None,
            drop_reason=reason,
            window=seg.window,
            mss=seg.mss if syn else None,
            src_port=seg.src[1],
            dst_port=seg.dst[1],
            kind=_kind(seg.flags, seg.payload_len),
        )

    def _finish(self, options: dict[str, list[str]], lost: dict[int, str], geo: _Geometry) -> Trace:
        segs, sides = self.segs, self.by_name
        if self.one_direction:
            sender = self.side(segs[0].src)
            self.problems.warn(
                f"the capture shows one direction only ({sender.name} → {sender.peer}): the other side's segments "
                "were not captured (a filter, or asymmetric routing), so nothing is inferred lost and its states are unknown"
            )
        if geo.ignored:
            self.problems.warn(
                f"{len(geo.ignored)} segment(s) lie outside any window of the connection or carry data after their sender's FIN: "
                "shown, but ignored"
            )
        app_events, digests, stats = _capture_bytes(self.file, segs, self.by_name, self.problems, one_direction=self.one_direction)
        warnings_ = self.problems.lines()
        for message in warnings_:
            self.notes.append(NoteEvent(0.0, segs and self.side(segs[0].src).name or "client", "warning: " + message, NoteKind.CAPTURE_WARNING))
        for side_name, offered in options.items():
            self.notes.append(NoteEvent(0.0, side_name, "SYN options: " + ", ".join(offered), NoteKind.CAPTURE_OPTIONS))
        # A stable sort by time keeps the replay order among events of the same instant.
        all_events: list[Event] = sorted([*self.notes, *self.events, *app_events], key=lambda e: e.t)
        stats.update({"segments": len(segs), "inferred_losses": len(lost)})
        if geo.ignored:
            stats["ignored_out_of_window"] = len(geo.ignored)
        names = tuple(sides)
        outcome = derive_outcome(all_events, names, digests, stats=stats)
        params: dict[str, Any] = {
            "scenario": "capture",
            "file": self.file.name,
            "client": _fmt(self.client_sock),
            "server": _fmt(self.server_sock),
            "connection": self.number,
            "packets": len(segs),
            "relative": self.relative,
            "options": {name: options.get(name, []) for name in names},
            "payload_complete": all(s.captured_len == s.payload_len for s in segs),
            "warnings": warnings_,
        }
        return Trace(params=params, events=all_events, outcome=outcome, endpoints=names)


_TRACE_FLAGS = frozenset({"SYN", "ACK", "FIN", "RST", "PSH"})  # what the trace schema knows


class _DeliveryQueue:
    """Segments on their way to one receiver, first in first out.

    ``through(acked)`` takes out everything up to the *last* waiting segment that the
    acknowledgement ``acked`` covers.  A monotonic stack of candidates (each with an end
    beyond every later one's) finds that segment by bisection, so a long queue (a big
    window in flight) costs no more per ACK than a short one.
    """

    def __init__(self) -> None:
        self.items: list[tuple[int, float]] = []  # (segment index, captured at)
        self.head = 0
        self.candidates: list[tuple[int, int]] = []  # (end, position in items), ends increasing

    def add(self, index: int, captured_at: float, end: int | None) -> None:
        position = len(self.items)
        self.items.append((index, captured_at))
        if end is not None:
            while self.candidates and self.candidates[-1][0] >= end:
                self.candidates.pop()
            self.candidates.append((end, position))

    def through(self, acked: int) -> list[tuple[int, float]]:
        k = bisect.bisect_right(self.candidates, acked, key=lambda c: c[0])
        if k == 0:
            return []
        upto = self.candidates[k - 1][1] + 1
        del self.candidates[:k]
        return self._take(upto)

    def everything(self) -> list[tuple[int, float]]:
        self.candidates.clear()
        return self._take(len(self.items))

    def _take(self, upto: int) -> list[tuple[int, float]]:
        if upto <= self.head:
            return []
        out = self.items[self.head : upto]
        self.head = upto
        if self.head > 4096 and self.head * 2 > len(self.items):  # drop what was taken, now and then
            self.items = self.items[self.head :]
            self.candidates = [(end, position - self.head) for end, position in self.candidates]
            self.head = 0
        return out


def _receive(
    b: _Side, seg: CapturedSegment, geo: _Geometry, index: int, t: float, move: Any, *, answered_by_rst: bool = False
) -> None:
    """Apply the arrival of ``seg`` to its receiver ``b``'s state.

    ``answered_by_rst``: the next segment ``b`` sends is a RST (so, in TIME-WAIT, its
    2*MSL timer had already expired and the socket was gone)."""
    syn, fin, rst, ack = ("SYN" in seg.flags), ("FIN" in seg.flags), ("RST" in seg.flags), ("ACK" in seg.flags)
    acked = geo.ack[index] if ack else None
    if acked is not None and acked > b.acked_by_peer:
        b.acked_by_peer = acked
    # it acknowledges our SYN, and nothing we never sent (with Fast Open, also the SYN's data)
    acks_our_syn = acked is not None and 1 <= acked <= max(b.high, 1)
    if rst:
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
        return
    if syn and not ack:
        if b.state is State.LISTEN:
            b.passive = True
            move(b, t, "rcv SYN", State.SYN_RECEIVED)
        elif b.state is State.SYN_SENT:
            move(b, t, "rcv SYN", State.SYN_RECEIVED)  # simultaneous open
        return
    if syn and ack:
        if acks_our_syn:  # anything else Linux would answer with RST
            if b.state is State.SYN_SENT:
                move(b, t, "rcv SYN,ACK", State.ESTABLISHED)
            elif b.state is State.SYN_RECEIVED:
                move(b, t, "rcv ACK of SYN", State.ESTABLISHED)
        return
    fin_done = False
    new_fin = fin and not b.peer_fin_seen
    if acked is not None:
        if b.state is State.SYN_RECEIVED and acked >= 1:
            move(b, t, "rcv ACK of SYN", State.ESTABLISHED)
        if b.fin_rel is not None and acked >= b.fin_rel + 1:
            if b.state is State.FIN_WAIT_1:
                if new_fin:
                    move(b, t, "rcv FIN,ACK of FIN", State.TIME_WAIT)
                    fin_done = True
                else:
                    move(b, t, "rcv ACK of FIN", State.FIN_WAIT_2)
            elif b.state is State.CLOSING:
                move(b, t, "rcv ACK of FIN", State.TIME_WAIT)
            elif b.state is State.LAST_ACK:
                move(b, t, "rcv ACK of FIN", State.CLOSED)
    if fin:
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


def _kind(flags: tuple[str, ...], payload_len: int) -> str:
    if "RST" in flags:
        return "RST"
    if "SYN" in flags:
        return "SYN-ACK" if "ACK" in flags else "SYN"
    if "FIN" in flags:
        return "FIN-ACK" if "ACK" in flags else "FIN"
    return "DATA" if payload_len else "ACK"


def _describe_option(name: str, value: Any) -> str:
    if name == "MSS":
        return f"MSS {value}"
    if name == "SAckOK":
        return "SACK permitted"
    if name == "Timestamp":
        return "timestamps"
    if name == "WScale":
        return f"window scale {value}"
    if name == "TFO":
        return "Fast Open cookie " + (value or "request")
    return name


# -- the outcome ----------------------------------------------------------------------


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


def _capture_bytes(
    file: pathlib.Path, segs: list[CapturedSegment], sides: dict[str, _Side], problems: _Problems, *, one_direction: bool
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
    missed: list[str] = []
    for name, side in sides.items():
        # Sequence space the side sent (its own later sequence numbers show it, or the
        # peer acknowledged it) but the capture never showed: packets the capture
        # missed (tcpdump's "packets dropped by kernel").
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


def _stream_digests(
    file: pathlib.Path, segs: list[CapturedSegment], sides: dict[str, _Side], delivered: dict[str, int], missed: list[str]
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
    decoder = _Decoder(_Problems(), keep_payload=True)
    for record in _records(file, _Problems()):
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
