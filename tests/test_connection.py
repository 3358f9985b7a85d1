"""A Connection driven by hand, one RFC 9293 §3.10.7.4 check at a time (sans-IO: no network).

The client connects to "server"; the tests play the server by writing its segments and
read back exactly what the client's TCP does: segments, state changes, timers, notes.
ISNs: client 100, server 300; the client's port is 40000.
"""

from __future__ import annotations

import pytest

from tcpbook.endpoint import CancelTimer, Endpoint, SetTimer, Transmit
from tcpbook.events import AppEvent, NoteEvent, StateEvent
from tcpbook.profiles import get_profile
from tcpbook.segment import ACK, FIN, PSH, RST, SYN, Segment
from tcpbook.vocabulary import State, Timer

LINUX = get_profile("linux")
RFC = get_profile("rfc")


def from_server(flags: int, seq: int, ack: int = 0, payload: bytes = b"", window: int = 65535, mss: int | None = None) -> Segment:
    return Segment("server", "client", 80, 40000, seq % 2**32, ack % 2**32, flags, payload, window, mss)


class Harness:
    """The client's endpoint, and what it did after each input."""

    def __init__(self, profile=LINUX, **overrides):
        self.ep = Endpoint("client", profile.with_overrides(**overrides) if overrides else profile, isn=100)
        self.now = 0.0
        self.conn = self.ep.connect(self.now, "server", 80)
        self.effects = self.ep.take_effects()

    def arrive(self, seg: Segment, at: float | None = None) -> list:
        self.now = self.now if at is None else at
        self.ep.receive(seg, self.now)
        self.effects = self.ep.take_effects()
        return self.effects

    def fire(self, kind: Timer, at: float) -> list:
        self.now = at
        self.ep.timer_expired(self.conn.cid, kind, at)
        self.effects = self.ep.take_effects()
        return self.effects

    def call(self, method: str, *args, at: float | None = None, **kwargs):
        self.now = self.now if at is None else at
        result = getattr(self.conn, method)(*args, self.now, **kwargs)
        self.effects = self.ep.take_effects()
        return result

    # what happened
    def sent(self) -> list[tuple[int, int, int, int]]:
        return [(e.segment.flags, e.segment.seq, e.segment.ack, len(e.segment.payload)) for e in self.effects if isinstance(e, Transmit)]

    def moves(self) -> list[tuple[str, str, str]]:
        return [(e.old, e.state, e.cause) for e in self.effects if isinstance(e, StateEvent)]

    def told(self) -> list[tuple[str, int, str]]:
        return [(e.action, e.nbytes, e.detail) for e in self.effects if isinstance(e, AppEvent)]

    def timers_set(self) -> list[tuple[str, float]]:
        return [(e.kind, e.duration) for e in self.effects if isinstance(e, SetTimer)]

    def timers_cancelled(self) -> list[str]:
        return [e.kind for e in self.effects if isinstance(e, CancelTimer)]

    def notes(self) -> list[NoteEvent]:
        return [e for e in self.effects if isinstance(e, NoteEvent)]


def established(profile=LINUX, **overrides) -> Harness:
    h = Harness(profile, **overrides)
    h.arrive(from_server(SYN | ACK, 300, 101, mss=1460), at=0.1)
    assert h.conn.state is State.ESTABLISHED
    return h


# -- SYN-SENT (§3.10.7.3) ------------------------------------------------------------------------


def test_syn_sent_takes_the_syn_ack_acks_it_and_is_established():
    h = Harness()
    assert h.sent() == [(SYN, 100, 0, 0)] and h.timers_set() == [(Timer.RTO, 1.0)]
    h.arrive(from_server(SYN | ACK, 300, 101, mss=536), at=0.1)
    assert h.moves() == [("SYN-SENT", "ESTABLISHED", "rcv SYN,ACK")]
    assert h.sent() == [(ACK, 101, 301, 0)]
    assert h.conn.sender.peer_mss == 536 and h.conn.sender.rtt.srtt == pytest.approx(0.1)


def test_syn_sent_answers_an_ack_of_something_never_sent_with_a_reset():
    h = Harness()
    h.arrive(from_server(SYN | ACK, 900, 77))  # Figure 8: an old duplicate's SYN,ACK
    assert h.sent() == [(RST, 77, 0, 0)] and h.moves() == []
    assert [n.kind for n in h.notes()] == ["old-duplicate"] and h.notes()[0].ack == 77


def test_syn_sent_refused_by_a_rst_that_acks_our_syn_and_ignores_one_that_does_not():
    h = Harness()
    h.arrive(from_server(RST, 0))  # no ACK: not proof it is for us
    assert h.moves() == [] and h.conn.state is State.SYN_SENT
    h.arrive(from_server(RST | ACK, 0, 101))
    assert h.moves() == [("SYN-SENT", "CLOSED", "rcv RST,ACK")]
    assert ("error", 0, "ECONNREFUSED") in h.told()


