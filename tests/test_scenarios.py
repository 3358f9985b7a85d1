"""The scenario catalogue and simulate()'s parameter checking."""

import pytest

from tcpbook import SCENARIOS, describe, simulate
from tcpbook.errors import ParameterError

REQUIRED = {
    "handshake", "transfer", "close", "full", "simultaneous-open", "simultaneous-close",
    "half-close", "old-duplicate-syn", "refused", "abort", "syn-flood",
}


def test_the_catalogue_has_every_required_scenario():
    assert set(SCENARIOS) >= REQUIRED
    for name in SCENARIOS:
        assert describe(name).startswith(name + ": ")


@pytest.mark.parametrize("name", sorted(REQUIRED - {"syn-flood"}))
def test_common_parameters_apply_to_every_scenario(name):
    t = simulate(name, profile="rfc", rtt=0.2, seed=3, isn_client=5000, isn_server=9000, mss=500)
    first = t.segments[0]
    assert first.t == 0.0 and first.mss == 500
    assert t.params["profile"] == "rfc" and t.params["rtt"] == 0.2
    syn = next(s for s in t.segments if s.flags == ("SYN",) and s.note == "")
    assert syn.seq == (5000 if syn.src == "client" else 9000)


def test_full_run_with_loss_shows_retransmissions_and_still_delivers():
    t = simulate("full", loss=0.2, seed=7)
    assert any(s.retransmission for s in t.segments)
    assert any(s.dropped for s in t.segments)
    assert t.outcome.digest_match
    assert t.outcome.endpoints["server"].bytes_delivered == 4380


def test_closer_server_makes_the_client_the_passive_closer():
    t = simulate("close", closer="server", close_delay=0.3)
    assert t.state_path("server")[3:] == ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert t.state_path("client") == ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]


@pytest.mark.parametrize(
    "params,name",
    [
        ({"loss": -0.1}, "loss"),
        ({"loss": "lots"}, "loss"),
        ({"loss_client": 2}, "loss_client"),
        ({"rtt": -1}, "rtt"),
        ({"seed": "x"}, "seed"),
        ({"isn_client": 2**32}, "isn_client"),
        ({"syn_retries": -2}, "syn_retries"),
        ({"synack_retries": -2}, "synack_retries"),
        ({"mss": 0}, "mss"),
        ({"bytes": -5}, "bytes"),
        ({"drop": ["client:SYN:0"]}, "drop"),
        ({"profile": "windows"}, "profile"),
        ({"closer": "nobody"}, "closer"),
        ({"frobnicate": 1}, "frobnicate"),
    ],
)
def test_bad_parameters_get_a_clear_error(params, name):
    scenario = "close" if "closer" in params else "full"
    with pytest.raises(ParameterError) as info:
        simulate(scenario, **params)
    assert info.value.name == name
    assert "is not allowed: expected" in str(info.value)


def test_unknown_scenario():
    with pytest.raises(ParameterError, match="scenario='nope'.*handshake"):
        simulate("nope")


def test_parameters_of_another_scenario_are_refused():
    with pytest.raises(ParameterError, match="attack_rate.*a parameter of scenario 'handshake'"):
        simulate("handshake", attack_rate=5)


def test_syn_flood_parameters_are_checked():
    with pytest.raises(ParameterError, match="clients"):
        simulate("syn-flood", clients=0)
    with pytest.raises(ParameterError, match="attack_rate"):
        simulate("syn-flood", attack_rate=-1)


def test_syn_retries_none_means_the_r2_time_limit():
    t = simulate("handshake", drop=["client:SYN:*"], syn_retries=None, profile="linux")
    assert t.states_of("client")[-1].t >= 180


def test_until_stops_a_run_early():
    t = simulate("close", until=10.0)
    assert t.outcome.endpoints["client"].final_state == "TIME-WAIT"


def test_syn_flood_poisson_arrivals_keep_the_mean_rate():
    t = simulate("syn-flood", attack_rate=100, attack_duration=20, clients=1, attack_pattern="poisson", seed=4)
    spoofed = sorted(s.t for s in t.segments if s.note == "spoofed")
    assert abs(len(spoofed) - 2000) < 4 * 2000**0.5  # Poisson count: mean 2000, sd ~45
    gaps = [b - a for a, b in zip(spoofed, spoofed[1:])]
    assert len(set(round(g, 9) for g in gaps)) > 100  # not evenly spaced
    even = simulate("syn-flood", attack_rate=100, attack_duration=20, clients=1, attack_pattern="even")
    assert even.outcome.stats["spoofed_syns"] == 2000
    with pytest.raises(ParameterError, match="attack_pattern"):
        simulate("syn-flood", attack_pattern="bursty")
