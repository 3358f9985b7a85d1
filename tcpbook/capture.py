"""Load a capture of a real TCP connection (pcap or pcapng) into a :class:`~tcpbook.trace.Trace`.

A capture file records packets, not states: tcpdump cannot see that a socket moved
from FIN-WAIT-1 to FIN-WAIT-2.  :func:`read_capture` *infers* the states the way a
learner would with the state diagram in hand: it replays the captured segments, in
order, through the arcs of :data:`tcpbook.table.TRANSITIONS`.

* The side that sends the first SYN is the ``client`` (CLOSED --active OPEN--> SYN-SENT);
  the other is the ``server``.  If the server ever answers with a SYN,ACK it must have
  been listening, so it starts in LISTEN.
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
shows TIME-WAIT ending or connect() giving up, so those arcs are not drawn.

Times are relative to the first packet of the connection.  Byte counts and MD5
digests come from the payload actually captured: ``bytes_sent`` is what a side put on
the wire (each byte once), ``bytes_delivered`` what the other side acknowledged.

Errors — a missing file, a file that is not a capture, a truncated one, one without a
TCP connection, or with several when no ``port`` picks one — all raise
:class:`CaptureError` with one clear sentence.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .errors import TcpbookError
from .table import State, find_arc
from .trace import EndpointOutcome, Event, NoteEvent, Outcome, SegmentEvent, StateEvent, Trace

SEQ_SPACE = 2**32
_FLAG_NAMES = (
    ("S", "SYN"),
    ("F", "FIN"),
    ("R", "RST"),
    ("P", "PSH"),
    ("A", "ACK"),
    ("U", "URG"),
    ("E", "ECE"),
    ("C", "CWR"),
)


class CaptureError(TcpbookError, ValueError):
    """The file cannot be read as a capture of one TCP connection; the message says why."""


@dataclass(frozen=True)
class CapturedSegment:
    """One TCP segment as decoded from a capture (absolute sequence numbers)."""

    time: Decimal  # seconds since the epoch, as recorded by the capture
    src: tuple[str, int]  # (address, port)
    dst: tuple[str, int]
    flags: tuple[str, ...]
    seq: int
    ack: int
    window: int
    payload_len: int  # from the IP header: right even if the capture cut the payload short
    payload: bytes  # the bytes captured (fewer than payload_len with a small snaplen)
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def mss(self) -> int | None:
        for name, value in self.options:
            if name == "MSS":
                return int(value)
        return None


@dataclass(frozen=True)
class ConnectionSummary:
    """One TCP connection found in a capture: its two sockets and how many packets."""

    a: tuple[str, int]
    b: tuple[str, int]
    packets: int
    has_syn: bool

    def __str__(self) -> str:
        return f"{_fmt(self.a)} <-> {_fmt(self.b)} ({self.packets} packets{'' if self.has_syn else ', no SYN'})"


def _fmt(sock: tuple[str, int]) -> str:
    address, port = sock
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# -- reading the file ------------------------------------------------------------------


@contextmanager
def _quiet_scapy() -> Iterator[None]:
    """Scapy logs warnings ("packet has been truncated") to stderr; we turn the problems
    they describe into one CaptureError instead, so silence the logger meanwhile."""
    logger = logging.getLogger("scapy.runtime")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_segments(path: str | os.PathLike[str]) -> list[CapturedSegment]:
    """Every IPv4/IPv6 TCP segment in the capture at ``path``, in file order.

    Works with classic pcap (micro- or nanosecond) and pcapng files and the usual link
    types (Ethernet, Linux "cooked" from ``tcpdump -i any``, raw IP, BSD loopback).
    """
    import scapy.layers.inet  # noqa: F401  (registers IPv4/TCP and the link types)
    import scapy.layers.inet6  # noqa: F401
    import scapy.layers.l2  # noqa: F401
    from scapy.config import conf
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapNgReader, RawPcapReader

    file = pathlib.Path(path)
    if not file.is_file():
        raise CaptureError(f"{file}: no such file")
    size = file.stat().st_size
    segments: list[CapturedSegment] = []
    with _quiet_scapy():
        try:
            reader = RawPcapReader(str(file))
        except Scapy_Exception as exc:
            raise CaptureError(f"{file}: not a pcap or pcapng capture file ({exc})") from None
        except (OSError, EOFError, ValueError, TypeError) as exc:
            raise CaptureError(f"{file}: cannot be read as a capture file ({exc})") from None
        try:
            count = 0
            plain = not reader.filename.endswith(".gz")
            while True:
                # where this record starts: if the file ends inside it, the file is truncated
                position = reader.f.tell() if plain else size
                try:
                    record = reader._read_packet()  # (bytes, metadata); None or EOFError at the end
                except EOFError:
                    break
                except Exception as exc:  # noqa: BLE001  (a corrupt block: scapy raises many kinds)
                    raise CaptureError(f"{file}: corrupt after packet {count} ({exc})") from None
                if record is None:
                    position = reader.f.tell() if plain else size
                    break
                data, meta = record
                count += 1
                if isinstance(reader, RawPcapNgReader):
                    linktype = meta.linktype
                    if meta.tshigh is None:
                        raise CaptureError(f"{file}: packet {count} has no timestamp")
                    time = Decimal((meta.tshigh << 32) + meta.tslow) / Decimal(meta.tsresol)
                else:
                    linktype = reader.linktype
                    if len(data) < meta.caplen:
                        raise CaptureError(
                            f"{file}: truncated: packet {count} is cut short ({len(data)} of {meta.caplen} bytes)"
                        )
                    scale = Decimal(10) ** (-9 if reader.nano else -6)
                    time = Decimal(meta.sec) + scale * meta.usec
                layer = conf.l2types.num2layer.get(linktype)
                if layer is None:
                    raise CaptureError(f"{file}: link type {linktype} is not supported (packet {count})")
                segment = _decode(layer, data, time)
                if segment is not None:
                    segments.append(segment)
        finally:
            reader.close()
    if position < size:
        raise CaptureError(f"{file}: truncated or corrupt after packet {count} ({size - position} bytes left over)")
    return segments


def _decode(layer: Any, data: bytes, time: Decimal) -> CapturedSegment | None:
    """Decode one frame; None for anything that is not an unfragmented TCP segment."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    try:
        packet = layer(data)
    except Exception:  # noqa: BLE001  (a frame Scapy cannot dissect is simply not TCP to us)
        return None
    tcp = packet.getlayer(TCP)
    if tcp is None:
        return None
    ip = packet.getlayer(IP)
    if ip is not None:
        if ip.frag or ip.flags.MF:
            return None  # a fragment: TCP over fragments does not happen on Linux, skip it
        src, dst = ip.src, ip.dst
        tcp_bytes = (ip.len or 0) - ip.ihl * 4
    else:
        ip6 = packet.getlayer(IPv6)
        if ip6 is None:
            return None
        src, dst = ip6.src, ip6.dst
        tcp_bytes = ip6.plen or 0  # no extension headers on the TCP segments Linux sends
    payload_len = max(0, tcp_bytes - tcp.dataofs * 4)
    payload = bytes(tcp.payload)[:payload_len]
    flags = tuple(name for letter, name in _FLAG_NAMES if letter in str(tcp.flags))
    options = []
    for option in tcp.options:
        if isinstance(option, tuple) and option and option[0] not in ("NOP", "EOL"):
            options.append((str(option[0]), option[1] if len(option) > 1 else None))
    return CapturedSegment(
        time=time,
        src=(src, int(tcp.sport)),
        dst=(dst, int(tcp.dport)),
        flags=flags,
        seq=int(tcp.seq),
        ack=int(tcp.ack),
        window=int(tcp.window),
        payload_len=payload_len,
        payload=payload,
        options=tuple(options),
    )


