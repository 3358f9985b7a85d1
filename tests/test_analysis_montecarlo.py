"""Monte Carlo sweeps: tidy tables, determinism for a seed, real behaviour, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tcpbook.analysis import models
from tcpbook.analysis.montecarlo import (
    Table,
    handshake_times,
    mean_interval,
    sweep_handshake,
    sweep_syn_flood,
    sweep_teardown,
    sweep_transfer,
    sweep_transmissions,
    time_distribution,
    time_in_state,
    wilson_interval,
)
from tcpbook.errors import ParameterError
from tcpbook.scenarios import simulate


def test_wilson_interval_by_hand():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-5)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.23659, abs=1e-5) and hi == pytest.approx(0.76341, abs=1e-5)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_mean_interval_by_hand():
    mean, lo, hi = mean_interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0
    assert hi - mean == pytest.approx(1.959964 * 1.0 / math.sqrt(3), rel=1e-6)
    assert math.isnan(mean_interval(np.array([]))[0])


def test_table_filters_and_prints():
    t = Table([{"a": 1, "b": 0.5}, {"a": 2, "b": None}])
    assert t.columns == ("a", "b")
    assert len(t.where(a=2)) == 1 and t.where(a=2)[0]["b"] is None
    assert t.column("a") == [1, 2]
    assert np.isnan(t.array("b")[1])
    assert t.to_text().splitlines()[0].split() == ["a", "b"]
    assert t.to_csv() == "a,b\n1,0.5\n2,\n"
    with pytest.raises(ParameterError, match="column"):
        t.column("c")


def test_handshake_sweep_is_tidy_and_carries_the_models():
    t = sweep_handshake([0.0, 0.3], [0, 6], trials=20_000, seed=3)
    assert len(t) == 2 * 2 * 4
    for row in t:
        assert {"loss", "syn_retries", "metric", "estimate", "ci_low", "ci_high", "n", "model"} <= set(row)
        if not math.isnan(row["estimate"]):
            assert row["ci_low"] - 1e-12 <= row["estimate"] <= row["ci_high"] + 1e-12
    row = t.where(loss=0.3, syn_retries=0, metric="p_client")[0]
    assert row["model"] == pytest.approx(models.geometric_p_established(0.3, 1))
    assert row["attempts"] == 1
    # One SYN, connect() gives up after 1 s, before the server's first SYN,ACK
    # retransmission could arrive: no extra recovery path, the model is exact.
    assert row["ci_low"] <= row["model"] <= row["ci_high"]
    # With retries, the server's own SYN,ACK timer gives the final ACK second chances
    # the geometric model does not have.
    row = t.where(loss=0.3, syn_retries=6, metric="p_server")[0]
    assert row["ci_low"] > row["model"] + 0.2
    timing = t.where(loss=0.3, syn_retries=6, metric="mean_client_time")[0]
    assert timing["cardwell"] == pytest.approx(models.cardwell_handshake_time(0.1, 0.3, t_s=1.0))
    assert timing["uncapped"] == math.inf  # 0.3 is past 1 - 1/sqrt(2)
    assert t.where(loss=0.0, metric="mean_client_time")[0]["estimate"] == pytest.approx(0.1)


def test_sweeps_are_deterministic_for_a_seed():
    a = sweep_handshake([0.2, 0.4], [1, 3], trials=5000, seed=7).to_csv()
    b = sweep_handshake([0.2, 0.4], [1, 3], trials=5000, seed=7).to_csv()
    c = sweep_handshake([0.2, 0.4], [1, 3], trials=5000, seed=8).to_csv()
    assert a == b and a != c
    e1 = sweep_handshake([0.3], [2], trials=40, seed=1, engine="event").to_csv()
    e2 = sweep_handshake([0.3], [2], trials=40, seed=1, engine="event").to_csv()
    assert e1 == e2
    t1 = sweep_teardown([0.2], trials=20, seed=4).to_csv()
    assert t1 == sweep_teardown([0.2], trials=20, seed=4).to_csv()


def test_event_engine_matches_single_runs():
    client, server = handshake_times(0.3, 30, seed=np.random.SeedSequence([5, 0]), engine="event")
    seeds = [int(x) for x in np.random.SeedSequence([5, 0]).generate_state(30, dtype=np.uint32)]
    for i, s in enumerate(seeds[:5]):
        out = simulate("handshake", loss=0.3, seed=s).outcome.endpoints["client"]
        assert client[i] == (math.inf if out.established_at is None else out.established_at)


def test_time_distribution_puts_model_beside_simulation():
    client, _ = handshake_times(0.0, 100, seed=1)
    dist = time_distribution(client, 0.0, models.handshake_schedule().syn_times)
    first = dist.where(time=0.1)[0]
    assert first["share"] == 1.0 and first["model"] == 1.0
    client, _ = handshake_times(0.4, 20_000, seed=1, syn_retries=3)
    dist = time_distribution(client, 0.4, models.handshake_schedule(syn_retries=3).syn_times)
    # times only the simulator reaches (server retransmissions): model 0, share > 0
    assert any(r["model"] == 0.0 and r["share"] > 0 for r in dist)


def test_transmissions_sweep_against_model():
    t = sweep_transmissions([0.0, 0.3], [1, 4], trials=50_000, seed=2)
    for row in t:
        assert (
            row["ci_low"] - 4 * (row["ci_high"] - row["ci_low"])
            <= row["model"]
            <= row["ci_high"] + 4 * (row["ci_high"] - row["ci_low"]) + 1e-12
        )
    assert t.where(loss=0.0, max_transmissions=4, metric="mean_transmissions")[0]["estimate"] == 1.0


def test_transfer_sweep_counts_retransmissions():
    t = sweep_transfer([0.0, 0.2], nbytes=7300, trials=20, seed=1)
    lossless = {r["metric"]: r for r in t.where(loss=0.0)}
    assert lossless["transmissions_per_segment"]["estimate"] == 1.0
    assert lossless["p_complete"]["estimate"] == 1.0
    lossy = {r["metric"]: r for r in t.where(loss=0.2)}
    assert lossy["transmissions_per_segment"]["estimate"] > 1.0
    assert lossy["completion_time"]["estimate"] > lossless["completion_time"]["estimate"]
    assert lossy["goodput"]["estimate"] < lossless["goodput"]["estimate"]


def test_teardown_sweep_measures_time_wait_and_last_ack():
    t = sweep_teardown([0.0], trials=5, seed=1)
    rows = {r["metric"]: r for r in t}
    assert rows["p_clean"]["estimate"] == 1.0
    assert rows["time_wait"]["estimate"] == pytest.approx(60.0)
    assert rows["last_ack"]["estimate"] == pytest.approx(0.1)
    trace = simulate("close", loss=0.0, seed=1)
    assert time_in_state(trace, "client", "TIME-WAIT") == pytest.approx(60.0)


def test_syn_flood_sweep_cookies_serve_everyone():
    t = sweep_syn_flood([50.0], [32], [False, True], attack_duration=120.0, clients=4)
    without = t.where(syncookies=False, metric="served_share")[0]["estimate"]
    with_cookies = t.where(syncookies=True, metric="served_share")[0]["estimate"]
    assert without < 1.0 and with_cookies == 1.0


def test_bad_parameters_are_named():
    with pytest.raises(ParameterError, match="losses"):
        sweep_handshake([0.1, 1.2], [1], trials=10)
    with pytest.raises(ParameterError, match="syn_retries"):
        sweep_handshake([0.1], [-1], trials=10)
    with pytest.raises(ParameterError, match="trials"):
        sweep_handshake([0.1], [1], trials=0)
    with pytest.raises(ParameterError, match="engine"):
        sweep_handshake([0.1], [1], trials=10, engine="gpu")
    with pytest.raises(ParameterError, match="seed"):
        sweep_handshake([0.1], [1], trials=10, seed=-3)
    with pytest.raises(ParameterError, match="losses"):
        sweep_transfer([], trials=2)
    with pytest.raises(ParameterError, match="syncookies"):
        sweep_syn_flood([1.0], [32], ["yes"])
    with pytest.raises(ParameterError, match="max_transmissions"):
        sweep_transmissions([0.1], [0])
