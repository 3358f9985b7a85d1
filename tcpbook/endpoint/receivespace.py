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
last offered, counted from RCV.NXT.  Bytes that arrive beyond a hole wait in a reassembly
queue and are delivered, in order, when the hole fills.  Delivered bytes wait in the buffer
until the application reads them (the host's :class:`~tcpbook.ledger.ByteLedger` keeps a
running MD5 of them, so a run can check that every byte arrived intact).

Which window a segment offers is the receiver's half of silly window syndrome (SWS)
avoidance, and follows the profile's ``sws_avoidance``:

``linux``
    A SYN offers the buffer rounded down to whole segments of our MSS
    (``tcp_select_initial_window``): 44 × 1460 = 64240 for a 65535-byte buffer.  Every
    other segment offers what ``__tcp_select_window`` chooses: the free space, rounded
    down to a multiple of the peer's segment size whenever that moves the window by an
    MSS or more, and nothing at all (a zero window) once less than an MSS — or a
    sixteenth of the buffer — is free in a buffer more than half full
    (:meth:`ReceiveSpace.select`).
``rfc``
    RFC 9293 §3.8.6.2.2: the right edge RCV.NXT + RCV.WND stays where it is until the
    space not yet offered reaches min(RCV.BUFF / 2, Eff.snd.MSS); then the window is
    all the free space.
``none``
    No avoidance: every segment offers all the free space, however small — the
    receiver's half of the syndrome itself.

In all three the right edge never moves back: like Linux (``tcp_select_window``), a
receiver does not shrink the window it offered (RFC 9293 §3.8.6.2.2: shrinking the
window is strongly discouraged).  There is no window scaling (RFC 7323) in this model:
a window is at most 65535.
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


MAX_WINDOW = 65535  # the 16-bit window field, unscaled (no RFC 7323 window scaling here)
TCP_MSS_DEFAULT = 536  # RFC 9293 §3.7.1's default MSS; Linux TCP_MSS_DEFAULT
TCP_MIN_MSS = 88  # Linux TCP_MIN_MSS: the smallest segment size it believes in


def initial_window(buffer_size: int, mss: int, rules: str) -> int:
    """The window our SYN or SYN,ACK offers — never scaled (RFC 7323 §2.2).

    ``linux``: ``tcp_select_initial_window()`` (net/ipv4/tcp_output.c) takes the space
    the buffer offers and, "Quantize space offering to a multiple of mss if possible",
    ``space = rounddown(space, mss)`` when ``space > mss``, then at most ``U16_MAX``
    (``*rcv_wnd = min_t(u32, space, U16_MAX)``).  ``mss`` is our own MSS (``advmss``):
    a 65535-byte buffer at MSS 1460 offers 44 × 1460 = 64240, as a real Linux SYN does.
    (A buffer larger than 65535 + MSS offers 65535, which is no multiple.)

    ``rfc`` and ``none``: RCV.WND = RCV.BUFF (RFC 9293 §3.8.6.2.2: "When the connection
    is quiescent, RCV.WND = RCV.BUFF"), at most 65535.
    """
    space = buffer_size
    if rules == "linux" and space > mss:
        space = space // mss * mss
    return min(space, MAX_WINDOW)