# -- first check: sequence number ----------------------------------------------------------------


def test_old_data_below_rcv_nxt_is_unacceptable_answered_with_an_ack_and_dropped():
    h = established()
    h.arrive(from_server(ACK, 200, 101, b"x" * 10))  # entirely before RCV.NXT = 301
    assert h.sent() == [(ACK, 101, 301, 0)] and h.told() == []


def test_data_beyond_the_window_is_unacceptable():
    h = established(rcvbuf=1000)
    h.arrive(from_server(ACK, 301 + 5000, 101, b"y" * 10))
    assert h.sent() == [(ACK, 101, 301, 0)] and h.conn.rcv.out_of_order == {}


def test_an_unacceptable_rst_is_dropped_silently():
    h = established()
    h.arrive(from_server(RST, 301 + 100_000))
    assert h.sent() == [] and h.conn.state is State.ESTABLISHED


def test_syn_received_answers_the_peers_syn_again_with_its_syn_ack():
    ep = Endpoint("server", LINUX, isn=300)
    ep.listen(0.0)
    ep.take_effects()
    syn = Segment("client", "server", 40000, 80, 100, 0, SYN, mss=1460)
    ep.receive(syn, 0.05)
    first = [e.segment for e in ep.take_effects() if isinstance(e, Transmit)]
    ep.receive(syn, 0.4)  # our SYN,ACK was lost: the client's SYN comes again
    effects = ep.take_effects()
    again = [e for e in effects if isinstance(e, Transmit)]
    assert [(s.flags, s.seq, s.ack) for s in first] == [(SYN | ACK, 300, 101)]
    assert [(t.segment.flags, t.segment.seq, t.segment.ack, t.retransmission) for t in again] == [(SYN | ACK, 300, 101, True)]
    assert [(e.old, e.state, e.cause) for e in effects if isinstance(e, StateEvent)] == [("SYN-RECEIVED", "SYN-RECEIVED", "rcv SYN")]
    assert not [e for e in effects if isinstance(e, SetTimer)]  # the retransmission timer keeps its schedule


# -- second check: RST ------------------------------------------------------------------------------


def test_an_exact_rst_resets_the_connection():
    h = established()
    h.arrive(from_server(RST, 301))
    assert h.moves() == [("ESTABLISHED", "CLOSED", "rcv RST")]
    assert ("error", 0, "ECONNRESET") in h.told()
    assert h.conn.timers.armed == {}  # nothing was in flight, nothing left armed


def test_a_rst_in_the_window_but_not_exact_earns_a_challenge_ack():
    h = established()
    h.arrive(from_server(RST, 301 + 10))
    assert h.sent() == [(ACK, 101, 301, 0)] and h.conn.state is State.ESTABLISHED  # RFC 5961 §3.2


# -- fourth check: SYN ------------------------------------------------------------------------------


def test_a_syn_in_a_synchronized_state_earns_a_challenge_ack_and_changes_nothing():
    h = established()
    h.arrive(from_server(SYN, 5000))  # in window or not, RFC 5961 §4.2: challenge ACK
    assert h.sent() == [(ACK, 101, 301, 0)] and h.moves() == []


# -- fifth check: ACK ----------------------------------------------------------------------------------


def test_an_ack_of_data_never_sent_is_answered_and_the_segment_dropped():
    h = established()
    h.arrive(from_server(ACK, 301, 500, b"data"))  # acknowledges 500, we sent up to 101
    assert h.sent() == [(ACK, 101, 301, 0)]
    assert h.told() == []  # its data was not delivered


def test_a_segment_without_ack_is_dropped():
    h = established()
    h.arrive(from_server(PSH, 301, 0, b"data"))
    assert h.sent() == [] and h.told() == []


def test_three_duplicate_acks_trigger_a_fast_retransmit():
    h = established()
    h.call("send", b"a" * 5000)
    first = h.sent()
    assert [s[1] for s in first] == [101, 1561, 3021, 4481]
    assert [s[0] for s in first] == [ACK, ACK, ACK, ACK | PSH]  # PSH on the write's last segment (tcp_push)
    for _ in range(2):
        h.arrive(from_server(ACK, 301, 101), at=0.2)
        assert h.sent() == []
    h.arrive(from_server(ACK, 301, 101), at=0.2)
    assert h.sent() == [(ACK, 101, 301, 1460)]  # not the write's last segment: no PSH
    assert [(n.kind, n.count) for n in h.notes()] == [("fast-retransmit", 3)]


