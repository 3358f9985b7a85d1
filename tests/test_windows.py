"""Silly window syndrome avoidance: the windows a receiver offers and the segments a
sender cuts, per profile (``sws_avoidance``: ``linux``, ``rfc``, ``none``).

Every expected number is derived here from the rule it checks, named in the comment:
Linux ``tcp_select_initial_window`` (the SYN's window: the buffer rounded down to whole
segments of our MSS, at most 65535), ``tcp_init_buffer_space`` (once established, the
window is capped one segment below a buffer this small), ``__tcp_select_window`` (the
free space rounded down to the peer's segment size), ``tcp_snd_wnd_test`` (a segment
goes only whole into the peer's window) and ``tcp_write_wakeup`` (the persist timer
fills a window too small for a segment); RFC 9293 §3.8.6.2.1 and §3.8.6.2.2.  The
segment-level cases run as packetdrill scripts too: ``tests/drill/sws-*.pkt``.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpbook import simulate
from tcpbook.endpoint.receivespace import initial_window

MSS = 1460
BUFFER = 65535  # the profiles' rcvbuf


def _syn_windows(trace):
    return {s.src: s.window for s in trace.segments if "SYN" in s.flags}


def _data(trace, sender="client"):
    """The first transmission of each of ``sender``'s data segments."""
    return [s for s in trace.segments if s.src == sender and s.len and not s.retransmission]


def _persist_fired(trace, endpoint="client"):
    return {e.t for e in trace.timers if e.endpoint == endpoint and e.timer == "persist" and e.action == "fired"}


# -- the SYN's window -------------------------------------------------------------------------


def test_a_default_linux_syn_offers_whole_segments():
    """A default Linux SYN shows win 64240: the 65535-byte buffer rounded down to whole
    segments, 44 × 1460 (``tcp_select_initial_window``: "Quantize space offering to a
    multiple of mss if possible"), as in every kernel capture's client SYN."""
    t = simulate("handshake")
    assert BUFFER // MSS * MSS == 44 * MSS == 64240
    assert _syn_windows(t) == {"client": 64240, "server": 64240}


@pytest.mark.parametrize(
    ("rcvbuf", "mss", "window"),
    [
        (65535, 1460, 64240),  # 44 segments
        (65535, 536, 65392),  # 122 segments
        (20000, 1460, 18980),  # 13 segments
        (1000, 1460, 1000),  # a buffer smaller than one segment is offered whole ("if space > mss")
        (65536, 1448, 65160),  # a default Linux buffer (tcp_full_space 65536) at MSS 1460 less timestamps
        (100_000, 1460, 65535),  # rounded down to 99280, then min(…, U16_MAX): no multiple of the MSS
    ],
)
def test_the_syn_window_is_tcp_select_initial_window(rcvbuf, mss, window):
    assert initial_window(rcvbuf, mss, "linux") == window
    assert _syn_windows(simulate("handshake", rcvbuf=rcvbuf, mss=mss)) == {"client": window, "server": window}


@pytest.mark.parametrize("profile, sws", [("rfc", None), ("linux", "none")])
def test_without_linux_rounding_the_syn_offers_the_whole_buffer(profile, sws):
    """RFC 9293 §3.8.6.2.2: "When the connection is quiescent, RCV.WND = RCV.BUFF"."""
    params = {"profile": profile} | ({"sws_avoidance": sws} if sws else {})
    assert _syn_windows(simulate("handshake", **params)) == {"client": 65535, "server": 65535}


def test_a_syn_cookie_syn_ack_offers_the_same_window():
    """The SYN,ACK of a SYN cookie is built like any other (``tcp_conn_request`` →
    ``tcp_openreq_init_rwin``): 64240 too."""
    t = simulate("syn-flood", attack_rate=100.0, attack_duration=2.0, clients=2, backlog=8, client_start=1.0)
    synacks = {s.window for s in t.segments if s.src == "server" and "SYN" in s.flags}
    assert any(n.kind == "syn-cookie-sent" for n in t.notes)
    assert synacks == {64240}


# -- the windows of a transfer -----------------------------------------------------------------


def test_146000_bytes_leave_as_100_full_segments_and_every_ack_offers_whole_segments():
    """146 000 bytes are exactly 100 segments of 1460: all of them go full-sized.  The
    server's ACKs offer whole segments: established, its window is capped at
    65535 − 1460 = 64075 (``tcp_init_buffer_space``, "Force reservation of one
    segment"), and with one segment unread when it ACKs, the free 64075 rounds down to
    43 × 1460 = 62780 (``__tcp_select_window``)."""
    t = simulate("transfer", bytes=146_000)
    assert Counter(s.len for s in _data(t)) == {MSS: 100}
    windows = Counter(s.window for s in t.segments if s.src == "server" and "SYN" not in s.flags)
    steady = (BUFFER - MSS) // MSS * MSS
    assert steady == 43 * MSS == 62780
    assert set(windows) == {steady}
    assert t.outcome.digest_match


