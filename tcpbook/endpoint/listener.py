"""A listening socket: RFC 9293's LISTEN state, with Linux's two queues and SYN cookies.

RFC 9293 §3.10.7.2 says what LISTEN does with an arriving segment: ignore a RST, answer
an ACK with a RST, and answer a SYN by creating a connection in SYN-RECEIVED that sends
a SYN,ACK.  A real listener also has limits, and those are what a SYN flood attacks:

* the **SYN queue** (half-open requests, Linux's request sockets) holds connections in
  SYN-RECEIVED, each retransmitting its SYN,ACK until the final ACK arrives or its
  retries run out.  Its limit is listen()'s backlog (capped by ``somaxconn``; Linux
  ``inet_csk_reqsk_queue_is_full`` lets it reach backlog + 1).  A SYN that finds it full
  is answered statelessly with a SYN cookie (``tcp_syncookies = 1``, the default) — or
  dropped with cookies off.  With cookies off, the last quarter of
  ``tcp_max_syn_backlog`` is kept for peers already proven alive.  While the queue is
  more than half full, old requests get fewer SYN,ACK retries (``reqsk_timer_handler``),
  so a flood's requests are pruned after about 7 s instead of 63 s;
* the **accept queue** holds established connections the application has not
  ``accept()``-ed yet, up to the same backlog (+ 1).  While it is full new SYNs are
  dropped and a final ACK is ignored (Linux's default ``tcp_abort_on_overflow = 0``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..profiles import Profile
from ..segment import ACK, RST, SEQ_SPACE, SYN, Segment
from ..vocabulary import AppAction, NoteKind, Queue, State
from .effects import AppNotice, Effect, Note, Transmit
from .receivespace import initial_window

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

# MSS values a SYN cookie can encode in its low bits (Linux msstab, net/ipv4/syncookies.c).
COOKIE_MSS_TABLE = (536, 1300, 1440, 1460)


class Listener:
    """A socket in LISTEN on ``port`` of host ``endpoint``, with its SYN and accept queues.

    ``new_connection(peer, peer_port, iss=None)`` makes a passive :class:`Connection` for
    it; ``reply_rst(segment)`` answers a segment for no connection (RFC 9293 §3.10.7.1).
    """

    def __init__(
        self,
        *,
        endpoint: str,
        port: int,
        profile: Profile,
        cookie_secret: str,
        emit: Callable[[Effect], None],
        new_connection: Callable[..., Connection],
        reply_rst: Callable[[Segment, float], None],
        backlog: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._backlog = backlog  # listen(2)'s own backlog, if it gave one
        self.port = port
        self.profile = profile
        self.state = State.LISTEN
        self.cookie_secret = cookie_secret
        self.emit = emit
        self.new_connection = new_connection
        self.reply_rst = reply_rst
        self.syn_queue: dict[tuple[str, int], Connection] = {}
        # requests in the SYN queue whose first SYN,ACK timer has not fired yet (Linux's
        # queue->young counter): kept up to date, not recounted, because the pruning rule
        # reads it at every SYN,ACK timeout of a flooded queue
        self.young = 0
        self.accept_queue: list[Connection] = []
        self.stats = {
            "syn_received": 0,
            "syn_dropped_syn_queue_full": 0,
            "syn_dropped_accept_queue_full": 0,
            "cookies_sent": 0,
            "cookies_accepted": 0,
            "requests_timed_out": 0,
            "ack_dropped_accept_queue_full": 0,
            "established": 0,
        }

    def __repr__(self) -> str:
        return f"<Listener {self.endpoint}:{self.port} syn={len(self.syn_queue)} accept={len(self.accept_queue)}>"

    def _note(self, now: float, kind: NoteKind, text: str, **facts: object) -> None:
        self.emit(Note(now, self.endpoint, text, kind, **facts))  # type: ignore[arg-type]

    # -- SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2) ----------------------------------------

    @property
    def backlog(self) -> int:
        """The limit of both queues — listen()'s backlog capped by somaxconn (``sk_max_ack_backlog``).

        Linux ``__sys_listen`` caps the backlog at ``somaxconn``; a negative one (read as
        unsigned) becomes ``somaxconn`` too, and 0 is allowed (the queues still take one:
        "full" means *more* than the backlog)."""
        if self._backlog is None:
            return self.profile.listen_backlog
        return self.profile.somaxconn if self._backlog < 0 else min(self._backlog, self.profile.somaxconn)

    def segment_arrives(self, seg: Segment, now: float, *, isn: int | None = None) -> None:
        """§3.10.7.2: "first check for an RST … An incoming RST should be ignored.  Second,
        check for an ACK … form a reset <SEQ=SEG.ACK><CTL=RST>.  Third, check for a SYN" —
        a SYN becomes a half-open request if the queues have room, in Linux's order
        (``tcp_conn_request``).  ``isn``: our ISN for a SYN that reused a 4-tuple in
        TIME-WAIT (it must lie above what the old connection sent)."""
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK and not flags & SYN:
            if self.profile.syncookies and self._accept_cookie(seg, now):
                return
            self.reply_rst(seg, now)
            return
        if not flags & SYN:
            return
        self.stats["syn_received"] += 1
        backlog, profile = self.backlog, self.profile
        if len(self.syn_queue) > backlog and isn is None:
            if profile.syncookies:
                self._send_cookie(seg, now)
            else:
                self.stats["syn_dropped_syn_queue_full"] += 1
                self._note(now, NoteKind.SYN_DROPPED, f"SYN from {seg.src} dropped: SYN queue full", peer=seg.src, queue=Queue.SYN)
            return
        if len(self.accept_queue) > backlog:
            self.stats["syn_dropped_accept_queue_full"] += 1
            self._note(now, NoteKind.SYN_DROPPED, f"SYN from {seg.src} dropped: accept queue full", peer=seg.src, queue=Queue.ACCEPT)
            return
        room = profile.max_syn_backlog - len(self.syn_queue)
        if not profile.syncookies and isn is None and room < profile.max_syn_backlog >> 2:
            # the last quarter of tcp_max_syn_backlog is for peers proven alive (none here)
            self.stats["syn_dropped_syn_queue_full"] += 1
            self._note(now, NoteKind.SYN_DROPPED, f"SYN from {seg.src} dropped: last quarter of tcp_max_syn_backlog",
                       peer=seg.src, queue=Queue.SYN)
            return
        conn = self.new_connection(seg.src, seg.src_port, iss=isn)
        self._unqueue((seg.src, seg.src_port))  # a request replaced by a new one for the same peer
        self.syn_queue[(seg.src, seg.src_port)] = conn
        self.young += 1
        conn.open_from_syn(seg, now)

    # -- the queues, as the connections report -------------------------------------------------

    def has_room_for(self, conn: Connection, now: float) -> bool:
        """May ``conn`` complete its handshake?  Not while the accept queue is full: Linux
        then ignores the final ACK and lets the SYN,ACK timer try again."""
        if len(self.accept_queue) <= self.backlog:
            return True
        self.stats["ack_dropped_accept_queue_full"] += 1
        self._note(
            now, NoteKind.FINAL_ACK_DROPPED, f"final ACK from {conn.peer} ignored: accept queue full", peer=conn.peer, queue=Queue.ACCEPT
        )
        return False

    def established(self, conn: Connection, now: float) -> None:
        """``conn`` is ESTABLISHED: it moves from the SYN queue to the accept queue."""
        self._unqueue((conn.peer, conn.peer_port))
        self.accept_queue.append(conn)
        self.stats["established"] += 1
        self.emit(AppNotice(now, self.endpoint, conn.peer, AppAction.READY, detail="in accept queue"))

    def request_timed_out(self, conn: Connection) -> None:
        """A half-open request ran out of SYN,ACK retries (it is about to be dropped)."""
        self.stats["requests_timed_out"] += 1

    def synack_retries_now(self, retries: int) -> int:
        """How many SYN,ACK retries a request may have now (Linux ``reqsk_timer_handler``).

        "We reserve half of room for young embrions; and abort old ones without pity, if
        old ones are about to clog our table": while the queue is more than half full
        (``2·qlen > max(8, backlog)``), the limit drops — down to 2 — the more, the fewer
        of the requests are young (never timed out yet).  Called as a request's timer
        fires, before it counts itself as old.
        """
        qlen = len(self.syn_queue)
        if 2 * qlen > max(8, self.backlog):
            young = 2 * self.young
            while retries > 2 and qlen >= young:
                retries -= 1
                young <<= 1
        return retries

    def aged(self, conn: Connection) -> None:
        """``conn``'s first SYN,ACK timer fired: it is no longer young (Linux decrements
        ``queue->young`` when ``num_timeout`` leaves 0)."""
        if self.syn_queue.get((conn.peer, conn.peer_port)) is conn:
            self.young -= 1

    def forget(self, conn: Connection) -> None:
        """``conn`` is gone (CLOSED, or reset back to LISTEN): free its place in the SYN queue."""
        key = (conn.peer, conn.peer_port)
        if self.syn_queue.get(key) is conn:
            self._unqueue(key)

    def _unqueue(self, key: tuple[str, int]) -> None:
        """Take the request for ``key`` (if any) out of the SYN queue, keeping ``young`` right."""
        conn = self.syn_queue.pop(key, None)
        if conn is not None and conn.syn_attempt == 0:
            self.young -= 1

    def accept(self) -> Connection | None:
        """accept(2): the oldest established connection, or None if there is none."""
        return self.accept_queue.pop(0) if self.accept_queue else None

    # -- SYN cookies -------------------------------------------------------------------------------

    def cookie(self, peer: str, peer_port: int, mss_index: int, t_slot: int) -> int:
        """A SYN cookie: a keyed hash of the 4-tuple and a 64-second time slot, with the MSS
        index in its low bits (like Linux's ``cookie_v4_init_sequence``)."""
        key = f"{self.endpoint}:{self.port}:{peer}:{peer_port}:{t_slot}:{self.cookie_secret}"
        base = int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "big") & ~0x3
        return (base | mss_index) % SEQ_SPACE

    def _send_cookie(self, seg: Segment, now: float) -> None:
        """Answer ``seg`` with a SYN,ACK whose ISN is a cookie; keep nothing."""
        mss = seg.mss or 536
        index = max(i for i, m in enumerate(COOKIE_MSS_TABLE) if m <= mss) if mss >= COOKIE_MSS_TABLE[0] else 0
        isn = self.cookie(seg.src, seg.src_port, index, int(now // 64))
        self.stats["cookies_sent"] += 1
        self._note(now, NoteKind.COOKIE_SENT, f"SYN queue full: SYN cookie sent to {seg.src} (no state kept)", peer=seg.src, cookie=isn)
        reply = Segment(
            self.endpoint,
            seg.src,
            self.port,
            seg.src_port,
            isn,
            (seg.seq + 1) % SEQ_SPACE,
            SYN | ACK,
            # tcp_conn_request → tcp_openreq_init_rwin: chosen as for any SYN,ACK, with our MSS
            window=initial_window(self.profile.rcvbuf, self.profile.mss, self.profile.sws_avoidance),
            mss=COOKIE_MSS_TABLE[index],
        )
        self.emit(Transmit(reply, False))

    def _accept_cookie(self, seg: Segment, now: float) -> bool:
        """Does ``seg``'s ACK return a cookie we sent (this time slot or the last)?  If so,
        rebuild the connection from it (Linux ``cookie_v4_check``) and return True."""
        isn = (seg.ack - 1) % SEQ_SPACE
        slot = int(now // 64)
        for t_slot in (slot, slot - 1):
            for index in range(len(COOKIE_MSS_TABLE)):
                if self.cookie(seg.src, seg.src_port, index, t_slot) != isn:
                    continue
                if len(self.accept_queue) > self.backlog:
                    self.stats["ack_dropped_accept_queue_full"] += 1
                    return True
                self.stats["cookies_accepted"] += 1
                self._note(
                    now, NoteKind.COOKIE_ACCEPTED, f"valid SYN cookie from {seg.src}: connection rebuilt from the ACK", peer=seg.src, cookie=isn
                )
                conn = self.new_connection(seg.src, seg.src_port, iss=isn)
                conn.sender.peer_mss = COOKIE_MSS_TABLE[index]
                conn.open_from_cookie(seg, now)
                return True
        return False
