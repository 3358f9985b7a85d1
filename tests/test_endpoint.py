"""Every behaviour the issue lists, shown segment by segment.

Default timing: rtt 0.1 s (one way 0.05 s), client ISN 100, server ISN 300, linux profile.
"""

import pytest
from helpers import segs, states, wire

from tcpbook import simulate
from tcpbook.endpoint import Endpoint, SetTimer, StateChange, Transmit
from tcpbook.errors import ConnectionClosing, ConnectionDoesNotExist, TcpUserError
from tcpbook.profiles import get_profile
from tcpbook.segment import Flag, Segment
from tcpbook.table import State
from tcpbook.vocabulary import Timer

LINUX = get_profile("linux")

# -- the three-way handshake -------------------------------------------------------------


def test_handshake_segments_sequence_numbers_and_states():
    t = simulate("handshake")
    assert segs(t) == [
        (0.0, "client", "SYN", 100, 0, 0, False, False),
        (0.05, "server", "SYN,ACK", 300, 101, 0, False, False),
        (0.1, "client", "ACK", 101, 301, 0, False, False),
    ]
    assert states(t, "client") == [(0.0, "CLOSED", "SYN-SENT"), (0.1, "SYN-SENT", "ESTABLISHED")]
    assert states(t, "server") == [
        (0.0, "CLOSED", "LISTEN"),
        (0.05, "LISTEN", "SYN-RECEIVED"),
        (0.15, "SYN-RECEIVED", "ESTABLISHED"),
    ]
    assert t.segments[0].mss == 1460 and t.segments[1].mss == 1460


def test_isns_are_settable_and_wrap_modulo_2_32():
    t = simulate("handshake", isn_client=2**32 - 1, isn_server=7)
    assert wire(t) == [
        ("client", "SYN", 2**32 - 1, 0, 0),
        ("server", "SYN,ACK", 7, 0, 0),
        ("client", "ACK", 0, 8, 0),
    ]
    assert t.outcome.endpoints["server"].final_state == "ESTABLISHED"


def test_linux_syn_retransmissions_are_linear_then_exponential_and_give_up_at_131s():
    t = simulate("handshake", drop=["client:SYN:*"])
    assert [s[0] for s in segs(t)] == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    assert [s[7] for s in segs(t)] == [False] + [True] * 10
    client = t.outcome.endpoints["client"]
    assert (client.final_state, client.error) == ("CLOSED", "ETIMEDOUT")
    assert states(t, "client")[-1] == (131.0, "SYN-SENT", "CLOSED")


def test_older_linux_doubles_from_the_start_and_gives_up_at_127s():
    t = simulate("handshake", drop=["client:SYN:*"], linear_syn_timeouts=0)
    assert [s[0] for s in segs(t)] == [0, 1, 3, 7, 15, 31, 63]
    assert states(t, "client")[-1][0] == 127.0


def test_syn_retries_are_time_based_and_settable():
    t = simulate("handshake", drop=["client:SYN:*"], syn_retries=2)
    # give up at the first expiry at or after 1*(2**3 - 1) = 7 s
    assert [s[0] for s in segs(t)] == [0, 1, 2, 3, 4, 5]
    assert states(t, "client")[-1] == (7.0, "SYN-SENT", "CLOSED")


def test_rfc_profile_retries_until_the_3_minute_r2_limit():
    t = simulate("handshake", drop=["client:SYN:*"], profile="rfc")
    assert [s[0] for s in segs(t)] == [0, 3, 9, 21, 45, 93, 153]
    assert t.outcome.endpoints["client"].error == "ETIMEDOUT"
    assert states(t, "client")[-1][0] == 213.0


def test_synack_retransmitted_at_1_3_7_15_31_and_request_dropped_at_63s():
    t = simulate("handshake", drop=["client:ACK:*"])
    server = segs(t, "server")
    assert [round(s[0] - 0.05, 6) for s in server] == [0, 1, 3, 7, 15, 31]
    assert all(s[2] == "SYN,ACK" and s[3] == 300 and s[4] == 101 for s in server)
    assert states(t, "server")[-1] == (63.05, "SYN-RECEIVED", "CLOSED")
    assert any("SYN,ACK retries exhausted" in n.text for n in t.notes)
    # the client believes it is connected: a half-open connection
    assert t.outcome.endpoints["client"].final_state == "ESTABLISHED"
    # and it re-ACKs every retransmitted SYN,ACK
    assert len([s for s in segs(t, "client") if s[2] == "ACK"]) == 6


def test_synack_retries_override():
    t = simulate("handshake", drop=["client:ACK:*"], synack_retries=2)
    assert [round(s[0] - 0.05, 6) for s in segs(t, "server")] == [0, 1, 3]
    assert states(t, "server")[-1] == (7.05, "SYN-RECEIVED", "CLOSED")


