"""Write a simulated run as a ``.pcap`` file that Wireshark and tcpdump open.

The simulator's segments are abstract (names instead of addresses, lengths instead of
bytes); a capture file needs real packets.  :func:`write_pcap` builds one Ethernet +
IPv4 + TCP packet per segment, every header field real and every checksum correct.
The headers are packed with ``struct`` (Scapy, which the tests use to check every
field and checksum, takes some 400 µs a packet: minutes for a SYN flood's 100,000):

* **addresses** — ``client`` is 10.0.0.1, ``server`` is 10.0.0.2; any other endpoint
  (``client-3``, ``spoofed-17`` …) gets the next free address 10.0.0.3, 10.0.0.4 …
  (all of 10.0.0.0/8, skipping the .0 and .255 of each /24) in the order the names
  first appear in the trace, so the same trace always gives the same file.  MAC
  addresses are derived from the IP addresses (``02:00:0a:00:00:01``).
* **ports, seq, ack, flags, window** — exactly the trace's (the window is clamped to
  65535 because the simulator does not model window scaling), plus the MSS option on
  every SYN that carried one.
* **payload** — the trace records only lengths.  When the run's payload can be rebuilt
  from its parameters (the scenarios send :func:`tcpbook.apps.payload` bytes, seeded by
  the run's ``seed``) and the rebuilt bytes have exactly the MD5 the trace's outcome
  recorded, the file carries the *real* bytes; otherwise each byte is filler text
  (``tcpbook filler …``) chosen by its position in the sender's stream, so a
  retransmission carries the same bytes as the original.
* **time** — the run's virtual time, added to a fixed epoch (:data:`EPOCH`,
  2024-01-01 00:00:00 UTC) and written to the microsecond: identical traces give
  identical files, byte for byte.

A pcap file stores whole seconds since 1970 in 32 bits, so a run whose segments reach
past 2106 (more than about 2.59e9 s after the epoch) cannot be written: that, a bad
path and every other problem are found *before* the file is touched, and the file is
written to a temporary name in the same folder and renamed at the end, so a failure
never leaves a partial capture behind.

Where the capture is taken (``vantage``) decides what it contains, as with a real
capture:

* ``"wire"`` — a tap on the link: every segment at the moment it was sent, *including*
  the ones the link then dropped;
* ``"client"`` (or any endpoint's name) — tcpdump running on that host: what it sent,
  at send time, and what reached it, at arrival time; a segment to it that was lost
  never appears.
"""

from __future__ import annotations

import array
import hashlib
import ipaddress
import math
import os
import pathlib
import struct
import sys
import tempfile
from collections.abc import Iterable

from .errors import ParameterError
from .trace import SegmentEvent, Trace

EPOCH = 1_704_067_200  # 2024-01-01 00:00:00 UTC: a fixed origin, so files are reproducible
FILLER = b"tcpbook filler: the simulator records lengths, not bytes. "
_FIXED_ADDRESSES = {"client": "10.0.0.1", "server": "10.0.0.2"}
_SEQ_SPACE = 2**32
LAST_TIME = 2**32 - 1 - EPOCH  # the latest virtual time a pcap timestamp (32-bit seconds) can hold
MAX_SEGMENT_LEN = 65535 - 20 - 24  # an IPv4 datagram holds 65,535 bytes: headers, MSS option, payload


def endpoint_addresses(trace: Trace) -> dict[str, str]:
    """Map every endpoint name in ``trace`` to an IPv4 address, deterministically.

    ``client`` → 10.0.0.1 and ``server`` → 10.0.0.2 always; the other names get
    10.0.0.3, 10.0.0.4 … (then 10.0.1.x …, through 10.255.255.254) in order of first
    appearance in ``trace.endpoints`` and then in the segments.

    >>> from tcpbook import simulate
    >>> endpoint_addresses(simulate("handshake"))
    {'client': '10.0.0.1', 'server': '10.0.0.2'}
    """
    names = list(dict.fromkeys(_names_in_order(trace)))  # first appearances, in linear time
    addresses = {n: a for n, a in _FIXED_ADDRESSES.items() if n in names}
    host = int(ipaddress.IPv4Address("10.0.0.3"))
    last = int(ipaddress.IPv4Address("10.255.255.254"))
    taken = {int(ipaddress.IPv4Address(a)) for a in addresses.values()}
    for name in names:
        if name in addresses:
            continue
        while host & 0xFF in (0, 255) or host in taken:  # x.y.z.0 and .255 look like network/broadcast
            host += 1
        if host > last:
            raise ParameterError("trace", f"{len(names)} endpoints", "at most 16,646,144 endpoints (addresses 10.0.0.0/8)")
        addresses[name] = str(ipaddress.IPv4Address(host))
        host += 1
    return addresses


