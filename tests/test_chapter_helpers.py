"""tcpbook.book: the questions the chapters ask of a trace."""

import pytest

from tcpbook import simulate
from tcpbook.book import (
    conversation,
    data_segments,
    entered,
    established_at,
    fins,
    pct,
    pure_acks,
    queue_occupancy,
    secs,
    sent_times,
    side_by_side,
)


def test_times_of_the_handshake():
    t = simulate("handshake", drop=["client:SYN:1"])
    assert established_at(t, "client") == pytest.approx(1.1)
    assert sent_times(t, "client", ["SYN"]) == [0.0, 1.0]
    assert sent_times(t, "server", ["ACK", "SYN"]) == [pytest.approx(1.05)]  # flags in any order
    assert entered(t, "server", "SYN-RECEIVED") == pytest.approx(1.05)
    assert entered(t, "client", "TIME-WAIT") is None


def test_self_loops_do_not_count_as_entering():
    t = simulate("close", drop=["server:FIN:1"])
    assert entered(t, "client", "TIME-WAIT") == pytest.approx(t.states_of("client")[-2].t)
    assert len(fins(t, "server")) == 2 and all("FIN" in s.flags for s in fins(t, "server"))


def test_data_segments_and_pure_acks():
    t = simulate("transfer", bytes=4380)
    assert [s.len for s in data_segments(t)] == [1460, 1460, 1460]
    acks = pure_acks(t)
    assert acks and all(s.len == 0 and set(s.flags) == {"ACK"} for s in acks)


def test_conversation_keeps_one_client_and_never_confuses_client_1_with_client_10():
    t = simulate("syn-flood", attack_rate=40, attack_duration=12, clients=11, client_interval=0.5, client_start=1.0,
                 backlog=8, syncookies=False)
    one = conversation(t, "client-1")
    assert one.endpoints == ("client-1", "server")
    assert {(s.src, s.dst) for s in one.segments} <= {("client-1", "server"), ("server", "client-1")}
    peers = {n.peer for n in one.notes if n.endpoint == "server"}
    assert peers <= {"client-1"}
    # every note the server wrote about client-1, and only those
    expected = [n for n in t.notes if n.endpoint == "server" and n.peer == "client-1"]
    assert [n for n in one.notes if n.endpoint == "server"] == expected
    assert any(n.peer == "client-10" for n in t.notes)  # the trap is there in the full trace


def test_queue_occupancy_counts_half_open_requests():
    t = simulate("syn-flood", attack_rate=20, attack_duration=3, clients=1, backlog=4, syncookies=False)
    times, sizes = queue_occupancy(t)
    assert times[0] == 0.0 and sizes[0] == 0
    assert max(sizes) == 5  # never more than the backlog + 1 (Linux: full when qlen > backlog)
    assert times == sorted(times) and all(abs(a - b) == 1 for a, b in zip(sizes, sizes[1:]))


def test_numbers_as_the_text_says_them():
    assert pct(0.4237) == "42.4 %" and pct(0.5, 0) == "50 %"
    assert secs(1.5) == "1.50 s"


def test_side_by_side_is_html_with_both_pictures():
    from tcpbook.render import ladder

    html = side_by_side([ladder(simulate("handshake")), ladder(simulate("refused"))], ["open", "refused <RST>"])
    assert html.count('<figure class="tcpbook-figure tcpbook-ladder">') == 2  # inline, legible, described
    assert 'aria-label="Ladder diagram of the refused run' in html
    assert "refused &lt;RST&gt;" in html


# -- windows, probes and progress (chapters 04 and 07) ------------------------------------

from tcpbook.book import cwnd_steps, in_flight, last_delivery, probes  # noqa: E402


def test_cwnd_steps_start_at_the_initial_window_and_double_per_round_trip():
    t = simulate("transfer", bytes=100_000, initcwnd=4)
    times, cwnd, ssthresh = cwnd_steps(t)
    assert times[0] == pytest.approx(0.1) and cwnd[0] == 4  # established at one RTT, initial window 4
    assert times == sorted(times) and all(s is None for s in ssthresh)  # no loss: ssthresh still infinite
    # slow start: +1 per segment acknowledged, so at the end of each round trip it has doubled
    by_round = {round(x, 3): c for x, c in zip(times, cwnd)}
    assert by_round[0.2] == 8 and by_round[0.3] == 16
    assert cwnd_steps(simulate("transfer", bytes=100_000, cc="none")) == ([], [], [])
    assert cwnd_steps(simulate("refused")) == ([], [], [])  # never established


