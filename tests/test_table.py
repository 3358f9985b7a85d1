"""The transition table against RFC 9293 Figure 5 and the notes of §3.5/§3.10."""

import pytest

from tcpbook.errors import TcpbookError
from tcpbook.table import (
    FIGURE_5_ARCS,
    TRANSITIONS,
    Event,
    IllegalTransition,
    Phase,
    State,
    arcs_from,
    find_arc,
    is_arc,
    next_state,
)

S = State

# RFC 9293 Figure 5, written out independently of tcpbook/table.py (TCP-REFERENCE §1).
FIGURE_5 = [
    (S.CLOSED, "passive OPEN", "", S.LISTEN),
    (S.CLOSED, "active OPEN", "SYN", S.SYN_SENT),
    (S.LISTEN, "rcv SYN", "SYN,ACK", S.SYN_RECEIVED),
    (S.LISTEN, "SEND", "SYN", S.SYN_SENT),
    (S.LISTEN, "CLOSE", "", S.CLOSED),
    (S.SYN_SENT, "CLOSE", "", S.CLOSED),
    (S.SYN_SENT, "rcv SYN", "SYN,ACK", S.SYN_RECEIVED),
    (S.SYN_SENT, "rcv SYN,ACK", "ACK", S.ESTABLISHED),
    (S.SYN_RECEIVED, "rcv ACK of SYN", "", S.ESTABLISHED),
    (S.SYN_RECEIVED, "CLOSE", "FIN", S.FIN_WAIT_1),
    (S.SYN_RECEIVED, "rcv RST", "", S.LISTEN),
    (S.SYN_RECEIVED, "rcv RST, refused", "", S.CLOSED),  # the RFC's one "rcv RST", split by how SYN-RECEIVED was reached
    (S.ESTABLISHED, "CLOSE", "FIN", S.FIN_WAIT_1),
    (S.ESTABLISHED, "rcv FIN", "ACK", S.CLOSE_WAIT),
    (S.FIN_WAIT_1, "rcv ACK of FIN", "", S.FIN_WAIT_2),
    (S.FIN_WAIT_1, "rcv FIN", "ACK", S.CLOSING),
    (S.FIN_WAIT_1, "rcv FIN,ACK of FIN", "ACK", S.TIME_WAIT),
    (S.FIN_WAIT_2, "rcv FIN", "ACK", S.TIME_WAIT),
    (S.CLOSING, "rcv ACK of FIN", "", S.TIME_WAIT),
    (S.CLOSE_WAIT, "CLOSE", "FIN", S.LAST_ACK),
    (S.LAST_ACK, "rcv ACK of FIN", "", S.CLOSED),
    (S.TIME_WAIT, "timeout=2MSL", "", S.CLOSED),
]


def test_there_are_eleven_states_spelled_as_the_rfc():
    assert [s.value for s in State] == [
        "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
    ]


@pytest.mark.parametrize("source,event,sends,target", FIGURE_5)
def test_every_arc_of_figure_5_is_in_the_table(source, event, sends, target):
    arc = find_arc(source, event, target)
    assert arc.sends == sends
    assert arc.in_figure_5


def test_figure_5_has_exactly_its_arcs():
    assert {(a.source, a.event, a.sends, a.target) for a in FIGURE_5_ARCS} == set(FIGURE_5)


def test_simultaneous_open_sends_syn_ack_not_ack_as_rfc_793_said():
    arc = find_arc(S.SYN_SENT, "rcv SYN", S.SYN_RECEIVED)
    assert arc.sends == "SYN,ACK" and "793" in arc.note