def _names_in_order(trace: Trace) -> Iterable[str]:
    yield from (n for n in ("client", "server") if n in trace.endpoints)
    yield from trace.endpoints
    for s in trace.segments:
        yield s.src
        yield s.dst


def _mac(address: str) -> str:
    """A locally administered MAC address that spells out the IPv4 address."""
    return "02:00:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(address).packed)


def visible_segments(trace: Trace, vantage: str = "wire") -> list[tuple[float, SegmentEvent]]:
    """The segments a capture taken at ``vantage`` contains, with the time it sees each.

    ``"wire"``: every segment at its send time, dropped ones included.  An endpoint's
    name: the segments it sent (at send time) and those delivered to it (at arrival
    time).  Sorted by time; segments seen at the same instant keep the trace's order.
    """
    if vantage != "wire":
        known = list(dict.fromkeys(_names_in_order(trace)))
        if vantage not in known:
            shown = ", ".join(repr(n) for n in ["wire", *known[:8]]) + (f" … ({len(known) - 8} more)" if len(known) > 8 else "")
            raise ParameterError("vantage", vantage, f"one of {shown}")
    seen: list[tuple[float, int, SegmentEvent]] = []
    for order, seg in enumerate(trace.segments):
        if vantage == "wire" or seg.src == vantage:
            seen.append((seg.t, order, seg))
        elif seg.dst == vantage and not seg.dropped and seg.arrival is not None:
            seen.append((seg.arrival, order, seg))
    seen.sort(key=lambda item: (round(item[0], 6), item[1]))
    return [(t, seg) for t, _, seg in seen]


def _ip_ids(trace: Trace) -> dict[int, int]:
    """The IP ID of each segment (by its ``id()``): counted per sender in send order, as
    a real host numbers its datagrams, so a packet has the same ID at every vantage."""
    counters: dict[str, int] = {}
    ids: dict[int, int] = {}
    for seg in trace.segments:
        counters[seg.src] = (counters.get(seg.src, 0) + 1) % 65536
        ids[id(seg)] = counters[seg.src]
    return ids


def _connection_key(seg: SegmentEvent) -> tuple[str, str, int, int]:
    return (seg.src, seg.dst, seg.src_port, seg.dst_port)


def _stream_origins(trace: Trace) -> dict[tuple[str, str, int, int], int]:
    """For each direction of each connection, the sequence number of its first data byte
    (its SYN's seq + 1), so a payload byte's position in the stream is known."""
    origins: dict[tuple[str, str, int, int], int] = {}
    for seg in trace.segments:
        if "SYN" in seg.flags:
            origins.setdefault(_connection_key(seg), (seg.seq + 1) % _SEQ_SPACE)
    return origins


def _rebuilt_streams(trace: Trace) -> dict[tuple[str, str, int, int], bytes]:
    """The real bytes each sender's application sent, where they can be rebuilt and proven.

    The scenarios send ``tcpbook.apps.payload(n, seed + k)`` for a small ``k``; a
    candidate is accepted only if its MD5 equals the ``md5_sent`` the trace's outcome
    recorded for that endpoint, so a wrong guess can never end up in a file.
    """
    from .apps import payload

    streams: dict[tuple[str, str, int, int], bytes] = {}
    seed = trace.params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return streams
    data_connections: dict[str, set[tuple[str, str, int, int]]] = {}
    for seg in trace.segments:
        if seg.len:
            data_connections.setdefault(seg.src, set()).add(_connection_key(seg))
    for name, keys in data_connections.items():
        outcome = trace.outcome.endpoints.get(name)
        if outcome is None or len(keys) != 1 or outcome.bytes_sent == 0:
            continue  # several connections share one digest: cannot split it honestly
        for k in range(len(trace.endpoints) + 2):
            candidate = payload(outcome.bytes_sent, seed + k)
            if hashlib.md5(candidate).hexdigest() == outcome.md5_sent:
                streams[next(iter(keys))] = candidate
                break
    return streams


