"""Capture files made at test time: a bulk transfer of any size, and pcap/pcapng
containers written field by field (sections, interfaces, link types, time resolutions
that tools rarely produce on demand).

Used by the capture tests and by ``benchmarks/bench_capture.py``.  Nothing here uses
tcpbook: the files are built from the formats' specifications, so they test the reader
rather than agree with it.
"""

from __future__ import annotations

import pathlib
import struct
from collections.abc import Iterable, Sequence

PATTERN = bytes(i % 251 for i in range(251 + 65536))  # payload byte i of a stream is i % 251
CLIENT, SERVER = bytes([10, 1, 0, 1]), bytes([10, 1, 0, 2])
CLIENT_PORT, SERVER_PORT = 40000, 5001


def stream(offset: int, length: int) -> bytes:
    """Bytes ``offset`` … ``offset + length`` of the stream ``i % 251``."""
    start = offset % 251
    return PATTERN[start : start + length]


def ipv4_tcp(
    src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"",
    *, window: int = 502, options: bytes = b"", total_length: int | None = None,
) -> bytes:
    """An IPv4 + TCP datagram (checksums left 0, as a sender with checksum offload shows them)."""
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq % 2**32, ack % 2**32, (5 + len(options) // 4) << 4, flags, window, 0, 0)
    length = 20 + len(tcp) + len(options) + len(payload) if total_length is None else total_length
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, 6, 0, src, dst)
    return ip + tcp + options + payload


def ethernet(datagram: bytes, kind: int = 0x0800) -> bytes:
    return b"\x02\x00\x0a\x01\x00\x02" + b"\x02\x00\x0a\x01\x00\x01" + struct.pack(">H", kind) + datagram


def pcap_bytes(
    records: Iterable[tuple[int, bytes] | tuple[int, bytes, int]], *, linktype: int = 1, nano: bool = False,
    big_endian: bool = False, snaplen: int = 262144,
) -> bytes:
    """A classic pcap file: ``records`` are (time in ns, frame[, length on the wire])."""
    endian = ">" if big_endian else "<"
    out = [struct.pack(endian + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)]
    for record in records:
        time_ns, frame = record[0], record[1]
        wirelen = record[2] if len(record) > 2 else len(frame)  # type: ignore[misc]
        sec, ns = divmod(time_ns, 1_000_000_000)
        out.append(struct.pack(endian + "IIII", sec, ns if nano else ns // 1000, len(frame), wirelen) + frame)
    return b"".join(out)


def _block(endian: str, kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(endian + "II", kind, length) + body + struct.pack(endian + "I", length)


def _option(endian: str, code: int, value: bytes) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_section(
    interfaces: Sequence[tuple[int, int]], packets: Iterable[tuple[int, int, bytes]], *, big_endian: bool = False
) -> bytes:
    """One pcapng section.  ``interfaces``: (link type, if_tsresol byte) each;
    ``packets``: (interface index, timestamp in that interface's ticks, frame)."""
    e = ">" if big_endian else "<"
    out = [_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, resolution in interfaces:
        options = _option(e, 9, bytes([resolution])) + _option(e, 0, b"")
        out.append(_block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + options))
    for interface, ticks, frame in packets:
        out.append(_block(e, 6, struct.pack(e + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame))
    return b"".join(out)


def bulk_frames(nbytes: int, *, mss: int = 1448, ack_every: int = 2, start_ns: int = 1_700_000_000 * 10**9) -> Iterable[tuple[int, bytes]]:
    """The Ethernet frames of a client sending ``nbytes`` to a server and closing, as a
    capture on the client shows it: handshake, data (an ACK every ``ack_every``
    segments), and the close.  10 µs between packets."""
    c_isn, s_isn = 1_000_000, 2_000_000
    t = start_ns
    mss_option = struct.pack(">BBH", 2, 4, mss)

    def frame(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"", options: bytes = b"") -> tuple[int, bytes]:
        nonlocal t
        t += 10_000
        return t, ethernet(ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload, options=options))

    yield frame(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, c_isn, 0, 0x02, options=mss_option)
    yield frame(SERVER, CLIENT, SERVER_PORT, CLIENT_PORT, s_isn, c_isn + 1, 0x12, options=mss_option)
    yield frame(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, c_isn + 1, s_isn + 1, 0x10)
    sent = 0
    count = 0
    while sent < nbytes:
        size = min(mss, nbytes - sent)
        yield frame(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, c_isn + 1 + sent, s_isn + 1, 0x18, stream(sent, size))
        sent += size
        count += 1
        if count % ack_every == 0 or sent == nbytes:
            yield frame(SERVER, CLIENT, SERVER_PORT, CLIENT_PORT, s_isn + 1, c_isn + 1 + sent, 0x10)
    end = c_isn + 1 + nbytes
    yield frame(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, end, s_isn + 1, 0x11)
    yield frame(SERVER, CLIENT, SERVER_PORT, CLIENT_PORT, s_isn + 1, end + 1, 0x11)
    yield frame(CLIENT, SERVER, CLIENT_PORT, SERVER_PORT, end + 1, s_isn + 2, 0x10)


def bulk_capture(path: pathlib.Path, nbytes: int, *, mss: int = 1448) -> pathlib.Path:
    """Write :func:`bulk_frames` as a pcap file at ``path``, streaming (constant memory)."""
    with open(path, "wb") as f:
        f.write(pcap_bytes([]))
        batch: list[bytes] = []
        for time_ns, frame in bulk_frames(nbytes, mss=mss):
            sec, ns = divmod(time_ns, 1_000_000_000)
            batch.append(struct.pack("<IIII", sec, ns // 1000, len(frame), len(frame)))
            batch.append(frame)
            if len(batch) > 4096:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))
    return path
