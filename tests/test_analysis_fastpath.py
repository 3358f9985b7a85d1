"""The NumPy fast path against the event simulator (within 4 standard errors) and the models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tcpbook import simulate
from tcpbook.analysis import models
from tcpbook.analysis.fastpath import sample_handshake, sample_transmissions
from tcpbook.errors import ParameterError

EVENT_TRIALS = 1500
FAST_TRIALS = 200_000


def _event_times(loss: float, **params):
    client, server = [], []
    for seed in range(EVENT_TRIALS):
        out = simulate("handshake", loss=loss, seed=seed, **params).outcome.endpoints
        client.append(math.inf if out["client"].established_at is None else out["client"].established_at)
        server.append(math.inf if out["server"].established_at is None else out["server"].established_at)
    return np.array(client), np.array(server)


def _agree_proportion(a: np.ndarray, b: np.ndarray) -> None:
    pa, pb = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (a.size + b.size)  # under "same distribution"; never 0 by accident
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.size + 1 / b.size))
    assert abs(pa - pb) <= 4 * max(se, 1e-12), (pa, pb, se)


def _agree_mean(a: np.ndarray, b: np.ndarray) -> None:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert abs(a.mean() - b.mean()) <= 4 * max(se, 1e-12), (a.mean(), b.mean(), se)


POINTS = [
    (0.1, {}),
    (0.3, {}),
    (0.5, {"synack_retries": 0}),  # requests time out: a later SYN makes a new one
    (0.6, {"syn_retries": 2, "synack_retries": 1}),
    (0.4, {"rtt": 0.3, "loss_server": 0.2}),
    (0.3, {"profile": "rfc"}),
]


@pytest.mark.parametrize(("loss", "params"), POINTS)
def test_fast_path_agrees_with_event_simulator(loss, params):
    ev_client, ev_server = _event_times(loss, **params)
    fast = sample_handshake(FAST_TRIALS, loss, seed=11, **params)
    _agree_proportion(np.isfinite(ev_client), fast.client_established)
    _agree_proportion(np.isfinite(ev_server), fast.server_established)
    _agree_mean(ev_client, fast.client_time)
    _agree_mean(ev_server, fast.server_time)
    # The times themselves are the simulator's: every time the event simulator shows
    # more than twice is one the fast path produces too.
    fast_values = set(np.round(fast.client_time[fast.client_established], 6).tolist())
    values, counts = np.unique(np.round(ev_client[np.isfinite(ev_client)], 6), return_counts=True)
    assert {v for v, c in zip(values.tolist(), counts) if c > 2} <= fast_values


def test_no_loss_is_exactly_one_round_trip():
    s = sample_handshake(1000, 0.0, rtt=0.2, seed=3)
    ev = simulate("handshake", loss=0.0, rtt=0.2).outcome.endpoints
    assert np.all(s.client_time == ev["client"].established_at)
    assert np.all(np.round(s.server_time, 6) == round(ev["server"].established_at, 6))


def test_total_loss_never_establishes():
    s = sample_handshake(1000, 1.0, seed=3)
    assert not s.client_established.any() and not s.server_established.any()


def test_one_way_loss_only_delays_the_server():
    # Only the client's segments are lost: the geometric model's attempt success is 1 - loss.
    s = sample_handshake(50_000, 0.0, loss_client=0.5, syn_retries=0, synack_retries=0, seed=4)
    assert s.client_established.mean() == pytest.approx(0.5, abs=0.01)


def test_geometric_model_is_a_lower_bound_of_the_fast_path():
    # The simulator has extra recovery paths (server timer, answers to duplicate SYNs).
    for loss in (0.2, 0.4, 0.6):
        s = sample_handshake(100_000, loss, seed=5, syn_retries=2)
        model = models.geometric_p_established(loss, models.handshake_schedule("linux", syn_retries=2).attempts)
        assert s.client_established.mean() > model


def test_same_seed_same_sample_and_different_seed_differs():
    a = sample_handshake(10_000, 0.3, seed=9)
    b = sample_handshake(10_000, 0.3, seed=9)
    c = sample_handshake(10_000, 0.3, seed=10)
    assert a.client_time.tobytes() == b.client_time.tobytes()
    assert a.server_time.tobytes() == b.server_time.tobytes()
    assert a.client_time.tobytes() != c.client_time.tobytes()


@pytest.mark.parametrize(("loss", "cap"), [(0.0, 16), (0.2, 16), (0.5, 3), (0.9, 4), (1.0, 5)])
def test_transmissions_sampler_matches_truncated_geometric(loss, cap):
    x = sample_transmissions(200_000, loss, cap, seed=2)
    assert x.min() >= 1 and x.max() <= cap
    mean = models.transmissions_mean(1 - loss, cap)
    se = max(x.std(ddof=1) / math.sqrt(x.size), 1e-12)
    assert abs(x.mean() - mean) <= 4 * se
    pmf = models.transmissions_pmf(1 - loss, cap)
    for k, p in enumerate(pmf, start=1):
        share = (x == k).mean()
        assert abs(share - p) <= 4 * math.sqrt(max(p * (1 - p), 1e-12) / x.size) + 1e-12


def test_bad_parameters():
    with pytest.raises(ParameterError, match="trials"):
        sample_handshake(0, 0.1)
    with pytest.raises(ParameterError, match="loss"):
        sample_handshake(10, -0.1)
    with pytest.raises(ParameterError, match="loss_server"):
        sample_handshake(10, 0.1, loss_server=2)
    with pytest.raises(ParameterError, match="seed"):
        sample_handshake(10, 0.1, seed=-1)
    with pytest.raises(ParameterError, match="syn_retries"):
        sample_handshake(10, 0.1, syn_retries=200)
    with pytest.raises(ParameterError, match="profile"):
        sample_handshake(10, 0.1, profile="bsd")
    with pytest.raises(ParameterError, match="loss"):
        sample_transmissions(10, 1.0, None)