def _payload_bytes(seg: SegmentEvent, origin: int | None, stream: bytes | None) -> bytes:
    offset = (seg.seq - origin) % _SEQ_SPACE if origin is not None else seg.seq
    if stream is not None and offset + seg.len <= len(stream):
        return stream[offset : offset + seg.len]
    reps = (offset % len(FILLER) + seg.len) // len(FILLER) + 2
    start = offset % len(FILLER)
    return (FILLER * reps)[start : start + seg.len]


_FLAG_BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20, "ECE": 0x40, "CWR": 0x80}
_ETHERNET = struct.Struct(">6s6sH")
_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_TCP = struct.Struct(">HHIIBBHHH")


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum
    of 16-bit words.  ``array`` sums the words in C; summing native-order words and
    swapping the result gives the same as summing big-endian ones (RFC 1071 §2 (B))."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array.array("H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    if sys.byteorder == "little":
        total = ((total & 0xFF) << 8) | (total >> 8)
    return ~total & 0xFFFF


def _frame(src: bytes, dst: bytes, ip_id: int, seg: SegmentEvent, payload: bytes) -> bytes:
    """One Ethernet + IPv4 (DF, TTL 64) + TCP frame, lengths and checksums filled in;
    ``src`` and ``dst`` are packed IPv4 addresses."""
    options = struct.pack(">BBH", 2, 4, seg.mss) if "SYN" in seg.flags and seg.mss else b""
    flags = 0
    for name in seg.flags:
        flags |= _FLAG_BITS.get(name, 0)
    tcp_len = 20 + len(options) + len(payload)
    header = _TCP.pack(
        seg.src_port,
        seg.dst_port,
        seg.seq % _SEQ_SPACE,
        seg.ack % _SEQ_SPACE if "ACK" in seg.flags else 0,
        (5 + len(options) // 4) << 4,
        flags,
        min(max(seg.window, 0), 65535),  # the simulator does not model window scaling
        0,
        0,
    )
    pseudo = src + dst + struct.pack(">BBH", 0, 6, tcp_len)
    tcp_sum = _checksum(pseudo + header + options + payload)
    tcp = header[:16] + struct.pack(">H", tcp_sum) + header[18:] + options + payload
    ip = _IPV4.pack(0x45, 0, 20 + tcp_len, ip_id, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
    # Ethernet: destination first; the MACs spell out the IPv4 addresses (see _mac)
    return _ETHERNET.pack(b"\x02\x00" + dst, b"\x02\x00" + src, 0x0800) + ip + tcp


def build_packets(trace: Trace, vantage: str = "wire") -> list[tuple[float, bytes]]:
    """The packets of the capture as ``(virtual time, Ethernet frame bytes)``.

    This is :func:`write_pcap` without the file; tests and the chapter use it to look
    at single packets.
    """
    _check_trace(trace, vantage)
    return list(_packets(trace, vantage))


def _packets(trace: Trace, vantage: str) -> Iterable[tuple[float, bytes]]:
    addresses = endpoint_addresses(trace)
    origins = _stream_origins(trace)
    streams = _rebuilt_streams(trace)
    ip_ids = _ip_ids(trace)
    packed = {name: ipaddress.IPv4Address(address).packed for name, address in addresses.items()}
    for t, seg in visible_segments(trace, vantage):
        key = _connection_key(seg)
        payload = _payload_bytes(seg, origins.get(key), streams.get(key)) if seg.len else b""
        yield t, _frame(packed[seg.src], packed[seg.dst], ip_ids[id(seg)], seg, payload)


def _check_trace(trace: Trace, vantage: object) -> list[tuple[float, SegmentEvent]]:
    """Everything that could stop the writing, found before any work: the trace's type,
    the vantage, and every field a pcap file or an IPv4/TCP header has to hold."""
    if not isinstance(trace, Trace):
        raise ParameterError("trace", type(trace).__name__, "a tcpbook Trace")
    if not isinstance(vantage, str):
        raise ParameterError("vantage", vantage, "'wire' or an endpoint's name such as 'client' or 'server'")
    seen = visible_segments(trace, vantage)
    for t, seg in seen:
        if not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= LAST_TIME:
            raise ParameterError(
                "trace",
                f"a segment at t={t!r} s",
                f"times from 0 to {LAST_TIME:,} s: a pcap file stores 32-bit seconds since 1970, and tcpbook's "
                "captures start at 2024-01-01, so they end in 2106",
            )
        for name, value, top in (("src_port", seg.src_port, 65535), ("dst_port", seg.dst_port, 65535), ("len", seg.len, MAX_SEGMENT_LEN)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ParameterError("trace", f"a segment with {name}={value!r}", f"{name} from 0 to {top:,} in a pcap (IPv4/TCP headers)")
        if "SYN" in seg.flags and seg.mss and (not isinstance(seg.mss, int) or not 0 < seg.mss <= 65535):
            raise ParameterError("trace", f"a SYN with mss={seg.mss!r}", "an MSS option from 1 to 65,535")
        for name, value in (("seq", seg.seq), ("ack", seg.ack), ("window", seg.window)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParameterError("trace", f"a segment with {name}={value!r}", f"an integer {name}")
    return seen


def check_pcap_path(path: object) -> pathlib.Path:
    """The output path, checked before any work: a file name in an existing folder we
    can write to.  :func:`write_pcap` calls it first; a caller that simulates before
    writing (the CLI's ``run --pcap``) can call it before simulating."""
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise ParameterError("path", path, "a file path (str or os.PathLike)")
    try:
        text = os.fspath(path)
    except TypeError:
        raise ParameterError("path", path, "a file path (str or os.PathLike)") from None
    if not isinstance(text, str) or not text or "\0" in text:
        raise ParameterError("path", path, "a non-empty file path without NUL characters")
    out = pathlib.Path(text)
    if out.is_dir():
        raise ParameterError("path", str(out), "a file name, not a folder")
    folder = out.parent
    if not folder.is_dir():
        raise ParameterError("path", str(out), f"a file in an existing folder ({str(folder)!r} does not exist)")
    if not os.access(folder, os.W_OK):
        raise ParameterError("path", str(out), f"a file in a folder you can write to ({str(folder)!r} is not writable)")
    return out


def write_pcap(trace: Trace, path: str | os.PathLike[str], *, vantage: str = "wire") -> pathlib.Path:
    """Write ``trace`` to ``path`` as a classic pcap file (Ethernet link type).

    ``vantage`` is where the capture is taken: ``"wire"`` (every segment at send time,
    dropped ones too), ``"client"``, ``"server"`` or any other endpoint's name (what
    that host's tcpdump would see).  Returns the path written.  The same trace and
    vantage always give the same bytes.

    Every problem — a trace whose times a pcap cannot hold, a path in a folder that
    does not exist — raises :class:`~tcpbook.errors.ParameterError` before the file
    is touched; the file appears, complete, only at the end (written under a
    temporary name and renamed), so a failure never leaves a partial capture.

    >>> from tcpbook import simulate
    >>> import tempfile, os
    >>> out = write_pcap(simulate("handshake"), os.path.join(tempfile.mkdtemp(), "h.pcap"))
    >>> out.stat().st_size
    242
    """
    out = check_pcap_path(path)
    seen = _check_trace(trace, vantage)
    del seen
    # Little-endian and microsecond resolution: the most common pcap flavour, and fixed
    # so that the file does not depend on the machine that wrote it.
    record = struct.Struct("<IIII")
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, frame in _packets(trace, vantage):
                micros = round(t * 1_000_000)
                f.write(record.pack(EPOCH + micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
                f.write(frame)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, out)
    except BaseException:
        with _suppress_os_errors():
            os.unlink(temporary)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _suppress_os_errors:  # noqa: N801  (used like contextlib.suppress(OSError))
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, value: object, tb: object) -> bool:
        return isinstance(value, OSError)
