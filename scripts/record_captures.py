#!/usr/bin/env python3
"""Record captures of the running Linux kernel's TCP, in throw-away network namespaces.

Run as root (it creates network namespaces)::

    sudo .venv/bin/python scripts/record_captures.py            # all situations → tcpbook/data/captures/
    sudo .venv/bin/python scripts/record_captures.py --out /tmp/caps refused syn-timeout

The topology is three namespaces joined by two veth pairs, with addresses that exist
only inside them::

    client 10.99.0.1 [c0] ──veth── [r0] router [r1] ──veth── [s0] 10.99.0.2 server

The *router* namespace has no addresses: a small relay (``_relay`` below) copies
Ethernet frames between ``r0`` and ``r1`` with packet sockets, like a switch.  It can
hold every frame for a fixed one-way delay (so that a round trip takes as long as on a
real path, and slow start shows its flights), drop chosen frames (every SYN to the
server; the first final ACK of a close; everything after the handshake — "the peer's
machine died"), and replay an old duplicate of the client's last ACK to the server.
This needs nothing but veth and packet sockets, so it works on kernels and containers
without nftables, iptables or tc actions.  ``tcpdump`` runs in the client namespace on
``c0``, so each file is the client's view (vantage ``client``): a frame the router
drops is still in the capture, as it would be on a real host.

The veths are told to hand TCP one segment per packet (``gso_max_segs 1``): otherwise
the client's kernel would pass 64 KB "super-segments" through the veth (TSO), the
capture would show those instead of what a real wire carries, and the relay could not
forward them.  In the two bulk transfers the server's route back to the client carries
``quickack 1``, so the receiver ACKs every segment at once (see ``receiver_quickack``).
Both programs ask for CUBIC, Linux's default, with ``TCP_CONGESTION``
(a new namespace inherits the host's default, which may be BBR, and may not choose
another one itself); the other TCP settings are each namespace's fresh defaults,
recorded in ``captures.json``.

Situations (each becomes ``<name>.pcap``; ``captures.json`` records what the
applications saw, the kernel version, the sysctls and the matching simulator run):

* ``data-close``     connect, send 1000 bytes, close; the server reads to EOF and closes;
* ``syn-timeout``    connect() with ``TCP_SYNCNT`` = 2 to a peer whose SYNs are all
  dropped, until ETIMEDOUT;
* ``refused``        connect() to a port nobody listens on: RST;
* ``lost-final-ack`` the client closes first, the router drops its ACK of the server's
  FIN once, the server retransmits the FIN and the client, in TIME-WAIT, ACKs again;
* ``exit-unsent``    over a 25 ms relay, the client queues 50 000 bytes and exits at once
  (close() right after send()): the kernel still delivers them in slow-start flights,
  then the FIN;
* ``exit-unread``    the server sends 1000 bytes the client never reads; the client
  closes: RST instead of FIN, the server's recv() fails with ECONNRESET;
* ``exit-linger0``   over a 25 ms relay, the client queues 30 000 bytes and exits with
  SO_LINGER {1, 0}: the first flight, then a RST; the unsent rest is thrown away, and
  the server's late ACKs are answered with RSTs by a port nobody owns any more;
* ``keepalive``      TCP_KEEPIDLE/INTVL/CNT = 1/1/3 on an idle connection whose peer
  goes silent after the handshake: three probes, a RST, ETIMEDOUT;
* ``user-timeout``   TCP_USER_TIMEOUT = 3 s, 100 bytes sent 0.5 s after connecting into
  the same silence: a loss probe, retransmissions, ETIMEDOUT at the timeout;
* ``slow-start``     over a 25 ms relay, 100 000 bytes: the initial window of 10
  segments, then flights of 20 and 40 (CUBIC's slow start);
* ``time-wait-reuse`` the server closes first and holds TIME-WAIT (``ss`` in the server's
  namespace shows it); 1 s after the first connect the client connects again from the
  same port: the newer SYN is accepted;
* ``time-wait-rst``  the client closes first and holds TIME-WAIT; 2 s after the first
  SYN the router replays the client's last ACK to the server, which no longer has the
  connection and answers with a RST that ends the client's TIME-WAIT
  (``tcp_rfc1337 = 0``); ``ss`` before and after shows it.

Namespaces, relay, programs and tcpdump are removed on exit, on errors, on Ctrl-C and on
SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import heapq
import json
import os
import pathlib
import platform
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tcpbook" / "data" / "captures"
CLIENT_IP, SERVER_IP = "10.99.0.1", "10.99.0.2"
PORT, CLOSED_PORT = 8080, 8081
TCP_SYNCNT = getattr(socket, "TCP_SYNCNT", 7)
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
HEADERS_ONLY = 96  # tcpdump snap length that keeps Ethernet, IPv4 and TCP headers with options
BIG_BUFFER = 4 * 2**20  # SO_SNDBUF/SO_RCVBUF for "the buffer never limits this run"
SYSCTLS = (
    "tcp_congestion_control",
    "tcp_syn_linear_timeouts",
    "tcp_syn_retries",
    "tcp_synack_retries",
    "tcp_retries2",
    "tcp_sack",
    "tcp_timestamps",
    "tcp_window_scaling",
    "tcp_early_retrans",
    "tcp_recovery",
    "tcp_slow_start_after_idle",
    "tcp_keepalive_time",
    "tcp_keepalive_intvl",
    "tcp_keepalive_probes",
    "tcp_rfc1337",
    "tcp_tw_reuse",
    "tcp_syncookies",
)


@dataclass(frozen=True)
class Situation:
    """One recording: what the programs do, what the router does, and which simulator
    run shows the same situation (scenario name and parameters)."""

    name: str
    summary: str
    client: list[str]  # arguments of the _client subcommand
    server: list[str] | None  # arguments of the _server subcommand, None: nobody listens
    drop: str = ""  # relay rule: "", "syn", "final-ack", "blackhole" or "replay-last-ack"
    delay: float = 0.0  # the relay's one-way delay, each direction (s)
    replay_at: float = 0.0  # "replay-last-ack": seconds after the first SYN
    # (crash, reboot): seconds after the client's first connect() at which its host "dies" —
    # a blackhole route in its namespace swallows everything it would send, before tcpdump
    # could see it, and its program is killed; its SO_LINGER {1, 0} makes that close() a
    # RST into the blackhole, so no socket survives — and comes back without the route
    crash: tuple[float, float] | None = None
    client_sysctls: tuple[tuple[str, int], ...] = ()  # net.ipv4.* values set in the client's namespace (each has its own)
    ss_at: tuple[tuple[float, str], ...] = ()  # (seconds after the client's first connect(), "client"/"server"): `ss -tan` there
    snaplen: int = 0  # tcpdump -s: 0 keeps every byte; HEADERS_ONLY for bulk transfers
    receiver_quickack: bool = False  # the server's route to the client gets `quickack 1`: it ACKs every segment at once
    settle: float = 0.5  # seconds to keep capturing after the client reported
    simulator: dict[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """Do the programs keep their connection open (until the capture has stopped)?"""
        return "--hold" in (self.server or []) or ("hold" in self.client and self.crash is None)  # a crash ends the client's


SITUATIONS: dict[str, Situation] = {
    s.name: s
    for s in (
        Situation(
            "data-close",
            "connect, send 1000 bytes, close; the server reads to end-of-file and closes",
            ["--port", str(PORT), "--send", "1000"],
            ["--port", str(PORT)],
            simulator={"scenario": "full", "bytes": 1000, "close_delay": 0.0, "rtt": 0.0005},
        ),
        Situation(
            "syn-timeout",
            "connect() with TCP_SYNCNT=2 to a peer that never answers (the router drops every SYN)",
            ["--port", str(PORT), "--syncnt", "2"],
            None,
            drop="syn",
            settle=0.2,
            simulator={"scenario": "handshake", "drop": ["client:SYN:*"], "syn_retries": 2, "rtt": 0.0005},
        ),
        Situation(
            "refused",
            "connect() to a port with no listener: the kernel answers RST",
            ["--port", str(CLOSED_PORT)],
            ["--port", str(PORT)],
            simulator={"scenario": "refused", "rtt": 0.0005},
        ),
        Situation(
            "lost-final-ack",
            "the client closes first; the router drops its ACK of the server's FIN once; "
            "the server retransmits its FIN and the client, in TIME-WAIT, ACKs it again",
            ["--port", str(PORT)],
            ["--port", str(PORT)],
            drop="final-ack",
            settle=1.5,
            simulator={"scenario": "close", "drop": ["client:ACK:2"], "close_delay": 0.0, "rtt": 0.0005},
        ),
        Situation(
            "exit-unsent",
            "over a 25 ms relay the client queues 50000 bytes and its program exits at once: "
            "the kernel still sends them, in slow-start flights, then the FIN; the server reads "
            "once the FIN has come, and closes",
            ["--port", str(PORT), "--send", "50000", "--sndbuf", str(BIG_BUFFER)],
            ["--port", str(PORT), "--rcvbuf", str(BIG_BUFFER), "--wait-eof"],
            delay=0.025,
            snaplen=HEADERS_ONLY,
            receiver_quickack=True,
            simulator={
                "scenario": "exit",
                "bytes": 50000,
                "close_delay": 0.0,
                "rtt": 0.05,
                "mss": 1448,
                "rcvbuf": BIG_BUFFER,
                "quickack": 1000,
                "delay_fin_ack": False,
            },
        ),
        Situation(
            "exit-unread",
            "the server sends 1000 bytes that the client never reads; the client closes: "
            "RST instead of FIN, and the server's recv() fails with ECONNRESET",
            ["--port", str(PORT), "--unread", "1000"],
            ["--port", str(PORT), "--greet", "1000"],
            simulator={"scenario": "exit", "bytes": 0, "unread": 1000, "close_delay": 0.0, "rtt": 0.0005},
        ),
        Situation(
            "exit-linger0",
            "over a 25 ms relay the client queues 30000 bytes and exits with SO_LINGER {1, 0}: the "
            "first flight, then a RST; the rest is thrown away, and the server's late ACKs reach a "
            "port nobody owns any more, which answers each with a RST",
            ["--port", str(PORT), "--send", "30000", "--sndbuf", str(BIG_BUFFER), "--linger0"],
            ["--port", str(PORT)],
            delay=0.025,
            snaplen=HEADERS_ONLY,
            settle=0.3,
            simulator={"scenario": "exit", "bytes": 30000, "linger": 0, "close_delay": 0.0, "rtt": 0.05, "mss": 1448},
        ),
        Situation(
            "keepalive",
            "TCP_KEEPIDLE=1 s, TCP_KEEPINTVL=1 s, TCP_KEEPCNT=3 on an idle connection whose peer "
            "goes silent after the handshake (the router drops everything): probes, RST, ETIMEDOUT",
            ["--port", str(PORT), "--keepalive", "1,1,3", "--then", "wait-error"],
            ["--port", str(PORT), "--read", "0", "--hold"],
            drop="blackhole",
            settle=0.3,
            simulator={
                "scenario": "dead-peer",
                "keepalive": True,
                "keepidle": 1,
                "keepintvl": 1,
                "keepcnt": 3,
                "crash_at": 0.5,
                "rtt": 0.0005,
            },
        ),
        Situation(
            "user-timeout",
            "TCP_USER_TIMEOUT=3 s; 0.5 s after connecting the client sends 100 bytes to a peer that "
            "went silent after the handshake: a loss probe, retransmissions, ETIMEDOUT at the timeout",
            ["--port", str(PORT), "--send", "100", "--send-at", "0.5", "--user-timeout", "3000", "--then", "wait-error"],
            ["--port", str(PORT), "--read", "0", "--hold"],
            drop="blackhole",
            settle=0.3,
            simulator={"scenario": "dead-peer", "send_at": 0.5, "user_timeout": 3, "crash_at": 0.2, "rtt": 0.0005},
        ),
        Situation(
            "retries2",
            "tcp_retries2 = 3 in the client's namespace; 0.5 s after connecting the client sends 100 "
            "bytes to a peer that went silent after the handshake: a loss probe, retransmissions, and "
            "ETIMEDOUT at the first timer after the time budget tcp_model_timeout makes of 3 retries "
            "(15 × 200 ms = 3 s from the first retransmission), not after the 3rd retransmission",
            ["--port", str(PORT), "--send", "100", "--send-at", "0.5", "--then", "wait-error"],
            ["--port", str(PORT), "--read", "0", "--hold"],
            drop="blackhole",
            client_sysctls=(("tcp_retries2", 3),),
            settle=0.3,
            simulator={"scenario": "dead-peer", "send_at": 0.5, "retries2": 3, "crash_at": 0.2, "rtt": 0.0005},
        ),
        Situation(
            "slow-start",
            "over a 25 ms relay (50 ms round trip) the client sends 100000 bytes: an initial window "
            "of 10 segments, then flights of 20 and 40 (slow start doubles the window each round trip)",
            ["--port", str(PORT), "--send", "100000", "--sndbuf", str(BIG_BUFFER), "--then", "hold"],
            ["--port", str(PORT), "--read", "100000", "--hold", "--rcvbuf", str(BIG_BUFFER), "--read-after", "1.0"],
            delay=0.025,
            snaplen=HEADERS_ONLY,
            receiver_quickack=True,
            settle=0.3,
            simulator={"scenario": "transfer", "bytes": 100000, "rtt": 0.05, "mss": 1448, "rcvbuf": BIG_BUFFER, "quickack": 1000},
        ),
        Situation(
            "crash-reboot",
            "the client sends 1000 bytes; its host dies at 0.5 s (no FIN, no RST) and is back at "
            "1 s with no connections; the server sends 100 bytes at 1.5 s and the rebooted host "
            "answers with a RST: the server's recv() fails with ECONNRESET",
            ["--port", str(PORT), "--send", "1000", "--linger0", "--then", "hold"],
            ["--port", str(PORT), "--read", "1000", "--send-at", "1.5"],
            crash=(0.5, 1.0),
            settle=0.3,
            simulator={"scenario": "crash", "bytes": 1000, "crash_at": 0.5, "reboot_at": 1.0, "send_at": 1.5, "rtt": 0.0005},
        ),
        Situation(
            "time-wait-reuse",
            "the server closes first, 0.3 s after accepting, and holds TIME-WAIT; 1 s after its first "
            "connect the client connects again from the same port: the newer SYN is accepted (RFC 6191)",
            ["--port", str(PORT), "--send", "1000", "--then", "read-eof", "--reconnect-at", "1.0"],
            ["--port", str(PORT), "--read", "1000", "--close-at", "0.3", "--accept", "2"],
            ss_at=((0.8, "server"),),
            settle=0.3,
            simulator={"scenario": "time-wait-reuse", "bytes": 1000, "reconnect_at": 1.0, "rtt": 0.0005},
        ),
        Situation(
            "time-wait-rst",
            "the client closes first and holds TIME-WAIT; 2 s after the first SYN the router replays "
            "the client's last ACK to the server, whose RST (the connection is gone) ends TIME-WAIT "
            "(tcp_rfc1337 = 0)",
            ["--port", str(PORT), "--send", "1000"],
            ["--port", str(PORT)],
            drop="replay-last-ack",
            replay_at=2.0,
            ss_at=((1.0, "client"), (3.0, "client")),
            simulator={"scenario": "time-wait-rst", "bytes": 1000, "duplicate_at": 2.0, "rtt": 0.0005},
        ),
    )
}


# -- the programs that run inside the namespaces ------------------------------------------


def _prompt() -> None:
    """Run the relay ahead of everything else on the machine, if allowed: on a busy
    machine it could otherwise hold a frame for milliseconds, and the capture would show
    the scheduler instead of TCP.  RLIMIT_RTTIME bounds the damage of a real-time process
    that never sleeps: the kernel stops it after 2 s of CPU without a blocking call.

    Not the client and server programs: a real-time task woken by a packet is sent to an
    idle CPU, and in a virtual machine waking a halted virtual CPU can take tens of
    milliseconds.  Measured on a 2-vCPU VM: the server's FIN 20-40 ms after the client's
    with real-time programs, 0.4-4 ms with ordinary ones."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        resource.setrlimit(resource.RLIMIT_RTTIME, (1_000_000, 2_000_000))  # microseconds
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))