def test_duplicate_syn_is_answered_at_once_without_touching_the_timer():
    server = Endpoint("server", LINUX, isn=300)
    server.listen(0.0)
    syn = Segment("client", "server", 40000, 80, 100, 0, Flag.SYN, mss=1460)
    server.receive(syn, 0.0)
    first = server.take_effects()
    timer = [e for e in first if isinstance(e, SetTimer)]
    assert [(e.kind, e.deadline) for e in timer] == [("rto", 1.0)]
    server.receive(syn, 0.4)
    effects = server.take_effects()
    sent = [e for e in effects if isinstance(e, Transmit)]
    assert len(sent) == 1 and sent[0].segment.flags == Flag.SYN | Flag.ACK and sent[0].retransmission
    assert sent[0].segment.seq == 300 and sent[0].segment.ack == 101
    assert not [e for e in effects if isinstance(e, SetTimer)]


def test_lost_final_ack_recovered_by_synack_retransmission():
    t = simulate("handshake", drop=["client:ACK:1"])
    assert segs(t) == [
        (0.0, "client", "SYN", 100, 0, 0, False, False),
        (0.05, "server", "SYN,ACK", 300, 101, 0, False, False),
        (0.1, "client", "ACK", 101, 301, 0, True, False),
        (1.05, "server", "SYN,ACK", 300, 101, 0, False, True),
        (1.1, "client", "ACK", 101, 301, 0, False, False),
    ]
    assert states(t, "server")[-1] == (1.15, "SYN-RECEIVED", "ESTABLISHED")


def test_lost_final_ack_recovered_by_the_first_data_segment():
    t = simulate("handshake", drop=["client:ACK:1"], bytes=100)
    data = segs(t, "client")[2]
    assert data == (0.1, "client", "PSH,ACK", 101, 301, 100, False, False)
    assert states(t, "server")[-1] == (0.15, "SYN-RECEIVED", "ESTABLISHED")
    assert t.outcome.endpoints["server"].bytes_delivered == 100 and t.outcome.digest_match


def test_simultaneous_open_as_in_figure_7():
    t = simulate("simultaneous-open")
    for name in ("client", "server"):
        assert [s[1:] for s in states(t, name)] == [
            ("CLOSED", "SYN-SENT"),
            ("SYN-SENT", "SYN-RECEIVED"),
            ("SYN-RECEIVED", "ESTABLISHED"),
        ]
    assert wire(t) == [
        ("client", "SYN", 100, 0, 0),
        ("server", "SYN", 300, 0, 0),
        ("server", "SYN,ACK", 300, 101, 0),
        ("client", "SYN,ACK", 100, 301, 0),
    ]
    # the crossing SYN,ACK acknowledges our SYN: ESTABLISHED one way-delay later, no extra ACKs
    assert t.outcome.endpoints["client"].established_at == pytest.approx(0.1)


def test_old_duplicate_syn_is_rejected_with_rst_as_in_figure_8():
    # RFC 9293's own rules (Linux's early SYN resend after the RST: tests/test_linux.py)
    t = simulate("old-duplicate-syn", profile="rfc")
    assert wire(t)[:5] == [
        ("client", "SYN", 90, 0, 0),  # the stale SYN of an old connection
        ("client", "SYN", 100, 0, 0),  # the real one, still on its way
        ("server", "SYN,ACK", 300, 91, 0),  # the server answers the stale one
        ("client", "RST", 91, 0, 0),  # SYN-SENT: that ACK is not for our SYN
        ("server", "SYN,ACK", 64300, 101, 0),  # back in LISTEN, the real SYN succeeds
    ]
    assert [s[1:] for s in states(t, "server")] == [
        ("CLOSED", "LISTEN"),
        ("LISTEN", "SYN-RECEIVED"),
        ("SYN-RECEIVED", "LISTEN"),
        ("LISTEN", "SYN-RECEIVED"),
        ("SYN-RECEIVED", "ESTABLISHED"),
    ]
    assert t.outcome.endpoints["client"].final_state == "ESTABLISHED"


def test_connection_refused_with_rst_ack():
    t = simulate("refused")
    assert wire(t) == [("client", "SYN", 100, 0, 0), ("server", "RST,ACK", 0, 101, 0)]
    client = t.outcome.endpoints["client"]
    assert (client.final_state, client.error) == ("CLOSED", "ECONNREFUSED")


# -- data transfer -------------------------------------------------------------------------


def test_mss_segmentation_and_cumulative_acks():
    t = simulate("transfer", bytes=5000, mss=1000)
    data = [s for s in wire(t, "client") if s[4]]
    assert [(s[2], s[4]) for s in data] == [(101, 1000), (1101, 1000), (2101, 1000), (3101, 1000), (4101, 1000)]
    acks = [s[3] for s in wire(t, "server") if s[1] == "ACK"]
    assert acks == [1101, 2101, 3101, 4101, 5101]
    assert t.outcome.digest_match and t.outcome.endpoints["server"].bytes_delivered == 5000