def test_syn_received_resets_an_ack_of_something_it_never_sent():
    ep = Endpoint("server", LINUX, isn=300)
    ep.listen(0.0)
    ep.receive(Segment("client", "server", 40000, 80, 100, 0, SYN), 0.05)
    ep.take_effects()
    ep.receive(Segment("client", "server", 40000, 80, 101, 999, ACK), 0.1)
    sent = [e.segment for e in ep.take_effects() if isinstance(e, Transmit)]
    assert [(s.flags, s.seq) for s in sent] == [(RST, 999)]


# -- seventh check: segment text --------------------------------------------------------------------------


def test_in_order_data_is_delivered_and_out_of_order_data_waits_for_the_hole():
    h = established()
    h.arrive(from_server(ACK, 311, 101, b"B" * 10))  # beyond a hole of 10 bytes
    assert h.told() == [] and h.sent() == [(ACK, 101, 301, 0)]  # a duplicate ACK at once
    h.arrive(from_server(ACK, 301, 101, b"A" * 10))  # the hole fills
    assert h.told() == [("data", 20, "")] and h.sent() == [(ACK, 101, 321, 0)]
    assert h.conn.read(h.now) == b"A" * 10 + b"B" * 10


def test_data_for_a_socket_closed_with_close_is_answered_with_a_rst():
    h = established()
    h.call("close")  # close(2): nobody will read any more
    h.arrive(from_server(ACK, 301, 102, b"late"), at=0.3)
    assert [n.kind for n in h.notes()] == ["data-after-close"]
    assert (RST | ACK, 102, 305, 0) in h.sent()
    assert h.conn.state is State.CLOSED


# -- eighth check: FIN ------------------------------------------------------------------------------------


def test_fin_in_established_moves_to_close_wait_with_the_ack_delayed_on_linux():
    h = established()
    h.arrive(from_server(FIN | ACK, 301, 101), at=0.5)
    assert h.moves() == [("ESTABLISHED", "CLOSE-WAIT", "rcv FIN")]
    assert ("eof", 0, "") in h.told() and h.sent() == []
    assert h.timers_set() == [(Timer.DELAYED_ACK, LINUX.delayed_ack_timeout)]
    h.call("close")  # the application closes at once: the ACK rides on our FIN
    assert h.sent() == [(FIN | ACK, 101, 302, 0)]


def test_fin_in_established_is_acked_at_once_in_the_rfc_profile():
    h = established(RFC)
    h.arrive(from_server(FIN | ACK, 301, 101), at=0.5)
    assert h.sent() == [(ACK, 101, 302, 0)]


def test_an_early_fin_waits_for_the_data_before_it():
    h = established()
    h.arrive(from_server(FIN | ACK, 311, 101), at=0.2)  # FIN after 10 missing bytes
    assert h.moves() == [] and h.conn.rcv.fin_seq == 311
    h.arrive(from_server(ACK, 301, 101, b"z" * 10), at=0.3)
    assert h.moves() == [("ESTABLISHED", "CLOSE-WAIT", "rcv FIN")]
    assert [a for a, _, _ in h.told()] == ["data", "eof"]


def test_a_duplicate_fin_in_close_wait_is_acked_at_once():
    h = established()
    h.arrive(from_server(FIN | ACK, 301, 101), at=0.5)
    h.arrive(from_server(FIN | ACK, 301, 101), at=0.9)  # our ACK never went: it comes again
    assert h.sent() == [(ACK, 101, 302, 0)] and h.moves() == []


def test_time_wait_re_acks_a_retransmitted_fin_and_restarts_its_timer():
    h = established()
    h.call("close")
    h.arrive(from_server(ACK, 301, 102), at=0.2)  # our FIN is ACKed: FIN-WAIT-2
    h.arrive(from_server(FIN | ACK, 301, 102), at=0.3)
    assert h.moves() == [("FIN-WAIT-2", "TIME-WAIT", "rcv FIN")]
    h.arrive(from_server(FIN | ACK, 301, 102), at=10.0)  # our last ACK was lost
    assert h.moves() == [("TIME-WAIT", "TIME-WAIT", "rcv FIN")]
    assert h.sent() == [(ACK, 102, 302, 0)]
    assert h.timers_cancelled() == [Timer.TIME_WAIT] and h.timers_set() == [(Timer.TIME_WAIT, LINUX.time_wait)]


def test_fin_and_the_ack_of_our_fin_together_go_from_fin_wait_1_to_time_wait():
    h = established()
    h.call("close")
    h.arrive(from_server(FIN | ACK, 301, 102), at=0.2)
    assert h.moves() == [("FIN-WAIT-1", "TIME-WAIT", "rcv FIN,ACK of FIN")]


