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
