"""One connection's captured segments replayed through the state diagram, into a Trace.

:func:`read_capture` puts the other modules of :mod:`tcpbook.capture` together: it reads
the file's TCP segments, picks one connection, and hands it to :class:`Replay`, which
walks the segments in time order the way a learner would with the state diagram in hand:

1. **Before the replay**, with the whole capture in view: where each segment sits in
   its sender's sequence space (:func:`~tcpbook.capture.sequence.geometry`), which
   segments the peer's behaviour shows were lost on the way
   (:func:`~tcpbook.capture.losses.inferred_losses`), and which were answered by a RST.
2. **For each segment**: what sending it says about its sender
   (:func:`~tcpbook.capture.moves.after_sending`), the segment itself as a
   :class:`~tcpbook.trace.SegmentEvent`, and — unless it was lost — its arrival.
3. **Arrival comes later**: a capture shows when a segment passed the capture point,
   not when it reached the receiver.  A segment that takes sequence space is delivered
   when the receiver's next ACK covers it (the ACK proves it had arrived); a pure ACK or
   a RST, which no ACK ever confirms, when it was captured.  :class:`DeliveryQueue`
   keeps the segments on their way to each receiver.
4. **At the end**: the bytes each application sent and had acknowledged, the digests
   (:func:`~tcpbook.capture.digests.capture_bytes`), and the same outcome a simulated
   run gets (:func:`tcpbook.outcome.derive_outcome`).

Moves caused by sending come before the segment in the trace, moves caused by
receiving after it, as in the simulator's traces.
"""

from __future__ import annotations

import bisect
import os
import pathlib
import warnings
from dataclasses import replace
from typing import Any

from ..errors import ParameterError
from ..outcome import derive_outcome
from ..table import State, find_arc
from ..trace import Event, NoteEvent, SegmentEvent, StateEvent, Trace
from ..vocabulary import NoteKind
from .conversations import CapturedConnection, choose, socket_text, split
from .decode import CapturedSegment, tcp_segments
from .digests import capture_bytes
from .errors import CaptureError, CaptureWarning, Problems
from .files import check_file
from .losses import answered_by_rst, inferred_losses
from .moves import after_receiving, after_sending
from .sequence import SEQ_SPACE, Side, geometry

SELF = "self"  # the one endpoint of a socket connected to itself
_TRACE_FLAGS = frozenset({"SYN", "ACK", "FIN", "RST", "PSH"})  # what the trace schema knows


def read_capture(
    path: str | os.PathLike[str], *, port: int | None = None, relative: bool = False, connection: int | None = None
) -> Trace:
    """Read one TCP connection from a pcap/pcapng file as a :class:`~tcpbook.trace.Trace`.

    ``port`` picks the connection with that port (either side) when the capture holds
    several; ``connection`` picks one by its number in :func:`~tcpbook.capture.connections`
    (needed when one address/port pair was used for several connections one after another).
    ``relative=True`` rewrites sequence numbers so that each side's SYN is 0 (as
    Wireshark shows them); by default they are the real 32-bit numbers.

    The trace's endpoints are ``client`` (the side that sent the first SYN) and
    ``server`` (or the one ``self`` of a socket connected to itself); its state changes
    are inferred (see :mod:`tcpbook.capture`); its ``params`` say where it came from
    (``scenario="capture"``, the file name, both sockets, the TCP options each side
    offered on its SYN, whether the payload was captured whole, and warnings).
    """
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise ParameterError("port", port, "a TCP port number 0-65535 or None")
    if connection is not None and (isinstance(connection, bool) or not isinstance(connection, int) or connection < 1):
        raise ParameterError("connection", connection, "a connection number >= 1 (see connections()) or None")
    if not isinstance(relative, bool):
        raise ParameterError("relative", relative, "True or False")
    file = check_file(path)
    stat = file.stat()
    problems = Problems()
    segments = tcp_segments(file, problems)
    if not segments:
        why = "; ".join(problems.lines())
        raise CaptureError(f"{file}: holds no TCP segments" + (f" ({why})" if why else ""))
    number, chosen = choose(file, split(segments), port, connection)
    del segments
    trace = Replay(file, chosen, number, problems, relative=relative).trace()
    after = file.stat()
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        raise CaptureError(f"{file}: changed while it was being read (is a capture still writing it?)")
    for message in trace.params["warnings"]:
        warnings.warn(f"{file.name}: {message}", CaptureWarning, stacklevel=2)
    return trace