def test_the_send_window_limits_what_is_in_flight():
    t = simulate("transfer", bytes=10000, mss=1000, rcvbuf=3000)
    before_first_ack = [s for s in segs(t, "client") if s[5] and s[0] < 0.2]
    assert [s[3] for s in before_first_ack] == [101, 1101, 2101]
    assert t.outcome.digest_match


def test_a_big_receive_buffer_sends_one_ack_per_segment_not_an_empty_window_update():
    """Found by comparing with a kernel capture (slow-start, rcvbuf 4 MiB): reading freed
    a buffer far larger than the 65535 window, and the reader sent a "window update"
    offering the same 65535 — two identical ACKs per segment.  Linux compares windows it
    can offer (tcp_cleanup_rbuf: __tcp_select_window() >= 2 * rcv_window_now)."""
    t = simulate("transfer", bytes=14480, mss=1448, rcvbuf=4 * 2**20)
    acks = [s[3] for s in wire(t, "server") if s[1] == "ACK"]
    assert acks == [101 + 1448 * k for k in range(1, 11)]  # ten quick ACKs, each once
    # A window that was closed and reopens is still announced at once: same ACK, bigger window.
    slow = simulate("transfer", bytes=20000, mss=1000, rcvbuf=3000, read_rate=4000)
    acks = [(s.ack, s.window) for s in slow.segments if s.src == "server" and s.flags == ("ACK",)]
    # (Linux reopens to 2000, not 3000: tcp_init_buffer_space keeps one 1000-byte segment of
    # the 3000-byte buffer in reserve, window_clamp = max(2 * advmss, maxwin - advmss).)
    updates = [b for a, b in zip(acks, acks[1:]) if a[0] == b[0] and a[1] == 0 and b[1] == 2000]
    assert len(updates) >= 3 and slow.outcome.digest_match


def test_lost_segment_is_buffered_around_and_delivered_in_order():
    t = simulate("transfer", bytes=5 * 1460, drop=["client:DATA:2"])
    server_acks = [s[3] for s in wire(t, "server") if s[1] == "ACK"]
    # segment 2 lost: segments 3-5 arrive out of order, each answered by a duplicate ACK
    assert server_acks[:4] == [1561, 1561, 1561, 1561]
    # three duplicate ACKs: fast retransmit of the missing segment, by the sender
    retrans = [s for s in segs(t, "client") if s[7]]
    assert [(s[3], s[5]) for s in retrans] == [(1561, 1460)]
    # when the hole fills, one cumulative ACK covers everything
    assert server_acks[4] == 101 + 5 * 1460
    deliveries = [e.nbytes for e in t.app_events if e.endpoint == "server" and e.action == "data"]
    assert deliveries == [1460, 1460 * 4]
    assert t.outcome.digest_match


def test_rto_from_the_handshake_sample_and_karn_backoff():
    # one segment, lost every time: a tail loss probe, then retransmitted at RTO, 2*RTO ...
    t = simulate("transfer", bytes=1460, drop=["client:DATA:*"], retries2=3)
    data = [s for s in segs(t, "client") if s[5]]
    # RTT sample 0.1 s from the SYN: SRTT 0.1, RTTVAR 0.05, RTO = 0.1 + max(0.2, 4*0.05) = 0.3.
    # The probe is due at 2*SRTT + 200 ms (one segment out) = 0.4 s, but the RTO is sooner:
    # probe at 0.1 + 0.3; then the RTO runs from the probe and doubles: 0.7, 1.3, 2.5
    assert [s[0] for s in data] == pytest.approx([0.1, 0.4, 0.7, 1.3, 2.5])
    assert [e.timer for e in t.timers if e.endpoint == "client" and e.action == "fired"][:2] == ["tlp", "rto"]
    # tcp_retries2=3 is a time budget: (2**4 - 1) * 0.2 = 3 s from the first send; the first
    # expiry after 3.1 s gives up (4.9 s) — ETIMEDOUT, and no RST (Linux tcp_write_err)
    client = t.outcome.endpoints["client"]
    assert (client.final_state, client.error) == ("CLOSED", "ETIMEDOUT")
    assert t.states_of("client")[-1].t == pytest.approx(4.9)
    assert not [s for s in segs(t, "client") if "RST" in s[2]]


def test_karn_no_rtt_sample_from_a_retransmitted_segment():
    from tcpbook.apps import Client, Server, payload
    from tcpbook.link import Link
    from tcpbook.network import Network

    net = Network(Link(delay=0.05, drop_rules=["client:DATA:1"]))
    client = net.add(Endpoint("client", LINUX, isn=100), Client(data=payload(1460), after_send=None))
    net.add(Endpoint("server", LINUX, isn=300), Server(close_on_eof=False))
    net.run()
    conn = client.connection("server")
    # only the SYN gave a sample; the ACK of the tail loss probe's retransmission did not
    assert conn.sender.rtt.srtt == pytest.approx(0.1)
    assert conn.sender.rtt.rto == pytest.approx(0.3)  # a probe is not a timeout: no backoff


