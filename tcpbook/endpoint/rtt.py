"""How long to wait before retransmitting: the RTT estimator of RFC 6298, with Karn's rule.

Before any measurement the retransmission timeout is the profile's initial RTO (1 s on
Linux, RFC 6298 §2.1).  Each measurement R updates a smoothed round-trip time and its
variation (§2.2–2.3)::

    first:  SRTT = R,  RTTVAR = R/2
    later:  RTTVAR = 3/4·RTTVAR + 1/4·|SRTT − R|,   SRTT = 7/8·SRTT + 1/8·R
    RTO = SRTT + max(G, 4·RTTVAR), clamped to [rto_min, rto_max]

One segment at a time is timed.  Karn's algorithm: a retransmitted segment is never
timed (its ACK could answer either copy), and after a timeout the doubled RTO stays
until a new, un-retransmitted segment is measured (§5.5–5.7).
"""

from __future__ import annotations

from ..profiles import Profile


class RttEstimator:
    """SRTT, RTTVAR and the current RTO of one connection, and the segment being timed."""

    __slots__ = ("profile", "rto", "srtt", "rttvar", "min_rtt", "probe_ack", "probe_sent_at")

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.rto = profile.rto_initial
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.min_rtt: float | None = None  # the smallest sample (CUBIC's delay_min)
        self.probe_ack: int | None = None  # an ACK at or beyond this times the probe …
        self.probe_sent_at = 0.0  # … which was sent at this time

    def start(self, ack_that_answers: int, now: float) -> None:
        """Time a new segment, unless one is being timed already."""
        if self.probe_ack is None:
            self.probe_ack = ack_that_answers
            self.probe_sent_at = now

    def forget(self) -> None:
        """Karn: stop timing (the segment being timed was, or will be, retransmitted)."""
        self.probe_ack = None

    def on_ack(self, ack: int, now: float) -> None:
        """An ACK arrived: if it covers the timed segment, take a measurement."""
        if self.probe_ack is not None and ack >= self.probe_ack:
            self.sample(now - self.probe_sent_at)
            self.probe_ack = None

    def sample(self, rtt: float) -> None:
        """RFC 6298 §2.2–2.3: update SRTT, RTTVAR and RTO from one measurement ``rtt``."""
        if self.min_rtt is None or rtt < self.min_rtt:
            self.min_rtt = rtt
        if self.srtt is None:
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        p = self.profile
        self.rto = min(max(self.srtt + max(p.clock_granularity, 4 * self.rttvar), p.rto_min), p.rto_max)

    def back_off(self) -> None:
        """RFC 6298 §5.5: a retransmission timeout doubles the RTO (up to rto_max)."""
        self.rto = min(self.rto * 2, self.profile.rto_max)

    def handshake_was_retransmitted(self) -> None:
        """RFC 6298 §5.7: if the SYN or SYN,ACK was retransmitted and no RTT was measured,
        the RTO after the handshake is at least 3 seconds."""
        if self.srtt is None:
            self.rto = max(self.rto, 3.0)