def in_time_order(segs: list[CapturedSegment], problems: Problems) -> list[CapturedSegment]:
    """The segments sorted by time, stably (equal times keep the file's order).

    Capture order is time order, except when clocks or merged interfaces disagree.
    Loopback captures step back by a microsecond now and then (CPUs stamp packets in
    parallel): sorted silently.  A bigger step is worth a warning."""
    steps = [(segs[i - 1].time_ns - segs[i].time_ns, i) for i in range(1, len(segs)) if segs[i].time_ns < segs[i - 1].time_ns]
    if not steps:
        return segs
    step, at = max(steps)
    if step > 1_000_000:
        problems.warn(
            f"timestamps go backwards {len(steps)} time(s), by up to {step / 1e9:.6f} s at packet {segs[at].packet}: "
            "packets are shown in time order"
        )
    return sorted(segs, key=lambda s: s.time_ns)


def _sides(segs: list[CapturedSegment], client: tuple[str, int], server: tuple[str, int]) -> dict[tuple[str, int], Side]:
    """The two ends (one, for a socket connected to itself), each with its initial
    sequence number: its SYN's, else its first segment's, else — a side never captured —
    what the other acknowledges first, less its SYN."""
    bases: dict[tuple[str, int], tuple[int, bool]] = {}
    for s in segs:
        known = bases.get(s.src)
        if known is None or (not known[1] and "SYN" in s.flags):
            bases[s.src] = (s.seq, "SYN" in s.flags)
    for s in segs:
        if s.dst not in bases and "ACK" in s.flags and "RST" not in s.flags:
            bases[s.dst] = ((s.ack - 1) % SEQ_SPACE, False)
    self_connect = client == server
    sides: dict[tuple[str, int], Side] = {}
    for sock, name in ((client, "client"), (server, "server")):
        if self_connect:
            name = SELF
        peer = SELF if self_connect else ("server" if name == "client" else "client")
        base, saw_syn = bases.get(sock, (0, False))
        sides.setdefault(sock, Side(name=name, peer=peer, base=base, saw_syn=saw_syn))
    return sides


class DeliveryQueue:
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
        """Segment ``index`` is on its way; ``end``: where its sequence space ends (None
        for a segment without any, which no ACK confirms)."""
        position = len(self.items)
        self.items.append((index, captured_at))
        if end is not None:
            while self.candidates and self.candidates[-1][0] >= end:
                self.candidates.pop()
            self.candidates.append((end, position))

    def through(self, acked: int) -> list[tuple[int, float]]:
        """Everything up to the last waiting segment that ``acked`` covers."""
        k = bisect.bisect_right(self.candidates, acked, key=lambda c: c[0])
        if k == 0:
            return []
        upto = self.candidates[k - 1][1] + 1
        del self.candidates[:k]
        return self._take(upto)

    def everything(self) -> list[tuple[int, float]]:
        """Everything still waiting."""
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


