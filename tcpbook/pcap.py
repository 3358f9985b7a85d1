"""Write a simulated run as a ``.pcap`` file that Wireshark and tcpdump open.

The simulator's segments are abstract (names instead of addresses, lengths instead of
bytes); a capture file needs real packets.  :func:`write_pcap` builds one Ethernet +
IPv4 + TCP packet per segment with Scapy, so every header field is real and every
checksum is correct:

* **addresses** — ``client`` is 10.0.0.1, ``server`` is 10.0.0.2; any other endpoint
  (``client-3``, ``spoofed-17`` …) gets the next free address 10.0.0.3, 10.0.0.4 …
  in the order the names first appear in the trace, so the same trace always gives the
  same file.  MAC addresses are derived from the IP addresses (``02:00:0a:00:00:01``).
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

Where the capture is taken (``vantage``) decides what it contains, as with a real
capture:

* ``"wire"`` — a tap on the link: every segment at the moment it was sent, *including*
  the ones the link then dropped;
* ``"client"`` (or any endpoint's name) — tcpdump running on that host: what it sent,
  at send time, and what reached it, at arrival time; a segment to it that was lost
  never appears.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import pathlib
from collections.abc import Iterable

from .errors import ParameterError
from .trace import SegmentEvent, Trace

EPOCH = 1_704_067_200  # 2024-01-01 00:00:00 UTC: a fixed origin, so files are reproducible
FILLER = b"tcpbook filler: the simulator records lengths, not bytes. "
_FIXED_ADDRESSES = {"client": "10.0.0.1", "server": "10.0.0.2"}
_SEQ_SPACE = 2**32


def endpoint_addresses(trace: Trace) -> dict[str, str]:
    """Map every endpoint name in ``trace`` to an IPv4 address, deterministically.

    ``client`` → 10.0.0.1 and ``server`` → 10.0.0.2 always; the other names get
    10.0.0.3, 10.0.0.4 … (then 10.0.1.x …) in order of first appearance in
    ``trace.endpoints`` and then in the segments.

    >>> from tcpbook import simulate
    >>> endpoint_addresses(simulate("handshake"))
    {'client': '10.0.0.1', 'server': '10.0.0.2'}
    """
    names: list[str] = []
    for name in _names_in_order(trace):
        if name not in names:
            names.append(name)
    addresses = {n: a for n, a in _FIXED_ADDRESSES.items() if n in names}
    host = int(ipaddress.IPv4Address("10.0.0.3"))
    last = int(ipaddress.IPv4Address("10.0.255.254"))
    for name in names:
        if name in addresses:
            continue
        while host & 0xFF in (0, 255):  # skip x.y.z.0 and x.y.z.255: they look like network/broadcast
            host += 1
        if host > last:
            raise ParameterError("trace", f"{len(names)} endpoints", "at most 65000 endpoints (addresses 10.0.0.0/16)")
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
    known = set(_names_in_order(trace))
    if vantage != "wire" and vantage not in known:
        allowed = ", ".join(repr(n) for n in ["wire", *dict.fromkeys(n for n in _names_in_order(trace))])
        raise ParameterError("vantage", vantage, f"one of {allowed}")
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


def build_packets(trace: Trace, vantage: str = "wire") -> list[tuple[float, bytes]]:
    """The packets of the capture as ``(virtual time, Ethernet frame bytes)``.

    This is :func:`write_pcap` without the file; tests and the chapter use it to look
    at single packets.
    """
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    addresses = endpoint_addresses(trace)
    origins = _stream_origins(trace)
    streams = _rebuilt_streams(trace)
    ip_ids = _ip_ids(trace)
    packets: list[tuple[float, bytes]] = []
    for t, seg in visible_segments(trace, vantage):
        key = _connection_key(seg)
        options = [("MSS", seg.mss)] if "SYN" in seg.flags and seg.mss else []
        flags = "".join(f[0] for f in seg.flags)  # SYN→S, FIN→F, RST→R, PSH→P, ACK→A
        frame = (
            Ether(src=_mac(addresses[seg.src]), dst=_mac(addresses[seg.dst]))
            / IP(src=addresses[seg.src], dst=addresses[seg.dst], ttl=64, id=ip_ids[id(seg)], flags="DF")
            / TCP(
                sport=seg.src_port,
                dport=seg.dst_port,
                seq=seg.seq % _SEQ_SPACE,
                ack=seg.ack % _SEQ_SPACE if "ACK" in seg.flags else 0,
                flags=flags,
                window=min(max(seg.window, 0), 65535),
                options=options,
            )
        )
        if seg.len:
            frame = frame / _payload_bytes(seg, origins.get(key), streams.get(key))
        packets.append((t, bytes(frame)))  # bytes(): Scapy fills in lengths and checksums
    return packets


def write_pcap(trace: Trace, path: str | os.PathLike[str], *, vantage: str = "wire") -> pathlib.Path:
    """Write ``trace`` to ``path`` as a classic pcap file (Ethernet link type).

    ``vantage`` is where the capture is taken: ``"wire"`` (every segment at send time,
    dropped ones too), ``"client"``, ``"server"`` or any other endpoint's name (what
    that host's tcpdump would see).  Returns the path written.  The same trace and
    vantage always give the same bytes.

    >>> from tcpbook import simulate
    >>> import tempfile, os
    >>> out = write_pcap(simulate("handshake"), os.path.join(tempfile.mkdtemp(), "h.pcap"))
    >>> out.stat().st_size
    242
    """
    from scapy.data import DLT_EN10MB
    from scapy.utils import RawPcapWriter

    if not isinstance(vantage, str):
        raise ParameterError("vantage", vantage, "'wire' or an endpoint's name such as 'client' or 'server'")
    packets = build_packets(trace, vantage)
    out = pathlib.Path(path)
    # Little-endian and microsecond resolution: the most common pcap flavour, and fixed
    # so that the file does not depend on the machine that wrote it.
    writer = RawPcapWriter(str(out), linktype=DLT_EN10MB, endianness="<", snaplen=65535, sync=False)
    try:
        writer.write_header(None)
        for t, frame in packets:
            micros = round(t * 1_000_000)
            writer.write_packet(frame, sec=EPOCH + micros // 1_000_000, usec=micros % 1_000_000)
    finally:
        writer.close()
    return out