def test_crossing_fins_go_through_closing():
    h = established()
    h.call("close")
    h.arrive(from_server(FIN | ACK, 301, 101), at=0.2)  # its FIN, not acking ours
    assert h.moves() == [("FIN-WAIT-1", "CLOSING", "rcv FIN")]
    h.arrive(from_server(ACK, 302, 102), at=0.25)
    assert h.moves() == [("CLOSING", "TIME-WAIT", "rcv ACK of FIN")]


# -- sending: the FIN on the last data segment, and the persist timer --------------------------------------


def test_the_fin_rides_on_the_last_data_segment():
    h = established()
    h.arrive(from_server(ACK, 301, 101, window=2920), at=0.15)  # room for two segments
    h.call("send", b"q" * 4000, at=0.2)
    assert h.sent() == [(ACK, 101, 301, 1460), (ACK, 1561, 301, 1460)]  # PSH only at the write's end
    h.call("close", at=0.2)  # 1080 bytes still queued: the FIN waits behind them
    assert h.sent() == [] and h.moves() == [("ESTABLISHED", "FIN-WAIT-1", "CLOSE")]
    h.arrive(from_server(ACK, 301, 3021, window=65535), at=0.3)
    assert h.sent() == [(ACK | PSH | FIN, 3021, 301, 1080)]  # data and FIN in one segment
    h.arrive(from_server(ACK, 301, 4102), at=0.4)
    assert h.moves() == [("FIN-WAIT-1", "FIN-WAIT-2", "rcv ACK of FIN")]


def test_a_zero_window_starts_the_persist_timer_whose_probe_asks_for_the_window():
    h = established()
    h.arrive(from_server(ACK, 301, 101, window=0), at=0.2)
    h.call("send", b"w" * 100, at=0.3)
    assert h.sent() == [] and h.timers_set() == [(Timer.PERSIST, h.conn.sender.rtt.rto)]
    h.fire(Timer.PERSIST, at=0.3 + h.conn.sender.rtt.rto)
    assert h.sent() == [(ACK, 100, 301, 0)]  # SND.UNA - 1: an old number the peer must answer
    assert h.timers_set()[0][0] is Timer.PERSIST and h.timers_set()[0][1] == pytest.approx(2 * h.conn.sender.rtt.rto)
    h.arrive(from_server(ACK, 301, 101, window=4000), at=1.5)  # the window opens
    assert h.sent() == [(ACK | PSH, 101, 301, 100)] and Timer.PERSIST in h.timers_cancelled()


def test_a_data_retransmission_timeout_backs_off_and_resends_from_snd_una_in_slow_start():
    h = established(tlp=False)
    h.call("send", b"r" * 3000, at=0.2)
    assert [s[1] for s in h.sent()] == [101, 1561, 3021]
    rto = h.conn.sender.rtt.rto
    h.fire(Timer.RTO, at=0.2 + rto)
    # RFC 6298 §5.5: RTO doubled; RFC 5681 §3.1: cwnd 1 segment — only the oldest goes again
    assert h.sent() == [(ACK, 101, 301, 1460)]
    assert h.timers_set() == [(Timer.RTO, 2 * rto)]
    assert h.conn.sender.cc.cwnd == 1 and h.conn.sender.cc.ssthresh == 7  # CUBIC: 0.7 x cwnd 10
    h.arrive(from_server(ACK, 301, 1561), at=0.2 + rto + 0.1)
    # slow start: cwnd 2 — the rest of the old flight goes again (go-back-N, as Linux marks it lost)
    assert [(s[1], s[3]) for s in h.sent()] == [(1561, 1460), (3021, 80)]


def test_a_tail_loss_probe_resends_the_last_segment_before_the_rto():
    h = established()
    h.call("send", b"t" * 3000, at=0.2)
    srtt = h.conn.sender.rtt.srtt
    assert h.timers_set() == [(Timer.TLP, pytest.approx(min(2 * srtt + 0.002, h.conn.sender.rtt.rto)))]
    h.fire(Timer.TLP, at=0.4)
    assert h.sent() == [(ACK | PSH, 3021, 301, 80)]  # the last segment: its ACK tells what was lost
    assert h.timers_set() == [(Timer.RTO, h.conn.sender.rtt.rto)]  # then the RTO, from now


def test_every_move_is_decided_by_the_table():
    from tcpbook import table

    h = established()
    h.call("close")
    h.arrive(from_server(ACK, 301, 102), at=0.2)
    h.arrive(from_server(FIN | ACK, 301, 102), at=0.3)
    h.fire(Timer.TIME_WAIT, at=60.3)
    assert h.moves() == [("TIME-WAIT", "CLOSED", "timeout=2MSL")]
    assert table.next_state(State.TIME_WAIT, "timeout=2MSL").target is State.CLOSED