def test_duplicate_segments_are_discarded_and_re_acked():
    t = simulate("transfer", bytes=1460, drop=["server:ACK:1"])
    data = [s for s in segs(t, "client") if s[5]]
    assert len(data) == 2 and data[1][7]  # the sender retransmitted after its RTO
    server_acks = [s for s in wire(t, "server") if s[1] == "ACK"]
    assert [a[3] for a in server_acks] == [1561, 1561]  # the duplicate is ACKed again
    assert t.outcome.endpoints["server"].bytes_delivered == 1460


def test_delayed_ack_waits_for_a_second_segment_or_the_timer():
    # past Linux's quick-ACK start (quickack=0 here): one segment waits for the 40 ms timer …
    t = simulate("transfer", bytes=1460, quickack=0)
    ack = [s for s in segs(t, "server") if s[2] == "ACK"][0]
    assert ack[0] == pytest.approx(0.15 + 0.04)
    # … a second full segment is ACKed at once, both together
    t2 = simulate("transfer", bytes=2 * 1460, quickack=0)
    acks = [s for s in segs(t2, "server") if s[2] == "ACK"]
    assert [(round(a[0], 6), a[4]) for a in acks] == [(0.15, 101 + 2 * 1460)]


def test_linux_acks_the_first_segments_at_once_in_quick_ack_mode():
    t = simulate("transfer", bytes=3 * 1460)
    acks = [(round(a[0], 6), a[4]) for a in segs(t, "server") if a[2] == "ACK"]
    assert acks == [(0.15, 1561), (0.15, 3021), (0.15, 4481)]
    rfc = simulate("transfer", bytes=3 * 1460, profile="rfc", mss=1460)  # no quick ACKs: every second segment
    assert [a[4] for a in segs(rfc, "server") if a[2] == "ACK"] == [3021, 4481]


def test_receiver_never_retransmits_on_a_timer():
    t = simulate("transfer", bytes=3 * 1460, loss=0.3, seed=3)
    assert not any(s[7] for s in segs(t, "server"))
    assert t.outcome.digest_match


# -- teardown ------------------------------------------------------------------------------


def test_four_segment_close_with_every_state():
    t = simulate("close", close_delay=0.2)
    assert segs(t)[3:] == [
        (0.1, "client", "FIN,ACK", 101, 301, 0, False, False),
        (0.19, "server", "ACK", 301, 102, 0, False, False),
        (0.35, "server", "FIN,ACK", 301, 102, 0, False, False),
        (0.4, "client", "ACK", 102, 302, 0, False, False),
    ]
    assert [s[1:] for s in states(t, "client")][2:] == [
        ("ESTABLISHED", "FIN-WAIT-1"),
        ("FIN-WAIT-1", "FIN-WAIT-2"),
        ("FIN-WAIT-2", "TIME-WAIT"),
        ("TIME-WAIT", "CLOSED"),
    ]
    assert [s[1:] for s in states(t, "server")][3:] == [
        ("ESTABLISHED", "CLOSE-WAIT"),
        ("CLOSE-WAIT", "LAST-ACK"),
        ("LAST-ACK", "CLOSED"),
    ]


def test_time_wait_lasts_2msl():
    t = simulate("close")
    entered, left = [e.t for e in t.states_of("client") if "TIME-WAIT" in (e.old, e.state)]
    assert left - entered == pytest.approx(60.0)
    t = simulate("close", time_wait=5)
    entered, left = [e.t for e in t.states_of("client") if "TIME-WAIT" in (e.old, e.state)]
    assert left - entered == pytest.approx(5.0)


def test_three_segment_close_fin_wait_1_straight_to_time_wait():
    t = simulate("close", close_delay=0.0)
    assert wire(t)[3:] == [
        ("client", "FIN,ACK", 101, 301, 0),
        ("server", "FIN,ACK", 301, 102, 0),  # its ACK rides on its FIN
        ("client", "ACK", 102, 302, 0),
    ]
    assert ("FIN-WAIT-1", "TIME-WAIT") in [s[1:] for s in states(t, "client")]
    assert t.states_of("client")[-2].cause == "rcv FIN,ACK of FIN"


def test_rfc_profile_acks_the_fin_at_once():
    t = simulate("close", close_delay=0.0, profile="rfc")
    assert [s[1] for s in wire(t)[3:]] == ["FIN,ACK", "ACK", "FIN,ACK", "ACK"]


