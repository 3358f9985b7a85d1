"""The send side of a connection: RFC 9293's send sequence space and the send buffer.

RFC 9293 §3.3.1 names the variables::

         1         2          3          4
    ----------|----------|----------|----------
           SND.UNA    SND.NXT    SND.UNA
                                +SND.WND
    1 - old sequence numbers that have been acknowledged
    2 - sequence numbers of unacknowledged data
    3 - sequence numbers allowed for new data transmission
    4 - future sequence numbers that are not yet allowed

Here they are ``SendSpace.una``, ``SendSpace.nxt`` and ``SendSpace.wnd``;
``SendSpace.max`` is the highest sequence number ever sent (a segment below it is
a retransmission), ``SendSpace.max_wnd`` the largest window the peer ever offered
(RFC 9293 §3.8.6.2.1's Max(SND.WND); Linux ``max_window``).  Sequence numbers are kept as unbounded integers counted from the
ISS (reduced modulo 2**32 only on the wire), which keeps the arithmetic readable.

The buffer holds what the application handed to ``send()``: the bytes in flight (from
SND.UNA on) are kept for retransmission; the rest is pulled from the application's data
as the window opens, so a large :class:`~tcpbook.payload.Payload` is never held whole.
"""

from __future__ import annotations

from bisect import bisect_right

from ..payload import ByteStream, Data


class SendSpace:
    """SND.UNA, SND.NXT, SND.WND, ISS, the highest sequence sent, our FIN, and the buffer."""

    __slots__ = ("iss", "una", "nxt", "max", "wnd", "max_wnd", "fin_queued", "fin_seq", "queued", "_stream", "_held", "_held_from", "_write_ends")

    def __init__(self, iss: int) -> None:
        self.iss = iss  # initial send sequence number (our SYN occupies it)
        self.una = iss  # SND.UNA: oldest unacknowledged sequence number
        self.nxt = iss  # SND.NXT: next sequence number to send
        self.max = iss  # highest sequence number ever sent, plus one
        self.wnd = 0  # SND.WND: the window the peer last advertised
        self.max_wnd = 0  # Max(SND.WND): the largest window the peer ever advertised
        self.fin_queued = False  # the application closed its sending side: a FIN follows the data
        self.fin_seq: int | None = None  # the sequence number our FIN occupies, once sent
        self.queued = 0  # bytes the application has handed to send() so far
        self._stream: ByteStream | None = None  # what the application sent, not yet pulled into _held
        self._held = bytearray()  # bytes from _held_from on, pulled but not yet acknowledged
        self._held_from = iss + 1
        self._write_ends: list[int] = []  # sequence number after each send()'s last byte, not yet acknowledged

    @property
    def data_end(self) -> int:
        """Sequence number just after the last byte the application has sent."""
        return self.iss + 1 + self.queued

    @property
    def in_flight(self) -> int:
        """Sequence numbers sent and not yet acknowledged (RFC 5681's FlightSize)."""
        return self.nxt - self.una

    @property
    def fin_acked(self) -> bool:
        """Our FIN was sent and has been acknowledged."""
        return self.fin_seq is not None and self.una > self.fin_seq

    def update_window(self, window: int) -> None:
        """The peer advertised ``window``: SND.WND, and Max(SND.WND) if it is the largest yet."""
        self.wnd = window
        if window > self.max_wnd:
            self.max_wnd = window

    def queue(self, data: Data) -> None:
        """Append application data (``send()`` returned: it is the kernel's now)."""
        if self._stream is None:
            self._stream = ByteStream()
        self._stream.append(data)
        self.queued += len(data)
        if len(data):
            self._write_ends.append(self.data_end)

    def pushes(self, seq: int, end: int) -> bool:
        """Does the segment ``[seq, end)`` carry the last byte of a ``send()``?  Then it
        gets the PSH flag: RFC 9293 §3.9.1.1 pushes the end of a SEND, and Linux marks
        the last segment of each write (``tcp_push``), not every segment.  (Linux also
        forces a push about every half window inside a long write, depending on how its
        buffers were sized; that is not modelled.)"""
        ends = self._write_ends
        i = bisect_right(ends, seq)
        return i < len(ends) and ends[i] <= end

    def bytes_at(self, seq: int, n: int) -> bytes:
        """The ``n`` data bytes starting at sequence number ``seq`` (>= SND.UNA)."""
        held = self._held
        start = seq - self._held_from
        missing = start + n - len(held)
        if missing > 0 and self._stream is not None:
            fresh = self._stream.take(missing)
            if start == len(held):  # new data, right after what is held: no second copy
                held += fresh
                return fresh
            held += fresh
        return bytes(held[start : start + n])

    def acknowledge(self, ack: int) -> None:
        """Everything before ``ack`` arrived: SND.UNA advances and the buffer lets it go."""
        self.una = ack
        ends = self._write_ends
        if ends and ends[0] <= ack:
            del ends[: bisect_right(ends, ack)]
        release = min(ack, self.data_end) - self._held_from
        if release > 0:
            del self._held[:release]
            self._held_from += release
