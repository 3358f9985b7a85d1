"""Which captured segments never arrived: losses inferred from the peer's behaviour.

A capture is taken at one place, so a segment it shows may still have been lost further
on.  The capture cannot see the loss, but the peer's answers tell:

* a segment that uses sequence space (SYN, FIN, data) and is never acknowledged (nor
  answered by a RST) before it is sent again, or before the capture ends, was lost —
  TCP only retransmits what was not acknowledged;
* a pure ACK of the peer's FIN (or SYN) that is followed by a retransmission of that
  FIN (or SYN,ACK) was lost — the peer would not resend what had been acknowledged.

Such segments are marked ``dropped`` in the trace with a ``drop_reason`` starting with
``"inferred"``, and the replay does not deliver them.  A capture of one direction only
has no answers to judge by: nothing is inferred lost.

:func:`answered_by_rst` finds the other thing only hindsight shows: segments whose
receiver answered next with a RST.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from .decode import CapturedSegment
from .sequence import Geometry, Side

_Entry = tuple[int, int, int]  # (start, end, index) of a segment that waits for an answer


def _first_at(entries: list[_Entry], position: int) -> int:
    return bisect.bisect_left(entries, position, key=lambda e: e[0])


def inferred_losses(
    segs: list[CapturedSegment],
    geo: Geometry,
    side_of: Callable[[tuple[str, int]], Side],
    names: list[str],
    *,
    one_direction: bool,
) -> dict[int, str]:
    """Indexes of captured segments that, judging by the peer, never reached it, with why.

    * A segment that uses sequence space (SYN, FIN, data) is lost if the peer sends
      no acknowledgement of it (nor a RST answering it) before it is sent again or
      the capture ends.
    * A pure ACK that acknowledges the peer's FIN or SYN is lost if the peer sends
      that FIN or SYN,ACK again before this side acknowledges it once more.

    One pass in time order: each side keeps its unanswered segments sorted by
    position, so an ACK or a retransmission finds the ones it settles by bisection.
    """
    if one_direction:
        return {}
    first_fin: dict[str, int] = {}
    for i, seg in enumerate(segs):
        if "FIN" in seg.flags and "RST" not in seg.flags and i not in geo.ignored:
            first_fin.setdefault(side_of(seg.src).name, geo.end[i] - 1)
    finder = _LossFinder(names, first_fin)
    for i, seg in enumerate(segs):
        if i not in geo.ignored:
            finder.segment(i, seg, side_of(seg.src), side_of(seg.dst), geo.rel[i], geo.end[i], geo.ack[i])
    return finder.finish()


class _LossFinder:
    """The state of :func:`inferred_losses`'s pass: per side, what still waits for an
    answer from the peer."""

    def __init__(self, names: list[str], first_fin: dict[str, int]) -> None:
        self.lost: dict[int, str] = {}
        self.first_fin = first_fin  # side -> position of its first FIN
        self.waiting: dict[str, list[_Entry]] = {name: [] for name in names}  # sorted by start
        self.pure_acks: dict[str, dict[int, list[int]]] = {name: {} for name in names}  # acked -> indexes

    def segment(self, i: int, seg: CapturedSegment, a: Side, b: Side, rel: int, end: int, acked: int | None) -> None:
        """Segment ``i``, sent by ``a`` to ``b``, in four steps."""
        syn, fin, rst, ack = "SYN" in seg.flags, "FIN" in seg.flags, "RST" in seg.flags, "ACK" in seg.flags
        self._answers(a, b, rst, ack, acked)
        if not rst and end > rel:
            self._sends_space(i, a, b, rel, end)
        if a is not b and (fin or (syn and ack)):
            self._peer_repeats(a, b, syn, fin, ack, end)
        if ack and not rst and end == rel and b.saw_syn and acked is not None:
            self._pure_ack_waits(i, a, b, acked)

    def _answers(self, a: Side, b: Side, rst: bool, ack: bool, acked: int | None) -> None:
        """1. What this segment answers among the peer's unanswered ones, and which of
        its sender's earlier pure ACKs it repeats (those are settled: not lost)."""
        theirs = self.waiting[b.name]
        if rst:
            theirs.clear()  # any RST answers them: they arrived, and were refused
        elif acked is not None:
            k = _first_at(theirs, acked)
            theirs[:k] = [e for e in theirs[:k] if e[1] > acked]
        if ack and acked is not None:
            mine = self.pure_acks[a.name]
            for value in [v for v in mine if v <= acked]:
                del mine[value]

    def _sends_space(self, i: int, a: Side, b: Side, rel: int, end: int) -> None:
        """2. A segment with sequence space waits for its answer; if it covers again
        what an earlier one covered, that one had not been answered, so was lost
        (a socket talking to itself answers itself: no retransmission to judge)."""
        own = self.waiting[a.name]
        if a is not b:
            lo, hi = _first_at(own, rel), _first_at(own, end)
            for _start, _end, index in own[lo:hi]:
                self.lost[index] = "inferred: sent again before any answer"
            del own[lo:hi]
        own.insert(_first_at(own, rel), (rel, end, i))

    def _peer_repeats(self, a: Side, b: Side, syn: bool, fin: bool, ack: bool, end: int) -> None:
        """3. The peer (``a``, here) sending its FIN or SYN,ACK again: ``b``'s pure ACK
        of it was lost."""
        pending = self.pure_acks[b.name]
        peer_fin = self.first_fin.get(a.name)
        if fin and peer_fin is not None and end - 1 == peer_fin:
            for index in pending.pop(peer_fin + 1, []):
                self.lost[index] = "inferred: the peer sent its FIN again"
        if syn and ack and not (peer_fin is not None and peer_fin + 1 == 1):
            for index in pending.pop(1, []):
                self.lost[index] = "inferred: the peer sent its SYN,ACK again"

    def _pure_ack_waits(self, i: int, a: Side, b: Side, acked: int) -> None:
        """4. A pure ACK of the peer's FIN or SYN waits to see whether the peer repeats it."""
        their_fin = self.first_fin.get(b.name)
        if acked == 1 or (their_fin is not None and acked == their_fin + 1):
            self.pure_acks[a.name].setdefault(acked, []).append(i)

    def finish(self) -> dict[int, str]:
        """Whatever still waits at the end of the capture was never answered."""
        for entries in self.waiting.values():
            for _start, _end, index in entries:
                self.lost[index] = "inferred: never answered in the capture"
        return self.lost


def answered_by_rst(segs: list[CapturedSegment]) -> set[int]:
    """Segments whose receiver's next segment is a RST (one pass, backwards)."""
    answered: set[int] = set()
    next_from: dict[tuple[str, int], CapturedSegment] = {}
    for i in range(len(segs) - 1, -1, -1):
        seg = segs[i]
        reply = next_from.get(seg.dst)
        if reply is not None and "RST" in reply.flags:
            answered.add(i)
        next_from[seg.src] = seg
    return answered