def _key(seg: CapturedSegment) -> tuple[tuple[str, int], tuple[str, int]]:
    a, b = sorted([seg.src, seg.dst])
    return (a, b)


def connections(path: str | os.PathLike[str]) -> list[ConnectionSummary]:
    """The TCP connections (distinct address/port pairs) in a capture, in order of first packet."""
    return _group(read_segments(path))[0]


def _group(segments: list[CapturedSegment]) -> tuple[list[ConnectionSummary], dict[Any, list[CapturedSegment]]]:
    groups: dict[Any, list[CapturedSegment]] = {}
    for seg in segments:
        groups.setdefault(_key(seg), []).append(seg)
    summaries = [
        ConnectionSummary(a, b, len(segs), any("SYN" in s.flags for s in segs)) for (a, b), segs in groups.items()
    ]
    return summaries, groups


# -- inferring the states ----------------------------------------------------------------


def _signed(x: int) -> int:
    """A 32-bit sequence difference as a signed number (RFC 1982 style)."""
    x %= SEQ_SPACE
    return x - SEQ_SPACE if x >= SEQ_SPACE // 2 else x


@dataclass
class _Side:
    """What the replay knows about one end of the connection."""

    name: str
    peer: str
    base: int  # sequence number of its SYN (or its first segment when the SYN was not captured)
    saw_syn: bool
    state: State = State.CLOSED
    passive: bool = False  # reached SYN-RECEIVED from LISTEN
    sent_end: int = 0  # highest relative sequence number sent + 1 (SYN and FIN count)
    fin_rel: int | None = None  # relative sequence number of its FIN
    peer_fin_seen: bool = False
    acked_by_peer: int = 0  # highest relative ack the peer sent for this side's sequence space
    max_ack_sent: int = 0  # highest ACK this side sent, relative to the peer's sequence space
    synack_sent: bool = False
    error: str | None = None
    established_at: float | None = None
    stream: dict[int, bytes] = field(default_factory=dict)  # data offset -> payload bytes
    stream_end: int = 0  # data bytes sent (by sequence space), even where not captured

    def rel(self, seq: int) -> int:
        return _signed(seq - self.base)

    def data_offset(self, seq: int) -> int:
        return self.rel(seq) - (1 if self.saw_syn else 0)


