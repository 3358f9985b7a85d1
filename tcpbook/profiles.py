"""Timing and limit profiles: how a real stack chooses its timeouts and retry limits.

Two profiles ship (TCP-REFERENCE §2):

``linux``
    Linux >= 6.5 defaults: initial RTO 1 s (RFC 6298), RTO clamped to [200 ms, 120 s],
    ``tcp_syn_retries = 6`` with the first 4 SYN timeouts kept linear
    (``tcp_syn_linear_timeouts = 4``) and a *time-based* give-up, ``tcp_synack_retries = 5``,
    ``tcp_retries2 = 15``, TIME-WAIT 60 s, delayed ACK 40 ms.
``rfc``
    The RFC 793/1122 era: initial RTO 3 s, RTO in [1 s, 60 s], retries bounded by the
    R2 limits of RFC 1122 §4.2.3.5 (3 minutes for a SYN, 100 s for data), TIME-WAIT
    2·MSL = 240 s, delayed ACK 200 ms.

Every field can be overridden by name; each override is validated::

    >>> get_profile("linux", syn_retries=2).syn_retries
    2
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, check_nonnegative, check_positive

TCP_RTO_MAX_LINUX = 120.0


@dataclass(frozen=True)
class Profile:
    """The knobs of a TCP stack that decide *when* things happen.

    Times are in seconds.  A retry count of ``None`` means "no count: give up at the
    profile's R2 time limit instead" (the RFC 1122 way).
    """

    name: str
    rto_initial: float  # RTO before any RTT sample (RFC 6298 §2.1), also the first SYN timeout
    rto_min: float  # lower clamp of the RTO (Linux TCP_RTO_MIN)
    rto_max: float  # upper clamp of the RTO and of every backoff (Linux TCP_RTO_MAX)
    syn_retries: int | None  # SYN retransmissions before connect() fails (tcp_syn_retries)
    linear_syn_timeouts: int  # how many SYN timeouts stay at rto_initial before doubling
    synack_retries: int | None  # SYN,ACK retransmissions before a half-open request is dropped
    data_retries: int | None  # retransmissions of data/FIN before giving up (tcp_retries2)
    r2_syn: float  # RFC 1122 R2 for SYNs: give up after this long when syn_retries is None
    r2_data: float  # RFC 1122 R2 for data when data_retries is None
    time_wait: float  # how long TIME-WAIT lasts (2*MSL)
    fin_timeout: float | None  # Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 socket is dropped after this
    delayed_ack: bool  # hold back a lone ACK, hoping to piggy-back it (RFC 1122 §4.2.3.2)
    delayed_ack_timeout: float  # the longest an ACK is held back
    delay_fin_ack: bool  # hold the ACK of a FIN back (Linux "pingpong"), so a prompt close sends FIN,ACK
    clock_granularity: float  # G of RFC 6298: RTO = SRTT + max(G, 4*RTTVAR); Linux's floor is 200 ms
    mss: int  # our maximum segment size (MTU 1500 - 40 bytes of IPv4 and TCP headers)
    rcv_buffer: int  # receive buffer; the advertised window is what is free of it
    dupack_threshold: int  # duplicate ACKs that trigger a fast retransmit (0: never)
    syn_backlog: int  # capacity of a listener's SYN (half-open) queue
    accept_backlog: int  # capacity of a listener's accept queue (listen()'s backlog)
    syncookies: bool  # answer with a SYN cookie when the SYN queue is full

    # -- derived timing rules ---------------------------------------------------------

    def syn_timeouts(self) -> list[float]:
        """The gaps between SYN transmissions, and the time of ETIMEDOUT.

        Returns the list of timer durations: the first len-1 expiries each retransmit
        the SYN, the last expiry gives up.  With the ``linux`` defaults that is
        ``[1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64]``: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19,
        35, 67 s and ETIMEDOUT at 131 s.
        """
        limit = self.syn_give_up_after()
        durations: list[float] = []
        elapsed = 0.0
        rto = self.rto_initial
        retransmissions = 0
        while True:
            durations.append(rto)
            elapsed += rto
            if elapsed >= limit - 1e-9:
                return durations
            retransmissions += 1
            # Linux tcp_retransmit_timer(): keep the RTO while icsk_retransmits <= linear limit
            if retransmissions > self.linear_syn_timeouts:
                rto = min(rto * 2, self.rto_max)

    def syn_give_up_after(self) -> float:
        """Seconds after the first SYN at which connect() gives up (at or after this time).

        Linux's rule (``tcp_model_timeout``): the time ``n`` purely exponential backoffs
        from ``rto_initial`` would take, ``rto_initial * (2**(n+1) - 1)``; with no count, R2.
        """
        if self.syn_retries is None:
            return self.r2_syn
        return model_timeout(self.syn_retries, self.rto_initial, self.rto_max)

    def synack_timeouts(self) -> list[float]:
        """Timer durations of a half-open request: each expiry but the last resends the
        SYN,ACK; the last drops the request.  ``linux``: 1, 2, 4, 8, 16, 32 → SYN,ACKs at
        0, 1, 3, 7, 15, 31 s and the request dropped at 63 s."""
        durations: list[float] = []
        rto = self.rto_initial
        elapsed = 0.0
        while True:
            durations.append(rto)
            elapsed += rto
            if self.synack_retries is not None and len(durations) > self.synack_retries:
                return durations
            if self.synack_retries is None and elapsed >= self.r2_syn - 1e-9:
                return durations
            rto = min(rto * 2, self.rto_max)

    def data_give_up_after(self) -> float:
        """Seconds after the first transmission of a segment at which the sender gives up.

        Linux: ``tcp_model_timeout(tcp_retries2, TCP_RTO_MIN)`` = 924.6 s for 15 retries;
        with no count, R2 (100 s in the ``rfc`` profile).
        """
        if self.data_retries is None:
            return self.r2_data
        return model_timeout(self.data_retries, self.rto_min, self.rto_max)

    def with_overrides(self, **overrides: Any) -> Profile:
        """A copy with some fields changed, each validated (raises :class:`ParameterError`)."""
        names = {f.name for f in dataclasses.fields(self)} - {"name"}
        for key in overrides:
            if key not in names:
                raise ParameterError(key, overrides[key], f"a profile parameter, one of {', '.join(sorted(names))}")
        changed = dataclasses.replace(self, **overrides)
        changed.validate()
        return changed

    def validate(self) -> None:
        """Check every field; raise :class:`ParameterError` naming the first bad one."""
        for name in ("rto_initial", "rto_min", "rto_max", "r2_syn", "r2_data"):
            check_positive(name, getattr(self, name))
        check_nonnegative("time_wait", self.time_wait)
        check_nonnegative("fin_timeout", self.fin_timeout, allow_none=True)
        check_positive("delayed_ack_timeout", self.delayed_ack_timeout)
        if self.rto_min > self.rto_max:
            raise ParameterError("rto_min", self.rto_min, f"at most rto_max={self.rto_max}")
        for name in ("syn_retries", "synack_retries", "data_retries"):
            check_nonnegative(name, getattr(self, name), integer=True, allow_none=True)
            value = getattr(self, name)
            if value is not None and value > 64:
                raise ParameterError(name, value, "an integer from 0 to 64 or None")
        check_nonnegative("linear_syn_timeouts", self.linear_syn_timeouts, integer=True)
        check_positive("mss", self.mss, integer=True, minimum=1)
        if self.mss > 65495:
            raise ParameterError("mss", self.mss, "an integer from 1 to 65495")
        check_positive("rcv_buffer", self.rcv_buffer, integer=True, minimum=1)
        if self.rcv_buffer > 2**30:
            raise ParameterError("rcv_buffer", self.rcv_buffer, "an integer from 1 to 2**30")
        check_nonnegative("dupack_threshold", self.dupack_threshold, integer=True)
        check_positive("syn_backlog", self.syn_backlog, integer=True, minimum=1)
        check_positive("accept_backlog", self.accept_backlog, integer=True, minimum=1)
        check_positive("clock_granularity", self.clock_granularity)
        for name in ("delayed_ack", "syncookies", "delay_fin_ack"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(name, getattr(self, name), "True or False")


def model_timeout(boundary: int, rto_base: float, rto_max: float = TCP_RTO_MAX_LINUX) -> float:
    """Linux ``tcp_model_timeout()``: how long ``boundary`` exponential backoffs take.

    Doubling from ``rto_base`` until ``rto_max``, then linear at ``rto_max``.
    """
    linear_backoff_thresh = int(math.log2(rto_max / rto_base))
    if boundary <= linear_backoff_thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << linear_backoff_thresh) - 1) * rto_base + (boundary - linear_backoff_thresh) * rto_max


PROFILES: dict[str, Profile] = {
    "linux": Profile(
        name="linux",
        rto_initial=1.0,
        rto_min=0.2,
        rto_max=120.0,
        syn_retries=6,
        linear_syn_timeouts=4,
        synack_retries=5,
        data_retries=15,
        r2_syn=180.0,
        r2_data=100.0,
        time_wait=60.0,
        fin_timeout=60.0,
        delayed_ack=False,
        delayed_ack_timeout=0.04,
        delay_fin_ack=True,
        clock_granularity=0.2,
        mss=1460,
        rcv_buffer=65535,
        dupack_threshold=3,
        syn_backlog=128,
        accept_backlog=128,
        syncookies=True,
    ),
    "rfc": Profile(
        name="rfc",
        rto_initial=3.0,
        rto_min=1.0,
        rto_max=60.0,
        syn_retries=None,
        linear_syn_timeouts=0,
        synack_retries=None,
        data_retries=None,
        r2_syn=180.0,
        r2_data=100.0,
        time_wait=240.0,
        fin_timeout=None,
        delayed_ack=False,
        delayed_ack_timeout=0.2,
        delay_fin_ack=False,
        clock_granularity=0.5,
        mss=536,
        rcv_buffer=65535,
        dupack_threshold=3,
        syn_backlog=128,
        accept_backlog=128,
        syncookies=False,
    ),
}

PROFILE_PARAMETERS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Profile) if f.name != "name")
# Parameters for which None is a real value ("no count, use the R2 time"; "no FIN-WAIT-2 timeout").
NULLABLE_PARAMETERS: tuple[str, ...] = ("syn_retries", "synack_retries", "data_retries", "fin_timeout")


def get_profile(name: str | Profile = "linux", **overrides: Any) -> Profile:
    """The named profile (``linux`` or ``rfc``) with ``overrides`` applied and validated."""
    if isinstance(name, Profile):
        base = name
    elif name in PROFILES:
        base = PROFILES[name]
    else:
        raise ParameterError("profile", name, f"one of {', '.join(PROFILES)}")
    overrides = {k: v for k, v in overrides.items() if v is not None or k in NULLABLE_PARAMETERS}
    return base.with_overrides(**overrides) if overrides else base
