"""Protocol invariants over random drop patterns, loss rates, sizes and seeds (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpbook import simulate
from tcpbook.table import State, find_arc

KINDS = ["SYN", "SYN-ACK", "ACK", "DATA", "FIN", "FIN-ACK", "RST", "ANY"]
rule = st.builds(
    lambda sender, kind, n: f"{sender}:{kind}:{n}",
    st.sampled_from(["client", "server"]),
    st.sampled_from(KINDS),
    st.one_of(st.integers(1, 6).map(str), st.just("*")),
)
runs = st.fixed_dictionaries(
    {
        "scenario": st.sampled_from(["full", "close", "half-close", "simultaneous-close", "transfer", "handshake", "exit"]),
        "loss": st.sampled_from([0.0, 0.05, 0.2, 0.5]),
        "drop": st.lists(rule, max_size=3),
        "seed": st.integers(0, 10_000),
        "bytes": st.integers(0, 20_000),
        "mss": st.sampled_from([100, 536, 1460]),
        "profile": st.sampled_from(["linux", "rfc"]),
        "jitter": st.sampled_from([0.0, 0.0, 0.08]),
        "delayed_ack": st.booleans(),
        "cc": st.sampled_from(["cubic", "reno", "none"]),
        "initcwnd": st.sampled_from([1, 4, 10]),
        "reorder": st.sampled_from([0.0, 0.0, 0.2]),
        "tlp": st.booleans(),
    }
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(params):
    params = dict(params)
    name = params.pop("scenario")
    if name == "simultaneous-close":
        params.pop("bytes")
    if name == "half-close":
        params["response_bytes"] = params["bytes"] // 2
    return simulate(name, **params)


@SETTINGS
@given(runs)
def test_every_state_change_is_an_arc_of_the_table(params):
    trace = _run(params)
    for change in trace.state_changes:
        find_arc(State(change.old), change.cause, State(change.state))  # raises if not an arc
    # and each connection's changes chain: every change starts where the previous ended
    last = {}
    for change in trace.state_changes:
        key = (change.endpoint, change.peer)
        if key in last and change.peer is not None:
            # a new connection with the same peer starts afresh from CLOSED or LISTEN
            fresh = last[key] in ("CLOSED", "LISTEN") and change.old in ("CLOSED", "LISTEN")
            assert change.old == last[key] or fresh, (key, last[key], change)
        last[key] = change.state


@SETTINGS
@given(runs)
def test_every_run_ends_and_complete_runs_deliver_exactly_what_was_sent(params):
    trace = _run(params)
    out = trace.outcome
    assert out.end_time < 10_000  # it ended, in virtual time too
    client, server = out.endpoints["client"], out.endpoints["server"]
    if params["scenario"] in ("full", "close", "half-close", "exit"):
        # (a socket its program closed may give up without telling anyone: not clean)
        orphan_gave_up = any(n.kind == "orphan-gave-up" for n in trace.notes)
        clean = client.error is None and server.error is None and not orphan_gave_up
        both_closed = client.final_state == "CLOSED" and server.final_state == "CLOSED"
        if clean and both_closed:
            # both ends report the connection complete: every byte arrived, intact
            assert out.digest_match
            assert server.bytes_delivered == client.bytes_sent
            assert client.bytes_delivered == server.bytes_sent
    # never more delivered than sent, and what was delivered is a prefix of what was sent
    assert server.bytes_delivered <= client.bytes_sent
    if server.bytes_delivered == client.bytes_sent:
        assert server.md5_delivered == client.md5_sent


@SETTINGS
@given(runs)
def test_acks_never_acknowledge_what_was_not_sent(params):
    trace = _run(params)
    highest = {}
    for seg in trace.segments:
        end = (seg.seq + seg.len + ("SYN" in seg.flags) + ("FIN" in seg.flags)) % 2**32
        key = seg.src
        # sequence space only grows (mod 2**32 with our small runs it never wraps)
        highest[key] = max(highest.get(key, end), end)
    isn = {"client": trace.params["isn_client"], "server": trace.params["isn_server"]}
    for seg in trace.segments:
        if "ACK" in seg.flags and not seg.dropped and "RST" not in seg.flags and seg.dst in highest:
            assert isn[seg.dst] < seg.ack <= highest[seg.dst] or seg.ack == 0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31),
    st.sampled_from(["full", "half-close", "syn-flood", "exit", "crash", "time-wait-reuse"]),
    st.sampled_from([0.0, 0.1, 0.3]),
    st.sampled_from([0.0, 0.05]),
    st.sampled_from([0.0, 0.2]),
)
def test_same_inputs_and_seed_give_the_identical_trace(seed, name, loss, jitter, reorder):
    params = {"seed": seed, "loss": loss, "jitter": jitter, "reorder": reorder}
    if name == "syn-flood":
        params.update(attack_duration=2.0, clients=2)
    assert simulate(name, **params).to_json() == simulate(name, **params).to_json()


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([0.0, 5.0, 40.0, 200.0]),
    st.integers(1, 16),
    st.integers(0, 5),
    st.booleans(),
    st.integers(0, 1000),
    st.sampled_from(["even", "poisson"]),
)
def test_the_syn_queue_never_holds_more_than_its_backlog(rate, backlog, synack_retries, cookies, seed, pattern):
    trace = simulate(
        "syn-flood", attack_rate=rate, attack_duration=3.0, clients=2, client_interval=0.5, client_start=1.0,
        backlog=backlog, synack_retries=synack_retries, syncookies=cookies, seed=seed, attack_pattern=pattern,
    )
    half_open, peak, now = 0, 0, 0.0
    for change in trace.state_changes:
        if change.endpoint != "server" or change.peer is None:
            continue
        if change.t != now:  # look at the queue between instants: a cookie's connection
            peak = max(peak, half_open)  # passes through SYN-RECEIVED within one instant
            now = change.t
        if change.state == "SYN-RECEIVED" and change.old == "LISTEN":
            half_open += 1
        elif change.old == "SYN-RECEIVED" and change.state != "SYN-RECEIVED":
            half_open -= 1
    peak = max(peak, half_open)
    assert half_open >= 0
    assert peak <= backlog + 1  # Linux's test is qlen > backlog (inet_csk_reqsk_queue_is_full)
    if cookies:
        # a stateless answer never fails a legitimate client (no loss here)
        assert trace.outcome.stats["legitimate_served"] == 2
        assert trace.outcome.stats["syn_dropped_syn_queue_full"] == 0


@SETTINGS
@given(runs)
def test_psh_marks_exactly_the_segments_that_carry_the_end_of_a_write(params):
    """RFC 9293 §3.9.1.1 / Linux ``tcp_push``: a data segment has PSH when it carries the
    last byte of a ``send()`` — every first transmission and retransmission alike — and
    no other data segment has it."""
    trace = _run(params)
    isn = {"client": trace.params["isn_client"], "server": trace.params["isn_server"]}
    for who in ("client", "server"):
        ends, total = set(), 0
        for e in trace.app_events:
            if e.endpoint == who and e.action == "send" and e.nbytes:
                total += e.nbytes
                ends.add(total)  # relative sequence number after the write's last byte
        for seg in trace.segments:
            if seg.src != who or not seg.len or "RST" in seg.flags:
                continue
            start = (seg.seq - isn[who] - 1) % 2**32
            carries_an_end = any(start < end <= start + seg.len for end in ends)
            assert ("PSH" in seg.flags) == carries_an_end, (who, seg.label(), sorted(ends))
