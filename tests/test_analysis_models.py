"""The closed-form models against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from tcpbook.analysis import models as m
from tcpbook.errors import ParameterError
from tcpbook.profiles import get_profile


def test_schedule_follows_the_linux_profile():
    s = m.handshake_schedule("linux")
    assert s.syn_times == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0)
    assert s.give_up == 131.0
    assert s.attempts == 11
    assert s.synack_offsets == (0.0, 1.0, 3.0, 7.0, 15.0, 31.0)
    assert s.request_lifetime == 63.0
    # The schedule is read from the profile, not written here: overrides reach it.
    s2 = m.handshake_schedule("linux", syn_retries=1)
    assert s2.syn_timeouts == tuple(get_profile("linux", syn_retries=1).syn_timeouts())
    assert s2.syn_times == (0.0, 1.0, 2.0) and s2.give_up == 3.0


def test_geometric_probability_by_hand():
    # one attempt, 10% loss each way: 0.9 * 0.9
    assert m.geometric_p_established(0.1, 1) == pytest.approx(0.81)
    # three attempts at 50%: 1 - 0.75**3
    assert m.geometric_p_established(0.5, 3) == pytest.approx(0.578125)
    # asymmetric: only the SYN,ACK direction loses
    assert m.geometric_p_established(0.0, 2, loss_server=0.5) == pytest.approx(0.75)
    assert m.geometric_p_established(1.0, 5) == 0.0
    assert m.geometric_server_p_established(0.5, 1) == pytest.approx(0.125)


def test_geometric_time_distribution_and_mean_by_hand():
    dist = m.geometric_time_distribution(0.5, [0.0, 1.0, 2.0], rtt=0.2)
    assert [t for t, _ in dist] == pytest.approx([0.2, 1.2, 2.2])
    assert [p for _, p in dist] == pytest.approx([0.25, 0.1875, 0.140625])
    mean = (0.2 * 0.25 + 1.2 * 0.1875 + 2.2 * 0.140625) / (0.25 + 0.1875 + 0.140625)
    assert m.geometric_mean_time(0.5, [0.0, 1.0, 2.0], rtt=0.2) == pytest.approx(mean)
    assert math.isnan(m.geometric_mean_time(1.0, [0.0, 1.0]))
    assert m.geometric_mean_time(0.0, [0.0, 1.0], rtt=0.1) == pytest.approx(0.1)


def test_cardwell_equation_4_by_hand():
    # E[T_h] = RTT + T_s ((1-pr)/(1-2pr) + (1-pf)/(1-2pf) - 2)
    assert m.cardwell_handshake_time(0.1, 0.0) == pytest.approx(0.1)
    assert m.cardwell_handshake_time(0.2, 0.1, 0.25, t_s=3.0) == pytest.approx(0.2 + 3.0 * (0.75 / 0.5 + 0.9 / 0.8 - 2))
    assert m.cardwell_handshake_time(0.1, 0.2) == pytest.approx(0.1 + 3.0 * 2 * (0.8 / 0.6 - 1))
    assert m.cardwell_handshake_time(0.1, 0.5) == math.inf
    assert m.cardwell_handshake_time(0.1, 0.1, 0.6) == math.inf


def test_cardwell_is_two_uncapped_geometric_phases():
    # Each phase waits T_s * p / (1 - 2p): eq. 4 is RTT plus the two waits.
    for p in (0.05, 0.2, 0.45):
        assert m.cardwell_handshake_time(0.1, p, t_s=1.0) == pytest.approx(0.1 + 2 * m.uncapped_mean_wait(p))


def test_truncated_geometric_by_hand():
    assert m.transmissions_pmf(0.5, 3) == pytest.approx([0.5, 0.25, 0.25])
    assert sum(m.transmissions_pmf(0.3, 7)) == pytest.approx(1.0)
    assert m.transmissions_mean(0.5, 3) == pytest.approx(1.75)
    assert m.transmissions_mean(0.8) == pytest.approx(1.25)
    assert m.transmissions_mean(0.0, 4) == 4.0
    assert m.transmissions_mean(1.0, 4) == 1.0
    pmf = m.transmissions_pmf(0.3, 7)
    assert m.transmissions_mean(0.3, 7) == pytest.approx(sum((k + 1) * p for k, p in enumerate(pmf)))
    assert m.segment_transmissions_mean(0.2, retries=None) == pytest.approx(1.25)
    assert m.segment_transmissions_mean(0.5, retries=1) == pytest.approx(1.5)


def test_uncapped_wait_closed_form_matches_long_partial_sums():
    for f, linear in ((0.1, 0), (0.3, 0), (0.45, 0), (0.2, 4), (0.4, 4)):
        timeouts = [2.0 ** max(0, j - linear) for j in range(400)]
        assert m.capped_mean_wait_partial(f, timeouts) == pytest.approx(m.uncapped_mean_wait(f, 1.0, linear), rel=1e-9)


def test_mean_time_diverges_past_one_minus_one_over_root_two():
    threshold = m.divergence_loss("geometric")
    assert threshold == pytest.approx(1 - 1 / math.sqrt(2))
    assert 0.292 < threshold < 0.293
    # At the threshold an attempt fails with probability exactly 1/2.
    assert 1 - (1 - threshold) ** 2 == pytest.approx(0.5)
    assert math.isfinite(m.geometric_uncapped_mean_time(threshold - 0.002))
    assert m.geometric_uncapped_mean_time(threshold + 0.002) == math.inf
    # Partial sums: converge below the threshold, grow without bound above it.
    below = 1 - (1 - (threshold - 0.05)) ** 2
    above = 1 - (1 - (threshold + 0.01)) ** 2
    doubling = [2.0**j for j in range(200)]
    assert m.capped_mean_wait_partial(below, doubling) == pytest.approx(m.uncapped_mean_wait(below), rel=1e-9)
    sums = [m.capped_mean_wait_partial(above, doubling[:n]) for n in (25, 50, 100, 200)]
    assert all(b > 2 * a for a, b in zip(sums, sums[1:]))
    assert m.divergence_loss("cardwell") == 0.5


def test_bad_parameters_raise_parameter_error():
    with pytest.raises(ParameterError, match="loss"):
        m.geometric_p_established(1.5, 3)
    with pytest.raises(ParameterError, match="attempts"):
        m.geometric_p_established(0.1, 0)
    with pytest.raises(ParameterError, match="syn_times"):
        m.geometric_time_distribution(0.1, [])
    with pytest.raises(ParameterError, match="syn_times"):
        m.geometric_time_distribution(0.1, [2.0, 1.0])
    with pytest.raises(ParameterError, match="t_s"):
        m.cardwell_handshake_time(0.1, 0.1, t_s=0)
    with pytest.raises(ParameterError, match="max_transmissions"):
        m.transmissions_mean(0.5, 0)
    with pytest.raises(ParameterError, match="model"):
        m.divergence_loss("nope")
    with pytest.raises(ParameterError, match="syn_retries"):
        m.handshake_schedule("linux", syn_retries=-1)
