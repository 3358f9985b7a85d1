"""pcap export: real headers, correct checksums, vantage points, determinism, tcpdump opens it."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from tcpbook import simulate
from tcpbook.errors import ParameterError
from tcpbook.pcap import EPOCH, FILLER, build_packets, endpoint_addresses, visible_segments, write_pcap
from tcpbook.trace import Trace

LOSSY_CLOSE = {"drop": ["client:ACK:*"], "bytes": 3000}


def _tcpdump() -> str:
    path = shutil.which("tcpdump") or ("/usr/sbin/tcpdump" if shutil.which("/usr/sbin/tcpdump") else None)
    if path is None:
        pytest.skip("tcpdump is not installed (make test installs it)")
    return path


@pytest.mark.parametrize("vantage", ["wire", "client", "server"])
@pytest.mark.parametrize(
    ("scenario", "params"),
    [("full", {}), ("close", LOSSY_CLOSE), ("refused", {}), ("transfer", {"loss": 0.2, "seed": 3})],
)
def test_tcpdump_reads_every_packet_with_correct_checksums(tmp_path, scenario, params, vantage):
    trace = simulate(scenario, **params)
    path = write_pcap(trace, tmp_path / "run.pcap", vantage=vantage)
    result = subprocess.run([_tcpdump(), "-r", str(path), "-nn", "-vv"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "Flags [" in line]
    assert len(lines) == len(visible_segments(trace, vantage)) > 0
    assert all("cksum" in line and "(correct)" in line for line in lines), lines
    assert "truncated" not in result.stdout + result.stderr
    assert not re.search(r"\bbad\b", result.stdout.lower())  # "bad cksum"; not a checksum like 0x1bad


def test_headers_carry_the_trace_fields(tmp_path):
    trace = simulate("full", seed=7)
    packets = rdpcap(str(write_pcap(trace, tmp_path / "full.pcap")))
    assert len(packets) == len(trace.segments)
    addresses = {"client": "10.0.0.1", "server": "10.0.0.2"}
    for packet, seg in zip(packets, trace.segments):
        ip, tcp = packet[IP], packet[TCP]
        assert (ip.src, ip.dst) == (addresses[seg.src], addresses[seg.dst])
        assert (tcp.sport, tcp.dport) == (seg.src_port, seg.dst_port)
        assert tcp.seq == seg.seq
        assert tcp.ack == (seg.ack if "ACK" in seg.flags else 0)
        assert tcp.window == seg.window
        names = {"S": "SYN", "F": "FIN", "R": "RST", "P": "PSH", "A": "ACK"}
        assert {names[f] for f in str(tcp.flags)} == set(seg.flags)
        assert len(tcp.payload) == seg.len
        mss = dict(o for o in tcp.options if isinstance(o, tuple)).get("MSS")
        assert mss == (seg.mss if "SYN" in seg.flags else None)
        assert float(packet.time) == pytest.approx(EPOCH + seg.t, abs=1e-6)
        # Scapy recomputes the checksums when they are deleted: they must be what we wrote.
        rebuilt = Ether(bytes(packet))
        del rebuilt[IP].chksum, rebuilt[TCP].chksum
        rebuilt = Ether(bytes(rebuilt))
        assert (rebuilt[IP].chksum, rebuilt[TCP].chksum) == (ip.chksum, tcp.chksum)


def test_payload_is_the_real_bytes_when_they_can_be_proven(tmp_path):
    trace = simulate("transfer", bytes=5000, seed=4)
    packets = rdpcap(str(write_pcap(trace, tmp_path / "t.pcap")))
    stream: dict[int, bytes] = {}
    for packet in packets:
        if packet[IP].src == "10.0.0.1" and len(packet[TCP].payload):
            stream.setdefault(packet[TCP].seq, bytes(packet[TCP].payload))
    data = b"".join(stream[k] for k in sorted(stream))
    assert len(data) == 5000
    assert hashlib.md5(data).hexdigest() == trace.outcome.endpoints["client"].md5_sent


def test_payload_falls_back_to_filler_without_proof():
    trace = simulate("transfer", bytes=3000, seed=4, loss=0.3)
    trace.params = {**trace.params, "seed": "unknown"}  # cannot rebuild: filler, positioned by stream offset
    frames = build_packets(trace)
    data_segments = [(seg, frame) for seg, (_, frame) in zip(trace.segments, frames) if seg.len]
    assert any(seg.retransmission for seg, _ in data_segments)
    for seg, frame in data_segments:
        payload = bytes(Ether(frame)[TCP].payload)
        offset = seg.seq - 101
        expected = (FILLER * 200)[offset % len(FILLER) : offset % len(FILLER) + seg.len]
        assert payload == expected  # so a retransmission carries the same bytes as the original


def test_vantage_decides_what_is_seen_and_when():
    trace = simulate("close", **LOSSY_CLOSE)
    dropped = [s for s in trace.segments if s.dropped]
    assert dropped and all(s.src == "client" for s in dropped)
    wire = visible_segments(trace, "wire")
    client = visible_segments(trace, "client")
    server = visible_segments(trace, "server")
    assert [seg for _, seg in wire] == sorted(trace.segments, key=lambda s: s.t)
    assert all(t == seg.t for t, seg in wire)
    # the client's capture shows its own ACKs (lost later, on the link) ...
    assert all(any(seg is d for _, seg in client) for d in dropped)
    # ... the server's never does, and sees the client's segments at arrival time
    assert not any(seg.dropped for _, seg in server)
    for t, seg in server:
        assert t == (seg.t if seg.src == "server" else seg.arrival)
    for t, seg in client:
        assert t == (seg.t if seg.src == "client" else seg.arrival)
    assert [t for t, _ in server] == sorted(t for t, _ in server)


def test_same_trace_same_bytes(tmp_path):
    one = write_pcap(simulate("full", loss=0.2, seed=7), tmp_path / "a.pcap", vantage="client")
    two = write_pcap(simulate("full", loss=0.2, seed=7), tmp_path / "b.pcap", vantage="client")
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian microsecond pcap


def test_other_endpoints_get_distinct_deterministic_addresses():
    trace = simulate("syn-flood", attack_duration=2.0, clients=3)
    addresses = endpoint_addresses(trace)
    assert addresses["client-1"] != addresses["server"] == "10.0.0.2"
    assert len(set(addresses.values())) == len(addresses)
    assert all(a.startswith("10.0.") and not a.endswith((".0", ".255")) for a in addresses.values())
    assert endpoint_addresses(trace) == addresses


def test_bad_vantage_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="vantage='router'"):
        write_pcap(simulate("handshake"), tmp_path / "x.pcap", vantage="router")


# -- issue 12: bounded, checked before any work, never a partial file -----------------


def test_times_beyond_32_bit_pcap_seconds_fail_before_the_file_is_touched(tmp_path):
    """run full --close-delay 3000000000 --pcap d.pcap was a struct.error and a partial pcap.
    The parameter is now bounded (the next test); a trace from elsewhere (JSON, an
    instructor's edit) can still hold such a time, and the writer refuses it first."""
    trace = simulate("full")
    trace.segments[-1].t = 3_000_000_000.5
    target = tmp_path / "d.pcap"
    target.write_bytes(b"an older capture")
    with pytest.raises(ParameterError, match=r"t=3000000000\.\d+ s.*32-bit seconds") as caught:
        write_pcap(trace, target)
    assert "\n" not in str(caught.value)
    assert target.read_bytes() == b"an older capture"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.pcap"]  # no temporary file left


def test_the_cli_says_it_in_one_line(tmp_path, capsys):
    from tcpbook.cli import main

    assert main(["run", "full", "--close-delay", "3000000000", "--pcap", str(tmp_path / "d.pcap")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "close_delay=" in err and "to 1000000 (s)" in err  # refused before any work
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    import tcpbook.pcap as pcap

    calls = {"n": 0}
    real = pcap._frame

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(pcap, "_frame", failing)
    with pytest.raises(OSError, match="No space left"):
        write_pcap(simulate("full"), tmp_path / "x.pcap")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (lambda d: d / "missing" / "x.pcap", "a file in an existing folder"),
        (lambda d: d, "a file name, not a folder"),
        (lambda d: str(d / "x\0.pcap"), "without NUL"),
        (lambda d: "", "non-empty"),
        (lambda d: 42, "a file path"),
    ],
)
def test_bad_output_paths_are_parameter_errors(tmp_path, path, message):
    with pytest.raises(ParameterError, match=message):
        write_pcap(simulate("handshake"), path(tmp_path))


def test_a_written_file_is_complete_and_named_as_asked(tmp_path):
    out = write_pcap(simulate("full"), tmp_path / "ünïcode capture.pcap")
    assert out == tmp_path / "ünïcode capture.pcap" and [p.name for p in tmp_path.iterdir()] == [out.name]
    assert len(rdpcap(str(out))) == len(simulate("full").segments)


def test_address_table_is_linear_and_reaches_beyond_a_slash_16():
    """syn-flood at 100,000 SYN/s had an O(n^2) name list, and 65,000 names at most."""
    names = tuple(["client", "server"] + [f"spoofed-{i}" for i in range(70_000)])
    trace = Trace(params={}, events=[], outcome=simulate("handshake").outcome, endpoints=names)
    addresses = endpoint_addresses(trace)
    assert len(set(addresses.values())) == len(names)
    assert addresses["spoofed-0"] == "10.0.0.3" and addresses["spoofed-69999"].startswith("10.1.")
    assert not any(a.endswith((".0", ".255")) for a in addresses.values())


def test_a_segment_too_long_for_ipv4_is_refused(tmp_path):
    trace = simulate("handshake")
    seg = trace.segments[0]
    trace.events[trace.events.index(seg)] = dataclasses.replace(seg, len=70_000)
    with pytest.raises(ParameterError, match="len=70000"):
        write_pcap(trace, tmp_path / "x.pcap")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("scenario", "params"), [("full", {"bytes": 5000, "loss": 0.2, "seed": 5}), ("refused", {}), ("syn-flood", {"attack_duration": 1.0, "clients": 2})])
