"""packetdrill scripts run against the model: the corpus in tests/drill, the CLI, and
properties of the language and the matching.

* ``tests/drill/*.pkt`` must pass;
* ``tests/drill/fail/*.pkt`` must fail at the line marked ``// <- fails here`` with the
  message in its first line (``// expect: …``);
* ``tests/drill/bad/*.pkt`` must be refused (exit 2) with that line and message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tcpbook
from tcpbook import ParameterError, Trace, drill
from tcpbook.cli import main
from tcpbook.packetdrill import ScriptSyntaxError, parse
from tcpbook.packetdrill.script import Packet, TcpOption

DRILL = Path(__file__).parent / "drill"
PASSING = sorted(DRILL.glob("*.pkt"))
FAILING = sorted((DRILL / "fail").glob("*.pkt"))
BAD = sorted((DRILL / "bad").glob("*.pkt"))
SCHEMA = json.loads((Path(tcpbook.__file__).parent / "data" / "trace-schema.json").read_text())
MARK = "// <- fails here"


def expectation(path: Path) -> tuple[int, str]:
    """(the marked line, the expected message) of a fail/ or bad/ script."""
    lines = path.read_text().splitlines()
    header = re.fullmatch(r"// expect: (.+)", lines[0])
    assert header, f"{path.name}: first line must be '// expect: MESSAGE'"
    marked = [number for number, line in enumerate(lines, 1) if MARK in line]
    assert len(marked) == 1, f"{path.name}: exactly one line must be marked {MARK!r}"
    return marked[0], header.group(1)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the corpus -------------------------------------------------------------------------------


def test_the_corpus_covers_what_the_issue_asks_for():
    names = {p.stem for p in PASSING}
    for topic in ("active-open", "passive-open", "active-close", "passive-close", "simultaneous-close", "simultaneous-open",
                  "shutdown-wr", "shutdown-rd", "shutdown-rdwr", "rst-", "time-wait", "syn-retransmit", "data-retransmit",
                  "keepalive", "user-timeout"):
        assert any(topic in name for name in names), topic
    assert len(FAILING) >= 8 and len(BAD) >= 10


@pytest.mark.parametrize("path", PASSING, ids=lambda p: p.stem)
def test_every_corpus_script_passes(path):
    result = drill(path)
    assert result.failure is None, result.failure and result.failure.message
    assert result.passed and result.exit_status == 0
    expected_lines = sum(1 for e in result.script.events if str(e.action).startswith(">"))
    assert result.matched == expected_lines > 0
    assert result.unchecked == []  # every segment the model sent was described by a > line
    assert result.trace.outcome.stats["verdict"] == "pass"


@pytest.mark.parametrize("path", FAILING, ids=lambda p: p.stem)
def test_every_wrong_variant_fails_at_its_line_with_its_message(path):
    line, message = expectation(path)
    result = drill(path)
    assert not result.passed and result.exit_status == 1
    assert result.failure is not None
    assert result.failure.line == line, result.failure.message
    assert message in result.failure.message
    assert MARK in result.failure.text  # the report quotes the script's line
    assert result.trace.outcome.stats["failure"]["line"] == line


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_every_bad_script_is_refused_with_its_line(path, capsys):
    line, message = expectation(path)
    with pytest.raises(ScriptSyntaxError) as info:
        drill(path)
    assert info.value.line == line and message in info.value.reason
    code, out, err = run_cli(capsys, "drill", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{path}:{line}: " in err and message in err


# -- what the runs show -------------------------------------------------------------------------


def states_of(result) -> list[str]:
    """The connection's states in order (a self-loop such as TIME-WAIT's restart counted once)."""
    out: list[str] = []
    for e in result.trace.state_changes:
        if e.peer is not None and (not out or out[-1] != e.state):
            out.append(str(e.state))
    return out


def test_the_close_paths_walk_the_states_rfc_9293_names():
    assert states_of(drill(DRILL / "active-close-time-wait.pkt"))[-4:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert states_of(drill(DRILL / "passive-close.pkt"))[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert states_of(drill(DRILL / "simultaneous-close.pkt"))[-3:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT"]
    assert "SYN-RECEIVED" in states_of(drill(DRILL / "simultaneous-open.pkt"))


def test_time_wait_lasts_sixty_seconds():
    result = drill(DRILL / "active-close-time-wait.pkt")
    entered = [e.t for e in result.trace.state_changes if e.state == "TIME-WAIT" and e.old != "TIME-WAIT"]
    left = [e.t for e in result.trace.state_changes if e.old == "TIME-WAIT" and e.state != "TIME-WAIT"]
    assert len(entered) == 1 and len(left) == 1
    # the retransmitted FIN one second in restarts the 60 s timer (tcp_timewait_state_process)
    assert left[0] - entered[0] == pytest.approx(61.0)


def test_the_report_lists_options_not_checked_and_strict_options_fails_on_them():
    result = drill(DRILL / "active-open.pkt")
    assert result.passed
    assert {option for _, option in result.ignored_options} == {"sackOK (SACK permitted)", "TS (timestamps)", "nop (padding)",
                                                                 "wscale (window scaling)"}
    assert "TCP options not modelled, not checked: sackOK" in result.to_text()
    strict = drill(DRILL / "active-open.pkt", strict_options=True)
    assert not strict.passed and strict.failure.field == "option sackOK" and strict.failure.line == 6


def test_shell_commands_and_options_in_a_script_are_reported_as_skipped():
    result = drill("--tolerance_usecs=10000\n--ip_version=ipv4\n`sysctl -q net.ipv4.tcp_syn_retries=2`\n"
                   "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 `echo hello`\n+0 close(3) = 0\n")
    assert result.passed
    assert result.trace.params["tolerance_usecs"] == 10000
    skipped = dict(result.skipped)
    assert "ip_version" in skipped[2] and "sysctl" in skipped[3] and "echo hello" in skipped[5]
    assert "skipped line 3: shell command, not run" in result.to_text()


def test_the_peers_mss_limits_our_segments():
    script = (DRILL / "passive-open.pkt").read_text()
    script = script.replace("write(4, ..., 1000) = 1000", "write(4, ..., 1001) = 1001").replace("> P. 1:1001(1000)", "> . 1:1002(1001)")  # a full segment: no PSH
    result = drill(script)
    assert not result.passed and result.failure.field == "payload"
    assert (result.failure.expected, result.failure.actual) == ("1001 bytes", "1000 bytes")


def test_sysctl_like_overrides_change_the_stack_under_test():
    # classic exponential SYN backoff without linear timeouts: SYNs at 0, 1, 3 s; ETIMEDOUT at 7 s
    script = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_TCP, TCP_SYNCNT, [2], 4) = 0
+0...7 connect(3, ..., ...) = -1 ETIMEDOUT (Connection timed out)
+0 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+2 > S 0:0(0) <...>
+4 close(3) = 0
"""
    assert drill(script, linear_syn_timeouts=0).passed
    assert not drill(script).passed  # the linux default keeps the first timeouts at 1 s