def read_capture(path: str | os.PathLike[str], *, port: int | None = None, relative: bool = False) -> Trace:
    """Read one TCP connection from a pcap/pcapng file as a :class:`Trace`.

    ``port`` picks the connection with that port (either side) when the capture holds
    several.  ``relative=True`` rewrites sequence numbers so that each side's SYN is 0
    (as Wireshark shows them); by default they are the real 32-bit numbers.

    The trace's endpoints are ``client`` (the side that sent the first SYN) and
    ``server``; its state changes are inferred (see the module docstring); its
    ``params`` say where it came from (``scenario="capture"``, the file name, both
    sockets, the TCP options each side offered on its SYN).
    """
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        from .errors import ParameterError

        raise ParameterError("port", port, "a TCP port number 0-65535 or None")
    file = pathlib.Path(path)
    segments = read_segments(file)
    if not segments:
        raise CaptureError(f"{file}: holds no TCP segments")
    summaries, groups = _group(segments)
    if port is not None:
        summaries = [s for s in summaries if port in (s.a[1], s.b[1])]
        if not summaries:
            listing = "; ".join(str(s) for s in _group(segments)[0])
            raise CaptureError(f"{file}: no TCP connection uses port {port}; the capture holds: {listing}")
    if len(summaries) > 1:
        listing = "; ".join(str(s) for s in summaries)
        raise CaptureError(f"{file}: holds {len(summaries)} TCP connections, pick one with port=…: {listing}")
    chosen = summaries[0]
    return _replay(file, groups[(chosen.a, chosen.b)], relative=relative)