def test_frames_are_the_ones_scapy_builds(scenario, params):
    """The frames are packed by hand; Scapy, building the same fields, gives the same bytes."""
    trace = simulate(scenario, **params)
    addresses = endpoint_addresses(trace)
    for (_, frame), (_, seg) in zip(build_packets(trace), visible_segments(trace)):
        options = [("MSS", seg.mss)] if "SYN" in seg.flags and seg.mss else []
        mine = Ether(frame)
        scapy = (
            Ether(src=mine.src, dst=mine.dst)
            / IP(src=addresses[seg.src], dst=addresses[seg.dst], ttl=64, id=mine[IP].id, flags="DF")
            / TCP(sport=seg.src_port, dport=seg.dst_port, seq=seg.seq % 2**32, ack=seg.ack % 2**32 if "ACK" in seg.flags else 0,
                  flags="".join(f[0] for f in seg.flags), window=min(seg.window, 65535), options=options)
            / bytes(mine[TCP].payload)
        )
        assert bytes(scapy) == frame


def test_a_missing_folder_with_a_newline_in_its_name_is_said_on_one_line(tmp_path):
    """Found by the attack suite: a folder named "\\n" that does not exist was printed
    raw inside the error, so the one-line message took two lines."""
    with pytest.raises(ParameterError) as caught:
        write_pcap(simulate("full"), tmp_path / "out" / "\n" / "x.pcap")
    message = str(caught.value)
    assert "\n" not in message and "does not exist" in message and "\\n" in message
    assert not (tmp_path / "out").exists()
