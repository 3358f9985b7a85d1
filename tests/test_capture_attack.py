"""The attack suite for captures and pcap export: hostile bytes and hostile arguments.

Every example must end in *a sane Trace* (valid against the JSON schema, finite times in
order, only arcs of the state diagram, no bytes delivered that were never sent, no
uncaptured bytes claimed without a warning) or in a ``CaptureError``/``ParameterError``
whose message is one line.  Nothing else: no other exception, no hang, no unbounded
memory.

The reading and writing happen in a worker process with hard limits set by
``resource.setrlimit`` (2 GiB of address space, CPU seconds) and a generous per-example
alarm as a hang guard (30 s for files of a few KB; a correct reader takes milliseconds).
A worker that dies or hangs fails the test with the example that did it.

Inputs: the shipped kernel captures and the real-tool fixtures, mutated by bit flips,
truncation, splices of two captures, overwritten length/time fields and inserted bytes;
and ``write_pcap`` called with mutated traces, odd vantages and odd paths.
"""

from __future__ import annotations

import json
import pathlib
import tempfile

import capture_factory as factory
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limited_worker import LimitedWorker

from tcpbook import simulate

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS_FILES = sorted((ROOT / "tcpbook" / "data" / "captures").glob("*.pcap")) + sorted(
    (ROOT / "tests" / "data" / "captures").glob("*.pcap")
)
MEMORY_LIMIT = 2 * 2**30
HANG_GUARD_S = 30

WORKER_BODY = r'''
import json, math, warnings, pathlib
import jsonschema
import tcpbook
from tcpbook.capture import CaptureError, CaptureWarning, read_capture
from tcpbook.errors import ParameterError, TraceFormatError
from tcpbook.events import EVENT_TYPES, Outcome
from tcpbook.pcap import write_pcap
from tcpbook.table import State, find_arc
from tcpbook.trace import Trace
warnings.simplefilter("ignore", CaptureWarning)
SCHEMA = json.loads((pathlib.Path(tcpbook.__file__).parent / "data" / "trace-schema.json").read_text())

def reject(name):
    raise ValueError("not JSON: " + name)

def sane(trace):
    problems = []
    doc = json.loads(trace.to_json(), parse_constant=reject)  # NaN/Infinity are not JSON
    jsonschema.validate(doc, SCHEMA)
    times = [e.t for e in trace.events]
    if any(not math.isfinite(t) or t < 0 for t in times) or times != sorted(times):
        problems.append("event times not finite, >= 0 and in order")
    for c in trace.state_changes:
        find_arc(State(c.old), c.cause, State(c.state))
    names = set(trace.endpoints)
    if not names <= {"client", "server", "self"} or any(s.src not in names or s.dst not in names for s in trace.segments):
        problems.append(f"endpoints {sorted(names)}")
    outcomes = trace.outcome.endpoints
    warned = " ".join(trace.params.get("warnings", []))
    for name, o in outcomes.items():
        peer = {"client": "server", "server": "client", "self": "self"}[name]
        if outcomes[peer].bytes_delivered > o.bytes_sent:
            problems.append(f"{peer} delivered {outcomes[peer].bytes_delivered} > {o.bytes_sent} sent by {name}")
        seen = sum(s.len for s in trace.segments if s.src == name and not s.drop_reason.startswith("ignored"))
        if o.bytes_sent > seen and "missing" not in warned and "missed" not in warned:
            problems.append(f"{name} claims {o.bytes_sent} bytes sent, {seen} captured, without a warning")
    return problems

def read_one(path):
    try:
        return read_capture(path)
    except CaptureError as exc:
        if "pick one" not in str(exc):
            raise
        return read_capture(path, connection=1)

def unchecked(text):
    """from_json refuses odd values; a trace built in Python may still hold them, so
    write_pcap gets them anyway (its own checks are the test)."""
    doc = json.loads(text)
    events = [EVENT_TYPES[e.pop("type")](**{**e, **({"flags": tuple(e["flags"])} if "flags" in e else {})}) for e in doc["events"]]
    return Trace(doc["params"], events, Outcome.from_dict(doc["outcome"]), tuple(doc["endpoints"]))

def handle(request):
    step = "read"
    try:
        if request["op"] == "read":
            trace = read_one(request["path"])
        else:
            step = "write"
            try:
                trace = Trace.from_json(request["trace"])
            except TraceFormatError:
                trace = unchecked(request["trace"])
            out = write_pcap(trace, request["path"], vantage=request["vantage"])
            step = "read back"
            trace = read_one(out)
        return {"status": "ok", "problems": sane(trace)}
    except (CaptureError, ParameterError, TraceFormatError) as exc:
        return {"status": "refused", "kind": type(exc).__name__, "message": str(exc), "step": step}
'''


@pytest.fixture(scope="module")
def worker():
    w = LimitedWorker(WORKER_BODY, memory=MEMORY_LIMIT, alarm_seconds=HANG_GUARD_S)
    yield w
    w.close()


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as tmp:
        yield pathlib.Path(tmp)