def _replay(file: pathlib.Path, segs: list[CapturedSegment], *, relative: bool) -> Trace:
    first_syn = next((s for s in segs if "SYN" in s.flags and "ACK" not in s.flags), None)
    client_sock = first_syn.src if first_syn is not None else segs[0].src
    server_sock = first_syn.dst if first_syn is not None else segs[0].dst
    name_of = {client_sock: "client", server_sock: "server"}
    t0 = segs[0].time

    def own_base(sock: tuple[str, int]) -> tuple[int, bool]:
        for s in segs:
            if s.src == sock and "SYN" in s.flags:
                return s.seq, True
        for s in segs:
            if s.src == sock:
                return s.seq, False
        return 0, False

    sides: dict[str, _Side] = {}
    for sock, name in name_of.items():
        base, saw_syn = own_base(sock)
        sides[name] = _Side(name=name, peer="server" if name == "client" else "client", base=base, saw_syn=saw_syn)

    events: list[Event] = []
    notes: list[NoteEvent] = []

    def move(side: _Side, t: float, event: str, target: State) -> None:
        arc = find_arc(side.state, event, target)  # only arcs of the diagram: raises otherwise
        events.append(StateEvent(t, side.name, side.peer, arc.source.value, arc.target.value, arc.event))
        side.state = target
        if target is State.ESTABLISHED and side.established_at is None:
            side.established_at = t

    mid_connection = first_syn is None
    if mid_connection:
        for side in sides.values():
            side.state = State.ESTABLISHED
        notes.append(NoteEvent(0.0, "client", "capture starts mid-connection (no SYN): both sides assumed ESTABLISHED"))
    else:
        server = sides["server"]
        if any(s.src == server_sock and "SYN" in s.flags and "ACK" in s.flags for s in segs) and not any(
            s.src == server_sock and "SYN" in s.flags and "ACK" not in s.flags for s in segs
        ):
            # It answered a SYN with SYN,ACK, so it was listening before the capture began.
            events.append(StateEvent(0.0, "server", None, State.CLOSED.value, State.LISTEN.value, "passive OPEN"))
            server.state = State.LISTEN

    lost = _inferred_losses(segs, sides, name_of)
    options: dict[str, list[str]] = {}
    last_received_syn: dict[str, bool] = {"client": False, "server": False}

    # Segments waiting to be delivered: a capture shows when a segment passed the
    # capture point, not when it reached its destination.  A segment that uses sequence
    # space is delivered, at the latest, just before the receiver first sends an ACK
    # covering it (every segment a TCP sends acknowledges everything it has received);
    # segments between the same two sides stay in order (FIFO), and whatever is still
    # waiting when the capture ends is delivered at the time it was captured.
    pending: dict[str, list[tuple[int, CapturedSegment, float]]] = {"client": [], "server": []}
    segment_event_at: dict[int, int] = {}  # capture index -> position of its SegmentEvent in events

    last_sent: dict[str, float] = {"client": 0.0, "server": 0.0}
    answered_by_rst = {
        i
        for i, seg in enumerate(segs)
        if (reply := next((later for later in segs[i + 1 :] if later.src == seg.dst), None)) is not None
        and "RST" in reply.flags
    }

    def deliver(receiver: _Side, upto: int, when: float | None) -> None:
        """Deliver the first ``upto`` waiting segments to ``receiver`` at ``when`` (None:
        when captured, but never before the receiver's last segment, which did not
        acknowledge them and so was sent before they arrived)."""
        queue = pending[receiver.name]
        for index, waiting, captured_at in queue[:upto]:
            at = max(captured_at, last_sent[receiver.name]) if when is None else when
            position = segment_event_at[index]
            events[position] = replace(events[position], arrival=at)  # type: ignore[type-var]
            _receive(receiver, sides[receiver.peer], waiting, at, move, answered_by_rst=index in answered_by_rst)
        del queue[:upto]

    for index, seg in enumerate(segs):
        t = float(round(seg.time - t0, 6))
        a = sides[name_of[seg.src]]
        b = sides[name_of[seg.dst]]
        syn, fin, rst, ack = ("SYN" in seg.flags), ("FIN" in seg.flags), ("RST" in seg.flags), ("ACK" in seg.flags)
        rel = a.rel(seg.seq)
        end = rel + seg.payload_len + syn + fin
        retransmission = (end > rel) and end <= a.sent_end
        a.sent_end = max(a.sent_end, end)
        if syn and seg.options and a.name not in options:
            options[a.name] = [_describe_option(name, value) for name, value in seg.options]
        if seg.payload_len:
            offset = a.data_offset(seg.seq)
            if offset >= 0:
                a.stream.setdefault(offset, seg.payload)
                a.stream_end = max(a.stream_end, offset + seg.payload_len)

        # 0. this segment's ACK proves which waiting segments of the peer had arrived
        if ack:
            acked = b.rel(seg.ack)
            covered = 0
            for k, (_, waiting, _) in enumerate(pending[a.name]):
                w_rel = b.rel(waiting.seq)
                w_end = w_rel + waiting.payload_len + ("SYN" in waiting.flags) + ("FIN" in waiting.flags)
                if w_end > w_rel and w_end <= acked:
                    covered = k + 1
            deliver(a, covered, t)
            a.max_ack_sent = max(a.max_ack_sent, acked)

        # 1. what sending this segment says about the sender
        last_sent[a.name] = t
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
            elif (
                retransmission and not seg.payload_len and a.state in (State.FIN_WAIT_1, State.LAST_ACK, State.CLOSING)
            ):
                # a FIN sent again on its own; when it rides on retransmitted data it is
                # the data's timer that fired, not a move of the state diagram
                move(a, t, "timeout", a.state)
        if rst and a.state in (
            State.SYN_RECEIVED,
            State.ESTABLISHED,
            State.FIN_WAIT_1,
            State.FIN_WAIT_2,
            State.CLOSE_WAIT,
        ):
            move(a, t, "ABORT", State.CLOSED)
        last_received_syn[b.name] = syn and not ack

        # 2. the segment itself; then its delivery, unless it evidently never arrived.
        # Moves caused by sending come before the segment in the trace, moves caused by
        # receiving after it, as in the simulator's traces.
        reason = lost.get(index, "")
        segment_event_at[index] = len(events)
        events.append(
            SegmentEvent(
                t=t,
                src=a.name,
                dst=b.name,
                flags=seg.flags,
                seq=(rel if relative and a.saw_syn else seg.seq),
                ack=(_signed(seg.ack - b.base) if relative and b.saw_syn and ack else (seg.ack if ack else 0)),
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
        )
        if reason:
            continue
        pending[b.name].append((index, seg, t))
        if not (end > rel and end > b.max_ack_sent):
            # A pure ACK, a RST, or sequence space the receiver had already acknowledged:
            # its arrival leaves no trace in the receiver's ACKs, so take it as it was
            # captured (after everything sent before it on the same path).
            deliver(b, len(pending[b.name]), t)
    for side in sides.values():
        deliver(side, len(pending[side.name]), None)

    for side_name, offered in options.items():
        notes.append(NoteEvent(0.0, side_name, "SYN options: " + ", ".join(offered)))
    # A stable sort by time keeps the replay order among events of the same instant.
    all_events: list[Event] = sorted([*notes, *events], key=lambda e: e.t)

    outcomes = {name: _outcome(side, sides[side.peer]) for name, side in sides.items()}
    digest_match = all(
        outcomes[n].md5_sent == outcomes[sides[n].peer].md5_delivered
        and outcomes[n].bytes_sent == outcomes[sides[n].peer].bytes_delivered
        for n in sides
    )
    end_time = float(round(segs[-1].time - t0, 6))
    params: dict[str, Any] = {
        "scenario": "capture",
        "file": file.name,
        "client": _fmt(client_sock),
        "server": _fmt(server_sock),
        "packets": len(segs),
        "relative": relative,
        "options": {name: options.get(name, []) for name in ("client", "server")},
        "payload_complete": all(len(s.payload) == s.payload_len for s in segs),
    }
    return Trace(
        params=params,
        events=all_events,
        outcome=Outcome(
            endpoints=outcomes,
            bytes_sent=sum(o.bytes_sent for o in outcomes.values()),
            bytes_delivered=sum(o.bytes_delivered for o in outcomes.values()),
            digest_match=digest_match,
            end_time=end_time,
            stats={"segments": len(segs), "inferred_losses": len(lost)},
        ),
        endpoints=("client", "server"),
    )


def _receive(b: _Side, a: _Side, seg: CapturedSegment, t: float, move: Any, *, answered_by_rst: bool = False) -> None:
    """Apply the arrival of ``seg`` (from ``a``) to ``b``'s state.

    ``answered_by_rst``: the next segment ``b`` sends is a RST (so, in TIME-WAIT, its
    2*MSL timer had already expired and the socket was gone)."""
    syn, fin, rst, ack = ("SYN" in seg.flags), ("FIN" in seg.flags), ("RST" in seg.flags), ("ACK" in seg.flags)
    acked = b.rel(seg.ack) if ack else None
    if acked is not None and acked > b.acked_by_peer:
        b.acked_by_peer = acked
    if rst:
        if b.state is State.SYN_SENT:
            if ack and acked == 1:  # a RST that acknowledges our SYN: connection refused
                move(b, t, "rcv RST,ACK", State.CLOSED)
                b.error = "ECONNREFUSED"
        elif b.state is State.SYN_RECEIVED:
            move(b, t, "rcv RST", State.LISTEN if b.passive else State.CLOSED)
        elif b.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
            move(b, t, "rcv RST", State.CLOSED)
            b.error = "ECONNRESET"
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
        if acked == 1:  # it acknowledges our SYN (anything else Linux would answer with RST)
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


def _inferred_losses(
    segs: list[CapturedSegment], sides: dict[str, _Side], name_of: dict[tuple[str, int], str]
) -> dict[int, str]:
    """Indexes of captured segments that, judging by the peer, never reached it.

    * A segment that uses sequence space (SYN, FIN, data) is lost if the peer sends no
      acknowledgement of it (nor a RST answering it) before it is sent again or the
      capture ends.
    * A pure ACK that acknowledges the peer's FIN or SYN is lost if the peer sends that
      FIN or SYN,ACK again before this side acknowledges it once more.
    """
    lost: dict[int, str] = {}
    for i, seg in enumerate(segs):
        a, b = sides[name_of[seg.src]], sides[name_of[seg.dst]]
        syn, fin = "SYN" in seg.flags, "FIN" in seg.flags
        if "RST" in seg.flags:
            continue
        rel = a.rel(seg.seq)
        end = rel + seg.payload_len + syn + fin
        if end > rel:
            answered = False
            resent = False
            for later in segs[i + 1 :]:
                if later.src == seg.dst:
                    # any RST answers it (it arrived, and was refused); an ACK must cover it
                    if "RST" in later.flags or ("ACK" in later.flags and a.rel(later.ack) >= end):
                        answered = True
                        break
                elif later.src == seg.src:
                    later_rel = a.rel(later.seq)
                    later_len = later.payload_len + ("SYN" in later.flags) + ("FIN" in later.flags)
                    if later_rel <= rel < later_rel + later_len:
                        resent = True
                        break
            if not answered:
                lost[i] = (
                    "inferred: sent again before any answer" if resent else "inferred: never answered in the capture"
                )
        elif "ACK" in seg.flags and b.saw_syn:
            acked = b.rel(seg.ack)
            peer_fin = _fin_rel_of(segs, seg.dst, b)
            target_is_fin = peer_fin is not None and acked == peer_fin + 1
            target_is_syn = acked == 1
            if not (target_is_fin or target_is_syn):
                continue
            for later in segs[i + 1 :]:
                if later.src == seg.src and "ACK" in later.flags and b.rel(later.ack) >= acked:
                    break  # acknowledged again: whichever copy arrived, the peer has it
                if later.src == seg.dst:
                    if target_is_fin and "FIN" in later.flags and b.rel(later.seq) + later.payload_len == peer_fin:
                        lost[i] = "inferred: the peer sent its FIN again"
                        break
                    if target_is_syn and not target_is_fin and "SYN" in later.flags and "ACK" in later.flags:
                        lost[i] = "inferred: the peer sent its SYN,ACK again"
                        break
    return lost


def _fin_rel_of(segs: list[CapturedSegment], sock: tuple[str, int], side: _Side) -> int | None:
    for s in segs:
        if s.src == sock and "FIN" in s.flags and "RST" not in s.flags:
            return side.rel(s.seq) + s.payload_len + ("SYN" in s.flags)
    return None


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
    return name


def _outcome(side: _Side, peer: _Side) -> EndpointOutcome:
    """Bytes this side sent (each once) and bytes of the peer's stream it acknowledged."""
    sent = _assemble(side.stream, side.stream_end)
    delivered_len = max(0, min(side_acked_data(peer), peer.stream_end))
    delivered = _assemble(peer.stream, delivered_len)
    return EndpointOutcome(
        final_state=side.state.value,
        error=side.error,
        bytes_sent=side.stream_end,
        bytes_delivered=delivered_len,
        md5_sent=hashlib.md5(sent).hexdigest(),
        md5_delivered=hashlib.md5(delivered).hexdigest(),
        established_at=side.established_at,
    )


def side_acked_data(side: _Side) -> int:
    """How many of ``side``'s data bytes its peer acknowledged (SYN and FIN excluded)."""
    return side.acked_by_peer - (1 if side.saw_syn else 0)


def _assemble(pieces: dict[int, bytes], length: int) -> bytes:
    """The first ``length`` bytes of a stream from its captured pieces (first copy wins;
    bytes the capture did not keep are left out, see ``params["payload_complete"]``)."""
    out = bytearray()
    position = 0
    for offset in sorted(pieces):
        piece = pieces[offset]
        if offset + len(piece) <= position:
            continue
        start = max(position, offset)
        if start >= length:
            break
        out += piece[start - offset : length - offset]
        position = offset + len(piece)
    return bytes(out)