def test_half_close_the_close_wait_side_keeps_sending():
    t = simulate("half-close", bytes=1000, response_bytes=8000, close_delay=0.5)
    server_data = [e for e in t.segments if e.src == "server" and e.len]
    client_fin = next(e for e in t.segments if e.src == "client" and "FIN" in e.flags)
    assert sum(e.len for e in server_data) == 8000
    assert all(e.t > client_fin.t for e in server_data)
    assert all(t.state_at("server", e.t) == "CLOSE-WAIT" for e in server_data)
    assert t.outcome.endpoints["client"].bytes_delivered == 8000
    assert t.outcome.digest_match


def test_simultaneous_close_through_closing():
    t = simulate("simultaneous-close")
    for name in ("client", "server"):
        assert [s[1:] for s in states(t, name)][-4:] == [
            ("ESTABLISHED", "FIN-WAIT-1"),
            ("FIN-WAIT-1", "CLOSING"),
            ("CLOSING", "TIME-WAIT"),
            ("TIME-WAIT", "CLOSED"),
        ]


def test_time_wait_re_acks_a_retransmitted_fin_and_restarts_its_timer():
    # client's pure ACKs: #1 ends the handshake, #2 answers the server's FIN
    t = simulate("close", drop=["client:ACK:2"])
    fins = [s for s in segs(t, "server") if "FIN" in s[2]]
    assert [(s[0], s[7]) for s in fins] == [(0.35, False), (0.65, True)]  # LAST-ACK retransmits its FIN
    acks = [s for s in segs(t, "client") if s[2] == "ACK"][1:]
    assert [(s[0], s[6]) for s in acks] == [(0.4, True), (0.7, False)]
    client = t.states_of("client")
    assert (client[-2].old, client[-2].state, client[-2].cause) == ("TIME-WAIT", "TIME-WAIT", "rcv FIN")
    assert client[-1].t == pytest.approx(0.7 + 60)  # 2*MSL counted again from the re-ACK
    assert t.outcome.endpoints["server"].final_state == "CLOSED"


def test_lost_fin_is_retransmitted_by_its_sender():
    t = simulate("close", drop=["client:FIN:1"])
    fins = [s for s in segs(t, "client") if "FIN" in s[2]]
    assert len(fins) == 2 and fins[0][6] and fins[1][7]
    assert fins[1][0] == pytest.approx(0.1 + 0.3)
    assert t.outcome.endpoints["server"].final_state == "CLOSED"


# -- RST and abort -------------------------------------------------------------------------


def test_close_with_unread_data_sends_rst():
    t = simulate("abort", how="unread")
    rst = [s for s in wire(t, "server") if "RST" in s[1]]
    assert rst == [("server", "RST,ACK", 301, 101 + 3000, 0)]
    assert t.outcome.endpoints["client"].error == "ECONNRESET"
    assert t.states_of("server")[-1].cause == "ABORT"


def test_abort_call_sends_rst_and_peer_sees_econnreset():
    t = simulate("abort", how="abort")
    assert [s[1] for s in wire(t, "client")][-1] == "RST,ACK"
    assert t.outcome.endpoints["server"].error == "ECONNRESET"


def _pair_in(state_wanted: State):
    """Drive a client/server pair by hand until the client is in ``state_wanted``."""
    from tcpbook.apps import Client, Server
    from tcpbook.link import Link
    from tcpbook.network import Network

    apps = {
        State.SYN_SENT: (Client(after_send=None), Server(listen_at=10.0)),
        State.ESTABLISHED: (Client(after_send=None), Server(close_on_eof=False)),
        State.FIN_WAIT_1: (Client(after_send="close"), Server(close_on_eof=False)),
        State.FIN_WAIT_2: (Client(after_send="close"), Server(close_on_eof=False)),
        State.CLOSE_WAIT: (Client(after_send=None), Server(close_on_eof=False, close_at=0.2)),
        State.LAST_ACK: (Client(after_send=None), Server(close_on_eof=False, close_at=0.2)),
        State.TIME_WAIT: (Client(after_send="close"), Server(close_delay=0.0)),
        State.CLOSING: (Client(after_send=None), Server(close_on_eof=False)),
    }[state_wanted]
    net = Network(Link(delay=0.05))
    client = net.add(Endpoint("client", LINUX, isn=100), apps[0])
    net.add(Endpoint("server", LINUX, isn=300), apps[1])
    stop = {State.SYN_SENT: 0.01, State.FIN_WAIT_1: 0.12, State.CLOSE_WAIT: 0.3, State.TIME_WAIT: 1.0}.get(state_wanted, 1.0)
    net.run(until=stop)
    conn = client.connection("server")
    if state_wanted is State.LAST_ACK:
        conn.close(net.now)
    if state_wanted is State.CLOSING:  # both close; stop the clock before the ACKs arrive
        conn.close(net.now)
        net.endpoints["server"].close(net.now, "client")
        net.flush()
        net.sim.run(until=net.now + 0.06)
    client.take_effects()
    assert conn.state is state_wanted, conn.state
    return net, client, conn