def test_without_avoidance_the_same_transfer_has_silly_segments():
    """``sws_avoidance="none"`` is the syndrome itself: the receiver offers every free
    byte (65535 − 1460 = 64075 with one segment unread), the sender fills each window to
    its edge — a 1295-byte segment where the window's edge cuts the data, and a
    165-byte one after it."""
    t = simulate("transfer", bytes=146_000, sws_avoidance="none")
    sizes = [s.len for s in _data(t)]
    assert sorted(Counter(sizes).items()) == [(165, 1), (1295, 1), (MSS, 99)]
    assert 65535 % MSS == 1295  # the first window's edge: 44 segments and 1295 bytes
    assert Counter(s.window for s in t.segments if s.src == "server")[BUFFER - MSS] > 50


def test_rfc_receiver_keeps_its_right_edge_until_a_segment_is_free():
    """RFC 9293 §3.8.6.2.2: the right edge RCV.NXT + RCV.WND stays until the space not
    yet offered reaches min(RCV.BUFF / 2, Eff.snd.MSS) = 536; with one 536-byte segment
    unread at each ACK the window stays at 65535 − 536 and the edge moves by whole
    segments (the last, 50000 mod 536 = 152 bytes, moves it by 536 too: the window is
    then all that is free, 65535 − 152)."""
    t = simulate("transfer", bytes=50_000, profile="rfc")
    windows = Counter(s.window for s in t.segments if s.src == "server" and "SYN" not in s.flags)
    assert set(windows) == {BUFFER - 536, BUFFER - 50_000 % 536}
    sizes = [s.len for s in _data(t)]
    assert all(n == 536 for n in sizes[:-1]) and sizes[-1] == 50_000 % 536


def test_a_slow_reader_closes_the_window_before_a_segment_no_longer_fits():
    """A Linux receiver whose buffer is more than half full offers nothing once less than
    an MSS (or a sixteenth of the buffer) is free (``__tcp_select_window``: "try to move
    to zero-window"); every window it offers is zero, a whole number of segments, or
    what is left of an earlier one (the right edge never moves back)."""
    t = simulate("transfer", bytes=30_000, read_rate=4000, rcvbuf=8000)
    server = [s for s in t.segments if s.src == "server" and "SYN" not in s.flags]
    assert any(s.window == 0 for s in server)
    assert all(s.window == 0 or s.window >= MSS for s in server)
    sizes = [s.len for s in _data(t)]
    assert all(n == MSS for n in sizes[:-1]) and sizes[-1] == 30_000 % MSS
    assert t.outcome.digest_match


def test_a_tiny_peer_window_is_cut_in_halves():
    """A peer whose largest window is 1000 bytes (less than one 1460-byte segment): Linux
    sends segments of half that window (``tcp_bound_to_half_wnd``, from ``tcp_sync_mss``)
    rather than wait for a window that will never hold a full one."""
    t = simulate("transfer", bytes=20_000, rcvbuf=1000)
    assert _syn_windows(t)["server"] == 1000
    assert {s.len for s in _data(t)} == {500}
    assert t.outcome.digest_match


# -- the sender: whole segments only -----------------------------------------------------------


def _write_end(trace):
    return trace.params["isn_client"] + 1 + trace.params["bytes"]


def _check_whole_segments(trace, profile):
    """Every data segment but the last of the write is a full segment, unless the
    persist timer sent it (a window too small for a segment, filled) — or, in the
    ``rfc`` profile, it fills at least half the largest window the peer offered
    (RFC 9293 §3.8.6.2.1 (3))."""
    mss = trace.params["mss"]  # both ends: Eff.snd.MSS
    peer = [s for s in trace.segments if s.src == "server" and not s.dropped]
    fired = _persist_fired(trace)
    end = _write_end(trace)
    for seg in _data(trace):
        max_window = max((s.window for s in peer if s.arrival is not None and s.arrival <= seg.t), default=0)
        full = mss
        if profile == "linux":  # tcp_bound_to_half_wnd
            cutoff = max_window >> 1 if max_window > 536 else max_window
            if cutoff and full > cutoff:
                full = max(cutoff, 48)
        if seg.len == full or seg.seq + seg.len == end or seg.t in fired:
            continue
        assert profile == "rfc" and 2 * seg.len >= max_window, (seg, full, max_window)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mss=st.sampled_from([100, 536, 1000, 1448, 1460]),
    rcvbuf=st.integers(300, 80_000),
    nbytes=st.integers(1, 60_000),
    read_rate=st.sampled_from([None, None, 4000, 20_000]),
    profile=st.sampled_from(["linux", "rfc"]),
)
def test_every_segment_but_the_last_of_a_write_is_full(mss, rcvbuf, nbytes, read_rate, profile):
    """Over MSS, receive buffer and transfer size (and a slow reader, so windows close):
    no segment smaller than the MSS leaves while more data waits, except to fill a
    window the persist timer found too small for a segment."""
    params = {"bytes": nbytes, "mss": mss, "rcvbuf": rcvbuf, "profile": profile}
    if read_rate:
        params["read_rate"] = read_rate
    t = simulate("transfer", **params)
    _check_whole_segments(t, profile)
    assert t.outcome.endpoints["server"].bytes_delivered == nbytes
