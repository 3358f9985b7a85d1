"""The fast path: the event simulator's handshake, sampled 100,000 times at once with NumPy.

The event simulator (:func:`tcpbook.simulate`) runs one connection at a time, event by
event: about 0.2 ms per handshake.  A sweep of 77 points × 100,000 trials would take
half an hour.  But a handshake under independent random loss has so few moving parts
that we can follow *all trials together*, one array per quantity, and loop only over
the handful of SYNs a client can send.

What happens, and what the sampler follows (the same rules as :mod:`tcpbook.endpoint`):

1. The client sends SYN number ``k`` at ``syn_times[k]`` (the profile's schedule:
   0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s on Linux) while it is still in SYN-SENT, and
   gives up (ETIMEDOUT) at ``give_up`` (131 s).  Each SYN is lost with ``loss_client``.
2. A SYN that finds no half-open request at the server creates one (SYN-RECEIVED): the
   server answers with a SYN,ACK at once and then on its own timer (after 1, 3, 7, 15,
   31 s), dropping the request at 63 s.  Each SYN,ACK is lost with ``loss_server``.
3. A SYN that finds the request still there (a *duplicate* SYN: the client has not
   seen a SYN,ACK yet) gets an immediate extra SYN,ACK — Linux's fast recovery path.
4. The first SYN,ACK to reach the client while it is in SYN-SENT makes it ESTABLISHED;
   it answers with an ACK (lost with ``loss_client``).
5. The server becomes ESTABLISHED when an ACK arrives while its request lives.  If the
   first ACK is lost, the server's next SYN,ACK retransmission draws a fresh ACK from
   the client: each later round succeeds with ``(1 - loss_server)(1 - loss_client)``.

Times are computed with the same floating-point additions as the simulator's clock, so
the sampled times are the very values the simulator prints.  The sampler leaves out
what cannot happen while the round trip is shorter than the timeouts (a SYN still in
flight when the client becomes ESTABLISHED, events at the same instant); the tests
check it against the event simulator at several points.

>>> sample = sample_handshake(100_000, loss=0.0, seed=1)
>>> float(sample.client_time[0]), float(sample.server_time[0])
(0.1, 0.15000000000000002)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError, check_nonnegative, check_positive, check_probability
from ..profiles import Profile
from .models import HandshakeSchedule, handshake_schedule

MAX_TRIALS = 50_000_000


def make_rng(seed: int | np.random.Generator | np.random.SeedSequence) -> np.random.Generator:
    """A NumPy generator from an integer seed (or pass a generator through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", seed, "an integer >= 0")
    return np.random.default_rng(int(seed))


def check_trials(trials: Any) -> int:
    """``trials`` as an int from 1 to ``MAX_TRIALS`` (50 million), or a :class:`~tcpbook.errors.ParameterError`."""
    check_positive("trials", trials, integer=True, minimum=1)
    if trials > MAX_TRIALS:
        raise ParameterError("trials", trials, f"an integer from 1 to {MAX_TRIALS}")
    return int(trials)


@dataclass(frozen=True)
class HandshakeSample:
    """``trials`` sampled handshakes: when each side reached ESTABLISHED (``inf``: never).

    Times are seconds since the client's ``connect()``.
    """

    client_time: np.ndarray
    server_time: np.ndarray

    @property
    def trials(self) -> int:
        return int(self.client_time.size)

    @property
    def client_established(self) -> np.ndarray:
        return np.isfinite(self.client_time)

    @property
    def server_established(self) -> np.ndarray:
        return np.isfinite(self.server_time)


def sample_handshake(
    trials: int,
    loss: float = 0.0,
    *,
    loss_client: float | None = None,
    loss_server: float | None = None,
    rtt: float = 0.1,
    profile: str | Profile = "linux",
    seed: int | np.random.Generator = 0,
    **profile_overrides: Any,
) -> HandshakeSample:
    """Sample ``trials`` independent handshakes of the ``handshake`` scenario.

    Parameters mean what they mean for :func:`tcpbook.simulate`: ``loss`` for both
    directions unless ``loss_client``/``loss_server`` are given, ``rtt`` in seconds,
    ``profile`` and profile overrides such as ``syn_retries=3`` or ``synack_retries=2``.
    The same ``seed`` gives the same arrays.
    """
    n = check_trials(trials)
    check_probability("loss", loss)
    pc = check_probability("loss_client", loss_client) if loss_client is not None else float(loss)
    ps = check_probability("loss_server", loss_server) if loss_server is not None else float(loss)
    check_nonnegative("rtt", rtt)
    if rtt > 100:
        raise ParameterError("rtt", rtt, "a round-trip time from 0 to 100 seconds")
    sched = handshake_schedule(profile, **profile_overrides)
    rng = make_rng(seed)
    d = rtt / 2  # the link's one-way delay, computed as the simulator does
    race = _ClientRace(n, len(sched.synack_timeouts))
    for s_k in sched.syn_times:
        if not race.send_syn(rng, s_k, d, pc, ps, sched):
            break
    return HandshakeSample(race.tc, _server_times(rng, race, d, pc, ps, sched.synack_timeouts))


class _ClientRace:
    """Steps 1–4 for every trial at once: the client's SYNs, the server's half-open
    requests they create, and the SYN,ACK that makes each client ESTABLISHED.

    One array entry per trial.  ``tc`` is when the client became ESTABLISHED (``inf``:
    not yet); ``tc_start``, ``tc_end`` and ``tc_first`` describe the server request whose
    SYN,ACK did it (its start, when it would be dropped, and the index of the first
    SYN,ACK of its train that got through), which step 5 needs to find the server's ACK.
    """

    def __init__(self, n: int, n_synacks: int) -> None:
        inf = math.inf
        self.n_synacks = n_synacks
        self.tc = np.full(n, inf)  # client ESTABLISHED time
        self.tc_start = np.full(n, -inf)  # start of the server request that sent the SYN,ACK which did it
        self.tc_end = np.full(n, -inf)  # ... and when that request would be dropped
        self.tc_first = np.full(n, n_synacks)  # ... and the first SYN,ACK of its train to get through
        self.cur_start = np.full(n, -inf)  # the server's current half-open request
        self.cur_end = np.full(n, -inf)
        self.cur_first = np.full(n, n_synacks)  # index of the first SYN,ACK of the current request's train to get through
        self.dup_arrival = np.full(n, -inf)  # arrival at the client of the latest duplicate-SYN SYN,ACK that got through
        self.idx = np.arange(n)  # trials whose client may still be in SYN-SENT

    def send_syn(self, rng: np.random.Generator, s_k: float, d: float, pc: float, ps: float, sched: HandshakeSchedule) -> bool:
        """The SYN sent at ``s_k`` by every client still in SYN-SENT (steps 1 and 3);
        False when no client is left in SYN-SENT."""
        # The SYN times increase, so a client that was ESTABLISHED before one SYN is
        # ESTABLISHED before all later ones: it leaves ``idx`` for good.
        idx = self.idx = self.idx[self.tc[self.idx] > s_k]
        if idx.size == 0:
            return False
        arrived = idx[_uniform(rng, idx.size) >= pc]
        if arrived.size == 0:
            return True
        a = s_k + d  # arrival of the SYN at the server
        is_new = a >= self.cur_end[arrived]  # no live request: this SYN creates one
        dup = arrived[~is_new]
        if dup.size:
            self._duplicate_syn(rng, dup, a + d, ps, sched.give_up)
        new = arrived[is_new]
        if new.size:
            self._new_request(rng, new, a, d, ps, sched)
        return True

    def _duplicate_syn(self, rng: np.random.Generator, dup: np.ndarray, cand: float, ps: float, give_up: float) -> None:
        """Step 3: a SYN that finds the request alive gets an immediate SYN,ACK, arriving
        at ``cand``; it makes the client ESTABLISHED if it is the first to arrive."""
        ok = dup[_uniform(rng, dup.size) >= ps]
        self.dup_arrival[ok] = cand
        if cand < give_up:
            better = ok[cand < self.tc[ok]]
            self.tc[better] = cand
            self.tc_start[better] = self.cur_start[better]
            self.tc_end[better] = self.cur_end[better]
            self.tc_first[better] = self.cur_first[better]

    def _new_request(self, rng: np.random.Generator, new: np.ndarray, a: float, d: float, ps: float, sched: HandshakeSchedule) -> None:
        """Step 2: a SYN arriving at ``a`` with no request alive creates one, whose train
        of SYN,ACKs (at once, then on the server's timer) may make the client ESTABLISHED."""
        n_synacks = self.n_synacks
        self.cur_start[new] = a
        # The first SYN,ACK of the new request's train to get through (index j).
        first_ok = _first_success(rng, new.size, 1.0 - ps, n_synacks)
        self.cur_first[new] = first_ok
        # The train's send times a, a+1, a+3 … are the same for every trial here;
        # added one timer at a time, like the simulator's clock.
        train = [a]
        for duration in sched.synack_timeouts:
            train.append(train[-1] + duration)
        t = train[-1]  # the request is dropped then
        self.cur_end[new] = t
        train[-1] = math.inf  # index n_synacks: no SYN,ACK got through
        send_time = np.asarray(train)[first_ok]
        has = first_ok < n_synacks
        cand = send_time + d
        take = has & (cand < sched.give_up) & (cand < self.tc[new])
        chosen = new[take]
        self.tc[chosen] = cand[take]
        self.tc_start[chosen] = a
        self.tc_end[chosen] = t
        self.tc_first[chosen] = first_ok[take]


def _server_times(
    rng: np.random.Generator, race: _ClientRace, d: float, pc: float, ps: float, synack_durations: tuple[float, ...]
) -> np.ndarray:
    """Step 5: when each server became ESTABLISHED (``inf``: never), given the client race.

    Every SYN,ACK that reaches the ESTABLISHED client (the one that made it so
    included) draws an ACK; the first ACK to reach the live request wins.  Two
    SYN,ACKs can arrive at the same instant (a timer retransmission and the answer
    to a duplicate SYN sent at the same time): both draw an ACK.
    """
    tc, tc_end = race.tc, race.tc_end
    ts = np.full(tc.size, math.inf)
    est = np.flatnonzero(np.isfinite(tc))
    if not est.size:
        return ts
    ack_ok = 1.0 - pc
    # The duplicate-SYN SYN,ACK at or after the client's ESTABLISHED time, if any.
    dup_at = race.dup_arrival[est]
    ack_at_server = dup_at + d
    win = (dup_at >= tc[est]) & (ack_at_server < tc_end[est]) & (_uniform(rng, est.size) < ack_ok)
    ts[est[win]] = ack_at_server[win]
    # The request's own SYN,ACKs come in time order: a trial is settled by the first
    # one that wins, so only the undecided ones go on to the next.
    pending = est
    t = race.tc_start[pending]
    for j, duration in enumerate(synack_durations):
        c_time = tc[pending]
        end = tc_end[pending]
        first = race.tc_first[pending]
        at_client = t + d
        ack_at_server = at_client + d
        # Before the first survivor all were lost; after it each is a fresh draw.
        arrived = (first == j) | ((first < j) & (_uniform(rng, pending.size) >= ps))
        win = arrived & (at_client >= c_time) & (ack_at_server < end) & (_uniform(rng, pending.size) < ack_ok)
        won = pending[win]
        ts[won] = np.minimum(ts[won], ack_at_server[win])
        # Still undecided: no win yet, and an ACK drawn by the next SYN,ACK could
        # still reach the request before it is dropped.
        keep = ~win & (((t + duration) + d) + d < end)
        pending = pending[keep]
        t = t[keep] + duration
        if pending.size == 0:
            break
    return ts


def _uniform(rng: np.random.Generator, size: int) -> np.ndarray:
    """Uniform draws for Bernoulli trials: single precision is plenty (a loss probability
    is resolved to 2**-24) and twice as fast to generate."""
    return rng.random(size, dtype=np.float32)


def _first_success(rng: np.random.Generator, size: int, success: float, cap: int) -> np.ndarray:
    """Index of the first success among ``cap`` independent tries (``cap`` if none)."""
    if success <= 0.0:
        return np.full(size, cap, dtype=np.int64)
    if success >= 1.0:
        return np.zeros(size, dtype=np.int64)
    return np.minimum(rng.geometric(success, size) - 1, cap)


def sample_transmissions(
    trials: int,
    loss: float,
    max_transmissions: int | None = 16,
    *,
    ack_loss: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Transmissions of one segment in each of ``trials`` trials (truncated geometric).

    Each try gets through (segment and, with ``ack_loss``, its ACK) with probability
    ``(1 - loss)(1 - ack_loss)``; the sender stops after ``max_transmissions`` tries
    (``None``: never; then ``loss`` must be below 1).
    """
    n = check_trials(trials)
    lc = check_probability("loss", loss)
    la = check_probability("ack_loss", ack_loss)
    success = (1.0 - lc) * (1.0 - la)
    rng = make_rng(seed)
    if max_transmissions is None:
        if success == 0.0:
            raise ParameterError(
                "loss", loss, "a loss below 1 when max_transmissions is None (or the count is infinite)"
            )
        return rng.geometric(success, n).astype(np.int64)
    check_positive("max_transmissions", max_transmissions, integer=True, minimum=1)
    return _first_success(rng, n, success, max_transmissions - 1) + 1