@pytest.mark.parametrize(
    "state,sends_rst",
    [
        (State.SYN_SENT, False),
        (State.ESTABLISHED, True),
        (State.FIN_WAIT_1, True),
        (State.FIN_WAIT_2, True),
        (State.CLOSE_WAIT, True),
        (State.LAST_ACK, False),
        (State.TIME_WAIT, False),
        (State.CLOSING, False),
    ],
)
def test_abort_in_every_state_sends_rst_only_where_the_rfc_says(state, sends_rst):
    net, client, conn = _pair_in(state)
    conn.abort(net.now)
    effects = client.take_effects()
    rst = [e for e in effects if isinstance(e, Transmit) and e.segment.flags & Flag.RST]
    assert bool(rst) == sends_rst
    if rst:
        assert rst[0].segment.seq == conn.snd.nxt % 2**32
    moves = [e for e in effects if isinstance(e, StateChange)]
    assert [(m.old, m.state, m.cause) for m in moves] == [(state, State.CLOSED, "ABORT")]


@pytest.mark.parametrize(
    "state,error",
    [
        (State.ESTABLISHED, "ECONNRESET"),
        (State.FIN_WAIT_1, "ECONNRESET"),
        (State.FIN_WAIT_2, "ECONNRESET"),
        (State.CLOSE_WAIT, "ECONNRESET"),
        (State.LAST_ACK, None),
        (State.TIME_WAIT, None),
        (State.CLOSING, None),
    ],
)
def test_a_valid_rst_closes_every_synchronized_state(state, error):
    net, client, conn = _pair_in(state)
    rst = Segment("server", "client", 80, conn.local_port, conn.rcv.nxt % 2**32, 0, Flag.RST)
    client.receive(rst, net.now)
    moves = [e for e in client.take_effects() if isinstance(e, StateChange)]
    assert [(m.old, m.state, m.cause) for m in moves] == [(state, State.CLOSED, "rcv RST")]
    assert conn.error == error


def test_rst_that_is_in_window_but_not_exact_gets_a_challenge_ack():
    net, client, conn = _pair_in(State.ESTABLISHED)
    rst = Segment("server", "client", 80, conn.local_port, (conn.rcv.nxt + 10) % 2**32, 0, Flag.RST)
    client.receive(rst, net.now)
    effects = client.take_effects()
    assert conn.state is State.ESTABLISHED
    sent = [e.segment for e in effects if isinstance(e, Transmit)]
    assert [(s.flags, s.ack) for s in sent] == [(Flag.ACK, conn.rcv.nxt % 2**32)]


def test_listen_ignores_rst_and_answers_stray_ack_with_rst():
    server = Endpoint("server", LINUX, isn=300)
    server.listen(0.0)
    server.take_effects()
    server.receive(Segment("x", "server", 1234, 80, 5, 0, Flag.RST), 0.0)
    assert server.take_effects() == []
    server.receive(Segment("x", "server", 1234, 80, 5, 777, Flag.ACK), 0.0)
    sent = [e.segment for e in server.take_effects() if isinstance(e, Transmit)]
    assert [(s.flags, s.seq) for s in sent] == [(Flag.RST, 777)]


# -- user errors ---------------------------------------------------------------------------


def test_send_before_connect_and_after_close_raise_the_rfc_errors():
    client = Endpoint("client", LINUX)
    with pytest.raises(ConnectionDoesNotExist, match="connection does not exist"):
        client.send(0.0, b"hello", "server")
    net, client, conn = _pair_in(State.FIN_WAIT_2)
    with pytest.raises(ConnectionClosing, match="connection closing"):
        conn.send(b"late", net.now)
    with pytest.raises(ConnectionClosing, match="connection closing"):
        conn.close(net.now, half=True)


def test_send_on_a_listening_socket_names_the_missing_foreign_socket():
    server = Endpoint("server", LINUX)
    listener = server.listen(0.0)
    conn = listener.new_connection("x", 1)  # a LISTEN-state TCB, before its SYN is processed
    assert listener.port == 80 and conn.state is State.LISTEN
    with pytest.raises(TcpUserError, match="foreign socket unspecified"):
        conn.send(b"x", 0.0)


# -- the listener's queues -----------------------------------------------------------------


def test_syn_flood_fills_the_syn_queue_and_drops_legitimate_clients_with_cookies_off():
    t = simulate("syn-flood", attack_rate=50, attack_duration=20, clients=5, backlog=16, syncookies=False, attack_pattern="even")
    stats = t.outcome.stats
    assert stats["syn_dropped_syn_queue_full"] > 0
    # each legitimate client's first SYN was dropped: none connected at its first try
    assert all(ct > 1.0 for ct in stats["connect_times"])
    dropped_legit = [n for n in t.notes if n.kind == "syn-dropped" and n.peer.startswith("client-") and n.queue == "syn"]
    assert dropped_legit
    # the queue never held more than its capacity (Linux: backlog + 1, as qlen > backlog means full)
    from tcpbook.book import queue_occupancy

    assert max(queue_occupancy(t)[1]) == 17


