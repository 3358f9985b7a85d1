"""The plain-text ladder, the outcome summary and write_diagram."""

from __future__ import annotations

import pytest

from tcpbook import ParameterError, simulate
from tcpbook.render import outcome_facts, outcome_summary, text_ladder, write_diagram


def test_text_ladder_has_a_line_per_segment_and_state_change() -> None:
    trace = simulate("full", loss=0.2, seed=7)
    text = text_ladder(trace)
    lines = text.splitlines()
    for s in trace.segments:
        assert any(s.label() in line for line in lines), s.label()
    arrows = [line for line in lines if "->|" in line or "|<-" in line or "✗" in line]
    assert len(arrows) == len(trace.segments)
    assert sum("✗" in line for line in lines) == sum(s.dropped for s in trace.segments)
    assert sum("↻" in line for line in lines) == sum(s.retransmission for s in trace.segments)
    for name in ("client", "server"):
        for e in trace.states_of(name):
            if e.old != e.state:
                assert any(line.startswith(f"{e.t:9.3f}") and e.state in line for line in lines)


def test_text_ladder_direction_and_width() -> None:
    text = text_ladder(simulate("handshake"), width=90)
    syn = next(line for line in text.splitlines() if "SYN seq=100" in line)
    synack = next(line for line in text.splitlines() if "SYN,ACK" in line)
    assert syn.rstrip().endswith(">|") and "|<" in synack
    assert max(len(line) for line in text.splitlines()) <= 90


def test_lost_segment_stops_half_way_in_text() -> None:
    text = text_ladder(simulate("handshake", drop=["client:SYN:1"]))
    lost = next(line for line in text.splitlines() if "(lost)" in line)
    left, right = lost.index("|"), lost.rindex("|")
    cross = lost.index("✗")
    assert abs(cross - (left + right) / 2) <= 1  # half-way, no arrow head
    assert ">" not in lost


def test_text_ladder_summarises_long_runs_and_floods() -> None:
    trace = simulate("transfer", bytes=500_000)
    text = text_ladder(trace, max_segments=20)
    assert "not shown" in text
    assert sum(1 for line in text.splitlines() if "->|" in line or "|<-" in line) == 20
    flood = text_ladder(simulate("syn-flood", attack_duration=2.0, clients=2), width=120)
    assert "spoofed SYNs" in flood and "spoofed-1" not in flood


def test_text_ladder_is_deterministic() -> None:
    assert text_ladder(simulate("full", loss=0.3, seed=2)) == text_ladder(simulate("full", loss=0.3, seed=2))


def test_outcome_summary_says_how_it_ended() -> None:
    ok = outcome_summary(simulate("full", loss=0.2, seed=7))
    assert "established" in ok and "digests match" in ok and "4,380 of 4,380 bytes" in ok
    facts = outcome_facts(simulate("full", loss=0.2, seed=7))
    assert f"<b>{facts['retransmissions']}</b> retransmitted" in ok
    failed = outcome_summary(simulate("handshake", drop=["client:SYN:*"]))
    assert "not established" in failed and "ETIMEDOUT" in failed
    refused = outcome_summary(simulate("refused"))
    assert "ECONNREFUSED" in refused
    flood = outcome_summary(simulate("syn-flood", attack_duration=3.0, clients=2))
    assert "legitimate clients connected" in flood and "SYN queue full" in flood


def test_write_diagram_picks_the_format_from_the_suffix(tmp_path) -> None:
    trace = simulate("handshake")
    svg = write_diagram(trace, "state", tmp_path / "s.svg")
    png = write_diagram(trace, "ladder", tmp_path / "sub" / "l.png")
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()
    assert png.read_bytes().startswith(b"\x89PNG")
    again = write_diagram(trace, "state", tmp_path / "t.svg")
    assert again.read_bytes() == svg.read_bytes()
    focused = write_diagram(trace, "state", tmp_path / "o.svg", phase="open")
    assert b"FIN-WAIT-1" not in focused.read_bytes()


@pytest.mark.parametrize(
    ("picture", "name", "options"),
    [("state", "x.pdf", {}), ("graph", "x.svg", {}), ("ladder", "x.svg", {"axis": "log"}), ("state", "x.svg", {"phase": 3})],
)
def test_write_diagram_bad_parameters(tmp_path, picture: str, name: str, options: dict) -> None:
    with pytest.raises(ParameterError):
        write_diagram(simulate("handshake"), picture, tmp_path / name, **options)


def test_text_bad_parameters() -> None:
    with pytest.raises(ParameterError):
        text_ladder(simulate("handshake"), width=10)
    with pytest.raises(ParameterError):
        outcome_summary(None)  # type: ignore[arg-type]