def test_rst_notes_of_section_3_10():
    # a valid RST aborts the synchronized states
    for state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT):
        assert find_arc(state, "rcv RST", S.CLOSED).phase is Phase.RESET
    # LISTEN ignores RST: no arc
    assert not any(a.source is S.LISTEN and a.event == "rcv RST" for a in TRANSITIONS)
    # SYN-SENT accepts a RST only with an acceptable ACK: connection refused
    assert find_arc(S.SYN_SENT, "rcv RST,ACK", S.CLOSED)
    # ABORT sends RST only from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT
    with_rst = {a.source for a in TRANSITIONS if a.event == "ABORT" and a.sends == "RST"}
    assert with_rst == {S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT}
    silent = {a.source for a in TRANSITIONS if a.event == "ABORT" and a.sends == ""}
    assert silent == {S.LISTEN, S.SYN_SENT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}


def test_time_wait_re_acks_a_retransmitted_fin():
    arc = find_arc(S.TIME_WAIT, "rcv FIN", S.TIME_WAIT)
    assert arc.sends == "ACK" and arc.is_loop and "2MSL" in arc.note


def test_every_state_is_reachable_from_closed():
    seen, frontier = {S.CLOSED}, [S.CLOSED]
    while frontier:
        for arc in arcs_from(frontier.pop()):
            if arc.target not in seen:
                seen.add(arc.target)
                frontier.append(arc.target)
    assert seen == set(State)


def test_find_arc_refuses_what_the_rfc_does_not_allow():
    with pytest.raises(IllegalTransition, match="no arc from LISTEN on rcv FIN"):
        find_arc(S.LISTEN, "rcv FIN", S.CLOSE_WAIT)
    with pytest.raises(IllegalTransition, match="no arc from ESTABLISHED on rcv ACK of SYN"):
        next_state(S.ESTABLISHED, Event.RCV_ACK_OF_SYN)
    with pytest.raises(IllegalTransition, match="to LAST-ACK"):
        find_arc(S.ESTABLISHED, "CLOSE", S.LAST_ACK)  # the arc exists, but leads to FIN-WAIT-1
    assert not is_arc(S.CLOSED, S.ESTABLISHED)
    assert is_arc(S.SYN_SENT, S.ESTABLISHED)


def test_linux_spellings_and_parsing():
    assert S.SYN_RECEIVED.linux_name == "SYN_RECV"
    assert S.ESTABLISHED.linux_name == "ESTAB"
    assert State.parse("time_wait") is S.TIME_WAIT
    assert State.parse("SYN_RECV") is S.SYN_RECEIVED
    assert State.parse("FIN-WAIT1") is S.FIN_WAIT_1
    with pytest.raises(ValueError, match="not a TCP state"):
        State.parse("HALF-OPEN")


def test_labels_read_like_the_rfc():
    assert find_arc(S.SYN_SENT, "rcv SYN,ACK", S.ESTABLISHED).label == "rcv SYN,ACK / ACK"
    assert find_arc(S.LAST_ACK, "rcv ACK of FIN", S.CLOSED).label == "rcv ACK of FIN / -"


def test_the_table_decides_one_arc_per_state_and_event():
    pairs = [(a.source, a.event) for a in TRANSITIONS]
    assert len(pairs) == len(set(pairs))
    for arc in TRANSITIONS:
        assert next_state(arc.source, arc.event) is arc
        assert next_state(arc.source, arc.event.value) is arc  # a plain string names the same event
    assert issubclass(IllegalTransition, TcpbookError)
    with pytest.raises(IllegalTransition, match="no arc from CLOSED on frobnicate"):
        next_state(S.CLOSED, "frobnicate")


def test_ambiguous_rfc_words_are_split_into_distinct_events():
    # "timeout" that retransmits vs the one that gives up (RFC 9293 §3.10.8 USER TIMEOUT)
    assert next_state(S.SYN_SENT, Event.TIMEOUT).target is S.SYN_SENT
    assert next_state(S.SYN_SENT, Event.USER_TIMEOUT).target is S.CLOSED
    # a RST in SYN-RECEIVED: back to LISTEN after a passive open, refused after an active one
    assert next_state(S.SYN_RECEIVED, Event.RCV_RST).target is S.LISTEN
    assert next_state(S.SYN_RECEIVED, Event.RCV_RST_REFUSED).target is S.CLOSED
