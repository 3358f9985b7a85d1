"""The network driver: effects become trace events; crashes; hosts that do not exist."""

from tcpbook import simulate
from tcpbook.apps import Client, Server
from tcpbook.endpoint import Endpoint
from tcpbook.link import Link
from tcpbook.network import Network
from tcpbook.profiles import get_profile


def test_segments_to_a_host_that_does_not_exist_are_lost():
    net = Network(Link(delay=0.05))
    net.add(Endpoint("client", get_profile("linux", syn_retries=1)), Client(peer="ghost", after_send=None))
    net.run()
    trace = net.trace({"scenario": "custom"})
    assert {s.drop_reason for s in trace.segments} == {"no such host"}
    assert trace.outcome.endpoints["client"].error == "ETIMEDOUT"


def test_cancelled_timers_do_not_fire_and_do_not_extend_the_run():
    t = simulate("handshake")
    assert [e.action for e in t.timers if e.endpoint == "client"] == ["set", "cancelled"]
    assert t.outcome.end_time == 0.15


def test_a_crashed_host_vanishes_silently():
    t = simulate("full", bytes=100_000, crash=True)
    assert any(n.text.startswith("host crashed") for n in t.notes)
    assert any(s.drop_reason == "host down" for s in t.segments)
    assert not any(s.src == "client" and "RST" in s.flags for s in t.segments)


def test_custom_composition_of_endpoints_and_apps():
    profile = get_profile("linux")
    net = Network(Link(delay=0.01, seed=1))
    net.add(Endpoint("server", profile, isn=1), Server())
    for i in range(3):
        net.add(Endpoint(f"c{i}", profile, isn=10 * i), Client(data=b"hi" * (i + 1), connect_at=0.1 * i))
    net.run()
    trace = net.trace({"scenario": "custom"})
    assert trace.outcome.endpoints["server"].bytes_delivered == 2 + 4 + 6
    assert trace.outcome.digest_match
