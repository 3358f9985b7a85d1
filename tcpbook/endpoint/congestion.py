"""How much a sender may have in flight: the congestion window (RFC 5681, Linux tcp_cong.c).

The peer's advertised window says how much its *buffer* can take; the congestion window
``cwnd`` says how much the *network* is believed to take.  A sender keeps at most
``min(cwnd, peer's window)`` in flight.  Both windows here count segments, as Linux does.

* **Slow start** — ``cwnd`` starts at the initial window (10 segments on Linux, RFC 6928)
  and grows by one for every segment acknowledged: it doubles every round trip, until it
  reaches ``ssthresh``.
* **Congestion avoidance** — above ``ssthresh`` it grows by about one segment per round
  trip (Reno), or along CUBIC's cubic curve (Linux's default).
* **A loss** found by three duplicate ACKs sets ``ssthresh`` to a fraction of ``cwnd``
  (Reno ½, CUBIC 0.7); a retransmission timeout also drops ``cwnd`` to 1 segment, and
  slow start begins again.

:class:`Reno` and :class:`Cubic` follow ``tcp_reno_cong_avoid`` and ``net/ipv4/tcp_cubic.c``
(with HZ = 1000, integer arithmetic as the kernel does it); HyStart is not modelled (on
the simulator's links, which have no queues, it would not trigger).  :class:`NoCongestionControl`
leaves only the peer's window (what the book's early chapters show).
"""

from __future__ import annotations

INFINITE_SSTHRESH = 0x7FFFFFFF  # Linux TCP_INFINITE_SSTHRESH: no threshold yet
HZ = 1000  # Linux jiffies per second (CONFIG_HZ = 1000)


class CongestionControl:
    """The common part: ``cwnd``, ``ssthresh``, slow start and additive increase."""

    name = "base"

    def __init__(self, initcwnd: int) -> None:
        self.initcwnd = initcwnd
        self.cwnd = initcwnd  # segments
        self.ssthresh = INFINITE_SSTHRESH
        self.cwnd_cnt = 0  # ACKed segments counted toward the next increase (Linux snd_cwnd_cnt)

    @property
    def in_slow_start(self) -> bool:
        return self.cwnd < self.ssthresh

    def slow_start(self, acked: int) -> int:
        """``tcp_slow_start``: grow by the segments acknowledged, up to ``ssthresh``;
        return the acknowledged segments left over for congestion avoidance."""
        cwnd = min(self.cwnd + acked, self.ssthresh)
        acked -= cwnd - self.cwnd
        self.cwnd = cwnd
        return acked

    def additive_increase(self, w: int, acked: int) -> None:
        """``tcp_cong_avoid_ai``: one more segment for every ``w`` segments acknowledged."""
        if self.cwnd_cnt >= w:
            self.cwnd_cnt = 0
            self.cwnd += 1
        self.cwnd_cnt += acked
        if self.cwnd_cnt >= w:
            delta = self.cwnd_cnt // w
            self.cwnd_cnt -= delta * w
            self.cwnd += delta

    def on_ack(self, acked: int, now: float, min_rtt: float) -> None:
        """``acked`` segments were newly acknowledged while the sender was limited by cwnd."""
        raise NotImplementedError

    def loss_ssthresh(self, flight: int) -> int:
        """The new ``ssthresh`` after a loss, with ``flight`` segments in flight."""
        raise NotImplementedError

    def on_loss(self, flight: int) -> None:
        """Fast retransmit: remember the loss (the window itself is the sender's business)."""
        self.ssthresh = self.loss_ssthresh(flight)

    def on_timeout(self, flight: int, *, keep_ssthresh: bool = False) -> None:
        """A retransmission timeout (``tcp_enter_loss``): ssthresh from the loss (unless
        ``keep_ssthresh``: a repeated timeout of the same losses), cwnd 1."""
        if not keep_ssthresh:
            self.ssthresh = self.loss_ssthresh(flight)
        self.cwnd = 1
        self.cwnd_cnt = 0

    def restart_after_idle(self, idle: float, rto: float) -> None:
        """``tcp_cwnd_restart`` (RFC 5681 §4.1): after an idle period longer than the RTO,
        halve cwnd for every RTO of silence, down to the initial window."""
        self.ssthresh = max(self.ssthresh, (self.cwnd >> 1) + (self.cwnd >> 2))  # tcp_current_ssthresh
        restart = min(self.initcwnd, self.cwnd)
        cwnd = self.cwnd
        idle -= rto
        while idle > 0 and cwnd > restart:
            cwnd >>= 1
            idle -= rto
        self.cwnd = max(cwnd, restart)


class NoCongestionControl(CongestionControl):
    """No congestion window: only the peer's advertised window limits the sender."""

    name = "none"

    def __init__(self, initcwnd: int) -> None:
        super().__init__(initcwnd)
        self.cwnd = INFINITE_SSTHRESH

    def on_ack(self, acked: int, now: float, min_rtt: float) -> None:
        return None

    def loss_ssthresh(self, flight: int) -> int:
        return INFINITE_SSTHRESH

    def on_timeout(self, flight: int, *, keep_ssthresh: bool = False) -> None:
        return None

    def restart_after_idle(self, idle: float, rto: float) -> None:
        return None


class Reno(CongestionControl):
    """Reno (RFC 5681): +1 segment per round trip, and on a loss ``ssthresh =
    max(FlightSize / 2, 2)`` (§3.1, equation 4).  (Linux's own ``reno`` module halves
    cwnd instead of the flight; Linux's default is CUBIC.)"""

    name = "reno"

    def on_ack(self, acked: int, now: float, min_rtt: float) -> None:
        if self.in_slow_start:
            acked = self.slow_start(acked)
            if not acked:
                return
        self.additive_increase(self.cwnd, acked)

    def loss_ssthresh(self, flight: int) -> int:
        return max(flight >> 1, 2)


