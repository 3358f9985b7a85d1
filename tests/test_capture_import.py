"""Importing captures: simulator → pcap → Trace round trips, inferred states, clear errors."""

from __future__ import annotations

import pytest
from scapy.data import DLT_RAW
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapWriter, rdpcap, wrpcap, wrpcapng

from tcpbook import simulate
from tcpbook.capture import CaptureError, connections, read_capture
from tcpbook.errors import ParameterError, TcpbookError
from tcpbook.pcap import write_pcap
from tcpbook.table import State, find_arc

# Scenario runs whose state paths a capture must reproduce.  A capture cannot show
# timers, so the simulator's last arc (TIME-WAIT --timeout=2MSL--> CLOSED, or connect()
# giving up) may be missing from the imported path; nothing else may differ.
ROUND_TRIPS = [
    ("full", {}),
    ("full", {"bytes": 20000, "loss": 0.2, "seed": 5}),
    ("transfer", {"loss": 0.2, "seed": 3}),
    ("handshake", {"drop": ["client:ACK:1"]}),
    ("close", {"closer": "server"}),
    ("close", {"drop": ["client:ACK:*"]}),
    ("simultaneous-close", {}),
    ("half-close", {}),
    ("abort", {}),
    ("refused", {}),
]


def _paths_agree(imported: list[str], simulated: list[str], *, server_listen_unseen: bool = False) -> bool:
    if server_listen_unseen and simulated[:2] == ["CLOSED", "LISTEN"] and imported == ["CLOSED"]:
        return True  # a server that never answered: nothing in the capture shows it listening
    return imported == simulated or imported == simulated[:-1]


@pytest.mark.parametrize("vantage", ["wire", "client"])
@pytest.mark.parametrize(("scenario", "params"), ROUND_TRIPS)
def test_round_trip_reproduces_the_simulated_states(tmp_path, scenario, params, vantage):
    trace = simulate(scenario, **params)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap", vantage=vantage))
    assert imported.endpoints == ("client", "server")
    for name in ("client", "server"):
        assert _paths_agree(
            imported.state_path(name), trace.state_path(name), server_listen_unseen=scenario == "refused"
        ), (
            name,
            imported.state_path(name),
            trace.state_path(name),
        )
    # every inferred change is an arc of the table
    for change in imported.state_changes:
        find_arc(State(change.old), change.cause, State(change.state))


@pytest.mark.parametrize(("scenario", "params"), ROUND_TRIPS)
def test_round_trip_keeps_segments_times_and_bytes(tmp_path, scenario, params):
    trace = simulate(scenario, **params)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap"))
    got = [(s.src, s.flags, s.seq, s.ack if "ACK" in s.flags else 0, s.len) for s in imported.segments]
    want = [
        (s.src, s.flags, s.seq, s.ack if "ACK" in s.flags else 0, s.len)
        for s in sorted(trace.segments, key=lambda s: s.t)
    ]
    assert got == want
    start = min(s.t for s in trace.segments)
    assert [s.t for s in imported.segments] == pytest.approx(
        [s.t - start for s in sorted(trace.segments, key=lambda s: s.t)], abs=1e-6
    )
    for name in ("client", "server"):
        mine, theirs = imported.outcome.endpoints[name], trace.outcome.endpoints[name]
        assert mine.bytes_sent == theirs.bytes_sent
        assert mine.md5_sent == theirs.md5_sent  # the pcap carried the real bytes


def test_transfer_outcome_counts_delivered_bytes(tmp_path):
    trace = simulate("full", bytes=20000, loss=0.2, seed=5)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap", vantage="server"))
    server = imported.outcome.endpoints["server"]
    assert server.bytes_delivered == 20000
    assert server.md5_delivered == trace.outcome.endpoints["server"].md5_delivered
    assert imported.outcome.digest_match


def test_lost_final_ack_is_inferred_from_the_retransmitted_fin(tmp_path):
    trace = simulate("close", drop=["client:ACK:*"], until=10.0)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap", vantage="client"))
    server_fin = next(s.t for s in imported.segments if s.src == "server" and "FIN" in s.flags)
    client_acks = [s for s in imported.segments if s.src == "client" and s.flags == ("ACK",) and s.t >= server_fin]
    lost = [s for s in client_acks if s.dropped]
    assert lost and all(s.drop_reason.startswith("inferred") for s in lost)
    assert len(lost) >= len(client_acks) - 1  # the last one: the capture ends before it can tell
    server_path = imported.state_path("server")
    assert server_path.count("LAST-ACK") > 2  # retransmission loops
    loops = [c for c in imported.states_of("client") if c.old == c.state == "TIME-WAIT"]
    assert loops and all(c.cause == "rcv FIN" for c in loops)


def test_unanswered_syns_are_timeout_loops_and_lost(tmp_path):
    trace = simulate("handshake", drop=["client:SYN:*"], syn_retries=2)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap", vantage="client"))
    syns = imported.segments
    simulated = [s.t for s in trace.segments]
    assert len(syns) == len(simulated) >= 3
    assert all(s.flags == ("SYN",) for s in syns)
    assert [s.t for s in syns] == simulated
    assert all(s.dropped for s in syns) and [s.retransmission for s in syns] == [False] + [True] * (len(syns) - 1)
    assert imported.state_path("client") == ["CLOSED"] + ["SYN-SENT"] * len(syns)
    assert imported.state_path("server") == ["CLOSED"]


def test_refused_connection_reports_econnrefused(tmp_path):
    imported = read_capture(write_pcap(simulate("refused"), tmp_path / "x.pcap"))
    assert imported.outcome.endpoints["client"].error == "ECONNREFUSED"
    assert imported.states_of("client")[-1].cause == "rcv RST,ACK"


