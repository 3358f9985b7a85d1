"""The attack suite for the command line, the Python API and trace documents.

Every example must end in a sane answer — exit 0 with output that parses (JSON without
NaN, valid against the schema), or a Trace — or in a clear refusal: exit 2 with exactly
one line ``tcpbook: error: …`` (a ``TcpbookError`` from the API) and nothing left on
disk.  Nothing else: no traceback, no hang, no unbounded memory.  The CLI and API run in
a worker with hard limits (tests/limited_worker.py): 2 GiB of address space, an alarm of
60 s per example.

The inputs: hypothesis draws a scenario, a few of its parameters (and some that do not
exist) with hostile values — inf, nan, huge, negative, empty, unicode, hex, underscores —
and the output options; the API gets Python values of every wrong type.  The examples of
issue 12 are regression tests at the end.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limited_worker import LimitedWorker

from tcpbook import SCENARIOS, simulate
from tcpbook.errors import TraceFormatError
from tcpbook.trace import Trace

ODD_TEXT = ["inf", "-inf", "nan", "-1", "0", "1", "0.5", "2", "100", "1e308", "1e-320", "-0", "", " ", "ünï", "🙂",
            "true", "false", "none", "3000000000", "9" * 30, "0x10", "1_000", "client:SYN", "clinet:SYN:*", "server:ANY:0"]
ODD_VALUES = [None, [], {}, "x", "", float("inf"), float("-inf"), float("nan"), -1, 0, 1, 2**70, -(2**70), True, 1.5,
              b"x", ("client:SYN",), ["server:RST:*"], "linux", 1e-300]

WORKER_BODY = r'''
import contextlib, io, json, pathlib
import jsonschema
import tcpbook
from tcpbook import simulate
from tcpbook.cli import main
from tcpbook.errors import TcpbookError
SCHEMA = json.loads((pathlib.Path(tcpbook.__file__).parent / "data" / "trace-schema.json").read_text())

def reject(name):
    raise ValueError("not JSON: " + name)

def handle(request):
    if request["op"] == "cli":
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(request["argv"])
            except SystemExit as exc:  # argparse's own exits (--help, unknown flags)
                code = exc.code
        text = out.getvalue()
        problems = []
        if code == 0 and "--json" in request["argv"]:
            jsonschema.validate(json.loads(text, parse_constant=reject), SCHEMA)
        return {"status": "done", "code": code, "stdout": text[-300:], "stdout_len": len(text), "stderr": err.getvalue()}
    # op == "api": the values arrive as their repr, rebuilt here
    params = {k: eval(v, {"inf": float("inf"), "nan": float("nan")}) for k, v in request["params"].items()}
    try:
        trace = simulate(request["scenario"], **params)
    except TcpbookError as exc:
        return {"status": "refused", "message": str(exc), "kind": type(exc).__name__}
    json.loads(trace.to_json(), parse_constant=reject)
    return {"status": "ok", "events": len(trace.events)}
'''


@pytest.fixture(scope="module")
def worker():
    w = LimitedWorker(WORKER_BODY, alarm_seconds=60)
    yield w
    w.close()


def _cli_verdict(answer: dict, pcap: pathlib.Path | None = None) -> None:
    assert answer["status"] == "done", answer.get("traceback") or answer
    code, err = answer["code"], answer["stderr"]
    if code == 0:
        assert answer["stdout_len"] > 0 or "--pcap" in str(answer)
        return
    assert code == 2, answer
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcpbook: error: "), err
    if pcap is not None:
        assert not pcap.exists() and not list(pcap.parent.glob(pcap.name + "*")), "a failed run left a file behind"


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@st.composite
def cli_runs(draw: st.DrawFn, tmp: pathlib.Path) -> tuple[list[str], pathlib.Path | None]:
    scenario = draw(st.sampled_from(sorted(SCENARIOS)))
    names = [p.name for p in SCENARIOS[scenario].params if p.name != "drop"] + ["drop", "nonsense"]
    argv = ["run", scenario]
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        argv += [_flag(name), draw(st.sampled_from(ODD_TEXT))]
    argv += draw(st.sampled_from([[], ["--json"], ["--timers", "--cwnd"]]))
    pcap = None
    if draw(st.booleans()):
        pcap = tmp / draw(st.sampled_from(["x.pcap", "no/such/dir/x.pcap", "ünï.pcap"]))
        argv += ["--pcap", str(pcap), "--vantage", draw(st.sampled_from(["wire", "client", "server"]))]
    return argv, pcap


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_command_lines_exit_0_or_2_with_one_line(worker, tmp_path, data):
    argv, pcap = data.draw(cli_runs(tmp_path))
    if pcap is not None and pcap.exists():
        pcap.unlink()
    answer = worker.ask({"op": "cli", "argv": argv})
    if answer.get("code") == 0 and pcap is not None:
        assert pcap.stat().st_size >= 24  # a pcap: its header, and the packets its vantage saw (maybe none)
        pcap.unlink()
    else:
        _cli_verdict(answer, pcap)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=st.sampled_from(sorted(SCENARIOS)), data=st.data())
def test_hostile_api_values_give_a_trace_or_a_tcpbook_error(worker, scenario, data):
    names = [p.name for p in SCENARIOS[scenario].params] + ["nonsense", "Loss"]
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    params = {name: repr(data.draw(st.sampled_from(ODD_VALUES))) for name in chosen}
    answer = worker.ask({"op": "api", "scenario": scenario, "params": params})
    assert answer["status"] in ("ok", "refused"), answer.get("traceback") or answer
    if answer["status"] == "refused":
        assert answer["message"] and "\n" not in answer["message"]


TRACE = simulate("full", loss=0.2, seed=3, bytes=3000)
ODD_JSON = [None, [], {}, "x", -1, 1e308, 2**64, True, "NaN", [1, 2]]  # drawn through copy.deepcopy


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_hostile_trace_documents_are_read_or_refused_with_a_reason(data):
    doc = json.loads(TRACE.to_json())
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["top", "event", "outcome"]))
        if where == "top":
            key = data.draw(st.sampled_from(["schema", "params", "events", "outcome", "endpoints"]))
            if data.draw(st.booleans()):
                doc.pop(key, None)
            else:
                doc[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_JSON)))
        elif where == "event" and isinstance(doc.get("events"), list) and doc["events"]:
            event = doc["events"][data.draw(st.integers(0, len(doc["events"]) - 1))]
            if isinstance(event, dict) and event:
                key = data.draw(st.sampled_from(sorted(event) + ["surprise"]))
                event[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_JSON)))
        elif isinstance(doc.get("outcome"), dict):
            doc["outcome"][data.draw(st.sampled_from(["endpoints", "bytes_sent", "stats"]))] = copy.deepcopy(data.draw(st.sampled_from(ODD_JSON)))
    text = json.dumps(doc)
    try:
        trace = Trace.from_json(text)
    except TraceFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    again = json.loads(trace.to_json())
    assert all(math.isfinite(e["t"]) and e["t"] >= 0 for e in again["events"])


# -- the examples of issue 12 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "full", "--rto-max", "inf"], "rto_max=inf is not allowed"),
        (["run", "full", "--rto-max", "0.3"], "rto_initial=1.0 is not allowed: expected a number from rto_min=0.2 to rto_max=0.3"),
        (["run", "full", "--profile", "rfc", "--r2-syn", "inf"], "r2_syn=inf is not allowed"),
        (["run", "full", "--rtt", "inf"], "rtt=inf is not allowed"),
        (["run", "full", "--drop", "clinet:SYN"], "a rule whose SENDER sends in this run: client, server"),
        (["run", "full", "--bytes", "200000001"], "from 0 to 200000000"),
        (["run", "syn-flood", "--attack-rate", "100000", "--attack-duration", "100"], "at most 1000000 SYNs"),
        (["run", "full", "--seed", "1.5"], "an integer from -9223372036854775808 to 9223372036854775807"),
    ],
)
def test_issue_12_bad_inputs_are_one_line_errors(worker, argv, message):
    answer = worker.ask({"op": "cli", "argv": argv})
    _cli_verdict(answer)
    assert answer["code"] == 2 and message in answer["stderr"], answer


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "full", "--rtt", "0", "--loss", "0.2", "--seed", "3"],  # was "cannot schedule before now"
        ["run", "simultaneous-close", "--rtt", "1"],  # left the client in CLOSE-WAIT forever
        # 20,000 spoofed addresses into a pcap: minutes with the old quadratic address table
        ["run", "syn-flood", "--attack-rate", "100000", "--attack-duration", "0.2", "--pcap", "{tmp}/flood.pcap"],
    ],
)
def test_issue_12_runs_that_used_to_fail_now_end_cleanly(worker, tmp_path, argv):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    answer = worker.ask({"op": "cli", "argv": argv})
    assert answer["status"] == "done" and answer["code"] == 0, answer
    if "--pcap" in argv:
        assert (tmp_path / "flood.pcap").stat().st_size > 20_000 * 54


def test_simultaneous_close_on_a_long_path_ends_with_both_sides_closed():
    t = simulate("simultaneous-close", rtt=1)
    assert {o.final_state for o in t.outcome.endpoints.values()} == {"CLOSED"}


@pytest.mark.parametrize(
    "params",
    [{"profile": []}, {"loss": "x"}, {"seed": 2**70}, {"drop": 5}, {"nonsense": 1}, {"rtt": float("nan")}, {"until": float("inf")}],
)
def test_issue_12_api_calls_with_wrong_types_raise_parameter_errors(params):
    from tcpbook.errors import ParameterError

    with pytest.raises(ParameterError) as caught:
        simulate("handshake", **params)
    assert str(caught.value).startswith(f"{next(iter(params))}=")


@pytest.mark.parametrize("text", ["{}", "[]", "null", "nope", '{"schema": "tcpbook-trace/9", "params": {}, "events": [], "outcome": {}}'])
def test_issue_12_trace_from_json_refuses_what_is_not_a_trace(text):
    with pytest.raises(TraceFormatError):
        Trace.from_json(text)


def test_a_run_that_reaches_the_event_cap_is_one_line_from_the_cli(monkeypatch, capsys):
    import tcpbook.network as network
    from tcpbook.cli import main

    monkeypatch.setattr(network, "DEFAULT_MAX_EVENTS", 5)
    assert main(["run", "full"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith("tcpbook: error: the run did not finish within 5 events")