class Cubic(CongestionControl):
    """CUBIC (RFC 9438; Linux's default, ``net/ipv4/tcp_cubic.c``).

    After a loss the window grows along ``W(t) = C·(t − K)³ + W_max``: fast while far
    below the window where the loss happened (``W_max``), flat near it, then probing
    beyond.  ``C = 0.4``, ``β = 0.7`` (717/1024); "fast convergence" lowers ``W_max``
    when losses come at ever smaller windows; a TCP-friendly estimate keeps it at least
    as fast as Reno would be.
    """

    name = "cubic"
    BETA = 717  # /1024
    BIC_SCALE = 41
    CUBE_RTT_SCALE = BIC_SCALE * 10
    BETA_SCALE = 8 * (1024 + BETA) // 3 // (1024 - BETA)
    CUBE_FACTOR = (1 << (10 + 3 * 10)) // (BIC_SCALE * 10)

    def __init__(self, initcwnd: int) -> None:
        super().__init__(initcwnd)
        self.last_max_cwnd = 0
        self.last_cwnd = 0
        self.last_time = 0  # jiffies
        self.epoch_start: int | None = None  # jiffies when the current epoch began (None: none)
        self.origin_point = 0
        self.bic_k = 0
        self.ack_cnt = 0
        self.tcp_cwnd = 0
        self.cnt = 0

    def _update(self, acked: int, now: float, min_rtt: float) -> None:
        """``bictcp_update``: how many ACKed segments buy one more segment of cwnd (``cnt``)."""
        jiffies = int(now * HZ)
        cwnd = self.cwnd
        self.ack_cnt += acked
        if self.last_cwnd == cwnd and jiffies - self.last_time <= HZ // 32:
            return
        if not (self.epoch_start is not None and jiffies == self.last_time):
            self.last_cwnd, self.last_time = cwnd, jiffies
            if self.epoch_start is None:
                self.epoch_start = jiffies
                self.ack_cnt = acked
                self.tcp_cwnd = cwnd
                if self.last_max_cwnd <= cwnd:
                    self.bic_k, self.origin_point = 0, cwnd
                else:
                    self.bic_k = _cubic_root(self.CUBE_FACTOR * (self.last_max_cwnd - cwnd))
                    self.origin_point = self.last_max_cwnd
            t = jiffies - self.epoch_start + int(min_rtt * HZ)
            t = (t << 10) // HZ  # in units of 1/1024 s
            offs = self.bic_k - t if t < self.bic_k else t - self.bic_k
            delta = (self.CUBE_RTT_SCALE * offs * offs * offs) >> 40
            target = self.origin_point - delta if t < self.bic_k else self.origin_point + delta
            self.cnt = cwnd // (target - cwnd) if target > cwnd else 100 * cwnd
            if self.last_max_cwnd == 0 and self.cnt > 20:
                self.cnt = 20  # initial growth: 5 % per round trip
        # TCP friendliness: never slower than Reno would be
        delta = (cwnd * self.BETA_SCALE) >> 3
        while self.ack_cnt > delta > 0:
            self.ack_cnt -= delta
            self.tcp_cwnd += 1
        if self.tcp_cwnd > cwnd:
            max_cnt = cwnd // (self.tcp_cwnd - cwnd)
            self.cnt = min(self.cnt, max_cnt)
        self.cnt = max(self.cnt, 2)

    def on_ack(self, acked: int, now: float, min_rtt: float) -> None:
        if self.in_slow_start:
            acked = self.slow_start(acked)
            if not acked:
                return
        self._update(acked, now, min_rtt)
        self.additive_increase(self.cnt, acked)

    def loss_ssthresh(self, flight: int) -> int:
        """``cubictcp_recalc_ssthresh``: a new epoch; W_max (with fast convergence); 0.7·cwnd."""
        self.epoch_start = None
        if self.cwnd < self.last_max_cwnd:
            self.last_max_cwnd = (self.cwnd * (1024 + self.BETA)) // (2 * 1024)
        else:
            self.last_max_cwnd = self.cwnd
        return max((self.cwnd * self.BETA) // 1024, 2)

    def on_timeout(self, flight: int, *, keep_ssthresh: bool = False) -> None:
        super().on_timeout(flight, keep_ssthresh=keep_ssthresh)
        # cubictcp_state(TCP_CA_Loss): bictcp_reset, keeping nothing of the old epoch
        self.last_max_cwnd = self.last_cwnd = self.last_time = 0
        self.epoch_start = None
        self.origin_point = self.bic_k = self.ack_cnt = self.tcp_cwnd = self.cnt = 0


def _cubic_root(a: int) -> int:
    """The integer cube root, as ``tcp_cubic.c``'s ``cubic_root`` approximates it (its
    table plus one Newton step gives the floor of the root to within one; the exact
    floor is used here)."""
    if a <= 0:
        return 0
    x = round(a ** (1 / 3))
    while x * x * x > a:
        x -= 1
    while (x + 1) ** 3 <= a:
        x += 1
    return x


ALGORITHMS: dict[str, type[CongestionControl]] = {"cubic": Cubic, "reno": Reno, "none": NoCongestionControl}


def make(name: str, initcwnd: int) -> CongestionControl:
    """The congestion control named ``name`` (``cubic``, ``reno`` or ``none``)."""
    return ALGORITHMS[name](initcwnd)
