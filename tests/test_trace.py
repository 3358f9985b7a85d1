"""The trace: views, JSON round trip, schema, determinism."""

import json
from pathlib import Path

import jsonschema
import pytest

import tcpbook
from tcpbook import simulate
from tcpbook.trace import Trace

SCHEMA = json.loads((Path(tcpbook.__file__).parent / "data" / "trace-schema.json").read_text())


@pytest.mark.parametrize("name", sorted(tcpbook.SCENARIOS))
def test_json_of_every_scenario_validates_against_the_schema(name):
    params = {"attack_duration": 3.0, "clients": 2} if name == "syn-flood" else {}
    doc = json.loads(simulate(name, loss=0.1, seed=2, **params).to_json())
    jsonschema.validate(doc, SCHEMA)


def test_the_schema_speaks_the_vocabulary():
    from tcpbook.vocabulary import AppAction, Event, NoteKind, Queue, Timer, TimerAction

    defs = SCHEMA["$defs"]
    assert defs["state"]["properties"]["cause"]["enum"] == [e.value for e in Event]
    assert defs["timer"]["properties"]["timer"]["enum"] == [t.value for t in Timer]
    assert defs["timer"]["properties"]["action"]["enum"] == [a.value for a in TimerAction]
    assert defs["app"]["properties"]["action"]["enum"] == [a.value for a in AppAction]
    assert defs["note"]["properties"]["kind"]["enum"] == [k.value for k in NoteKind]
    assert defs["note"]["properties"]["queue"]["enum"] == [q.value for q in Queue]


def test_notes_carry_typed_facts_not_just_text():
    t = simulate("syn-flood", attack_rate=50, attack_duration=10, clients=12, client_interval=0.5, syncookies=False, backlog=8)
    refused = [n for n in t.notes if n.kind == "syn-dropped"]
    assert refused and all(n.queue == "syn" for n in refused)
    # the sender is a field: client-1 is never confused with client-10
    assert {n.peer for n in refused if n.peer.startswith("client-1")} <= {"client-1", "client-10", "client-11", "client-12"}
    assert all(f"SYN from {n.peer} dropped" in n.text for n in refused)
    doc = json.loads(t.to_json())
    note = next(e for e in doc["events"] if e["type"] == "note" and e["kind"] == "syn-dropped")
    assert set(note) == {"type", "t", "endpoint", "text", "kind", "peer", "queue"}


def test_json_round_trip_is_exact():
    t = simulate("full", loss=0.2, seed=7)
    again = Trace.from_json(t.to_json())
    assert again.to_json() == t.to_json()
    assert again.segments == t.segments


def test_views():
    t = simulate("close")
    assert t.state_path("client") == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert t.state_at("client", 0.05) == "SYN-SENT"
    assert t.state_at("client", 0.3) == "FIN-WAIT-2"
    assert t.state_at("server", 0.02) == "LISTEN"
    assert t.main_peer("server") == "client"
    assert all(e.type == "segment" for e in t.segments)
    fired = [e for e in t.timers if e.action == "fired"]
    assert [(e.endpoint, e.timer) for e in fired] == [("server", "delayed-ack"), ("client", "time-wait")]


def test_outcome_digests():
    t = simulate("full", bytes=10_000)
    client, server = t.outcome.endpoints["client"], t.outcome.endpoints["server"]
    assert client.md5_sent == server.md5_delivered and t.outcome.digest_match
    assert t.outcome.bytes_sent == t.outcome.bytes_delivered == 10_000


def test_crash_after_send_loses_what_was_not_yet_acknowledged():
    t = simulate("full", bytes=200_000, crash=True)
    out = t.outcome
    assert out.endpoints["client"].bytes_sent == 200_000
    assert out.endpoints["server"].bytes_delivered < 200_000
    assert not out.digest_match
    assert out.stats["crashed"] == ["client"]


def test_digest_identifies_identical_runs():
    assert simulate("full", loss=0.3, seed=11).digest() == simulate("full", loss=0.3, seed=11).digest()
    assert simulate("full", loss=0.3, seed=11).digest() != simulate("full", loss=0.3, seed=12).digest()


def test_text_output_is_tcpdump_like():
    text = simulate("handshake", drop=["server:SYN-ACK:1"]).to_text()
    # (a 65535-byte buffer offers 44 whole 1460-byte segments: Linux tcp_select_initial_window)
    assert "0.000000 client > server: SYN seq=100 win=64240 mss=1460 len=0\n" in text
    assert "server > client: SYN,ACK seq=300 ack=101 win=64240 mss=1460 len=0 [dropped: rule server:SYN-ACK:1]" in text
    assert "1.000000 client > server: SYN seq=100 win=64240 mss=1460 len=0 [retransmission]" in text
    assert "client(server): SYN-SENT -> ESTABLISHED (rcv SYN,ACK)" in text
    assert "timer rto set" not in text
    assert "timer rto set" in simulate("handshake").to_text(timers=True)
