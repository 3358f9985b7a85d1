#!/usr/bin/env python3
"""Record captures of the running Linux kernel's TCP, in throw-away network namespaces.

Run as root (it creates network namespaces)::

    sudo .venv/bin/python scripts/record_captures.py            # all situations → tcpbook/data/captures/
    sudo .venv/bin/python scripts/record_captures.py --out /tmp/caps refused syn-timeout

The topology is three namespaces joined by two veth pairs, with addresses that exist
only inside them::

    client 10.99.0.1 [c0] ──veth── [r0] router [r1] ──veth── [s0] 10.99.0.2 server

The *router* namespace has no addresses: a small relay (``_relay`` below) copies
Ethernet frames between ``r0`` and ``r1`` with packet sockets, like a switch, and can
drop chosen frames — every SYN to the server ("a peer that never answers"), or the first
final ACK of a close.  This needs nothing but veth and packet sockets, so it works on
kernels and containers without nftables, iptables or tc actions.  ``tcpdump`` runs in
the client namespace on ``c0``, so each file is the client's view (vantage ``client``):
a frame the router drops is still in the capture, as it would be on a real host.

Situations (each becomes ``<name>.pcap``; ``captures.json`` records what the
applications saw, the kernel version and the matching simulator run):

* ``data-close``     connect, send 1000 bytes, close; the server reads to EOF and closes;
* ``syn-timeout``    connect() with ``TCP_SYNCNT`` = 2 to a peer whose SYNs are all
  dropped, until ETIMEDOUT;
* ``refused``        connect() to a port nobody listens on: RST;
* ``lost-final-ack`` the client closes first, the router drops its ACK of the server's
  FIN once, the server retransmits the FIN and the client, in TIME-WAIT, ACKs again.

Namespaces, relay and tcpdump are removed on exit, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tcpbook" / "data" / "captures"
CLIENT_IP, SERVER_IP = "10.99.0.1", "10.99.0.2"
PORT, CLOSED_PORT = 8080, 8081
TCP_SYNCNT = getattr(socket, "TCP_SYNCNT", 7)


@dataclass(frozen=True)
class Situation:
    """One recording: what the programs do, what the router drops, and which simulator
    run shows the same situation (scenario name and parameters)."""

    name: str
    summary: str
    client: list[str]  # arguments of the _client subcommand
    server: list[str] | None  # arguments of the _server subcommand, None: nobody listens
    drop: str = ""  # relay rule: "", "syn" or "final-ack"
    settle: float = 0.5  # seconds to keep capturing after the programs finished
    simulator: dict[str, Any] = field(default_factory=dict)


SITUATIONS: dict[str, Situation] = {
    s.name: s
    for s in (
        Situation(
            "data-close",
            "connect, send 1000 bytes, close; the server reads to end-of-file and closes",
            ["--port", str(PORT), "--send", "1000"],
            ["--port", str(PORT)],
            simulator={"scenario": "full", "bytes": 1000, "close_delay": 0.0},
        ),
        Situation(
            "syn-timeout",
            "connect() with TCP_SYNCNT=2 to a peer that never answers (the router drops every SYN)",
            ["--port", str(PORT), "--syncnt", "2"],
            None,
            drop="syn",
            settle=0.2,
            simulator={"scenario": "handshake", "drop": ["client:SYN:*"], "syn_retries": 2},
        ),
        Situation(
            "refused",
            "connect() to a port with no listener: the kernel answers RST",
            ["--port", str(CLOSED_PORT)],
            ["--port", str(PORT)],
            simulator={"scenario": "refused"},
        ),
        Situation(
            "lost-final-ack",
            "the client closes first; the router drops its ACK of the server's FIN once; "
            "the server retransmits its FIN and the client, in TIME-WAIT, ACKs it again",
            ["--port", str(PORT)],
            ["--port", str(PORT)],
            drop="final-ack",
            settle=1.5,
            simulator={"scenario": "close", "drop": ["client:ACK:2"], "close_delay": 0.0},
        ),
    )
}


# -- the programs that run inside the namespaces ------------------------------------------


def _server(argv: list[str]) -> int:
    """Listen, accept one connection, read to end-of-file, close."""
    parser = argparse.ArgumentParser(prog="_server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((SERVER_IP, args.port))
    listener.listen(8)
    print("listening", flush=True)
    listener.settimeout(30)
    conn, _ = listener.accept()
    received = 0
    while chunk := conn.recv(65536):
        received += len(chunk)
    conn.close()
    listener.close()
    print(json.dumps({"received": received}), flush=True)
    return 0


def _client(argv: list[str]) -> int:
    """connect(); send; close(); print what the application saw as JSON."""
    parser = argparse.ArgumentParser(prog="_client")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--send", type=int, default=0)
    parser.add_argument("--syncnt", type=int, default=0)
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((CLIENT_IP, 0))
    if args.syncnt:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, args.syncnt)  # SYN retransmissions before giving up
    started = time.monotonic()
    result: dict[str, Any] = {"local_port": sock.getsockname()[1]}
    try:
        sock.connect((SERVER_IP, args.port))
    except OSError as exc:
        result.update(error=os.strerror(exc.errno or 0), errno=exc.errno, code=_errno_name(exc.errno))
        result["elapsed"] = round(time.monotonic() - started, 3)
        sock.close()
        print(json.dumps(result), flush=True)
        return 0
    result["connected_after"] = round(time.monotonic() - started, 6)
    if args.send:
        sock.sendall(bytes(i % 251 for i in range(args.send)))  # a recognisable, repeatable pattern
    sock.close()
    result["error"] = None
    result["sent"] = args.send
    print(json.dumps(result), flush=True)
    return 0


def _errno_name(number: int | None) -> str | None:
    import errno

    return errno.errorcode.get(number or 0)


def _tcp_checksum(ip_header: bytes, segment: bytearray) -> int:
    """The TCP checksum over the IPv4 pseudo-header and the segment (checksum field zero)."""
    pseudo = ip_header[12:20] + struct.pack("!BBH", 0, 6, len(segment))
    data = pseudo + bytes(segment)
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _relay(argv: list[str]) -> int:
    """Copy frames between two interfaces; drop what the rule says; log drops to stderr.

    A veth hands packet sockets frames whose TCP checksum the sender left for the
    "hardware" to fill in (checksum offload); the relay fills it in, or the receiving
    kernel would discard every segment as corrupt.
    """
    parser = argparse.ArgumentParser(prog="_relay")
    parser.add_argument("client_side")
    parser.add_argument("server_side")
    parser.add_argument("--drop", default="")
    args = parser.parse_args(argv)
    eth_p_all = 0x0003
    sockets = {}
    for name in (args.client_side, args.server_side):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(eth_p_all))
        s.bind((name, 0))
        sockets[name] = s
    to_server = {sockets[args.client_side]: sockets[args.server_side]}
    to_client = {sockets[args.server_side]: sockets[args.client_side]}
    forward = {**to_server, **to_client}
    server_fin_seen = False
    dropped_final_ack = False
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select(list(forward), [], [])
        for s in readable:
            frame, address = s.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue  # our own transmission, seen again
            frame = bytearray(frame)
            flags = None
            if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6:
                ihl = (frame[14] & 0x0F) * 4
                total = struct.unpack("!H", frame[16:18])[0]
                tcp_start, end = 14 + ihl, 14 + total
                segment = frame[tcp_start:end]
                if len(segment) >= 20:
                    segment[16:18] = b"\0\0"
                    segment[16:18] = struct.pack("!H", _tcp_checksum(bytes(frame[14 : 14 + ihl]), segment))
                    frame[tcp_start:end] = segment
                    flags = segment[13]
                    payload = len(segment) - (segment[12] >> 4) * 4
            if flags is not None:
                from_client = s in to_server
                if args.drop == "syn" and from_client and flags & 0x12 == 0x02:
                    print("relay: dropped a SYN", file=sys.stderr, flush=True)
                    continue
                if args.drop == "final-ack":
                    if not from_client and flags & 0x01:
                        server_fin_seen = True
                    elif from_client and server_fin_seen and not dropped_final_ack and flags == 0x10 and payload == 0:
                        dropped_final_ack = True
                        print("relay: dropped the final ACK", file=sys.stderr, flush=True)
                        continue
            forward[s].send(bytes(frame))


# -- the recorder ---------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: unwind so that the namespaces are removed."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=30)


def environment_problem() -> str | None:
    """Why recording cannot work here, or None when it can (root, ip, tcpdump, netns)."""
    if os.geteuid() != 0:
        return "not running as root"
    for tool in ("ip", "tcpdump"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    name = f"tcpbook-probe-{os.getpid()}"
    try:
        _run("ip", "netns", "add", name)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a network namespace ({(getattr(exc, 'stderr', '') or '').strip() or exc})"
    finally:
        _run("ip", "netns", "del", name, check=False)
    return None


@contextlib.contextmanager
def namespaces(tag: str) -> Iterator[dict[str, str]]:
    """Create client, router and server namespaces joined by veth pairs; always delete them."""
    names = {role: f"tcpbook-{tag}-{role}" for role in ("client", "router", "server")}
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        for ns in names.values():
            _run("ip", "netns", "add", ns)
        c, r, s = names["client"], names["router"], names["server"]
        _run("ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "r0", "netns", r)
        _run("ip", "link", "add", "s0", "netns", s, "type", "veth", "peer", "name", "r1", "netns", r)
        _run("ip", "-n", c, "addr", "add", f"{CLIENT_IP}/24", "dev", "c0")
        _run("ip", "-n", s, "addr", "add", f"{SERVER_IP}/24", "dev", "s0")
        for ns, devices in ((c, ("lo", "c0")), (r, ("lo", "r0", "r1")), (s, ("lo", "s0"))):
            # no IPv6: router solicitations and the like would only add noise
            _run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", check=False)
            for device in devices:
                _run("ip", "-n", ns, "link", "set", device, "up")
        yield names
    finally:
        for ns in names.values():
            _run("ip", "netns", "del", ns, check=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _spawn(ns: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, str(pathlib.Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_line(proc: subprocess.Popen[str], stream: Any, wanted: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            line = stream.readline()
            if wanted in line:
                return
            if not line and proc.poll() is not None:
                break
    raise RuntimeError(f"{proc.args!r} did not say {wanted!r}; stderr: {proc.stderr.read() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[str] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def record(situation: Situation, out_dir: pathlib.Path) -> dict[str, Any]:
    """Record one situation into ``out_dir / f"{situation.name}.pcap"``; return its metadata."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pcap = out_dir / f"{situation.name}.pcap"
    relay = tcpdump = server = client = None
    with namespaces(f"{os.getpid()}") as ns:
        try:
            relay = _spawn(ns["router"], "_relay", "r0", "r1", "--drop", situation.drop)
            _wait_line(relay, relay.stdout, "ready")
            tcpdump = subprocess.Popen(
                ["ip", "netns", "exec", ns["client"], "tcpdump", "-i", "c0", "-nn", "-U", "--immediate-mode", "-s", "0"]
                + ["-Z", "root"]
                + ["-w", str(pcap), "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            _wait_line(tcpdump, tcpdump.stderr, "listening on")
            if situation.server is not None:
                server = _spawn(ns["server"], "_server", *situation.server)
                _wait_line(server, server.stdout, "listening")
            client = _spawn(ns["client"], "_client", *situation.client)
            out, err = client.communicate(timeout=180)
            if client.returncode != 0:
                raise RuntimeError(f"client failed: {err}")
            client_result = json.loads(out.strip().splitlines()[-1])
            server_result = None
            if server is not None and client_result.get("error") is None:  # it had a connection to serve
                try:
                    s_out, _ = server.communicate(timeout=10)
                    server_result = json.loads(s_out.strip().splitlines()[-1])
                except (subprocess.TimeoutExpired, ValueError, IndexError):
                    server_result = None
            time.sleep(situation.settle)  # let retransmissions and last ACKs reach the capture
        finally:
            _stop(client)  # still running only when interrupted
            _stop(tcpdump, signal.SIGINT)  # SIGINT: tcpdump flushes and closes the file
            _stop(server)
            _stop(relay)
    relay_log = relay.stderr.read().strip().splitlines() if relay and relay.stderr else []
    sysctls = {}
    for key in ("tcp_syn_linear_timeouts", "tcp_syn_retries", "tcp_synack_retries", "tcp_sack", "tcp_timestamps"):
        path = pathlib.Path("/proc/sys/net/ipv4") / key
        if path.exists():
            sysctls[key] = int(path.read_text().split()[0])
    return {
        "file": pcap.name,
        "summary": situation.summary,
        "client": client_result,
        "server": server_result,
        "router": relay_log,
        "sysctl": sysctls,
        "simulator": situation.simulator,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("_relay", "_server", "_client"):
        return {"_relay": _relay, "_server": _server, "_client": _client}[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("situations", nargs="*", help=f"some of {', '.join(SITUATIONS)} (default: all)")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    unknown = [n for n in args.situations if n not in SITUATIONS]
    if unknown:
        parser.error(f"unknown situation {unknown[0]!r}; choose from {', '.join(SITUATIONS)}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)  # from here on, every exit path cleans up
    try:
        problem = environment_problem()
    except Interrupted:
        return 130
    if problem:
        print(f"record_captures: cannot record: {problem}", file=sys.stderr)
        return 2
    names = args.situations or list(SITUATIONS)
    metadata_file = args.out / "captures.json"
    metadata = json.loads(metadata_file.read_text()) if metadata_file.exists() else {"captures": {}}
    metadata.update(
        kernel=platform.release(),
        machine=platform.machine(),
        tcpdump=_run("tcpdump", "--version", check=False).stdout.splitlines()[0],
        recorded=time.strftime("%Y-%m-%d", time.gmtime()),
        topology=f"client {CLIENT_IP} --veth-- router (relay) --veth-- server {SERVER_IP}; captured on the client",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        _record_all(names, args.out, metadata)
    except (Interrupted, KeyboardInterrupt) as exc:
        print(f"record_captures: interrupted ({exc or 'Ctrl-C'}); namespaces removed", file=sys.stderr)
        return 130
    metadata["captures"] = dict(sorted(metadata["captures"].items()))
    metadata_file.write_text(json.dumps(metadata, indent=2) + "\n")
    return 0


def _record_all(names: list[str], out: pathlib.Path, metadata: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"recording {name} …", flush=True)
            info = record(SITUATIONS[name], pathlib.Path(tmp))
            shutil.copy(pathlib.Path(tmp) / info["file"], out / info["file"])
            os.chmod(out / info["file"], 0o644)
            metadata["captures"][name] = info
            print(f"  {info['file']}: client {info['client']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