def test_relative_sequence_numbers(tmp_path):
    trace = simulate("full", isn_client=4_294_967_000, isn_server=123_456)
    imported = read_capture(write_pcap(trace, tmp_path / "x.pcap"), relative=True)
    first, second = imported.segments[:2]
    assert (first.seq, second.seq, second.ack) == (0, 0, 1)
    data = [s for s in imported.segments if s.src == "client" and s.len]
    assert data[0].seq == 1  # across the 2**32 wrap
    assert imported.outcome.endpoints["server"].bytes_delivered == trace.outcome.endpoints["server"].bytes_delivered


def test_pcapng_and_other_link_types_read_the_same(tmp_path):
    trace = simulate("full", seed=2)
    pcap = write_pcap(trace, tmp_path / "x.pcap")
    expected = read_capture(pcap)
    packets = rdpcap(str(pcap))
    wrpcapng(str(tmp_path / "x.pcapng"), packets)
    raw = RawPcapWriter(str(tmp_path / "raw.pcap"), linktype=DLT_RAW)
    raw.write_header(None)
    for packet in packets:
        raw.write_packet(bytes(packet[IP]), sec=int(packet.time), usec=int((packet.time % 1) * 1_000_000))
    raw.close()
    for path in (tmp_path / "x.pcapng", tmp_path / "raw.pcap"):
        got = read_capture(path)
        assert [(s.t, s.flags, s.seq) for s in got.segments] == [(s.t, s.flags, s.seq) for s in expected.segments]
        assert got.state_path("client") == expected.state_path("client")


def test_ipv6_loopback_connection(tmp_path):
    frames = [
        IPv6(src="::1", dst="::1") / TCP(sport=50000, dport=8080, flags="S", seq=10),
        IPv6(src="::1", dst="::1") / TCP(sport=8080, dport=50000, flags="SA", seq=90, ack=11),
        IPv6(src="::1", dst="::1") / TCP(sport=50000, dport=8080, flags="A", seq=11, ack=91),
    ]
    for i, frame in enumerate(frames):
        frame.time = 1_700_000_000 + i / 1000
    wrpcap(str(tmp_path / "v6.pcap"), frames)
    trace = read_capture(tmp_path / "v6.pcap")
    assert trace.params["client"] == "[::1]:50000"
    assert trace.state_path("client") == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert trace.state_path("server") == ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]


def _two_connections(path):
    a = write_pcap(simulate("handshake"), path.parent / "a.pcap")
    packets = list(rdpcap(str(a)))
    other = []
    for packet in packets:
        copy = Ether(bytes(packet))
        tcp = copy[TCP]
        if tcp.sport == 80:
            tcp.dport = 40001
        else:
            tcp.sport = 40001
        del copy[TCP].chksum
        copy = Ether(bytes(copy))
        copy.time = packet.time + 5
        other.append(copy)
    wrpcap(str(path), packets + other)
    return path


def test_several_connections_need_a_port(tmp_path):
    path = _two_connections(tmp_path / "two.pcap")
    assert [str(c) for c in connections(path)] == [
        "10.0.0.1:40000 <-> 10.0.0.2:80 (3 packets)",
        "10.0.0.1:40001 <-> 10.0.0.2:80 (3 packets)",
    ]
    with pytest.raises(CaptureError, match=r"holds 2 TCP connections.*40000.*40001"):
        read_capture(path)
    with pytest.raises(CaptureError, match=r"holds 2 TCP connections"):
        read_capture(path, port=80)
    assert read_capture(path, port=40001).params["client"] == "10.0.0.1:40001"
    with pytest.raises(CaptureError, match="no TCP connection uses port 9"):
        read_capture(path, port=9)
    with pytest.raises(ParameterError, match="port="):
        read_capture(path, port=70000)


def _truncated(tmp_path):
    """The file ends inside a packet's data (tcpdump killed while writing)."""
    data = write_pcap(simulate("transfer"), tmp_path / "whole.pcap").read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[:-30])
    return tmp_path / "cut.pcap"


def _truncated_in_header(tmp_path):
    """The file ends inside a packet's record header."""
    data = write_pcap(simulate("transfer"), tmp_path / "whole.pcap").read_bytes()
    last = 16 + 54  # the last record: a 16-byte record header and a 54-byte pure ACK
    (tmp_path / "cut.pcap").write_bytes(data[: -last + 10])
    return tmp_path / "cut.pcap"


def _half_header(tmp_path):
    (tmp_path / "half-header.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    return tmp_path / "half-header.pcap"


def _udp_only(tmp_path):
    wrpcap(str(tmp_path / "udp.pcap"), [Ether() / IP(dst="10.0.0.9") / UDP(dport=53) / b"query"])
    return tmp_path / "udp.pcap"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.pcap", "no such file"),
        (lambda p: (p / "notes.txt").write_text("hello, not a capture\n") and p / "notes.txt", "not a pcap or pcapng"),
        (lambda p: (p / "empty.pcap").write_bytes(b"") or p / "empty.pcap", "not a pcap or pcapng|cannot be read"),
        (_half_header, "not a pcap|cannot be read"),
        (_truncated, "truncated: packet 23 is cut short"),
        (_truncated_in_header, "truncated or corrupt after packet 22"),
        (_udp_only, "holds no TCP segments"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CaptureError, match=message) as caught:
        read_capture(path)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TcpbookError)
    assert caught.value.__traceback__ is not None and "\n" not in str(caught.value)
