"""The file: pcap and pcapng records, before anything is known about the packets in them.

A capture file is a header and then one *record* per packet: when it was captured, how
long it was on the wire, and the bytes the capture kept.  Two formats are in use:

* **pcap** (tcpdump, libpcap): a 24-byte header whose first four bytes, the *magic*,
  say the byte order and whether times are in micro- or nanoseconds, then records of a
  16-byte header and the packet.  One link type for the whole file.
* **pcapng** (Wireshark's default): a sequence of *blocks*, each with a type and a
  length.  A Section Header Block starts a section with its own byte order; Interface
  Description Blocks describe the interfaces of that section (each with its link type
  and time resolution); Enhanced Packet Blocks hold the packets, naming their interface.

Either may be gzip-compressed (Wireshark writes ``.pcapng.gz``).  :func:`records` turns
any of them into the same :class:`Record` s, so the rest of the reader never asks which
format it was.  A file that ends inside a packet (tcpdump killed while writing) is read
up to there, with a warning; a corrupt one stops with a :class:`~tcpbook.capture.errors.CaptureError`.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import ParameterError
from .errors import CaptureError, Problems

MAX_RECORD = 16 * 2**20  # bytes in one captured packet; real ones are at most 512 KiB (BIG TCP)


@dataclass(frozen=True, slots=True)
class Record:
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


def check_file(path: str | os.PathLike[str]) -> pathlib.Path:
    """``path`` as a :class:`pathlib.Path` of an existing regular file, or a clear error."""
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise ParameterError("path", path, "the path of a pcap or pcapng file")
    file = pathlib.Path(path)
    if not file.exists():
        raise CaptureError(f"{file}: no such file")
    if not file.is_file():
        raise CaptureError(f"{file}: not a regular file")
    return file


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


def records(file: pathlib.Path, problems: Problems) -> Iterator[Record]:
    """Every packet record of a pcap or pcapng file, in file order.

    The first four bytes decide the format.  Reading is lazy, one record at a time,
    so memory does not grow with the file.
    """
    stream = _open(file)
    try:
        try:
            magic = stream.read(4)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(f"{file}: cannot be read as a capture file ({exc})") from None
        if magic in _PCAP_MAGICS:
            yield from _pcap_records(file, stream, magic, problems)
        elif magic == _PCAPNG_MAGIC:
            yield from _PcapngReader(file, stream, problems).records()
        elif len(magic) < 4:
            raise CaptureError(f"{file}: not a pcap or pcapng capture file (only {len(magic)} bytes)")
        else:
            raise CaptureError(f"{file}: not a pcap or pcapng capture file (it starts with {magic.hex()})")
    except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream
        raise CaptureError(f"{file}: cannot be read ({exc})") from None
    finally:
        stream.close()


def _cut_short(problems: Problems, count: int, have: int, want: int) -> None:
    problems.warn(
        f"the file ends inside packet {count + 1} ({have} of {want} bytes; tcpdump still writing, or killed?): "
        f"read up to packet {count}"
    )


# -- pcap -------------------------------------------------------------------------------


def _pcap_records(file: pathlib.Path, f: BinaryIO, magic: bytes, problems: Problems) -> Iterator[Record]:
    """pcap: a 24-byte file header (its magic already read), then header + bytes per packet."""
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
        yield Record(count, sec * 1_000_000_000 + frac * ns_per_tick, linktype, data, wirelen)


# -- pcapng ------------------------------------------------------------------------------

_SECTION_HEADER = 0x0A0D0D0A  # the block type of a Section Header Block: pcapng's magic
_INTERFACE_DESCRIPTION = 1
_PACKET = 2  # obsolete, still written by old tools
_SIMPLE_PACKET = 3
_ENHANCED_PACKET = 6


@dataclass
class _Interface:
    """One interface of a pcapng section: how to read the time stamps of its packets."""

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


class _PcapngReader:
    """pcapng: sections (each with its byte order and its own interfaces) of blocks.

    Every block is a 4-byte type, a 4-byte total length, a body, and the total length
    again; the reader checks both lengths, so a corrupt file is noticed at the first bad
    block rather than read as garbage.  The byte order of those numbers is the
    section's: it changes at each Section Header Block.
    """

    def __init__(self, file: pathlib.Path, f: BinaryIO, problems: Problems) -> None:
        self.file = file
        self.f = f
        self.problems = problems
        self.endian = "<"
        self.interfaces: list[_Interface] = []
        self.count = 0  # packets so far

    def records(self) -> Iterator[Record]:
        """The packet records, in file order (the first block's type, the magic, is already read)."""
        block_type: int | None = _SECTION_HEADER
        while block_type is not None:
            if block_type == _SECTION_HEADER:
                if not self._section_header():
                    return
            else:
                body = self._body_after_length()
                if body is None:
                    return
                record = self._block(block_type, body)
                if record is not None:
                    yield record
            block_type = self._next_block_type()

    def _next_block_type(self) -> int | None:
        """The type of the next block; None at the end of the file (or inside a block type)."""
        head = self.f.read(4)
        if not head:
            return None
        if len(head) < 4:
            _cut_short(self.problems, self.count, len(head), 4)
            return None
        return struct.unpack(self.endian + "I", head)[0]

    def _section_header(self) -> bool:
        """A Section Header Block: its byte-order magic decides how to read the rest,
        including its own length; the interfaces of the previous section end here.
        False when the file ends inside it."""
        head = self.f.read(8)
        if len(head) < 8:
            if self.count == 0:
                raise CaptureError(f"{self.file}: not a pcap or pcapng capture file (its section header is cut short)")
            _cut_short(self.problems, self.count, len(head), 8)
            return False
        if head[4:8] == b"\x4d\x3c\x2b\x1a":
            self.endian = "<"
        elif head[4:8] == b"\x1a\x2b\x3c\x4d":
            self.endian = ">"
        else:
            raise CaptureError(f"{self.file}: corrupt: a pcapng section header with byte-order magic {head[4:8].hex()}")
        length = struct.unpack(self.endian + "I", head[:4])[0]
        rest = self._body(length, 12)
        if rest is None:
            return False
        if len(rest) < 2 or struct.unpack_from(self.endian + "H", rest)[0] != 1:
            raise CaptureError(f"{self.file}: pcapng version {rest[:2].hex()} is not supported (only version 1)")
        self.interfaces = []
        return True

    def _body_after_length(self) -> bytes | None:
        """The body of a block whose type was just read: its length, then the body."""
        head = self.f.read(4)
        if len(head) < 4:
            _cut_short(self.problems, self.count, len(head), 4)
            return None
        return self._body(struct.unpack(self.endian + "I", head)[0], 8)

    def _body(self, length: int, read: int) -> bytes | None:
        """The body of a block of total ``length`` after its first ``read`` bytes;
        None when the file ends inside it (a warning), CaptureError when it is corrupt."""
        file, count = self.file, self.count
        if length < 12 or length % 4:
            raise CaptureError(f"{file}: corrupt: a pcapng block of length {length} after packet {count}")
        if length > MAX_RECORD + 4096:
            raise CaptureError(f"{file}: corrupt: a pcapng block of {length} bytes after packet {count}")
        body = self.f.read(length - read - 4)
        tail = self.f.read(4)
        if len(body) < length - read - 4 or len(tail) < 4:
            _cut_short(self.problems, count, read + len(body) + len(tail), length)
            return None
        if struct.unpack(self.endian + "I", tail)[0] != length:
            raise CaptureError(f"{file}: corrupt: a pcapng block after packet {count} ends with a different length")
        return body

    def _block(self, block_type: int, body: bytes) -> Record | None:
        """What one block means: an interface, a packet, or (every other block: name
        resolution, statistics, custom, …) nothing about TCP."""
        if block_type == _INTERFACE_DESCRIPTION:
            self.interfaces.append(self._interface(body))
        elif block_type in (_ENHANCED_PACKET, _PACKET):
            return self._packet(block_type, body)
        elif block_type == _SIMPLE_PACKET:  # no timestamp, nothing to put on a time axis
            self.count += 1
            self.problems.count("without a timestamp (pcapng simple packet blocks) were skipped", self.count)
        return None

    def _interface(self, body: bytes) -> _Interface:
        """An Interface Description Block: link type, snap length, and the options that
        say how to read its packets' times (if_tsresol, if_tsoffset) and frames (if_fcslen)."""
        if len(body) < 8:
            raise CaptureError(f"{self.file}: corrupt: an interface description of {len(body)} bytes")
        linktype, snaplen = struct.unpack_from(self.endian + "HxxI", body)
        interface = _Interface(linktype, snaplen)
        for code, value in _pcapng_options(body, 8, self.endian):
            if code == 9 and len(value) == 1:
                interface.resolution = value[0]
            elif code == 14 and len(value) == 8:
                interface.offset_s = struct.unpack(self.endian + "q", value)[0]
            elif code == 13 and len(value) == 1:
                interface.fcs = value[0]
        return interface

    def _packet(self, block_type: int, body: bytes) -> Record:
        """An Enhanced Packet Block, or the obsolete Packet Block (which has a drop
        count where the enhanced one has a wider interface number)."""
        if len(body) < 20:
            raise CaptureError(f"{self.file}: corrupt: packet {self.count + 1} is a block of {len(body)} bytes")
        if block_type == _ENHANCED_PACKET:
            interface_id, high, low, caplen, wirelen = struct.unpack_from(self.endian + "5I", body)
        else:
            interface_id, _drops, high, low, caplen, wirelen = struct.unpack_from(self.endian + "HH4I", body)
        self.count += 1
        count = self.count
        if caplen > len(body) - 20:
            raise CaptureError(
                f"{self.file}: corrupt: packet {count} claims {caplen} bytes in a block that holds {len(body) - 20}"
            )
        if interface_id >= len(self.interfaces):
            raise CaptureError(
                f"{self.file}: corrupt: packet {count} names interface {interface_id}, "
                f"but its section describes {len(self.interfaces)}"
            )
        interface = self.interfaces[interface_id]
        data = body[20 : 20 + caplen]
        wirelen = max(wirelen, caplen)
        if interface.fcs:
            if wirelen == caplen and caplen >= interface.fcs:
                data = data[: -interface.fcs]
            wirelen = max(wirelen - interface.fcs, len(data))
        return Record(count, interface.time_ns((high << 32) | low), interface.linktype, data, wirelen)