def _pattern(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))  # a recognisable, repeatable pattern


def _error_fields(exc: OSError) -> dict[str, Any]:
    return {"error": os.strerror(exc.errno or 0), "errno": exc.errno, "code": errno.errorcode.get(exc.errno or 0)}


def _set_cc(sock: socket.socket, name: str) -> str:
    """Choose the socket's congestion control (root may choose any built-in one); return
    the one it has."""
    sock.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, name.encode())
    return sock.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).rstrip(b"\0").decode()


def _server(argv: list[str]) -> int:
    """Listen; for each of ``--accept`` connections: accept, send ``--greet`` bytes, read
    (to end-of-file, or ``--read`` bytes), then close — at once, or ``--close-at`` s after
    the first accept — or ``--hold`` the connection open until killed.  One JSON line per
    connection says what the application saw."""
    parser = argparse.ArgumentParser(prog="_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--greet", type=int, default=0)
    parser.add_argument("--read", type=int, default=None, help="bytes to read (default: to end-of-file)")
    parser.add_argument("--close-at", type=float, default=None)
    parser.add_argument("--accept", type=int, default=1)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--cc", default="cubic")
    parser.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF, so that the receive window never limits the run")
    parser.add_argument("--read-after", type=float, default=0.0, help="touch the accepted socket only this long after accept()")
    parser.add_argument("--wait-eof", action="store_true", help="read only once the peer's FIN has arrived")
    parser.add_argument("--send-at", type=float, default=None, help="after reading, send 100 bytes this long after accept(), then read until an error")
    args = parser.parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.rcvbuf:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)  # accepted sockets inherit it
    _set_cc(listener, args.cc)
    listener.bind((SERVER_IP, args.port))
    listener.listen(8)
    print("listening", flush=True)
    listener.settimeout(60)
    held = []
    first_accept = None
    greeting = _pattern(args.greet)
    for _ in range(args.accept):
        conn, _ = listener.accept()
        first_accept = first_accept or time.monotonic()
        # A program inside a call on the socket holds its lock; segments arriving meanwhile
        # wait in the socket's backlog, where consecutive ones are merged and ACKed together
        # (tcp_add_backlog, tcp_backlog_ack_defer), so the ACKs would depend on the
        # scheduler.  A receiver that leaves the socket alone during a transfer ACKs
        # every segment as it arrives.  poll() does not take the socket's lock.
        time.sleep(args.read_after)
        if args.wait_eof:
            waiter = select.poll()
            waiter.register(conn, select.POLLRDHUP)
            waiter.poll(60_000)
        result: dict[str, Any] = {"received": 0, "error": None}
        try:
            if greeting:
                conn.sendall(greeting)
            while args.read is None or result["received"] < args.read:
                chunk = conn.recv(65536 if args.read is None else min(65536, args.read - result["received"]))
                if not chunk:
                    break
                result["received"] += len(chunk)
            if args.send_at is not None:
                time.sleep(max(0.0, first_accept + args.send_at - time.monotonic()))
                conn.sendall(_pattern(100))
                while chunk := conn.recv(65536):
                    result["received"] += len(chunk)
        except OSError as exc:
            result.update(_error_fields(exc))
        if args.hold:
            held.append(conn)
            print(json.dumps(result), flush=True)
            continue
        if args.close_at is not None:
            time.sleep(max(0.0, first_accept + args.close_at - time.monotonic()))
        conn.close()
        print(json.dumps(result), flush=True)
    listener.close()
    while held:  # keep the connections open; the recorder ends us
        time.sleep(3600)
    return 0