class ReceiveSpace:
    """IRS, RCV.NXT, RCV.WND; the reassembly queue; the peer's FIN; the unread bytes.

    ``mss`` is our own MSS (the one our SYN announces), ``rules`` the profile's
    ``sws_avoidance`` (``linux``, ``rfc`` or ``none``).
    """

    __slots__ = (
        "irs", "nxt", "buffer_size", "right_edge", "_unread", "out_of_order", "ooo_bytes", "fin_seq", "delivered",
        "rules", "advmss", "rcv_wnd", "window_clamp", "rcv_ssthresh", "rcv_mss", "last_seg_size",
    )  # fmt: skip

    def __init__(self, buffer_size: int, mss: int = 1460, rules: str = "linux") -> None:
        self.irs: int | None = None  # IRS: the peer's initial sequence number, once known
        self.nxt = 0  # RCV.NXT: the next sequence number we expect
        self.buffer_size = buffer_size
        self.rules = rules
        self.advmss = mss  # Linux tp->advmss: the MSS we announced
        self._initial_window(mss)
        self.right_edge = self.rcv_wnd  # RCV.NXT + RCV.WND as last offered
        # Linux icsk_ack.rcv_mss: our guess of the peer's segment size (tcp_initialize_rcv_mss
        # sets it when the peer's SYN arrives, tcp_measure_rcv_mss corrects it from the data)
        self.rcv_mss = TCP_MSS_DEFAULT
        self.last_seg_size = 0  # Linux icsk_ack.last_seg_size
        self._unread = bytearray()  # delivered, not yet read by the application
        self.out_of_order: dict[int, bytes] = {}  # seq -> payload, waiting for the hole to fill
        self.ooo_bytes = 0  # bytes waiting in out_of_order (they take buffer space too)
        self.fin_seq: int | None = None  # where the peer's FIN sits, once seen (even early)
        self.delivered = 0  # bytes delivered in order, ever

    def _initial_window(self, mss: int) -> None:
        """The SYN's window, and the limits every later window keeps to.

        Linux: ``tp->rcv_wnd`` from ``tcp_select_initial_window``; then, when the
        connection is established, ``tcp_init_buffer_space`` (net/ipv4/tcp_input.c) sets
        ``window_clamp`` to the buffer (``maxwin = tcp_full_space(sk)``; without window
        scaling at most 65535) less one segment — "Force reservation of one segment":
        ``if (window_clamp > 2 * advmss && window_clamp + advmss > maxwin) window_clamp =
        max(2 * advmss, maxwin - advmss)`` — and ``rcv_ssthresh = min(rcv_ssthresh,
        window_clamp)``, ``rcv_ssthresh`` having started at the SYN's window.  The buffer
        is a fixed ``SO_RCVBUF`` here (Linux's autotuning, which grows the buffer and with
        it ``window_clamp`` and ``rcv_ssthresh``, is not modelled), so ``rcv_ssthresh``
        ends at ``window_clamp`` or below and ``tcp_grow_window`` has no room to raise it
        (and raising it toward ``window_clamp`` would not change a rounded-down window).
        """
        self.rcv_wnd = initial_window(self.buffer_size, mss, self.rules)  # Linux tp->rcv_wnd: the window last chosen
        clamp = min(self.buffer_size, MAX_WINDOW)
        advmss = self.advmss
        if self.rules == "linux" and clamp > 2 * advmss and clamp + advmss > self.buffer_size:
            clamp = max(2 * advmss, self.buffer_size - advmss)
        self.window_clamp = clamp
        self.rcv_ssthresh = min(self.rcv_wnd, clamp)

    def synchronize(self, irs: int, send_mss: int, window_mss: int | None = None) -> None:
        """The peer's SYN arrived: its ISN is IRS, and the next number we expect is IRS + 1.

        ``send_mss`` is the segment size we send with (for Linux's first guess of the
        peer's, ``tcp_initialize_rcv_mss``: at most our MSS, the one we send with, half
        the window and 536, at least 88).  ``window_mss``: a connection rebuilt from a
        SYN cookie chooses its window again with the MSS the cookie held
        (``cookie_v4_check`` → ``tcp_select_initial_window(…, req->mss, …)``).
        """
        self.irs = irs
        self.nxt = irs + 1
        if window_mss is not None:
            self._initial_window(window_mss)
        self.right_edge = self.nxt + self.rcv_wnd
        self.rcv_mss = max(min(self.advmss, send_mss, self.rcv_wnd // 2, TCP_MSS_DEFAULT), TCP_MIN_MSS)

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
        buffer, at most 65535 (no window scaling in this model) — and on Linux one
        segment less than a buffer that small (``tcp_init_buffer_space``)."""
        return self.window_clamp

    def select(self, send_mss: int) -> int:
        """The window a segment sent now would choose, before the rule that the right
        edge never moves back (Linux ``__tcp_select_window``; RFC 9293 §3.8.6.2.2).
        ``send_mss`` is our Eff.snd.MSS, which the RFC's receiver assumes the peer
        sends with."""
        if self.rules == "linux":
            return self._linux_select()
        free = min(self.free, MAX_WINDOW)
        if self.rules == "rfc":
            # RFC 9293 §3.8.6.2.2: "keep RCV.NXT+RCV.WND fixed until the reduction
            # satisfies: RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF, Eff.snd.MSS )
            # … When the inequality is satisfied, RCV.WND is set to RCV.BUFF-RCV.USER"
            # (Fr = 1/2).  RCV.USER counts what waits out of order too: it holds buffer.
            current = self.window
            if self.free - current >= min(self.buffer_size / 2, send_mss):
                return free
            return current
        return free

    def _linux_select(self) -> int:
        """Linux ``__tcp_select_window()`` (net/ipv4/tcp_output.c) without window scaling.

        ``mss`` is ``icsk_ack.rcv_mss`` (the peer's segment size as we have seen it),
        ``free_space`` is ``tcp_space()`` (the buffer not holding data),
        ``allowed_space`` ``tcp_full_space()`` (the whole buffer), ``full_space`` the
        smaller of that and ``window_clamp``.  The kernel's comment: "Get the largest
        window that is a nice multiple of mss … If our current window offering is within
        1 mss of the free space we just keep it … We also don't do any window rounding
        when the free space is too small."  (It also leaves quick-ACK mode when the
        buffer is more than half full, ``icsk_ack.quick = 0``; not modelled.)
        """
        mss = self.rcv_mss
        free_space = self.free
        allowed_space = self.buffer_size
        full_space = min(self.window_clamp, allowed_space)
        if mss > full_space:
            mss = full_space
            if mss <= 0:
                return 0
        # A buffer more than half full: "if free space is less than mss estimate, or is
        # below 1/16th of the maximum allowed, try to move to zero-window"
        if free_space < full_space >> 1 and (free_space < allowed_space >> 4 or free_space < mss):
            return 0
        free_space = min(free_space, self.rcv_ssthresh)
        window = self.rcv_wnd
        if window <= free_space - mss or window > free_space:
            window = free_space // mss * mss  # rounddown(free_space, mss)
        elif mss == full_space and free_space > window + (full_space >> 1):
            window = free_space
        return window

    def offer(self, send_mss: int, *, syn: bool = False) -> int:
        """The window to put in the segment we send now, and remember it as offered.

        A SYN or SYN,ACK carries the initial window (Linux ``tcp_transmit_skb``: a SYN's
        window is ``min(tp->rcv_wnd, 65535U)``, not chosen again).  Any other segment
        offers :meth:`select`'s window, but never less than what is left of the window
        offered before: the right edge never moves back (Linux ``tcp_select_window``:
        "Never shrink the offered window").
        """
        if syn:
            return self.rcv_wnd
        window = max(self.select(send_mss), self.window)
        self.rcv_wnd = window
        self.right_edge = self.nxt + window
        return window

    def measure(self, length: int, remnant: bool) -> None:
        """In-order data of ``length`` bytes arrived: correct our guess of the peer's segment
        size (Linux ``tcp_measure_rcv_mss``).  A segment at least as large as the guess
        sets it (up to our own MSS); a smaller one does when two in a row have the same
        length and look full-sized — at least 536 bytes, or at least 88 without PSH or FIN
        (``remnant``: "If PSH is not set, packet should be full sized")."""
        last, self.last_seg_size = self.last_seg_size, 0
        if length >= self.rcv_mss:
            self.rcv_mss = min(length, self.advmss)
        elif length >= TCP_MSS_DEFAULT or (length >= TCP_MIN_MSS and not remnant):
            self.last_seg_size = length
            if length == last:
                self.rcv_mss = length

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
