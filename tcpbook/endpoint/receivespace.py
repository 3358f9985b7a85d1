"""The receive side of a connection: RFC 9293's receive sequence space and reassembly.

RFC 9293 §3.3.1::

                       1          2          3
                   ----------|----------|----------
                          RCV.NXT    RCV.NXT
                                    +RCV.WND
    1 - old sequence numbers that have been acknowledged
    2 - sequence numbers allowed for new reception
    3 - future sequence numbers that are not yet allowed

``ReceiveSpace.nxt`` is RCV.NXT, :attr:`~ReceiveSpace.window` is RCV.WND — the window we
last offered, counted from RCV.NXT.  Each segment we send offers the free part of the
buffer (less what waits out of order), but never less than before: like Linux
(``tcp_select_window``), a receiver does not move the right edge of its window back
(RFC 9293 §3.8.6.2.2: shrinking the window is strongly discouraged).  Bytes that arrive beyond a hole wait in a reassembly queue
and are delivered, in order, when the hole fills.  Delivered bytes wait in the buffer
until the application reads them (the host's :class:`~tcpbook.ledger.ByteLedger` keeps a
running MD5 of them, so a run can check that every byte arrived intact).
"""

from __future__ import annotations

import enum

from ..segment import SEQ_SPACE, seq_diff


class Arrival(enum.Enum):
    """What an arriving segment's data was, for the ACK it deserves (RFC 5681 §4.2)."""

    IN_ORDER = "in order"  # exactly at RCV.NXT: may be ACKed late (delayed ACK)
    FILLED_HOLE = "filled a hole"  # in order, and data beyond a hole is waiting: ACK at once
    OUT_OF_ORDER = "out of order"  # beyond a hole: queue it, ACK at once (a duplicate ACK)
    DUPLICATE = "duplicate"  # already received: ACK at once, discard


class ReceiveSpace:
    """IRS, RCV.NXT, RCV.WND; the reassembly queue; the peer's FIN; the unread bytes."""

    __slots__ = ("irs", "nxt", "buffer_size", "right_edge", "_unread", "out_of_order", "ooo_bytes", "fin_seq", "delivered")

    def __init__(self, buffer_size: int) -> None:
        self.irs: int | None = None  # IRS: the peer's initial sequence number, once known
        self.nxt = 0  # RCV.NXT: the next sequence number we expect
        self.buffer_size = buffer_size
        self.right_edge = min(buffer_size, 65535)  # RCV.NXT + RCV.WND as last offered
        self._unread = bytearray()  # delivered, not yet read by the application
        self.out_of_order: dict[int, bytes] = {}  # seq -> payload, waiting for the hole to fill
        self.ooo_bytes = 0  # bytes waiting in out_of_order (they take buffer space too)
        self.fin_seq: int | None = None  # where the peer's FIN sits, once seen (even early)
        self.delivered = 0  # bytes delivered in order, ever

    def synchronize(self, irs: int) -> None:
        """The peer's SYN arrived: its ISN is IRS, and the next number we expect is IRS + 1."""
        self.irs = irs
        self.nxt = irs + 1
        self.right_edge = self.nxt + min(self.buffer_size, 65535)

    @property
    def window(self) -> int:
        """The window we last offered (RCV.WND), from RCV.NXT on."""
        return max(0, self.right_edge - self.nxt)

    @property
    def free(self) -> int:
        """The room left in the receive buffer — neither delivered-unread nor waiting out of order."""
        return max(0, self.buffer_size - len(self._unread) - self.ooo_bytes)

    @property
    def clamp(self) -> int:
        """The largest window this receiver ever offers (Linux ``window_clamp``): the
        buffer, at most 65535 (no window scaling in this model)."""
        return min(self.buffer_size, 65535)

    @property
    def selectable(self) -> int:
        """The window a segment sent now could offer (Linux ``__tcp_select_window``): the
        free room, at most 65535."""
        return min(self.free, 65535)

    def offer(self) -> int:
        """The window to put in the segment we send now: the free room, but never less
        than the window offered before (the right edge never moves back); at most 65535
        (no window scaling in this model)."""
        window = max(self.free, self.right_edge - self.nxt)
        if window > 65535:
            window = 65535
        self.right_edge = self.nxt + window
        return window

    @property
    def unread(self) -> int:
        """Bytes delivered that the application has not read yet."""
        return len(self._unread)

    def unwrap(self, wire_seq: int) -> int:
        """A 32-bit sequence number from the wire, as an unbounded integer near RCV.NXT."""
        return self.nxt + seq_diff(wire_seq, self.nxt % SEQ_SPACE)

    def acceptable(self, seq: int, seg_len: int) -> bool:
        """RFC 9293 §3.10.7.4's acceptability test: does the segment overlap the window?

        A zero window is treated as a window of one (so a probe or an ACK exactly at
        RCV.NXT is still acceptable), which is the RFC's four cases in one test.
        """
        nxt = self.nxt
        end_of_window = nxt + (self.window or 1)
        if seg_len == 0:
            return nxt <= seq < end_of_window
        last = seq + seg_len - 1
        return nxt <= seq < end_of_window or nxt <= last < end_of_window

    def take(self, seq: int, payload: bytes) -> tuple[Arrival, bytes]:
        """Data ``payload`` arrived at sequence number ``seq``: what it was, and the bytes
        now ready to deliver in order (this segment's new part plus any queued data it
        joins up with)."""
        nxt = self.nxt
        if seq > nxt:
            if seq not in self.out_of_order:
                self.out_of_order[seq] = payload
                self.ooo_bytes += len(payload)
            return Arrival.OUT_OF_ORDER, b""
        new = payload[nxt - seq :]
        if not new:
            return Arrival.DUPLICATE, b""
        if not self.out_of_order:
            return Arrival.IN_ORDER, new
        ready = bytearray(new)
        next_seq = nxt + len(new)
        queue = self.out_of_order
        while queue:
            first = min(queue)
            if first > next_seq:
                break
            chunk = queue.pop(first)
            self.ooo_bytes -= len(chunk)
            ready += chunk[next_seq - first :]
            next_seq = max(next_seq, first + len(chunk))
        return Arrival.FILLED_HOLE, bytes(ready)

    def deliver(self, data: bytes) -> None:
        """Hand ``data`` (in order, at RCV.NXT) to the application's buffer; RCV.NXT advances."""
        self.nxt += len(data)
        self._unread += data
        self.delivered += len(data)

    def read(self, nbytes: int | None = None) -> bytes:
        """RECEIVE: take up to ``nbytes`` unread bytes (all by default) out of the buffer."""
        unread = self._unread
        if nbytes is None or nbytes >= len(unread):
            data = bytes(unread)
            unread.clear()
            return data
        data = bytes(unread[:nbytes])
        del unread[:nbytes]
        return data

    def see_fin(self, fin_seq: int) -> None:
        """The peer's FIN occupies ``fin_seq`` (remember it even if data before it is missing)."""
        if self.fin_seq is None and fin_seq >= self.nxt:
            self.fin_seq = fin_seq

    @property
    def fin_in_order(self) -> bool:
        """True when everything before the peer's FIN has arrived, so the FIN itself is next."""
        return self.fin_seq is not None and self.fin_seq == self.nxt

    @property
    def fin_received(self) -> bool:
        """The peer's FIN has been received in order (RCV.NXT is past it)."""
        return self.fin_seq is not None and self.fin_seq < self.nxt