def _client(argv: list[str]) -> int:
    """connect(); send; then close() (the program exits), or wait for an error, or read to
    end-of-file, or hold the connection; print what the application saw as JSON."""
    parser = argparse.ArgumentParser(prog="_client")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--send", type=int, default=0)
    parser.add_argument("--send-at", type=float, default=None, help="send this long after connect() returned")
    parser.add_argument("--syncnt", type=int, default=0)
    parser.add_argument("--sndbuf", type=int, default=0, help="SO_SNDBUF, so that a big send() returns at once")
    parser.add_argument("--linger0", action="store_true", help="SO_LINGER {1, 0}: close() aborts with a RST")
    parser.add_argument("--unread", type=int, default=0, help="wait until this many bytes arrived, unread, then close")
    parser.add_argument("--keepalive", default="", help="IDLE,INTVL,CNT: SO_KEEPALIVE with these TCP_KEEP* values")
    parser.add_argument("--user-timeout", type=int, default=0, help="TCP_USER_TIMEOUT in milliseconds")
    parser.add_argument("--cc", default="cubic")
    parser.add_argument(
        "--then",
        choices=("close", "wait-error", "read-eof", "hold"),
        default="close",
        help="after sending: close at once (the program exits); block in recv() until an error or "
        "end-of-file; read to end-of-file and close; or wait until everything is acknowledged "
        "and hold the connection open until killed",
    )
    parser.add_argument("--reconnect-at", type=float, default=None, help="connect again from the same port, this long after the first connect()")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = _one_connection(args, started, local_port=0)
    if args.reconnect_at is not None and result.get("error") is None:
        time.sleep(max(0.0, started + args.reconnect_at - time.monotonic()))
        result["again"] = _one_connection(args, started, local_port=result["local_port"])
    print(json.dumps(result), flush=True)
    if args.then == "hold":
        while True:  # the recorder stops the capture, then ends us
            time.sleep(3600)
    return 0


