"""The command line: a stable contract people script against."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import tcpbook
from tcpbook.cli import main

SCHEMA = json.loads((Path(tcpbook.__file__).parent / "data" / "trace-schema.json").read_text())


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scenarios_one_line_each(capsys):
    code, out, _ = run(capsys, "scenarios")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(tcpbook.SCENARIOS)
    assert [line.split()[0] for line in lines] == list(tcpbook.SCENARIOS)


def test_run_prints_a_readable_conversation_with_retransmissions(capsys):
    code, out, _ = run(capsys, "run", "full", "--loss", "0.2", "--seed", "7")
    assert code == 0
    assert "client > server: SYN seq=100" in out
    assert "[retransmission]" in out and "[dropped: loss]" in out
    assert "ESTABLISHED" in out and "TIME-WAIT" in out
    assert "digests match" in out


def test_run_cwnd_prints_the_congestion_window_as_it_changes(capsys):
    code, out, _ = run(capsys, "run", "transfer", "--bytes", "60000", "--drop", "client:DATA:15", "--cc", "reno", "--cwnd")
    assert code == 0
    assert "client(server): cwnd 11 ssthresh infinite (slow start)" in out
    assert "(fast retransmit)" in out and "(recovery over)" in out
    code, out, _ = run(capsys, "run", "transfer", "--bytes", "60000")
    assert code == 0 and ": cwnd " not in out


def test_run_json_validates_and_matches_the_python_api(capsys):
    code, out, _ = run(capsys, "run", "handshake", "--drop", "client:ACK:1", "--drop", "server:SYN-ACK:2", "--json")
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert code == 0
    assert doc["params"]["drop"] == ["client:ACK:1", "server:SYN-ACK:2"]
    expected = tcpbook.simulate("handshake", drop=["client:ACK:1", "server:SYN-ACK:2"]).to_dict()
    assert doc == json.loads(json.dumps(expected))


def test_every_common_flag(capsys):
    code, out, _ = run(
        capsys, "run", "full", "--profile", "rfc", "--loss", "0.1", "--seed", "3", "--rtt", "0.3",
        "--isn-client", "1000", "--isn-server", "2000", "--syn-retries", "3", "--synack-retries", "2",
        "--mss", "536", "--bytes", "3000", "--time-wait", "5", "--delayed-ack", "true", "--json",
    )
    params = json.loads(out)["params"]
    assert code == 0
    assert (params["profile"], params["loss"], params["seed"], params["rtt"]) == ("rfc", 0.1, 3, 0.3)
    assert (params["isn_client"], params["isn_server"], params["syn_retries"], params["synack_retries"]) == (1000, 2000, 3, 2)
    assert (params["mss"], params["bytes"], params["time_wait"], params["delayed_ack"]) == (536, 3000, 5.0, True)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["run", "full", "--loss", "1.5"], "loss=1.5"),
        (["run", "full", "--loss", "abc"], "loss='abc'"),
        (["run", "full", "--syn-retries", "-1"], "syn_retries=-1"),
        (["run", "full", "--rtt", "-0.1"], "rtt=-0.1"),
        (["run", "full", "--mss", "0"], "mss=0"),
        (["run", "full", "--profile", "bsd"], "profile='bsd'"),
        (["run", "nope"], "scenario='nope'"),
        (["run", "full", "--drop", "client:SYNACK"], "drop='client:SYNACK'"),
        (["run", "handshake", "--attack-rate", "5"], "attack_rate"),
        (["run"], "required: scenario"),
        (["fly"], "invalid choice"),
        (["run", "full", "--delayed-ack", "maybe"], "delayed_ack='maybe'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("tcpbook: error: ") and fragment in err


def test_python_dash_m_and_console_script():
    proc = subprocess.run([sys.executable, "-m", "tcpbook", "run", "refused"], capture_output=True, text=True, check=True)
    assert "ECONNREFUSED" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tcpbook", "run", "full", "--loss", "7"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    script = Path(sys.executable).parent / "tcpbook"
    proc = subprocess.run([str(script), "scenarios"], capture_output=True, text=True, check=True)
    assert "syn-flood" in proc.stdout


def test_diagram_writes_identical_svgs_for_identical_runs(capsys, tmp_path):
    out = tmp_path / "run"
    code, printed, _ = run(capsys, "diagram", "handshake", "--drop", "client:ACK:1", "--out", str(out))
    assert code == 0
    state, ladder = tmp_path / "run-state.svg", tmp_path / "run-ladder.svg"
    assert printed.split() == [str(state), str(ladder)]
    assert b"ESTABLISHED" in state.read_bytes() and b"<svg" in ladder.read_bytes()
    first = (state.read_bytes(), ladder.read_bytes())
    run(capsys, "diagram", "handshake", "--drop", "client:ACK:1", "--out", str(out))
    assert (state.read_bytes(), ladder.read_bytes()) == first


def test_diagram_png_of_one_picture(capsys, tmp_path):
    target = tmp_path / "flood.png"
    code, _, _ = run(capsys, "diagram", "syn-flood", "--attack-duration", "2", "--clients", "2", "--picture", "ladder", "--out", str(target), "--format", "png")
    assert code == 0 and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_with_pcap_writes_a_capture_tcpdump_reads(capsys, tmp_path):
    pcap = tmp_path / "close.pcap"
    code, _, _ = run(capsys, "run", "close", "--drop", "client:ACK:2", "--pcap", str(pcap), "--vantage", "client")
    assert code == 0
    proc = subprocess.run(["tcpdump", "-nn", "-r", str(pcap)], capture_output=True, text=True, check=True)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[1:6] == ["IP", "10.0.0.1.40000", ">", "10.0.0.2.80:", "Flags"]
    # at the client: its lost ACK was sent, so it is in the capture; the server's FIN comes twice
    assert sum("Flags [F.]" in line for line in lines) == 3


def test_show_a_shipped_capture(capsys):
    capture = Path(tcpbook.__file__).parent / "data" / "captures" / "data-close.pcap"
    code, out, _ = run(capsys, "show", str(capture), "--relative")
    assert code == 0
    assert "client" in out.splitlines()[0] and "server" in out.splitlines()[0]
    assert "SYN seq=0" in out and "TIME-WAIT" in out


def test_show_rejects_what_is_not_a_capture(capsys, tmp_path):
    bogus = tmp_path / "notes.pcap"
    bogus.write_text("hello")
    code, out, err = run(capsys, "show", str(bogus))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "show", str(tmp_path / "missing.pcap"))
    assert code == 2 and "missing.pcap" in err


class _ClosedAfter:
    """A stdout whose reader goes away after ``n`` characters (`tcpbook run … | head -c n`)."""

    def __init__(self, n):
        self.n, self.written = n, 0

    def write(self, text):
        if self.written + len(text) > self.n:
            raise BrokenPipeError(32, "Broken pipe")
        self.written += len(text)
        return len(text)

    def flush(self):
        pass


def test_a_closed_pipe_ends_the_command_quietly_like_a_unix_tool(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedAfter(100))
    code = main(["run", "full"])
    assert code == 141  # 128 + SIGPIPE, what `yes | head -1` reports
    assert capsys.readouterr().err == ""  # no "Broken pipe" message, no traceback


def test_run_help_lists_the_scenarios_own_parameters_with_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "half-close", "--help"])
    out = capsys.readouterr().out
    assert "--response-bytes" in out and "default 8000" in out
    assert "--attack-rate" not in out  # another scenario's parameter is not listed …
    code, _, err = run(capsys, "run", "half-close", "--attack-rate", "5")
    assert code == 2 and "attack_rate='5'" in err and "half-close" in err  # … and refused clearly


def test_output_paths_are_checked_before_any_work(capsys, tmp_path):
    code, out, err = run(capsys, "run", "full", "--pcap", str(tmp_path / "missing" / "x.pcap"))
    assert code == 2 and out == "" and "does not exist" in err
    code, _, err = run(capsys, "diagram", "full", "--out", str(tmp_path / "nowhere" / "f"))
    assert code == 2 and "does not exist" in err and not list(tmp_path.iterdir())


def test_show_prints_what_a_capture_cannot_show_as_one_line_warnings(capsys):
    fixtures = Path(__file__).parent / "data" / "captures"
    code, out, err = run(capsys, "show", str(fixtures / "one-direction.pcap"))
    assert code == 0 and out
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("tcpbook: warning: ") for line in lines)
    assert any("one direction" in line for line in lines)


def test_show_picks_a_connection_on_a_reused_4_tuple(capsys):
    fixtures = Path(__file__).parent / "data" / "captures"
    code, first, _ = run(capsys, "show", str(fixtures / "reused-4-tuple.pcap"), "--connection", "1", "--json")
    code2, second, _ = run(capsys, "show", str(fixtures / "reused-4-tuple.pcap"), "--connection", "2", "--json")
    assert code == code2 == 0
    assert json.loads(first)["params"]["connection"] == 1 and json.loads(second)["params"]["connection"] == 2
    assert json.loads(first)["events"] != json.loads(second)["events"]
    code, _, err = run(capsys, "show", str(fixtures / "reused-4-tuple.pcap"), "--connection", "9")
    assert code == 2 and len(err.strip().splitlines()) == 1