# -- the command line -----------------------------------------------------------------------------


def test_cli_pass_prints_the_run_and_the_verdict(capsys):
    code, out, err = run_cli(capsys, "drill", str(DRILL / "passive-close.pkt"))
    assert code == 0 and err == ""
    assert "server(client): ESTABLISHED -> CLOSE-WAIT (rcv FIN)" in out
    assert out.rstrip().splitlines()[-1].startswith(f"# {DRILL / 'passive-close.pkt'}: PASS")


def test_cli_json_is_a_trace_document(capsys):
    code, out, _ = run_cli(capsys, "drill", str(DRILL / "rst-refused.pkt"), "--json")
    assert code == 0
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    trace = Trace.from_json(out)
    assert trace.outcome.stats["verdict"] == "pass" and trace.params["scenario"] == "drill"
    assert any(e.state == "CLOSED" for e in trace.state_changes)


def test_cli_svg_draws_a_passing_script(capsys, tmp_path):
    prefix = tmp_path / "open"
    code, out, _ = run_cli(capsys, "drill", str(DRILL / "simultaneous-open.pkt"), "--svg", str(prefix))
    assert code == 0
    state, ladder = ((tmp_path / f"open-{picture}.svg").read_text() for picture in ("state", "ladder"))
    assert "<svg" in state and "<svg" in ladder
    assert "SYN_RECEIVED" in state and "SYN-RECEIVED" in ladder  # the simultaneous open's state, in both pictures