def _one_connection(args: argparse.Namespace, started: float, local_port: int) -> dict[str, Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if local_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((CLIENT_IP, local_port))
    cc = _set_cc(sock, args.cc)
    if args.syncnt:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, args.syncnt)  # SYN retransmissions before giving up
    if args.sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sndbuf)
    if args.linger0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if args.keepalive:
        idle, intvl, cnt = (int(x) for x in args.keepalive.split(","))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)
    if args.user_timeout:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, args.user_timeout)
    data = _pattern(args.send)  # before connect(): the send must follow the handshake at once
    print("connecting", file=sys.stderr, flush=True)  # the recorder counts its ss snapshot times from here
    begun = time.monotonic()
    result: dict[str, Any] = {"local_port": sock.getsockname()[1], "congestion_control": cc}
    try:
        sock.connect((SERVER_IP, args.port))
    except OSError as exc:
        result.update(_error_fields(exc), elapsed=round(time.monotonic() - begun, 3))
        sock.close()
        return result
    connected = time.monotonic()
    result["connected_after"] = round(connected - begun, 6)
    result["error"] = None
    try:
        if args.send:
            if args.send_at is not None:
                time.sleep(max(0.0, connected + args.send_at - time.monotonic()))
            sock.sendall(data)
        result["sent"] = args.send
        if args.unread:
            while _queued(sock, termios.FIONREAD) < args.unread:  # arrived, never read
                time.sleep(0.0002)
            result["unread"] = _queued(sock, termios.FIONREAD)
        if args.then in ("wait-error", "read-eof"):
            received = 0
            while chunk := sock.recv(65536):
                received += len(chunk)
            result["received"] = received
        elif args.then == "hold":
            while _queued(sock, termios.TIOCOUTQ):  # SIOCOUTQ: bytes not yet acknowledged
                time.sleep(0.001)
            result["acknowledged_after"] = round(time.monotonic() - connected, 3)
    except OSError as exc:
        result.update(_error_fields(exc))
        result["elapsed"] = round(time.monotonic() - begun, 3)
    if args.then == "hold":
        _HELD.append(sock)  # the caller prints and holds: the connection stays open
    else:
        sock.close()
    return result


