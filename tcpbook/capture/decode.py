"""From captured frames to TCP segments: the link layer, IP, tunnels, and the TCP header.

A record of a capture file holds a *frame* as the interface saw it: a link-layer header
(Ethernet, Linux "cooked", loopback, …), then an IP datagram, which may itself carry
another datagram (a tunnel) before, at last, a TCP segment.  :class:`Decoder` peels the
layers one after the other, each method reading one header and handing the rest to the
next:

* link layer (:meth:`Decoder.decode`): Ethernet with 802.1Q/802.1ad VLAN tags, MPLS and
  PPPoE; Linux cooked captures SLL and SLL2 (``tcpdump -i any``); raw IPv4/IPv6; BSD
  loopback;
* IP: IPv4 with options, IPv6 with extension headers (hop-by-hop, routing, destination
  options, AH, jumbograms); fragments go to the :class:`~tcpbook.capture.fragments.Reassembler`;
* tunnels: IP-in-IP, 6in4, 4in6, GRE (and ERSPAN), VXLAN, Geneve — the inner connection
  is the one shown;
* TCP: ports, sequence and acknowledgement numbers, flags, window, and the options of
  a SYN (:func:`tcp_options`).

Only the dozen fields TCP's state machine needs are read, with ``struct``.  Scapy would
take about 300 µs to dissect one packet (a minute for a 200 MB capture) where this takes
a few; Scapy remains the reference the tests compare every decoded field with.

Anything that is not a TCP segment (ARP, UDP, an unknown link type, encrypted ESP) is
counted as a warning by :class:`~tcpbook.capture.errors.Problems`, never raised.
"""

from __future__ import annotations

import os
import pathlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from .errors import CaptureError, Problems
from .files import Record, check_file, records
from .fragments import Reassembler

MAX_SEGMENTS = 5_000_000  # TCP segments per capture: bounds memory (a few GB of trace) by construction
MAX_ENCAPSULATION = 8  # tunnels inside tunnels, at most

_FLAG_BITS = ((0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR"))
_FLAGS = [tuple(name for bit, name in _FLAG_BITS if byte & bit) for byte in range(256)]  # shared tuples: less memory


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


class Decoder:
    """Frames → TCP segments: link layer, IP (options, extension headers, fragments,
    tunnels), TCP.  Anything that is not a TCP segment is counted, not raised.

    Every layer's method takes the frame's bytes, where its header starts (``at``), where
    the frame ends on the wire (``wire_end``: beyond the captured bytes when the snap
    length clipped it) and how many tunnels deep it is (``depth``), so no bytes are
    copied on the way down.
    """

    def __init__(self, problems: Problems, *, keep_payload: bool = False) -> None:
        self.problems = problems
        self.keep_payload = keep_payload
        self.payload: memoryview | bytes = b""  # the last segment's captured payload (keep_payload)
        self.reassembler = Reassembler(problems)
        self.record: Record | None = None

    # The link layer --------------------------------------------------------------

    def decode(self, record: Record) -> CapturedSegment | None:
        """The TCP segment in one record, or None (counted as a problem) if it holds none."""
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

    def _skip(self, why: str, record: Record | None = None) -> None:
        self.problems.count(f"were not TCP/IP ({why})", (record or self.record).number)  # type: ignore[union-attr]
        return None

    def _ethernet(self, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        if len(data) < at + 14:
            return self._skip("too short for an Ethernet header")
        return self._ethertype(struct.unpack_from(">H", data, at + 12)[0], data, at + 14, wire_end, depth)

    def _ethertype(self, kind: int, data: bytes, at: int, wire_end: int, depth: int) -> CapturedSegment | None:
        """What follows a link-layer header whose protocol field says ``kind``: IP,
        after any VLAN tags, MPLS labels or PPPoE header in between."""
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
            whole = self.reassembler.add(
                ("4", src, dst, proto, ident), data, at + header, end, offset, bool(frag & 0x2000), self.record.number  # type: ignore[union-attr]
            )
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
        walked = self._ipv6_extensions(data, at, length, proto, dst)
        if walked is None:
            return None
        proto, position, end, dst, fragment = walked
        if length == 0 and end == at + 40:
            end = wire_end  # BIG TCP: a GSO super-packet with no payload length
        if position > end:
            return self._skip("IPv6 extension headers longer than the datagram")
        if fragment is not None:
            offset, more, ident = fragment
            whole = self.reassembler.add(
                ("6", src, dst, ident), data, position, end, offset, more, self.record.number, proto=proto  # type: ignore[union-attr]
            )
            if whole is None:
                return None
            proto, whole = whole[0], whole[1:]
            return self._transport(proto, whole, 0, len(whole), len(whole), src, dst, depth)
        return self._transport(proto, data, position, end, wire_end, src, dst, depth)

    def _ipv6_extensions(
        self, data: bytes, at: int, length: int, proto: int, dst: str
    ) -> tuple[int, int, int, str, tuple[int, bool, int] | None] | None:
        """Walk the IPv6 extension headers, each naming the next one, up to the upper
        layer or a fragment header: (upper protocol, where it starts, the datagram's end,
        the destination — a routing header may name a later one —, (offset, more, id)
        of a fragment header or None).  None, counted, when the headers are cut or too many.

        A jumbogram (RFC 2675) says its length in a hop-by-hop option instead of the
        fixed header, which then says 0.
        """
        end = at + 40 + length
        position = at + 40
        fragment: tuple[int, bool, int] | None = None
        for _ in range(16):
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
        return proto, position, end, dst, fragment

    # Tunnels and TCP -----------------------------------------------------------------

    def _transport(
        self, proto: int, data: bytes, at: int, end: int, wire_end: int, src: str, dst: str, depth: int
    ) -> CapturedSegment | None:
        """What an IP datagram carries: TCP at last, or another layer of tunnel."""
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
        """The TCP header at ``at`` of a datagram that ends at ``end`` (perhaps beyond the
        captured bytes: then the payload is partial, and the segment says so)."""
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
            options=tcp_options(data[at + 20 : at + header]) if flag_byte & 0x02 else (),
        )


# -- fields inside the headers ----------------------------------------------------------


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


def tcp_options(raw: bytes) -> tuple[tuple[str, Any], ...]:
    """The options of a SYN as (name, value) pairs; NOP and EOL left out.

    >>> tcp_options(bytes([2, 4, 5, 0xB4, 1, 3, 3, 7]))
    (('MSS', 1460), ('WScale', 7))
    """
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


# -- a whole file ------------------------------------------------------------------------


def _segments(file: pathlib.Path, problems: Problems) -> Iterator[CapturedSegment]:
    decoder = Decoder(problems)
    for record in records(file, problems):
        segment = decoder.decode(record)
        if segment is not None:
            yield segment
    if decoder.reassembler.fragments:
        problems.warn(f"{len(decoder.reassembler.fragments)} fragmented datagram(s) never completed: skipped")


def tcp_segments(file: pathlib.Path, problems: Problems) -> list[CapturedSegment]:
    """Every TCP segment of ``file``, in file order, at most ``MAX_SEGMENTS`` (five million).

    Segments of one socket share one ``(address, port)`` tuple: a million segments of
    one connection then hold two tuples, not two million.
    """
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

    See ``tcpbook.capture.decode`` for the link types and encapsulations it reads.
    """
    return tcp_segments(check_file(path), Problems())