def test_cwnd_steps_show_the_loss():
    t = simulate("transfer", bytes=200_000, drop=["client:DATA:40"], cc="reno")
    times, cwnd, ssthresh = cwnd_steps(t)
    first_loss = next(i for i, s in enumerate(ssthresh) if s is not None)
    assert cwnd[first_loss] == ssthresh[first_loss] + 3  # RFC 5681: ssthresh + 3 after the third duplicate ACK
    assert cwnd[first_loss - 1] > cwnd[-1] >= ssthresh[first_loss]


def test_in_flight_is_bounded_by_the_windows():
    t = simulate("transfer", bytes=100_000)
    times, flight = in_flight(t)
    assert times == sorted(times) and flight[-1] == 0  # everything acknowledged at the end
    assert max(flight) <= 65535  # the receive window (no window scaling)
    first_round = [f for x, f in zip(times, flight) if x < 0.15]
    assert max(first_round) == 10 * 1460  # the initial window: 10 segments
    assert in_flight(simulate("refused")) == ([], [])  # a SYN, answered by a RST: no data ever in flight


def test_probes_are_the_segments_sent_when_the_timer_fired():
    slow = simulate("transfer", bytes=30_000, read_rate=4000, rcvbuf=8192)
    zwp = probes(slow, "client", "persist")
    assert zwp and all(s.len == 0 and set(s.flags) == {"ACK"} for s in zwp)
    # a zero-window probe carries SND.UNA - 1: the receiver must answer with its window
    for p in zwp:
        answer = next(s for s in slow.segments if s.src == "server" and s.t >= p.arrival)
        assert answer.ack == p.seq + 1
    keep = simulate("dead-peer", keepalive=True, keepidle=60, keepintvl=10, keepcnt=3)
    assert [round(s.t, 3) for s in probes(keep, "client", "keepalive")] == [60.1, 70.1, 80.1]  # not the RST at 90.1
    assert probes(simulate("transfer"), "client", "persist") == []


def test_last_delivery():
    t = simulate("transfer", bytes=30_000, read_rate=4000, rcvbuf=8192)
    assert last_delivery(t) == max(e.t for e in t.app_events if e.endpoint == "server" and e.action == "data")
    assert last_delivery(t) > 30_000 / 4000 - 2  # the slow reader sets the pace
    assert last_delivery(simulate("handshake")) is None


def test_syn_queue_length_never_counts_a_cookie_connection():
    from tcpbook.book import syn_queue_length

    # cookies on: the queue fills to backlog + 1, then legitimate clients come back with
    # cookies; their connections pass through SYN-RECEIVED within one instant
    t = simulate("syn-flood", attack_rate=100, attack_duration=4, clients=3, client_start=1.5, client_interval=0.5, backlog=8)
    assert t.outcome.stats["cookies_accepted"] == 3
    times, sizes = syn_queue_length(t)
    assert times == sorted(times) and sizes[0] == 0 and min(sizes) >= 0
    assert max(sizes) == 9  # backlog + 1
    assert max(queue_occupancy(t)[1]) == 10  # the instant a cookie connection is rebuilt
    assert sizes[-1] == 0  # every request ended before the run did


def test_mean_queue_length_is_the_time_average_of_the_steps():
    from tcpbook.book import mean_queue_length

    times, sizes = [0.0, 1.0, 3.0], [0, 2, 1]  # 0 on [0,1), 2 on [1,3), 1 from 3 on
    assert mean_queue_length(times, sizes, 0.0, 4.0) == pytest.approx((0 * 1 + 2 * 2 + 1 * 1) / 4)
    assert mean_queue_length(times, sizes, 2.0, 3.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="end=1.0 must be later than start=2.0"):
        mean_queue_length(times, sizes, 2.0, 1.0)


def test_half_open_lifetimes_are_63_s_when_quiet_and_7_s_when_pruned():
    from tcpbook.book import half_open_lifetimes

    quiet = simulate("syn-flood", attack_rate=1, attack_duration=10, clients=1, attack_pattern="even")
    assert half_open_lifetimes(quiet) == [63.0] * 10  # tcp_synack_retries = 5: 1+2+4+8+16+32 s
    flooded = simulate("syn-flood", attack_rate=100, attack_duration=60, clients=1, backlog=16, syncookies=False,
                       attack_pattern="even")
    lifetimes = half_open_lifetimes(flooded)
    assert lifetimes.count(7.0) > len(lifetimes) / 2  # pruned: SYN,ACKs at 0, 1, 3 s, dropped at 7 s
    assert set(lifetimes) <= {7.0, 15.0, 31.0, 63.0}
    # the legitimate client's request completed: it sat in the queue for one round trip
    assert half_open_lifetimes(flooded, prefix="client") == [pytest.approx(flooded.params["rtt"])]