_HELD: list[socket.socket] = []


def _queued(sock: socket.socket, request: int) -> int:
    """SIOCINQ (FIONREAD) or SIOCOUTQ (TIOCOUTQ) of a TCP socket."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0"))[0]


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


def _tcp_of(frame: bytearray) -> tuple[int, int] | None:
    """Fill in the TCP checksum of an IPv4/TCP frame in place; return (flags, payload
    length), or None for anything else (ARP …).

    A veth hands packet sockets frames whose TCP checksum the sender left for the
    "hardware" to fill in (checksum offload); the relay fills it in, or the receiving
    kernel would discard every segment as corrupt."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    tcp_start, end = 14 + ihl, 14 + total
    segment = frame[tcp_start:end]
    if len(segment) < 20:
        return None
    segment[16:18] = b"\0\0"
    segment[16:18] = struct.pack("!H", _tcp_checksum(bytes(frame[14 : 14 + ihl]), segment))
    frame[tcp_start:end] = segment
    return segment[13], len(segment) - (segment[12] >> 4) * 4


_FLAG_NAMES = ((0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"))


def _flag_text(flags: int) -> str:
    return ",".join(name for bit, name in _FLAG_NAMES if flags & bit)


def _relay(argv: list[str]) -> int:
    """Copy frames between two interfaces, each after ``--delay`` s; drop or replay what
    the rule says; log what it did to stderr.

    Rules: ``syn`` drops every SYN from the client; ``final-ack`` drops, once, the
    client's pure ACK after the server's FIN; ``blackhole`` forwards the handshake (up to
    the client's first segment after the SYN,ACK) and then drops every TCP segment both
    ways — the server's machine, as far as the client can tell, is gone;
    ``replay-last-ack`` sends the client's last pure ACK (the one after the server's FIN)
    to the server once more, ``--replay-at`` s after the first SYN: an old duplicate.
    """
    parser = argparse.ArgumentParser(prog="_relay")
    parser.add_argument("client_side")
    parser.add_argument("server_side")
    parser.add_argument("--drop", default="", choices=("", "syn", "final-ack", "blackhole", "replay-last-ack"))
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--replay-at", type=float, default=0.0)
    args = parser.parse_args(argv)
    _prompt()
    eth_p_all = 0x0003
    sockets = {}
    for name in (args.client_side, args.server_side):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(eth_p_all))
        with contextlib.suppress(OSError):  # room for a whole flight while we are busy
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, BIG_BUFFER)
        s.bind((name, 0))
        sockets[name] = s
    client_sock, server_sock = sockets[args.client_side], sockets[args.server_side]
    forward = {client_sock: server_sock, server_sock: client_sock}
    pending: list[tuple[float, int, socket.socket, bytes]] = []  # (due, order, out, frame): FIFO per direction
    order = 0
    server_fin_seen = dropped_final_ack = handshake_done = False
    synack_seen = False
    first_syn: float | None = None
    last_ack: bytes | None = None
    replayed = False
    print("ready", flush=True)

    def log(text: str) -> None:
        at = f"{time.monotonic() - first_syn:.6f}" if first_syn is not None else "-"
        print(f"relay: {at} {text}", file=sys.stderr, flush=True)

    while True:
        now = time.monotonic()
        wake = [pending[0][0] - now] if pending else []
        if args.drop == "replay-last-ack" and not replayed and first_syn is not None:
            wake.append(first_syn + args.replay_at - now)
        timeout = max(0.0, min(wake)) if wake else None
        readable, _, _ = select.select(list(forward), [], [], timeout)
        now = time.monotonic()
        for s in readable:
            frame, address = s.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue  # our own transmission, seen again
            frame = bytearray(frame)
            tcp = _tcp_of(frame)
            from_client = s is client_sock
            if tcp is not None:
                flags, payload = tcp
                if first_syn is None and flags & 0x12 == 0x02:
                    first_syn = now
                who = "client" if from_client else "server"
                if args.drop == "syn" and from_client and flags & 0x12 == 0x02:
                    log("dropped a SYN")
                    continue
                if args.drop == "final-ack":
                    if not from_client and flags & 0x01:
                        server_fin_seen = True
                    elif from_client and server_fin_seen and not dropped_final_ack and flags == 0x10 and payload == 0:
                        dropped_final_ack = True
                        log("dropped the final ACK")
                        continue
                if args.drop == "blackhole":
                    if handshake_done:
                        log(f"dropped {_flag_text(flags)} from {who} (blackhole)")
                        continue
                    synack_seen = synack_seen or (not from_client and flags & 0x12 == 0x12)
                    handshake_done = synack_seen and from_client
                if args.drop == "replay-last-ack":
                    if not from_client and flags & 0x01:
                        server_fin_seen = True
                    elif from_client and server_fin_seen and flags == 0x10 and payload == 0:
                        last_ack = bytes(frame)
            order += 1
            heapq.heappush(pending, (now + args.delay, order, forward[s], bytes(frame)))
        if args.drop == "replay-last-ack" and not replayed and first_syn is not None and now >= first_syn + args.replay_at:
            replayed = True
            if last_ack is None:
                log("nothing to replay: no final ACK seen")
            else:
                order += 1
                heapq.heappush(pending, (now, order, server_sock, last_ack))
                log("replayed the client's last ACK to the server (an old duplicate)")
        while pending and pending[0][0] <= time.monotonic():
            _, _, out, data = heapq.heappop(pending)
            out.send(data)