def test_a_flood_prunes_old_requests_after_two_syn_ack_retries():
    # reqsk_timer_handler: with the queue more than half full and few young requests, a
    # request gets 2 retries instead of 5 — SYN,ACKs at 0, 1, 3 s and dropped at 7 s, not 63 s
    t = simulate("syn-flood", attack_rate=50, attack_duration=20, clients=1, backlog=16, syncookies=False, attack_pattern="even")
    lifetimes = []
    for e in t.state_changes:
        if e.endpoint == "server" and e.peer == "spoofed-0":
            lifetimes.append((e.t, e.state, e.cause))
    born, died = lifetimes[0][0], lifetimes[-1][0]
    assert (lifetimes[-1][1], lifetimes[-1][2]) == ("CLOSED", "user timeout")
    assert died - born == pytest.approx(7.0)
    synacks = [s.t - born for s in t.segments if s.dst == "spoofed-0" and s.kind == "SYN-ACK"]
    assert synacks == pytest.approx([0, 1, 3])
    # without a flood the same request would have lived 63 s (tcp_synack_retries = 5)
    quiet = simulate("handshake", drop=["client:ACK:*"])
    server_path = quiet.states_of("server", "client")
    assert server_path[-1].t - server_path[0].t == pytest.approx(63.0)


def test_syn_cookies_are_the_default_and_keep_no_state_and_do_not_retransmit():
    t = simulate("syn-flood", attack_rate=50, attack_duration=20, clients=5, backlog=16)  # tcp_syncookies = 1
    stats = t.outcome.stats
    assert stats["cookies_sent"] > 0 and stats["syn_dropped_syn_queue_full"] == 0
    assert stats["legitimate_served"] == 5
    assert stats["connect_times"] == pytest.approx([0.1] * 5)
    # cookies only once the queue is full; cookie SYN,ACKs are never retransmitted
    first_cookie = next(n.t for n in t.notes if n.kind == "syn-cookie-sent")
    assert first_cookie > 0 and t.outcome.stats["cookies_accepted"] == 5
    cookie_isns = {n.cookie for n in t.notes if n.kind == "syn-cookie-sent"}
    assert not [e for e in t.segments if e.kind == "SYN-ACK" and e.retransmission and e.seq in cookie_isns]


def test_accept_queue_full_drops_syns():
    from tcpbook.apps import Client
    from tcpbook.link import Link
    from tcpbook.network import Network

    # listen(fd, 2): Linux's queues are full when they hold *more* than the backlog (3)
    profile = get_profile("linux", backlog=2, syncookies=False)
    net = Network(Link(delay=0.05))
    server = net.add(Endpoint("server", profile))
    net.at(0.0, server.listen, 0.0, 80)  # nobody ever accepts
    for i, at in enumerate((0.0, 0.01, 0.02, 0.115, 0.3)):
        net.add(Endpoint(f"c{i}", profile, isn=1000 * i), Client(after_send=None, connect_at=at))
    net.run(until=0.5)
    listener = server.listeners[80]
    assert [c.peer for c in listener.accept_queue] == ["c0", "c1", "c2"]
    # c3 completed its handshake when the accept queue was full: its final ACK is ignored
    # (tcp_abort_on_overflow = 0), it stays half-open and its SYN,ACK timer will retry
    assert listener.stats["ack_dropped_accept_queue_full"] == 1
    assert listener.syn_queue[("c3", 40000)].state is State.SYN_RECEIVED
    # c4 comes when the accept queue is full: its SYN is dropped
    assert listener.stats["syn_dropped_accept_queue_full"] == 1


