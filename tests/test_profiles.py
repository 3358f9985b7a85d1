"""Profiles: the timing rules of TCP-REFERENCE §2 and validated overrides."""

from itertools import accumulate

import pytest

from tcpbook.errors import ParameterError
from tcpbook.profiles import PROFILE_PARAMETERS, PROFILE_PARAMS, get_profile, model_timeout

PROFILE_PARAM_CHOICES = {p.name: p.choices for p in PROFILE_PARAMS}


def send_times(durations):
    return list(accumulate([0.0, *durations]))


def test_linux_syn_schedule():
    p = get_profile("linux")
    assert send_times(p.syn_timeouts()) == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67, 131]
    assert p.syn_give_up_after() == 127


def test_pre_6_5_linux_syn_schedule():
    p = get_profile("linux", linear_syn_timeouts=0)
    assert send_times(p.syn_timeouts()) == [0, 1, 3, 7, 15, 31, 63, 127]


def test_linux_synack_schedule():
    assert send_times(get_profile("linux").synack_timeouts()) == [0, 1, 3, 7, 15, 31, 63]


def test_rfc_profile_values():
    p = get_profile("rfc")
    assert (p.rto_initial, p.rto_min, p.rto_max, p.time_wait) == (3.0, 1.0, 60.0, 240.0)
    assert send_times(p.syn_timeouts())[-1] >= 180


def test_linux_tcp_model_timeout():
    # tcp_retries2 = 15 with TCP_RTO_MIN = 200 ms: the well-known 924.6 s
    assert model_timeout(15, 0.2, 120.0) == pytest.approx(924.6)
    assert get_profile("linux").data_give_up_after() == pytest.approx(924.6)
    assert model_timeout(6, 1.0, 120.0) == 127


@pytest.mark.parametrize(
    "override,name",
    [
        ({"syn_retries": -1}, "syn_retries"),
        ({"syn_retries": 1.5}, "syn_retries"),
        ({"mss": 0}, "mss"),
        ({"time_wait": -5}, "time_wait"),
        ({"rto_min": 500.0}, "rto_min"),
        ({"delayed_ack": "yes"}, "delayed_ack"),
        ({"syn_backlog": 0}, "syn_backlog"),
        ({"warp_speed": 9}, "warp_speed"),
    ],
)
def test_overrides_are_validated(override, name):
    with pytest.raises(ParameterError, match=name):
        get_profile("linux", **override)


def test_unknown_profile():
    with pytest.raises(ParameterError, match="profile='bsd'.*linux, rfc"):
        get_profile("bsd")


def test_every_parameter_can_be_overridden_by_name():
    base = get_profile("linux")
    for name in PROFILE_PARAMETERS:
        value = getattr(base, name)
        if isinstance(value, bool):
            new = not value
        elif isinstance(value, str):
            new = next(choice for choice in PROFILE_PARAM_CHOICES[name] if choice != value)
        elif value is None:
            new = 3
        elif isinstance(value, int):
            new = value + 1
        else:
            new = value * 1.5 if name != "rto_min" else value
        changed = get_profile("linux", **{name: new})
        assert getattr(changed, name) == new