# -- the recorder ---------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: unwind so that the namespaces are removed."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=30)


def environment_problem() -> str | None:
    """Why recording cannot work here, or None when it can (root, ip, tcpdump, ss, netns)."""
    if os.geteuid() != 0:
        return "not running as root"
    for tool in ("ip", "tcpdump", "ss"):
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
                if device != "lo":  # one TCP segment per packet, as on a wire (no TSO through the veth)
                    _run("ip", "-n", ns, "link", "set", device, "gso_max_segs", "1")
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


def _wait_line(proc: subprocess.Popen[str], stream: Any, wanted: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            line = stream.readline()
            if wanted in line:
                return line
            if not line and proc.poll() is not None:
                break
    raise RuntimeError(f"{proc.args!r} did not say {wanted!r}; stderr: {_drain(proc.stderr)}")


def _drain(stream: Any) -> str:
    """What a stream of a process that has ended (or been stopped) still holds."""
    return stream.read() if stream is not None else ""


def _stop(proc: subprocess.Popen[str] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _ss(ns: str) -> list[str]:
    """A namespace's TCP table, as ``ss -tan`` prints it (header left out)."""
    return [line.strip() for line in _run("ip", "netns", "exec", ns, "ss", "-tanH").stdout.splitlines() if line.strip()]


def _sysctls(ns: str) -> dict[str, Any]:
    """The namespace's values of the sysctls that decide what these captures show."""
    values: dict[str, Any] = {}
    for key in SYSCTLS:
        out = _run("ip", "netns", "exec", ns, "sysctl", "-n", f"net.ipv4.{key}", check=False).stdout.strip()
        if out:
            values[key] = int(out) if out.lstrip("-").isdigit() else out
    return values


def _await_client(
    client: subprocess.Popen[str], situation: Situation, ns: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """The client's JSON line (it may keep running afterwards, holding its connection),
    with ``ss`` snapshots of the namespaces taken at ``situation.ss_at``, counted from the
    client's first ``connect()`` (its "connecting" line), not from the program's start:
    on a busy machine Python can take hundreds of milliseconds to start, which would move
    every snapshot earlier in the connection's life."""
    snapshots: list[dict[str, Any]] = []
    # on stderr, which nothing else reads while the client runs: a line on stdout could
    # share a read buffer with the JSON line that follows and hide it from select()
    _wait_line(client, client.stderr, "connecting", timeout=60)
    started = time.monotonic()
    due = sorted(situation.ss_at)
    result: dict[str, Any] | None = None
    deadline = started + 180
    while result is None or due:
        now = time.monotonic()
        if due and now - started >= due[0][0]:
            at, role = due.pop(0)
            snapshots.append({"t": at, "namespace": role, "ss": _ss(ns[role])})
            continue
        if now > deadline:
            raise RuntimeError(f"client did not finish in 180 s; stderr: {_drain(client.stderr)}")
        if result is not None:
            time.sleep(min(0.05, started + due[0][0] - now))
            continue
        wait = min(0.1, started + due[0][0] - now) if due else 0.1
        ready, _, _ = select.select([client.stdout], [], [], max(0.0, wait))
        if ready:
            line = client.stdout.readline()
            if line.strip().startswith("{"):
                result = json.loads(line)
            elif not line and client.poll() is not None:
                raise RuntimeError(f"client failed: {_drain(client.stderr)}")
    return result, snapshots, started


def _crash_and_reboot(client: subprocess.Popen[str], client_ns: str, crash: tuple[float, float], started: float) -> None:
    """The client's host dies at ``crash[0]`` and is back at ``crash[1]`` (seconds after
    ``started``), without its connection: see :attr:`Situation.crash`."""
    time.sleep(max(0.0, started + crash[0] - time.monotonic()))
    _run("ip", "-n", client_ns, "route", "add", "blackhole", f"{SERVER_IP}/32")
    client.kill()
    client.wait()
    time.sleep(max(0.0, started + crash[1] - time.monotonic()))
    _run("ip", "-n", client_ns, "route", "del", "blackhole", f"{SERVER_IP}/32")


def _server_results(server: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out = _drain(server.stdout)
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def record(situation: Situation, out_dir: pathlib.Path) -> dict[str, Any]:
    """Record one situation into ``out_dir / f"{situation.name}.pcap"``; return its metadata."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pcap = out_dir / f"{situation.name}.pcap"
    relay = tcpdump = server = client = None
    with namespaces(f"{os.getpid()}") as ns:
        try:
            for key, value in situation.client_sysctls:
                _run("ip", "netns", "exec", ns["client"], "sysctl", "-q", "-w", f"net.ipv4.{key}={value}")
            sysctls = _sysctls(ns["client"])
            if situation.receiver_quickack:
                # RTAX_QUICKACK: tcp_in_quickack_mode() is true for every segment, so the
                # server ACKs each one at once — not only its first 16 (TCP_MAX_QUICKACKS)
                # and those that happen to grow its window (tcp_grow_window), which depend
                # on buffer autotuning and scheduling and differ from run to run.
                _run("ip", "-n", ns["server"], "route", "replace", "10.99.0.0/24", "dev", "s0", "src", SERVER_IP, "quickack", "1")
            server_route = _run("ip", "-n", ns["server"], "route", "show").stdout.strip().splitlines()
            relay = _spawn(
                ns["router"],
                *("_relay", "r0", "r1", "--drop", situation.drop, "--delay", str(situation.delay)),
                *("--replay-at", str(situation.replay_at)),
            )
            _wait_line(relay, relay.stdout, "ready")
            tcpdump = subprocess.Popen(
                ["ip", "netns", "exec", ns["client"], "tcpdump", "-i", "c0", "-nn", "-U", "--immediate-mode"]
                + ["-s", str(situation.snaplen), "-Z", "root", "-w", str(pcap), "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            _wait_line(tcpdump, tcpdump.stderr, "listening on")
            if situation.server is not None:
                server = _spawn(ns["server"], "_server", *situation.server)
                _wait_line(server, server.stdout, "listening")
            client = _spawn(ns["client"], "_client", *situation.client)
            client_result, snapshots, started = _await_client(client, situation, ns)
            if situation.crash is not None:
                _crash_and_reboot(client, ns["client"], situation.crash, started)
            if server is not None and not situation.holds and client_result.get("error") is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.wait(timeout=10)  # it had connections to serve: let it finish them
            time.sleep(situation.settle)  # let retransmissions and last ACKs reach the capture
        finally:
            _stop(tcpdump, signal.SIGINT)  # first, so that killing the programs adds nothing; SIGINT flushes the file
            _stop(client)
            _stop(server)
            _stop(relay)
    relay_log = _drain(relay.stderr).strip().splitlines() if relay else []
    server_results = _server_results(server) if server is not None else []
    return {
        "file": pcap.name,
        "summary": situation.summary,
        "client": client_result,
        "server": (server_results[0] if len(server_results) == 1 else server_results) or None,
        "router": relay_log,
        "relay_delay": situation.delay,
        "server_route": server_route,
        "snaplen": situation.snaplen,
        "ss": snapshots,
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
