"""Closed-form models of a handshake (and of one segment) under random loss.

Three models, each small enough to work out by hand, to put beside the simulation:

**The geometric handshake.**  Pretend the client alone retries: attempt *k* is a SYN
sent at ``syn_times[k]``; it succeeds when the SYN *and* its SYN,ACK both arrive,
probability ``pi = (1 - loss_client) * (1 - loss_server)``, independently of every
other attempt.  With ``N`` attempts (the number of SYNs the profile sends before
``connect()`` gives up)::

    P(established)        = 1 - (1 - pi)**N
    P(first success at k) = (1 - pi)**k * pi            k = 0 .. N-1
    time to establish     = syn_times[k] + rtt
    server established    = client established and the final ACK arrives  (* (1 - loss_client))

**Cardwell, Savage and Anderson, "Modeling TCP Latency", INFOCOM 2000, equation 4.**
The client retransmits its SYN (loss ``p_f``) with a timeout that starts at ``T_s``
and doubles; once the SYN is through, the *server* retransmits its SYN,ACK (loss
``p_r``) on its own doubling timer.  Two independent geometric phases, no retry cap::

    E[T_h] = RTT + T_s * ( (1 - p_r)/(1 - 2 p_r) + (1 - p_f)/(1 - 2 p_f) - 2 )

finite only for ``p_f < 1/2`` and ``p_r < 1/2``.

**The truncated geometric count of transmissions of one segment.**  A segment (SYN,
data or FIN) is sent at most ``R + 1`` times; each transmission gets through with
probability ``s``::

    P(X = k)     = (1 - s)**(k-1) * s     k = 1 .. R
    P(X = R + 1) = (1 - s)**R             (the last try is made whatever happens)
    E[X]         = (1 - (1 - s)**(R+1)) / s

**Where the mean time diverges.**  Without a retry cap, with timeouts ``T_s, 2 T_s,
4 T_s …`` and each attempt failing with probability ``f``, the time spent waiting is
``sum_j tau_j * P(more than j failures) = T_s * sum_j 2**j f**(j+1) = T_s f / (1 - 2f)``:
a geometric series of ratio ``2f``, finite only while ``f < 1/2``.  In the geometric
model ``f = 1 - (1 - loss)**2`` (SYN *and* SYN,ACK must both arrive), so the mean
diverges once ``(1 - loss)**2 <= 1/2``, that is ``loss >= 1 - 1/sqrt(2) = 0.2929``.
In Cardwell's model each phase fails with ``f = loss`` alone, so it diverges only at
``loss = 1/2``.  Linux's first few linear timeouts (1, 1, 1, 1, 1, 2, 4 … s) change the
constant, not the threshold; its 120 s ceiling on the RTO would make the sum converge,
but its retry cap (``tcp_syn_retries``) ends the attempt long before.

All functions take loss probabilities in [0, 1] and raise
:class:`~tcpbook.errors.ParameterError` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError, check_nonnegative, check_positive, check_probability
from ..profiles import Profile, get_profile

#: Loss above which the uncapped geometric model's mean handshake time is infinite:
#: ``(1 - loss)**2 = 1/2``.
GEOMETRIC_DIVERGENCE_LOSS: float = 1.0 - 1.0 / math.sqrt(2.0)

#: Loss (in either direction) above which Cardwell et al.'s eq. 4 is infinite.
CARDWELL_DIVERGENCE_LOSS: float = 0.5


@dataclass(frozen=True)
class HandshakeSchedule:
    """When the handshake's timers fire, read from a :class:`~tcpbook.profiles.Profile`.

    ``syn_times`` are the send times of the client's SYNs (the first at 0),
    ``give_up`` the time ``connect()`` fails with ETIMEDOUT; ``synack_offsets`` are the
    times of the server's SYN,ACKs after it got the SYN, ``request_lifetime`` when it
    drops the half-open request.  Each is computed by adding the timer durations one
    after the other, exactly as the event simulator's clock does, so times agree to the
    last bit.
    """

    syn_timeouts: tuple[float, ...]
    synack_timeouts: tuple[float, ...]
    syn_times: tuple[float, ...]
    give_up: float
    synack_offsets: tuple[float, ...]
    request_lifetime: float

    @property
    def attempts(self) -> int:
        """How many SYNs the client sends before giving up."""
        return len(self.syn_times)


def _running_sums(durations: Sequence[float]) -> tuple[tuple[float, ...], float]:
    times = []
    t = 0.0
    for d in durations:
        times.append(t)
        t = t + d
    return tuple(times), t


def handshake_schedule(profile: str | Profile = "linux", **overrides: Any) -> HandshakeSchedule:
    """The SYN and SYN,ACK schedules of ``profile`` with ``overrides`` (e.g. ``syn_retries=3``).

    >>> s = handshake_schedule("linux")
    >>> s.syn_times, s.give_up
    ((0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0), 131.0)
    >>> s.synack_offsets, s.request_lifetime
    ((0.0, 1.0, 3.0, 7.0, 15.0, 31.0), 63.0)
    """
    prof = get_profile(profile, **overrides)
    syn = tuple(prof.syn_timeouts())
    synack = tuple(prof.synack_timeouts())
    syn_times, give_up = _running_sums(syn)
    synack_offsets, lifetime = _running_sums(synack)
    return HandshakeSchedule(syn, synack, syn_times, give_up, synack_offsets, lifetime)


def _losses(loss: float, loss_server: float | None) -> tuple[float, float]:
    lc = check_probability("loss", loss)
    ls = lc if loss_server is None else check_probability("loss_server", loss_server)
    return lc, ls


def _check_times(name: str, times: Sequence[float]) -> tuple[float, ...]:
    if isinstance(times, (str, bytes)) or len(times) == 0:
        raise ParameterError(name, times, "a non-empty sequence of times in seconds")
    out = tuple(float(check_nonnegative(name, t)) for t in times)
    if any(b < a for a, b in zip(out, out[1:])):
        raise ParameterError(name, times, "times in increasing order")
    return out


# -- the geometric handshake ------------------------------------------------------------


def geometric_p_established(loss: float, attempts: int, loss_server: float | None = None) -> float:
    """P(client reaches ESTABLISHED) in the geometric model: ``1 - (1 - pi)**attempts``.

    ``loss`` is the loss of the client's segments (and of the server's too unless
    ``loss_server`` is given); an attempt needs its SYN and its SYN,ACK to arrive.

    >>> round(geometric_p_established(0.5, 1), 4)   # one attempt: both must pass
    0.25
    >>> round(geometric_p_established(0.5, 3), 4)   # 1 - 0.75**3
    0.5781
    """
    lc, ls = _losses(loss, loss_server)
    check_positive("attempts", attempts, integer=True, minimum=1)
    pi = (1.0 - lc) * (1.0 - ls)
    return 1.0 - (1.0 - pi) ** attempts


def geometric_time_distribution(
    loss: float, syn_times: Sequence[float], rtt: float = 0.1, loss_server: float | None = None
) -> list[tuple[float, float]]:
    """``[(time to establish, probability), ...]`` in the geometric model.

    Attempt ``k`` (a SYN at ``syn_times[k]``) is the first to succeed with probability
    ``(1 - pi)**k * pi``; the client is then ESTABLISHED one round trip later.  The
    probabilities add up to :func:`geometric_p_established`, not to 1: the rest is
    failure.

    >>> geometric_time_distribution(0.5, [0.0, 1.0], rtt=0.1)
    [(0.1, 0.25), (1.1, 0.1875)]
    """
    lc, ls = _losses(loss, loss_server)
    times = _check_times("syn_times", syn_times)
    check_nonnegative("rtt", rtt)
    pi = (1.0 - lc) * (1.0 - ls)
    return [(t + rtt, (1.0 - pi) ** k * pi) for k, t in enumerate(times)]


def geometric_mean_time(
    loss: float, syn_times: Sequence[float], rtt: float = 0.1, loss_server: float | None = None
) -> float:
    """Mean time to establish, *given that* the client establishes (NaN if it never can).

    >>> round(geometric_mean_time(0.5, [0.0, 1.0], rtt=0.1), 6)   # (0.1*.25 + 1.1*.1875) / .4375
    0.528571
    """
    dist = geometric_time_distribution(loss, syn_times, rtt, loss_server)
    total = sum(p for _, p in dist)
    if total == 0.0:
        return math.nan
    return sum(t * p for t, p in dist) / total


def geometric_server_p_established(loss: float, attempts: int, loss_server: float | None = None) -> float:
    """P(server reaches ESTABLISHED) in the geometric model: the client must, and its one
    final ACK must arrive (the model has no second chance for it)."""
    lc, _ = _losses(loss, loss_server)
    return geometric_p_established(loss, attempts, loss_server) * (1.0 - lc)


def uncapped_mean_wait(failure: float, rto: float = 1.0, linear: int = 0) -> float:
    """Mean time spent in timeouts before the first success, with *no* retry cap.

    Attempts fail independently with probability ``failure``; the first ``linear + 1``
    timeouts last ``rto`` and then they double (``linear=0``: 1, 2, 4 …; Linux's SYN:
    ``linear=4``: 1, 1, 1, 1, 1, 2, 4 …).  Summing timeout ``j`` times the probability
    that it is needed (more than ``j`` failures, ``failure**(j+1)``)::

        rto * [ f (1 - f**(L+1)) / (1 - f)  +  f**(L+1) * 2f / (1 - 2f) ]

    which is ``rto * f / (1 - 2f)`` for ``L = 0``.  Infinite when ``f >= 1/2``.

    >>> uncapped_mean_wait(0.25)          # 0.25 / 0.5
    0.5
    >>> uncapped_mean_wait(0.5)
    inf
    """
    f = check_probability("failure", failure)
    check_positive("rto", rto)
    check_nonnegative("linear", linear, integer=True)
    if f >= 0.5:
        return math.inf
    if f == 0.0:
        return 0.0
    head = f * (1.0 - f ** (linear + 1)) / (1.0 - f)
    tail = f ** (linear + 1) * 2.0 * f / (1.0 - 2.0 * f)
    return rto * (head + tail)


def geometric_uncapped_mean_time(
    loss: float, rtt: float = 0.1, rto: float = 1.0, linear: int = 0, loss_server: float | None = None
) -> float:
    """Mean time to establish in the geometric model with unlimited retries:
    ``rtt + uncapped_mean_wait(1 - (1-loss_client)(1-loss_server), rto, linear)``.

    Infinite from ``loss >= 1 - 1/sqrt(2) ~ 0.2929`` (symmetric loss): see the module
    docstring for the derivation, and :data:`GEOMETRIC_DIVERGENCE_LOSS`.
    """
    lc, ls = _losses(loss, loss_server)
    check_nonnegative("rtt", rtt)
    return rtt + uncapped_mean_wait(1.0 - (1.0 - lc) * (1.0 - ls), rto, linear)


def capped_mean_wait_partial(failure: float, timeouts: Sequence[float]) -> float:
    """``sum_j timeouts[j] * failure**(j+1)``: the expected time spent waiting in the
    first ``len(timeouts)`` timeouts (each is needed only if every attempt before it
    failed).  As ``timeouts`` grows this partial sum tends to :func:`uncapped_mean_wait`
    below the threshold and grows without bound above it."""
    f = check_probability("failure", failure)
    return sum(float(t) * f ** (j + 1) for j, t in enumerate(timeouts))


# -- Cardwell, Savage and Anderson (2000), eq. 4 -------------------------------------------


def cardwell_handshake_time(
    rtt: float, loss_forward: float, loss_reverse: float | None = None, t_s: float = 3.0
) -> float:
    """Expected handshake time, Cardwell, Savage and Anderson, "Modeling TCP Latency",
    Proc. IEEE INFOCOM 2000, equation (4)::

        E[T_h] = RTT + T_s * ( (1 - p_r)/(1 - 2 p_r) + (1 - p_f)/(1 - 2 p_f) - 2 )

    ``p_f`` (``loss_forward``) is the loss of the client's SYN, ``p_r``
    (``loss_reverse``, default: the same) the loss of the server's SYN,ACK, ``T_s`` the
    initial SYN timeout (3 s in the paper, RFC 1122's value; Linux uses 1 s since RFC 6298).
    The model: the client resends its SYN on a doubling timer until one arrives, then the
    server resends its SYN,ACK on its own doubling timer until one arrives; no retry cap.
    Each term ``(1-p)/(1-2p) - 1 = p/(1-2p)`` is that phase's mean wait divided by
    ``T_s``.  The series diverges for ``p >= 1/2``: we return ``inf`` there.

    >>> cardwell_handshake_time(0.1, 0.0)
    0.1
    >>> round(cardwell_handshake_time(0.1, 0.2, t_s=1.0), 6)   # 0.1 + 2 * (0.8/0.6 - 1)
    0.766667
    """
    check_nonnegative("rtt", rtt)
    pf = check_probability("loss_forward", loss_forward)
    pr = pf if loss_reverse is None else check_probability("loss_reverse", loss_reverse)
    check_positive("t_s", t_s)
    if pf >= 0.5 or pr >= 0.5:
        return math.inf
    return rtt + t_s * ((1.0 - pr) / (1.0 - 2.0 * pr) + (1.0 - pf) / (1.0 - 2.0 * pf) - 2.0)


# -- one segment: the truncated geometric count -------------------------------------------


def transmissions_pmf(success: float, max_transmissions: int) -> list[float]:
    """``[P(X=1), …, P(X=max_transmissions)]`` for the truncated geometric count.

    >>> transmissions_pmf(0.5, 3)
    [0.5, 0.25, 0.25]
    """
    s = check_probability("success", success)
    check_positive("max_transmissions", max_transmissions, integer=True, minimum=1)
    pmf = [(1.0 - s) ** (k - 1) * s for k in range(1, max_transmissions)]
    pmf.append((1.0 - s) ** (max_transmissions - 1))
    return pmf


def transmissions_mean(success: float, max_transmissions: int | None = None) -> float:
    """E[X] = (1 - (1-s)**R1) / s with ``R1 = max_transmissions`` (``None``: no cap, 1/s).

    >>> transmissions_mean(0.5, 3)   # 1*.5 + 2*.25 + 3*.25
    1.75
    >>> transmissions_mean(0.8)
    1.25
    """
    s = check_probability("success", success)
    if max_transmissions is None:
        return math.inf if s == 0.0 else 1.0 / s
    check_positive("max_transmissions", max_transmissions, integer=True, minimum=1)
    if s == 0.0:
        return float(max_transmissions)
    return (1.0 - (1.0 - s) ** max_transmissions) / s


def segment_transmissions_mean(loss: float, retries: int | None = 15, ack_loss: float = 0.0) -> float:
    """Mean transmissions of one data segment: success needs the segment (and, if
    ``ack_loss`` is given, an ACK covering it) to arrive; at most ``retries + 1`` tries.

    In a bulk transfer ACKs are cumulative, so a lost ACK is covered by the next one:
    the right ``ack_loss`` there is 0, and the mean is about ``1 / (1 - loss)``.
    """
    lc = check_probability("loss", loss)
    la = check_probability("ack_loss", ack_loss)
    cap = None if retries is None else check_nonnegative("retries", retries, integer=True) + 1
    return transmissions_mean((1.0 - lc) * (1.0 - la), cap)


def divergence_loss(model: str = "geometric") -> float:
    """The symmetric loss from which the *uncapped* mean handshake time is infinite.

    ``geometric``: ``1 - 1/sqrt(2)`` (~0.2929); ``cardwell``: 0.5.
    """
    if model == "geometric":
        return GEOMETRIC_DIVERGENCE_LOSS
    if model == "cardwell":
        return CARDWELL_DIVERGENCE_LOSS
    raise ParameterError("model", model, "geometric or cardwell")