def test_cli_mismatch_exits_1_with_one_line_naming_the_script_line(capsys):
    path = DRILL / "fail" / "wrong-ack.pkt"
    line, message = expectation(path)
    code, out, err = run_cli(capsys, "drill", str(path))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"tcpbook: drill: {path}:{line}: {message}")
    assert f"FAIL — {message}" in out and "LISTEN -> SYN-RECEIVED" in out  # the trace up to the mismatch


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["drill", "/nonexistent/x.pkt"], "script"),
        (["drill", "tests/drill/active-open.pkt", "--tolerance-usecs", "x"], "tolerance-usecs"),
        (["drill", "tests/drill/active-open.pkt", "--syn-retries", "-3"], "syn_retries"),
        (["drill", "tests/drill/active-open.pkt", "--svg", "/nonexistent/dir/p"], "svg"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1


def test_api_refuses_bad_arguments():
    with pytest.raises(ParameterError, match="tolerance_usecs"):
        drill(DRILL / "active-open.pkt", tolerance_usecs=-1)
    with pytest.raises(ParameterError, match="strict_options"):
        drill(DRILL / "active-open.pkt", strict_options="yes")
    with pytest.raises(ParameterError, match="path_or_text"):
        drill(42)
    with pytest.raises(ParameterError, match="syn_retries"):
        drill(DRILL / "active-open.pkt", syn_retries=-1)


# -- properties -------------------------------------------------------------------------------------


def test_same_script_same_trace():
    for path in PASSING:
        assert drill(path).trace.to_json() == drill(path).trace.to_json(), path.name


SYN_TIMING = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+{at} > S 0:0(0) <...>
"""


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=500_000, max_value=1_500_000))
def test_timing_passes_exactly_within_packetdrills_tolerance(at_us):
    """The first SYN retransmission leaves at 1 s.  A line expecting it at ``at`` passes
    iff |at - 1 s| <= max(4 ms, 12.5 % of at) (packetdrill verify_time)."""
    tolerance = max(4000, int(0.125 * at_us))
    assume(abs(abs(at_us - 1_000_000) - tolerance) > 2)  # not on the boundary's rounding
    result = drill(SYN_TIMING.format(at=f"{at_us / 1e6:.6f}"))
    assert result.passed == (abs(at_us - 1_000_000) <= tolerance)
    if not result.passed:
        assert result.failure.field == "time" and result.failure.line == 5


EXCHANGE = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S {k}:{k}(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack {k1} <mss 1460>
+.1 < . {k1}:{k1}(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 < P. {k1}:{k201}(200) ack 1 win 65535
+0 > . 1:1(0) ack {k201}
+0 read(4, ..., 500) = 200
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack {k201}
+.1 < F. {k201}:{k201}(0) ack 101 win 65535
+.04~+.05 > . 101:101(0) ack {k202}
+0 close(4) = 0
+0 > F. 101:101(0) ack {k202}
+.1 < . {k202}:{k202}(0) ack 102 win 65535
"""


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_the_peers_isn_does_not_matter(k):
    """Any initial sequence number of the scripted peer, up to wrapping around 2**32 in
    the middle of the exchange, gives the same conversation."""
    def s(n: int) -> int:
        return (k + n) % 2**32

    script = EXCHANGE.format(k=k, k1=s(1), k201=s(201), k202=s(202))
    try:
        result = drill(script)
    except ScriptSyntaxError as exc:
        # a segment whose start:end crosses 2**32 cannot be written (end = start + length)
        assert "inconsistent TCP sequence numbers" in exc.reason and s(1) > s(201)
        return
    assert result.passed, result.failure and result.failure.message
    assert states_of(result)[-1] == "CLOSED"


flags = st.sampled_from(["S", "S.", ".", "P.", "F.", "FP.", "R", "R.", "-", "SE", "E.", "W."])
options = st.lists(
    st.one_of(
        st.builds(lambda v: TcpOption("mss", (v,)), st.integers(0, 0xFFFF)),
        st.just(TcpOption("nop")),
        st.just(TcpOption("sackOK")),
        st.builds(lambda v: TcpOption("wscale", (v,)), st.integers(0, 14)),
        st.builds(lambda a, b: TcpOption("TS", (a, b)), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(st.booleans(), flags, st.integers(0, 2**32 - 70000), st.integers(0, 0xFFFF), st.none() | st.integers(0, 2**32 - 1),
       st.none() | st.integers(0, 0xFFFF), st.none() | options)
def test_a_packet_line_prints_as_it_parses(inbound, flag_word, seq, length, ack, window, opts):
    if inbound:
        window = window if window is not None else 0
        opts = opts if opts is not None else ()
    packet = Packet(inbound, flag_word, seq, seq + length, ack, window, tuple(opts) if opts is not None else None)
    script = parse(f"0 {packet}\n")
    assert script.events[0].action == packet


hostile_words = st.sampled_from([
    "0", "+0", "+.1", "*", "~", "+1~+2", "...", "<", ">", "S", "S.", ".", "F.", "R", "P.", "0:0(0)", "1:11(10)", "ack", "win",
    "65535", "<mss 1460>", "<...>", "socket(..., SOCK_STREAM, IPPROTO_TCP)", "= 3", "= 4", "= -1", "= 0", "EAGAIN",
    "connect(3, ..., ...)", "listen(3, 1)", "accept(3, ..., ...)", "write(3, ..., 10)", "read(4, ..., 10)", "close(3)",
    "shutdown(3, SHUT_WR)", "fcntl(3, F_SETFL, O_NONBLOCK)", "setsockopt(3, SOL_TCP, TCP_SYNCNT, [1], 4)", "(", ")", "[",
    "{", "}", "//", "/*", "*/", "`ls`", "%{ x }%", "\n", "\n", "\n", "-1", "4294967296", "0x10", '"s"', "+99999",
    "getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4])", "+0...1", "bind(3, ..., ...)", "TS val 1 ecr 2", "sack 1:2",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.lists(hostile_words, max_size=60).map(" ".join)))
def test_hostile_scripts_never_crash(text):
    """Whatever the text, drill() returns a result or raises ScriptSyntaxError — nothing else."""
    text = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" + text + "\n"
    try:
        result = drill(text)
    except ScriptSyntaxError as exc:
        assert exc.line >= 1 and "\n" not in str(exc)
        return
    assert result.passed == (result.failure is None)
    assert result.trace.to_json()  # the record of any run can be written
    "\n".join(result.summary())


@pytest.mark.parametrize("name", ["passive-open", "simultaneous-close", "rst-unread-data"])
def test_the_ladder_of_a_script_never_draws_a_segment_arriving_before_it_left(name):
    """The script's peer has no link delay: each segment arrives the instant it is sent.
    The ladder must still draw every arrow level or downwards, each below what caused it."""
    from tcpbook.render.ladderdiagram import ladder_scene

    scene = ladder_scene(drill(DRILL / f"{name}.pkt").trace)
    arrows = [shape for shape in scene.shapes if shape.kind == "arrow" and (shape.gid or "").startswith("segment-")]
    assert len(arrows) == len(scene.registry["arrows"]) > 0
    for arrow in arrows:
        assert arrow.ys[1] >= arrow.ys[0] - 1e-9, arrow.gid
    starts = [arrow.ys[0] for arrow in sorted(arrows, key=lambda a: int(a.gid.split("-")[1]))]
    assert starts == sorted(starts)  # in the trace's order, top to bottom


def test_shutdown_of_a_listener_stops_it_listening():
    """inet_shutdown on a LISTEN socket: SHUT_WR does nothing, SHUT_RD closes the listener,
    so the next SYN finds no socket and is answered with a RST."""
    script = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 shutdown(3, SHUT_WR) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0 < R 1:1(0) win 0
+0 shutdown(3, SHUT_RD) = 0
+.1 < S 100:100(0) win 65535 <mss 1460>
+0 > R. 0:0(0) ack 101
"""
    result = drill(script)
    assert result.passed, result.failure and result.failure.message