class Replay:
    """Replays one connection's segments through the state diagram (see the module docstring)."""

    def __init__(self, file: pathlib.Path, chosen: CapturedConnection, number: int, problems: Problems, *, relative: bool) -> None:
        self.file = file
        self.number = number
        self.problems = problems
        self.relative = relative
        self.segs = segs = in_time_order(chosen.segments, problems)
        self.first_syn = next((s for s in segs if "SYN" in s.flags and "ACK" not in s.flags), None)
        self.client_sock = self.first_syn.src if self.first_syn is not None else segs[0].src
        self.server_sock = self.first_syn.dst if self.first_syn is not None else segs[0].dst
        self.self_connect = self.client_sock == self.server_sock
        self.sides = _sides(segs, self.client_sock, self.server_sock)
        self.by_name = {side.name: side for side in self.sides.values()}
        # One side only, yet it acknowledges things: the other side did talk, and the
        # capture did not see it.  (A client whose SYNs go unanswered is not that case.)
        self.one_direction = (
            not self.self_connect and len({s.src for s in segs}) == 1 and any("ACK" in s.flags for s in segs)
        )
        self.events: list[Event] = []
        self.notes: list[NoteEvent] = []
        # what the replay learns as it goes
        self.options: dict[str, list[str]] = {}  # side -> the options it offered on its SYN
        self.last_received_syn = {name: False for name in self.by_name}
        self.last_sent = {name: 0.0 for name in self.by_name}
        self.queues = {name: DeliveryQueue() for name in self.by_name}
        self.segment_event_at: dict[int, int] = {}  # segment index -> its SegmentEvent's position in events

    def side(self, sock: tuple[str, int]) -> Side:
        """The end of the connection that uses the socket ``sock``."""
        return self.sides[sock]

    def move(self, side: Side, t: float, event: str, target: State) -> None:
        """``side`` takes the arc ``event`` to ``target`` at time ``t``; only arcs of the
        diagram (:func:`tcpbook.table.find_arc` raises otherwise)."""
        arc = find_arc(side.state, event, target)
        self.events.append(StateEvent(t, side.name, side.peer, arc.source.value, arc.target.value, arc.event))
        side.state = target
        if target is State.ESTABLISHED and side.established_at is None:
            side.established_at = t

    # -- the replay ---------------------------------------------------------------------

    def trace(self) -> Trace:
        """The whole replay: the connection as a :class:`~tcpbook.trace.Trace`."""
        self._initial_states()
        segs = self.segs
        self.geo = geometry(segs, self.side)
        self.lost = inferred_losses(segs, self.geo, self.side, list(self.by_name), one_direction=self.one_direction)
        self.answered_by_rst = answered_by_rst(segs)
        for side in self.by_name.values():
            side.sent_end = 0
        t0 = segs[0].time_ns
        for index, seg in enumerate(segs):
            self._replay_segment(index, seg, (seg.time_ns - t0) / 1e9)
        for side in self.by_name.values():
            self._deliver(side, self.queues[side.name].everything(), None)
        return self._finish()

    def _initial_states(self) -> None:
        """Where the sides stand when the capture begins: both ESTABLISHED when it shows
        no SYN; the server in LISTEN when it answers a SYN with a SYN,ACK (so it was
        listening before the capture began) and never sends a SYN of its own."""
        if self.first_syn is None:
            for side in self.by_name.values():
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
            from_server = [s for s in self.segs if s.src == self.server_sock and "SYN" in s.flags]
            if any("ACK" in s.flags for s in from_server) and all("ACK" in s.flags for s in from_server):
                self.events.append(StateEvent(0.0, "server", None, State.CLOSED.value, State.LISTEN.value, "passive OPEN"))
                self.side(self.server_sock).state = State.LISTEN

    def _replay_segment(self, index: int, seg: CapturedSegment, t: float) -> None:
        """One segment: what sending it says about its sender, the segment, its arrival."""
        a, b = self.side(seg.src), self.side(seg.dst)
        rel, end = self.geo.rel[index], self.geo.end[index]
        ignored = self.geo.ignored.get(index, "")
        retransmission = not ignored and end > rel and end <= a.sent_end
        if not ignored:
            self._account(a, seg, rel, end)
            # this segment's ACK proves which waiting segments of the peer had arrived
            acked = self.geo.ack[index]
            if acked is not None:
                self._deliver(a, self.queues[a.name].through(acked), t)
                a.max_ack_sent = max(a.max_ack_sent, acked)
            self.last_sent[a.name] = t
            after_sending(
                a, seg, t, rel, retransmission, self.last_received_syn[a.name], self.move, one_direction=self.one_direction
            )
            self.last_received_syn[b.name] = "SYN" in seg.flags and "ACK" not in seg.flags
        # the segment itself; then its delivery, unless it evidently never arrived
        reason = ignored or self.lost.get(index, "")
        self.segment_event_at[index] = len(self.events)
        self.events.append(self._segment_event(seg, a, b, t, rel, self.geo.ack[index], reason, retransmission))
        if reason:
            return
        queue = self.queues[b.name]
        queue.add(index, t, end if end > rel else None)
        if not (end > rel and end > b.max_ack_sent):
            # A pure ACK, a RST, or sequence space the receiver had already acknowledged:
            # its arrival leaves no trace in the receiver's ACKs, so take it as it was
            # captured (after everything sent before it on the same path).
            self._deliver(b, queue.everything(), t)

    def _account(self, a: Side, seg: CapturedSegment, rel: int, end: int) -> None:
        """What the segment adds to its sender's counts: sequence space, SYN options, and
        the data's place in the stream (for the byte counts and digests)."""
        syn = "SYN" in seg.flags
        a.sent_end = max(a.sent_end, end)
        if end > rel:
            a.space_end = max(a.space_end, end)
        if syn and seg.options and a.name not in self.options:
            self.options[a.name] = [_describe_option(name, value) for name, value in seg.options]
        if seg.payload_len:
            offset = rel + syn - (1 if a.saw_syn else 0)  # data on a SYN (Fast Open) starts after it
            if offset >= 0:
                a.stream_end = max(a.stream_end, offset + seg.payload_len)
                a.pieces.append((offset, seg.captured_len, seg.packet))
                a.wire.append((offset, seg.payload_len))

    def _deliver(self, receiver: Side, items: list[tuple[int, float]], when: float | None) -> None:
        """Deliver waiting segments to ``receiver`` at ``when`` (None: when captured,
        but never before the receiver's last segment, which did not acknowledge them
        and so was sent before they arrived)."""
        for index, captured_at in items:
            at = max(captured_at, self.last_sent[receiver.name]) if when is None else when
            position = self.segment_event_at[index]
            self.events[position] = replace(self.events[position], arrival=at)  # type: ignore[type-var]
            after_receiving(
                receiver, self.segs[index], self.geo.ack[index], at, self.move, answered_by_rst=index in self.answered_by_rst
            )

    def _segment_event(
        self, seg: CapturedSegment, a: Side, b: Side, t: float, rel: int, acked: int | None, reason: str, retransmission: bool
    ) -> SegmentEvent:
        """The trace's event for ``seg``: real or (``relative``) SYN-relative numbers."""
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

    # -- the end ------------------------------------------------------------------------

    def _finish(self) -> Trace:
        """The trace: events in time order, warnings as notes, the outcome, the params."""
        segs, geo = self.segs, self.geo
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
        app_events, digests, stats = capture_bytes(self.file, segs, self.by_name, self.problems, one_direction=self.one_direction)
        warnings_ = self.problems.lines()
        for message in warnings_:
            self.notes.append(NoteEvent(0.0, segs and self.side(segs[0].src).name or "client", "warning: " + message, NoteKind.CAPTURE_WARNING))
        for side_name, offered in self.options.items():
            self.notes.append(NoteEvent(0.0, side_name, "SYN options: " + ", ".join(offered), NoteKind.CAPTURE_OPTIONS))
        # A stable sort by time keeps the replay order among events of the same instant.
        all_events: list[Event] = sorted([*self.notes, *self.events, *app_events], key=lambda e: e.t)
        stats.update({"segments": len(segs), "inferred_losses": len(self.lost)})
        if geo.ignored:
            stats["ignored_out_of_window"] = len(geo.ignored)
        names = tuple(self.by_name)
        outcome = derive_outcome(all_events, names, digests, stats=stats)
        return Trace(params=self._params(warnings_), events=all_events, outcome=outcome, endpoints=names)

    def _params(self, warnings_: list[str]) -> dict[str, Any]:
        """Where the trace came from: the file, the connection, the options, the warnings."""
        return {
            "scenario": "capture",
            "file": self.file.name,
            "client": socket_text(self.client_sock),
            "server": socket_text(self.server_sock),
            "connection": self.number,
            "packets": len(self.segs),
            "relative": self.relative,
            "options": {name: self.options.get(name, []) for name in self.by_name},
            "payload_complete": all(s.captured_len == s.payload_len for s in self.segs),
            "warnings": warnings_,
        }


def _kind(flags: tuple[str, ...], payload_len: int) -> str:
    """The segment's kind as the trace names it (``SYN-ACK``, ``FIN``, ``DATA``, …)."""
    if "RST" in flags:
        return "RST"
    if "SYN" in flags:
        return "SYN-ACK" if "ACK" in flags else "SYN"
    if "FIN" in flags:
        return "FIN-ACK" if "ACK" in flags else "FIN"
    return "DATA" if payload_len else "ACK"


def _describe_option(name: str, value: Any) -> str:
    """A TCP option offered on a SYN, in words (``MSS 1460``, ``SACK permitted``, …)."""
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