def _multi_section() -> bytes:
    frames = list(factory.bulk_frames(6000, mss=1448))
    return factory.pcapng_section([(1, 6)], [(0, t // 1000, f) for t, f in frames[:6]]) + factory.pcapng_section(
        [(101, 9), (1, 0x80 | 20)], [(i % 2, t if i % 2 == 0 else (t << 20) // 10**9, f[14:] if i % 2 == 0 else f) for i, (t, f) in enumerate(frames[6:])], big_endian=True
    )


CORPUS = [p.read_bytes() for p in CORPUS_FILES] + [_multi_section(), factory.pcap_bytes(factory.bulk_frames(200_000, mss=65495))]
INTERESTING = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65535, 65536, 262144, 0x0A0D0D0A, 0x1A2B3C4D]


def _verdict(answer: dict[str, object]) -> None:
    status = answer["status"]
    if status == "ok":
        assert answer["problems"] == [], answer["problems"]
    elif status == "refused":
        message = str(answer["message"])
        assert message and "\n" not in message, message
    else:
        pytest.fail(f"{status}: {answer.get('traceback') or answer}")


@st.composite
def mutated_captures(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "splice", "set32", "insert"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[position:]
        elif op == "splice":
            other = draw(st.sampled_from(CORPUS))
            data = data[:position] + other[draw(st.integers(0, len(other) - 1)) :]
        elif op == "set32":
            value = draw(st.sampled_from(INTERESTING))
            data[position : position + 4] = value.to_bytes(4, draw(st.sampled_from(["little", "big"])))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=mutated_captures())
def test_mutated_captures_are_understood_or_refused_in_one_line(worker, scratch, data):
    path = scratch / "mutated.pcap"
    path.write_bytes(data)
    _verdict(worker.ask({"op": "read", "path": str(path)}))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_capture_is_sane(worker, path):
    answer = worker.ask({"op": "read", "path": str(path)})
    assert answer["status"] == "ok", answer
    assert answer["problems"] == []


TRACES = {name: simulate(name, **params) for name, params in [("full", {"bytes": 3000, "loss": 0.2, "seed": 2}), ("refused", {}), ("syn-flood", {"attack_duration": 0.5, "clients": 1})]}
ODD_NUMBERS = st.one_of(
    st.sampled_from([float("inf"), float("-inf"), float("nan"), -1, -1e-9, 2**32, 2**63, 3e9, 1e300, 0]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def pcap_arguments(draw: st.DrawFn) -> dict[str, object]:
    """A scenario's trace with a few segment fields set to odd values, a vantage, a file name."""
    name = draw(st.sampled_from(sorted(TRACES)))
    count = sum(1 for e in TRACES[name].events if e.type == "segment")
    fields = ["t", "arrival", "src_port", "dst_port", "len", "seq", "ack", "window", "mss"]
    changes = draw(st.lists(st.tuples(st.integers(0, count - 1), st.sampled_from(fields), ODD_NUMBERS), max_size=3))
    vantage = draw(st.one_of(st.sampled_from(["wire", "client", "server", "router", ""]), st.text(max_size=8)))
    filename = draw(st.one_of(st.sampled_from(["x.pcap", "ünï cøde.pcap", "sub/x.pcap", ".", "..", ""]), st.text(max_size=12)))
    return {"scenario": name, "changes": changes, "vantage": vantage, "filename": filename}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=pcap_arguments())
def test_write_pcap_arguments_give_a_capture_or_one_line(worker, scratch, args):
    doc = json.loads(TRACES[args["scenario"]].to_json())
    segments = [e for e in doc["events"] if e["type"] == "segment"]
    for index, field, value in args["changes"]:
        segments[index][field] = value
    folder = scratch / "out"
    folder.mkdir(exist_ok=True)
    for leftover in folder.iterdir():
        if leftover.is_file():
            leftover.unlink()
    answer = worker.ask({"op": "write", "trace": json.dumps(doc), "vantage": args["vantage"], "path": str(folder / args["filename"])})
    _verdict(answer)
    if answer["status"] == "refused" and answer["step"] == "write":
        assert not [p for p in folder.iterdir() if p.is_file()], "a failed write left a file behind"


def test_found_by_fuzzing_an_mss_option_of_the_wrong_length(worker, scratch):
    """A flipped bit made an MSS option 3 bytes long: int() of its hex was a ValueError."""
    frames = list(factory.bulk_frames(1000))
    syn = bytearray(frames[0][1])
    syn[14 + 20 + 20 + 1] = 3  # the MSS option's length byte: 4 -> 3
    frames[0] = (frames[0][0], bytes(syn))
    path = scratch / "bad-mss.pcap"
    path.write_bytes(factory.pcap_bytes(frames))
    answer = worker.ask({"op": "read", "path": str(path)})
    assert answer == {"status": "ok", "problems": []}
