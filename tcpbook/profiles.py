"""Timing and limit profiles: how a real stack chooses its timeouts and retry limits.

Two profiles ship (TCP-REFERENCE §2):

``linux``
    Linux >= 6.5 defaults: initial RTO 1 s (RFC 6298), RTO clamped to [200 ms, 120 s],
    ``tcp_syn_retries = 6`` with the first 4 SYN timeouts kept linear
    (``tcp_syn_linear_timeouts = 4``) and a *time-based* give-up, ``tcp_synack_retries = 5``,
    ``tcp_retries2 = 15`` turned into a 924.6 s time budget, TIME-WAIT 60 s
    (``TCP_TIMEWAIT_LEN``), ``tcp_rfc1337 = 0``, delayed ACK 40 ms after 16 quick ACKs,
    CUBIC with an initial window of 10 segments, the tail loss probe
    (``tcp_early_retrans = 3``), SYN cookies on, ``somaxconn = 4096``, keepalive
    7200/75/9 s when a program turns it on; windows rounded to whole segments and only
    whole segments sent into a window (``tcp_select_initial_window``,
    ``__tcp_select_window``, ``tcp_snd_wnd_test``).
``rfc``
    The RFC 793/1122 era and the textbook counterparts: initial RTO 3 s, RTO in
    [1 s, 60 s], retries bounded by the R2 limits of RFC 1122 §4.2.3.5 (3 minutes for a
    SYN, 100 s for data), TIME-WAIT 2·MSL = 240 s, delayed ACK 200 ms, Reno (RFC 5681)
    with the RFC 3390 initial window, no tail loss probe, no SYN cookies, and the silly
    window syndrome avoidance of RFC 9293 §3.8.6.2.1–2 (RFC 1122 §4.2.3.3–4).

Every field can be overridden by name; each override is validated::

    >>> get_profile("linux", syn_retries=2).syn_retries
    2
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError
from .params import Param, ParamSet

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
    retries2: int | None  # tcp_retries2: the time budget for data/FIN retransmissions, as a count (see data_give_up_after)
    orphan_retries: int | None  # tcp_orphan_retries: the same budget once the program has closed the socket (None: retries2)
    r2_syn: float  # RFC 1122 R2 for SYNs: give up after this long when syn_retries is None
    r2_data: float  # RFC 1122 R2 for data when retries2 is None
    user_timeout: float | None  # TCP_USER_TIMEOUT: give up on data (and keepalive) after this long; None: off
    time_wait: float  # how long TIME-WAIT lasts (2*MSL; Linux a fixed 60 s)
    fin_timeout: float | None  # Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 socket is dropped after this
    synsent_bad_ack_resend: float | None  # Linux: after a RST for an ACK that misses our SYN, resend the SYN this soon (first time only)
    rfc1337: bool  # tcp_rfc1337: ignore a RST in TIME-WAIT (False, Linux's default: the RST ends it)
    delayed_ack: bool  # hold back a lone ACK, hoping to piggy-back it (RFC 1122 §4.2.3.2)
    delayed_ack_timeout: float  # the longest an ACK is held back
    quickack: int  # Linux TCP_MAX_QUICKACKS: the first data segments are ACKed at once
    delay_fin_ack: bool  # hold the ACK of a FIN back (Linux "pingpong"), so a prompt close sends FIN,ACK
    clock_granularity: float  # G of RFC 6298: RTO = SRTT + max(G, 4*RTTVAR); Linux's floor is 200 ms
    mss: int  # our maximum segment size (MTU 1500 - 40 bytes of IPv4 and TCP headers)
    rcvbuf: int  # receive buffer (SO_RCVBUF); the advertised window is what is free of it
    sws_avoidance: str  # silly window syndrome avoidance: linux (MSS-rounded windows, whole segments), rfc (RFC 9293 §3.8.6.2) or none
    cc: str  # congestion control: cubic (Linux), reno (RFC 5681) or none (only the peer's window limits)
    initcwnd: int  # initial congestion window in segments (Linux TCP_INIT_CWND = 10, RFC 6928)
    slow_start_after_idle: bool  # tcp_slow_start_after_idle: shrink cwnd after an idle RTO (RFC 5681 §4.1)
    tlp: bool  # tail loss probe before the RTO (RFC 8985; Linux tcp_early_retrans = 3)
    dupack_threshold: int  # duplicate ACKs that trigger a fast retransmit (0: never)
    keepalive: bool  # SO_KEEPALIVE: probe an idle connection (off unless a program asks)
    keepidle: float  # tcp_keepalive_time / TCP_KEEPIDLE: idle time before the first probe
    keepintvl: float  # tcp_keepalive_intvl / TCP_KEEPINTVL: time between probes
    keepcnt: int  # tcp_keepalive_probes / TCP_KEEPCNT: unanswered probes before giving up
    backlog: int  # listen()'s backlog: the limit of the SYN queue and of the accept queue (capped by somaxconn)
    somaxconn: int  # net.core.somaxconn: the cap on any listen backlog
    max_syn_backlog: int  # tcp_max_syn_backlog: with cookies off, the last quarter is kept for proven peers
    syncookies: bool  # tcp_syncookies: answer with a SYN cookie when the SYN queue is full

    # -- derived timing rules ---------------------------------------------------------

    def _cached(self, name: str, compute):  # noqa: ANN001, ANN202 - a schedule, computed once per profile
        value = self.__dict__.get(name)
        if value is None:
            value = compute()
            object.__setattr__(self, name, value)  # a frozen dataclass: bypass, it is a cache
        return value

    def syn_timeouts(self) -> tuple[float, ...]:
        """The gaps between SYN transmissions, and the time of ETIMEDOUT.

        Returns the list of timer durations: the first len-1 expiries each retransmit
        the SYN, the last expiry gives up.  With the ``linux`` defaults that is
        ``(1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64)``: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19,
        35, 67 s and ETIMEDOUT at 131 s.
        """
        return self._cached("_syn_timeouts", self._compute_syn_timeouts)

    def _compute_syn_timeouts(self) -> tuple[float, ...]:
        limit = self.syn_give_up_after()
        durations: list[float] = []
        elapsed = 0.0
        rto = self.rto_initial
        retransmissions = 0
        while True:
            durations.append(rto)
            elapsed += rto
            if elapsed >= limit - 1e-9:
                return tuple(durations)
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

    def synack_timeouts(self) -> tuple[float, ...]:
        """Timer durations of a half-open request: each expiry but the last resends the
        SYN,ACK; the last drops the request.  ``linux``: 1, 2, 4, 8, 16, 32 → SYN,ACKs at
        0, 1, 3, 7, 15, 31 s and the request dropped at 63 s."""
        return self._cached("_synack_timeouts", self._compute_synack_timeouts)

    def _compute_synack_timeouts(self) -> tuple[float, ...]:
        durations: list[float] = []
        rto = self.rto_initial
        elapsed = 0.0
        while True:
            durations.append(rto)
            elapsed += rto
            if self.synack_retries is not None and len(durations) > self.synack_retries:
                return tuple(durations)
            if self.synack_retries is None and elapsed >= self.r2_syn - 1e-9:
                return tuple(durations)
            rto = min(rto * 2, self.rto_max)

    def data_give_up_after(self, orphan: bool = False) -> float:
        """Seconds after the first retransmission of data still unacknowledged at which
        the sender gives up (ETIMEDOUT).

        Linux turns ``tcp_retries2`` into a *time budget* (``retransmits_timed_out``):
        ``tcp_model_timeout(tcp_retries2, TCP_RTO_MIN)`` — how long 15 doublings from
        200 ms would take, each capped at 120 s — 924.6 s, measured from the first
        retransmission (``retrans_stamp``; a tail loss probe does not count).  How many
        retransmissions fit depends on the RTO.  ``TCP_USER_TIMEOUT`` replaces the
        budget.  With no count, R2 (100 s in the ``rfc`` profile).

        An ``orphan`` — a socket its program has closed (or exited), still sending its
        data and FIN — has a shorter budget on Linux: ``tcp_orphan_retries``, whose
        default 0 means 8 (``tcp_orphan_retries()``), so 102.2 s.
        """
        if self.user_timeout is not None:
            return self.user_timeout
        if orphan and self.orphan_retries is not None:
            return self._cached("_orphan_give_up", lambda: model_timeout(self.orphan_retries, self.rto_min, self.rto_max))
        if self.retries2 is None:
            return self.r2_data
        return self._cached("_data_give_up", lambda: model_timeout(self.retries2, self.rto_min, self.rto_max))

    @property
    def listen_backlog(self) -> int:
        """The limit of the listener's queues — listen()'s backlog, capped by somaxconn
        (Linux ``sk_max_ack_backlog``)."""
        return min(self.backlog, self.somaxconn)

    def with_overrides(self, **overrides: Any) -> Profile:
        """A copy with some fields changed, each validated (raises :class:`ParameterError`)."""
        checked = {}
        for key, value in overrides.items():
            if key not in _PROFILE_PARAM_SET:
                raise ParameterError(key, value, f"a profile parameter, one of {', '.join(sorted(_PROFILE_PARAM_SET.names()))}")
            checked[key] = _PROFILE_PARAM_SET[key].check(value)
        changed = dataclasses.replace(self, **checked)
        changed.validate()
        return changed

    def validate(self) -> None:
        """Check every field against its declaration in :data:`PROFILE_PARAMS`, and the
        fields against each other; raise :class:`ParameterError` naming the first bad one."""
        for param in PROFILE_PARAMS:
            param.check(getattr(self, param.name))
        if self.rto_min > self.rto_max:
            raise ParameterError("rto_min", self.rto_min, f"at most rto_max={self.rto_max:g}")
        if not self.rto_min <= self.rto_initial <= self.rto_max:
            raise ParameterError("rto_initial", self.rto_initial, f"a number from rto_min={self.rto_min:g} to rto_max={self.rto_max:g}")


def model_timeout(boundary: int, rto_base: float, rto_max: float = TCP_RTO_MAX_LINUX) -> float:
    """Linux ``tcp_model_timeout()``: how long ``boundary`` exponential backoffs take.

    Doubling from ``rto_base`` until ``rto_max``, then linear at ``rto_max``.
    """
    linear_backoff_thresh = int(math.log2(rto_max / rto_base))
    if boundary <= linear_backoff_thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << linear_backoff_thresh) - 1) * rto_base + (boundary - linear_backoff_thresh) * rto_max


_HOUR, _DAY = 3600.0, 86400.0
_RETRIES = "no count: give up at the R2 time instead (RFC 1122)"
# Each field of Profile, declared once (type, meaning, allowed range).  The defaults are
# None here: a scenario's profile parameter left at None takes the profile's own value.
PROFILE_PARAMS: tuple[Param, ...] = (
    Param("rto_initial", float, None, "retransmission timeout before any RTT sample, also the first SYN timeout (RFC 6298 §2.1)", "s", 0.001, _HOUR),
    Param("rto_min", float, None, "lower clamp of the RTO (Linux TCP_RTO_MIN)", "s", 0.001, _HOUR),
    Param("rto_max", float, None, "upper clamp of the RTO and of every backoff (Linux TCP_RTO_MAX)", "s", 0.001, _HOUR),
    Param("syn_retries", int, None, "SYN retransmissions before connect() fails (tcp_syn_retries)", "", 0, 127, none_means=_RETRIES),
    Param("linear_syn_timeouts", int, None, "SYN timeouts kept at rto_initial before doubling (tcp_syn_linear_timeouts)", "", 0, 127),
    Param("synack_retries", int, None, "SYN,ACK retransmissions before a half-open request is dropped (tcp_synack_retries)", "", 0, 127, none_means=_RETRIES),
    Param("retries2", int, None, "tcp_retries2: the give-up time budget for data and FIN, as a count of doublings from 200 ms", "", 0, 127, none_means=_RETRIES),
    Param("orphan_retries", int, None, "tcp_orphan_retries: the give-up budget once the program closed the socket (Linux's 0 means 8)", "", 0, 127, none_means="as retries2"),
    Param("r2_syn", float, None, "RFC 1122 R2 for a SYN: give up after this long when syn_retries is none", "s", 0.001, _DAY),
    Param("r2_data", float, None, "RFC 1122 R2 for data: give up after this long when retries2 is none", "s", 0.001, _DAY),
    Param("user_timeout", float, None, "TCP_USER_TIMEOUT: give up on unacknowledged data (and keepalive) after this long", "s", 0.001, _DAY, none_means="off"),
    Param("time_wait", float, None, "how long TIME-WAIT lasts (2·MSL; Linux TCP_TIMEWAIT_LEN)", "s", 0, _DAY),
    Param("fin_timeout", float, None, "Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 socket is dropped after this", "s", 0, _DAY, none_means="no such timer (RFC 9293)"),
    Param("synsent_bad_ack_resend", float, None, "a connecting socket that answers an ACK missing its SYN with a RST resends the SYN this soon, if it has not retransmitted yet (Linux TCP_TIMEOUT_MIN, 2 jiffies)", "s", 0.001, 10.0, none_means="wait for the retransmission timeout (RFC 9293)"),
    Param("rfc1337", bool, None, "tcp_rfc1337: ignore a RST in TIME-WAIT (false, Linux's default: the RST ends it)"),
    Param("delayed_ack", bool, None, "hold back a lone ACK, hoping to piggy-back it (RFC 1122 §4.2.3.2)"),
    Param("delayed_ack_timeout", float, None, "the longest an ACK is held back", "s", 0.001, 0.5),
    Param("quickack", int, None, "the first data segments ACKed at once (Linux TCP_MAX_QUICKACKS)", "", 0, 1000),
    Param("delay_fin_ack", bool, None, "hold the ACK of a FIN back (Linux pingpong): a prompt close sends FIN,ACK"),
    Param("clock_granularity", float, None, "G of RFC 6298: RTO = SRTT + max(G, 4·RTTVAR)", "s", 0.000001, 10.0),
    Param("mss", int, None, "largest payload we accept and send (MTU 1500 minus 40 bytes of headers)", "bytes", 48, 65495),
    Param("rcvbuf", int, None, "receive buffer (SO_RCVBUF): the advertised window is what is free of it", "bytes", 1, 2**30),
    Param(
        "sws_avoidance", str, None,
        "silly window syndrome avoidance: linux (windows rounded to the MSS, only whole segments sent into a window), "
        "rfc (RFC 9293 §3.8.6.2.1-2) or none (every free byte offered, every window gap filled)",
        choices=("linux", "rfc", "none"),
    ),  # fmt: skip
    Param("cc", str, None, "congestion control: cubic (Linux), reno (RFC 5681) or none", choices=("cubic", "reno", "none")),
    Param("initcwnd", int, None, "initial congestion window (Linux TCP_INIT_CWND, RFC 6928)", "segments", 1, 1000),
    Param("slow_start_after_idle", bool, None, "tcp_slow_start_after_idle: shrink the congestion window after an idle RTO"),
    Param("tlp", bool, None, "tail loss probe before the RTO (RFC 8985; Linux tcp_early_retrans)"),
    Param("dupack_threshold", int, None, "duplicate ACKs that trigger a fast retransmit (0: never)", "", 0, 1000),
    Param("keepalive", bool, None, "SO_KEEPALIVE: probe a connection that has been idle for keepidle"),
    Param("keepidle", float, None, "TCP_KEEPIDLE (tcp_keepalive_time): idle time before the first keepalive probe", "s", 1, 32767),
    Param("keepintvl", float, None, "TCP_KEEPINTVL (tcp_keepalive_intvl): time between keepalive probes", "s", 1, 32767),
    Param("keepcnt", int, None, "TCP_KEEPCNT (tcp_keepalive_probes): unanswered probes before giving up", "", 1, 127),
    Param("backlog", int, None, "listen()'s backlog: limit of the SYN queue and of the accept queue", "", 1, 65535),
    Param("somaxconn", int, None, "net.core.somaxconn: the cap on any listen backlog", "", 1, 65535),
    Param("max_syn_backlog", int, None, "tcp_max_syn_backlog: with cookies off, its last quarter is kept for proven peers", "", 1, 65535),
    Param("syncookies", bool, None, "tcp_syncookies: answer with a SYN cookie when the SYN queue is full"),
)
_PROFILE_PARAM_SET = ParamSet(PROFILE_PARAMS)


PROFILES: dict[str, Profile] = {
    "linux": Profile(
        name="linux",
        rto_initial=1.0,
        rto_min=0.2,
        rto_max=120.0,
        syn_retries=6,
        linear_syn_timeouts=4,
        synack_retries=5,
        retries2=15,
        orphan_retries=8,
        r2_syn=180.0,
        r2_data=100.0,
        user_timeout=None,
        time_wait=60.0,
        fin_timeout=60.0,
        synsent_bad_ack_resend=0.008,  # 2 jiffies at CONFIG_HZ=250 (Debian's kernels and the capture rig's)
        rfc1337=False,
        delayed_ack=True,
        delayed_ack_timeout=0.04,
        quickack=16,
        delay_fin_ack=True,
        clock_granularity=0.2,
        mss=1460,
        rcvbuf=65535,
        sws_avoidance="linux",
        cc="cubic",
        initcwnd=10,
        slow_start_after_idle=True,
        tlp=True,
        dupack_threshold=3,
        keepalive=False,
        keepidle=7200.0,
        keepintvl=75.0,
        keepcnt=9,
        backlog=4096,
        somaxconn=4096,
        max_syn_backlog=1024,
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
        retries2=None,
        orphan_retries=None,
        r2_syn=180.0,
        r2_data=100.0,
        user_timeout=None,
        time_wait=240.0,
        fin_timeout=None,
        synsent_bad_ack_resend=None,
        rfc1337=False,
        delayed_ack=True,
        delayed_ack_timeout=0.2,
        quickack=0,
        delay_fin_ack=False,
        clock_granularity=0.5,
        mss=536,
        rcvbuf=65535,
        sws_avoidance="rfc",
        cc="reno",
        initcwnd=4,
        slow_start_after_idle=True,
        tlp=False,
        dupack_threshold=3,
        keepalive=False,
        keepidle=7200.0,
        keepintvl=75.0,
        keepcnt=9,
        backlog=4096,
        somaxconn=4096,
        max_syn_backlog=1024,
        syncookies=False,
    ),
}

PROFILE_PARAMETERS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Profile) if f.name != "name")
# Parameters for which None is a real value ("no count, use the R2 time"; "no FIN-WAIT-2 timeout").
NULLABLE_PARAMETERS: tuple[str, ...] = tuple(p.name for p in PROFILE_PARAMS if p.none_means)


def get_profile(name: str | Profile = "linux", **overrides: Any) -> Profile:
    """The named profile (``linux`` or ``rfc``) with ``overrides`` applied and validated."""
    if isinstance(name, Profile):
        base = name
    elif name in PROFILES:
        base = PROFILES[name]
    else:
        raise ParameterError("profile", name, f"one of {', '.join(PROFILES)}")
    return base.with_overrides(**overrides) if overrides else base