def test_linux_drops_an_orphaned_fin_wait_2_after_tcp_fin_timeout():
    t = simulate("close", close_delay=1000)  # the server never closes in time
    client = t.states_of("client")
    fin_wait_2 = next(e.t for e in client if e.state == "FIN-WAIT-2")
    assert (client[-1].old, client[-1].state, client[-1].cause) == ("FIN-WAIT-2", "CLOSED", "fin-wait-2 timeout")
    assert client[-1].t == pytest.approx(fin_wait_2 + 60)
    # the server's FIN, when it finally comes, finds no socket: RST
    assert [s[1] for s in wire(t)][-1:] == ["RST"]
    # shutdown() is not an orphan: the half-closed side waits for the FIN as the RFC says
    half = simulate("half-close", close_delay=1000)
    assert half.state_path("client")[-3:] == ["FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    # and the rfc profile has no such timer
    rfc = simulate("close", close_delay=1000, profile="rfc")
    assert "TIME-WAIT" in rfc.state_path("client")


# -- a socket's own options: listen(2)'s backlog, setsockopt before and after connect ------------


def _syn(port: int, seq: int = 1000, src: str = "client") -> Segment:
    return Segment(src, "server", port, 80, seq, 0, Flag.SYN, mss=1460)


def _handshake(ep: Endpoint, port: int, now: float) -> None:
    ep.receive(_syn(port), now)
    synack = [e.segment for e in ep.take_effects() if isinstance(e, Transmit)][-1]
    ep.receive(Segment("client", "server", port, 80, 1001, synack.seq + 1, Flag.ACK), now)
    ep.take_effects()


def test_listen_backlog_is_the_calls_own_and_the_accept_queue_holds_backlog_plus_one():
    ep = Endpoint("server", LINUX, isn=300)
    listener = ep.listen(0.0, 80, backlog=1)
    assert listener.backlog == 1 and LINUX.backlog == 4096
    for port in (40000, 40001):
        _handshake(ep, port, 0.1)
    assert len(listener.accept_queue) == 2  # backlog + 1 (Linux sk_acceptq_is_full: ">" backlog)
    ep.receive(_syn(40002), 0.2)
    effects = ep.take_effects()
    assert not [e for e in effects if isinstance(e, Transmit)]
    assert [(n.kind, n.queue) for n in effects if getattr(n, "kind", None) == "syn-dropped"] == [("syn-dropped", "accept")]


def test_listen_backlog_is_capped_by_somaxconn_and_a_negative_one_means_somaxconn():
    ep = Endpoint("server", LINUX.with_overrides(somaxconn=128))
    assert ep.listen(0.0, 80, backlog=100_000).backlog == 128
    assert ep.listen(0.0, 81, backlog=-1).backlog == 128
    assert ep.listen(0.0, 82, backlog=0).backlog == 0
    assert ep.listen(0.0, 83).backlog == 128  # no backlog given: the profile's, capped


def test_connect_with_a_sockets_own_options_tcp_syncnt_and_tcp_maxseg():
    ep = Endpoint("client", LINUX, isn=100)
    conn = ep.connect(0.0, "server", 80, profile=LINUX.with_overrides(syn_retries=2, mss=1000))
    syn = [e.segment for e in ep.take_effects() if isinstance(e, Transmit)]
    assert [(s.flags, s.mss) for s in syn] == [(Flag.SYN, 1000)]
    assert conn.profile.syn_retries == 2 and ep.profile.syn_retries == 6  # the host's default is untouched
    sent_at, t = [0.0], 0.0
    for timeout in LINUX.with_overrides(syn_retries=2).syn_timeouts():
        t += timeout
        ep.timer_expired(conn.cid, Timer.RTO, t)
        sent_at += [t for e in ep.take_effects() if isinstance(e, Transmit)]
    # the linear SYN timeouts (tcp_syn_linear_timeouts = 4) and the time-based give-up at 1·(2³ − 1) = 7 s
    assert sent_at == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and conn.state is State.CLOSED and conn.error == "ETIMEDOUT" and t == 7.0


def test_accepted_connections_inherit_the_listening_sockets_options():
    ep = Endpoint("server", LINUX, isn=300)
    ep.listen(0.0, 80, profile=LINUX.with_overrides(keepalive=True, keepidle=30.0))
    _handshake(ep, 40000, 0.1)
    conn = ep.accept(0.2, 80)
    assert conn is not None and conn.profile.keepalive and conn.profile.keepidle == 30.0
    assert Timer.KEEPALIVE in conn.timers and conn.timers.armed[Timer.KEEPALIVE] == round(30.1 * 1e9)


def test_setsockopt_on_a_live_connection_keepalive_on_off_and_a_new_keepidle():
    ep = Endpoint("server", LINUX, isn=300)
    ep.listen(0.0, 80)
    _handshake(ep, 40000, 0.0)
    conn = ep.accept(0.0, 80)
    assert Timer.KEEPALIVE not in conn.timers
    conn.set_options(LINUX.with_overrides(keepalive=True), 10.0)  # SO_KEEPALIVE 1: a full keepidle from now
    assert conn.timers.armed[Timer.KEEPALIVE] == round(7210.0 * 1e9)
    conn.set_options(LINUX.with_overrides(keepalive=True, keepidle=100.0), 60.0)  # TCP_KEEPIDLE: what is left of it
    assert conn.timers.armed[Timer.KEEPALIVE] == round(100.0 * 1e9)  # idle since 0.0
    conn.set_options(LINUX, 70.0)  # SO_KEEPALIVE 0
    assert Timer.KEEPALIVE not in conn.timers
    assert conn.sender.profile is LINUX and conn.sender.rtt.profile is LINUX
