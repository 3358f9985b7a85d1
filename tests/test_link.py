"""The link: drop-rule syntax, deterministic drops, seeded loss, delay."""

import pytest

from tcpbook.errors import ParameterError
from tcpbook.link import DropRule, Link, parse_drop_rules, segment_matches
from tcpbook.segment import Flag, Segment


def seg(src="client", flags=Flag.ACK, payload=b""):
    return Segment(src, "server" if src == "client" else "client", 1, 2, 10, 20, flags, payload)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("client:SYN", ("client", "SYN", 1)),
        ("server:SYN-ACK:*", ("server", "SYN-ACK", None)),
        ("client:ack:3", ("client", "ACK", 3)),
        ("client-7:FIN-ACK:2", ("client-7", "FIN-ACK", 2)),
    ],
)
def test_rule_syntax(text, expected):
    r = DropRule.parse(text)
    assert (r.sender, r.kind, r.occurrence) == expected


@pytest.mark.parametrize("bad", ["client", "client:SYNACK", "client:SYN:0", "client:SYN:x", ":SYN", "client:SYN:1:2", 5])
def test_bad_rules_name_the_parameter_and_the_syntax(bad):
    with pytest.raises(ParameterError, match=r"drop=.*SENDER:KIND\[:N\]"):
        DropRule.parse(bad)


def test_kinds():
    assert segment_matches(seg(flags=Flag.SYN), "SYN")
    assert not segment_matches(seg(flags=Flag.SYN | Flag.ACK), "SYN")
    assert segment_matches(seg(flags=Flag.SYN | Flag.ACK), "SYN-ACK")
    assert segment_matches(seg(flags=Flag.ACK), "ACK")
    assert not segment_matches(seg(flags=Flag.ACK, payload=b"x"), "ACK")
    assert segment_matches(seg(flags=Flag.ACK | Flag.PSH, payload=b"x"), "DATA")
    fin_ack = seg(flags=Flag.FIN | Flag.ACK)
    assert segment_matches(fin_ack, "FIN") and segment_matches(fin_ack, "FIN-ACK")
    assert not segment_matches(seg(flags=Flag.FIN), "FIN-ACK")
    assert segment_matches(seg(flags=Flag.RST), "RST") and segment_matches(seg(flags=Flag.RST), "ANY")


def test_rules_count_occurrences_per_sender():
    link = Link(drop_rules=["client:ACK:2", "server:ANY:*"])
    decisions = [link.decide(seg("client"), 0).dropped for _ in range(3)]
    assert decisions == [False, True, False]
    assert link.decide(seg("server"), 0).dropped
    assert link.decide(seg("client"), 0).reason == ""


def test_delivery_time_is_now_plus_delay():
    d = Link(delay=0.25).decide(seg(), 1.0)
    assert (d.dropped, d.arrival) == (False, 1.25)


def test_loss_is_seeded_and_close_to_its_rate():
    def pattern(seed):
        link = Link(loss=0.3, seed=seed)
        return [link.decide(seg(), 0).dropped for _ in range(2000)]

    assert pattern(4) == pattern(4)
    assert pattern(4) != pattern(5)
    assert 0.25 < sum(pattern(4)) / 2000 < 0.35


def test_loss_per_sender():
    link = Link(loss=0.0, loss_by_sender={"server": 1.0})
    assert not link.decide(seg("client"), 0).dropped
    assert link.decide(seg("server"), 0).dropped


def test_a_rule_does_not_reshuffle_later_random_losses():
    a = Link(loss=0.5, seed=1)
    b = Link(loss=0.5, seed=1, drop_rules=["client:ACK:1"])
    da = [a.decide(seg(), 0).dropped for _ in range(50)]
    db = [b.decide(seg(), 0).dropped for _ in range(50)]
    assert db[0] and da[1:] == db[1:]


def test_jitter_varies_the_delay_but_one_path_stays_in_order():
    link = Link(delay=0.05, jitter=0.1, seed=2)
    arrivals = [link.decide(seg(), 0.001 * i).arrival for i in range(20)]
    assert arrivals == sorted(arrivals)  # a FIFO: never ahead of an earlier segment
    delays = [a - 0.001 * i for i, a in enumerate(arrivals)]
    assert all(0.05 <= d < 0.15 + 0.02 for d in delays) and len({round(d, 9) for d in delays}) > 10


def test_reordering_only_on_the_second_path():
    link = Link(delay=0.05, reorder=0.3, reorder_delay=0.02, seed=5)
    arrivals = [link.decide(seg(), 0.001 * i).arrival for i in range(40)]
    assert arrivals != sorted(arrivals)  # some segments took the longer path and were overtaken
    late = [a for i, a in enumerate(arrivals) if abs(a - 0.001 * i - 0.07) < 1e-9]
    assert 4 <= len(late) <= 20  # about 30 % of 40
    main_path = [a for a in arrivals if a not in late]
    assert main_path == sorted(main_path)


@pytest.mark.parametrize(
    "kwargs,name",
    [({"loss": 1.5}, "loss"), ({"delay": -1}, "delay"), ({"jitter": -0.1}, "jitter"), ({"seed": 1.5}, "seed")],
)
def test_bad_link_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        Link(**kwargs)


def test_parse_many_rules():
    assert [str(r) for r in parse_drop_rules("client:SYN, server:FIN:*")] == ["client:SYN:1", "server:FIN:*"]
    assert parse_drop_rules(None) == []
