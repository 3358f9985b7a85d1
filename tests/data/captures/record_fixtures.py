#!/usr/bin/env python3
"""Record the small real captures in this folder with tcpdump on the loopback interface.

Run as root (tcpdump, and TCP Fast Open needs a sysctl for the moment of the recording)::

    sudo .venv/bin/python tests/data/captures/record_fixtures.py            # all of them, here
    sudo .venv/bin/python tests/data/captures/record_fixtures.py --out /tmp/f self-connect

Every situation is a few real sockets on 127.0.0.1 (or ::1) doing one thing that a capture
reader must understand; tcpdump writes what the kernel put on ``lo``.  README.md beside
this script says what each file shows.  The tests read the files and also call
:func:`record` at test time for the one capture that is too big to ship (a 2 MB transfer
with 64 KB loopback frames).
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

HERE = pathlib.Path(__file__).resolve().parent
PAYLOAD_MODULUS = 251  # payload bytes are i % 251, as in the kernel captures


def payload(n: int) -> bytes:
    return bytes(i % PAYLOAD_MODULUS for i in range(n))


@contextlib.contextmanager
def tcpdump(path: pathlib.Path, bpf: str, *, interface: str = "lo", extra: tuple[str, ...] = ()) -> Iterator[None]:
    """tcpdump writing ``path`` while the block runs (stopped with SIGINT, so the file is complete)."""
    binary = shutil.which("tcpdump") or "/usr/sbin/tcpdump"
    # --immediate-mode -U: read and write each packet as it arrives (a SIGINT does not
    # lose the last buffered block); -Z root: keep the file owned by us
    proc = subprocess.Popen(
        [binary, "-i", interface, "--immediate-mode", "-U", "-Z", "root", "-w", str(path), *extra, bpf],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # "tcpdump: listening on lo, ..." once the filter is installed (after a line naming
    # the link type when -y is given); the socket takes a moment more to see packets
    lines = []
    while not lines or "listening" not in lines[-1]:
        lines.append(proc.stderr.readline())
        if not lines[-1]:
            proc.kill()
            raise RuntimeError(f"tcpdump did not start: {' '.join(lines).strip()}")
    time.sleep(0.5)
    try:
        yield
        time.sleep(0.3)  # let the last segments reach the capture
    finally:
        proc.send_signal(2)
        proc.wait(timeout=10)


def _server(host: str, port: int, *, reply: bytes = b"", fastopen: bool = False) -> tuple[socket.socket, threading.Thread]:
    """A listener that reads to end-of-file, answers ``reply`` and closes, once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fastopen:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    listener.bind((host, port))
    listener.listen(8)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while conn.recv(1 << 20):
                pass
            if reply:
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def _client(host: str, port: int, data: bytes, *, source_port: int = 0, fastopen: bool = False) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if source_port:
        sock.bind((host, source_port))
    if fastopen:
        sock.sendto(data, socket.MSG_FASTOPEN, (host, port))  # connect() with data on the SYN
    else:
        sock.connect((host, port))
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(1 << 20):
        pass
    sock.close()


def _exchange(host: str, port: int, data: bytes, **client: object) -> None:
    listener, thread = _server(host, port, fastopen=bool(client.get("fastopen")))
    try:
        _client(host, port, data, **client)  # type: ignore[arg-type]
        thread.join(5)
    finally:
        listener.close()


# -- the situations ----------------------------------------------------------------------


def self_connect(out: pathlib.Path) -> None:
    """A socket that connects to its own address and port: TCP's simultaneous open with itself."""
    port = 9201
    with tcpdump(out, f"tcp port {port}"):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.connect(("127.0.0.1", port))
        sock.sendall(payload(100))
        assert sock.recv(100) == payload(100)  # it reads what it sent
        sock.close()


def fast_open(out: pathlib.Path) -> None:
    """Two TCP Fast Open connections: the first fetches a cookie, the second sends data on its SYN."""
    port = 9202
    sysctl = pathlib.Path("/proc/sys/net/ipv4/tcp_fastopen")
    before = sysctl.read_text()
    sysctl.write_text("3\n")  # client and server
    try:
        with tcpdump(out, f"tcp port {port}"):
            for _ in range(2):
                _exchange("127.0.0.1", port, payload(300), fastopen=True)
    finally:
        sysctl.write_text(before)


def reused_tuple(out: pathlib.Path) -> None:
    """Three connections, one after another, from the same client port to the same server port."""
    port, client_port = 9203, 9213
    with tcpdump(out, f"tcp port {port}"):
        for n in (1000, 2000, 3000):
            _exchange("127.0.0.1", port, payload(n), source_port=client_port)
            time.sleep(0.05)


def one_direction(out: pathlib.Path) -> None:
    """Only what the client sends: the capture filter sees one direction of the connection."""
    port = 9204
    with tcpdump(out, f"tcp dst port {port}"):
        _exchange("127.0.0.1", port, payload(5000))


def snaplen(out: pathlib.Path) -> None:
    """tcpdump -s 96: every frame cut after 96 bytes, so the payload is only partly captured."""
    port = 9205
    with tcpdump(out, f"tcp port {port}", extra=("-s", "96")):
        _exchange("127.0.0.1", port, payload(20000))


def cooked_v1(out: pathlib.Path) -> None:
    """tcpdump -i any -y LINUX_SLL: Linux "cooked" headers, version 1."""
    port = 9206
    with tcpdump(out, f"tcp port {port}", interface="any", extra=("-y", "LINUX_SLL")):
        _exchange("127.0.0.1", port, payload(1000))


def cooked_v2(out: pathlib.Path) -> None:
    """tcpdump -i any -y LINUX_SLL2: Linux "cooked" headers, version 2 (tcpdump's default for any)."""
    port = 9207
    with tcpdump(out, f"tcp port {port}", interface="any", extra=("-y", "LINUX_SLL2")):
        _exchange("127.0.0.1", port, payload(1000))


def ipv6_dstopts(out: pathlib.Path) -> None:
    """IPv6 on ::1 whose client adds a Destination Options extension header to every segment."""
    port = 9208
    listener, thread = _server("::1", port)
    try:
        with tcpdump(out, f"ip6 and (tcp port {port} or ip6[6] == 60)"):
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            # next header (filled in by the kernel), length 0 (8 bytes), then PadN of 4 bytes
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
            sock.connect(("::1", port))
            sock.sendall(payload(2000))
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(1 << 20):
                pass
            sock.close()
            thread.join(5)
    finally:
        listener.close()


def bulk(out: pathlib.Path, nbytes: int = 2_000_000) -> None:
    """A bulk transfer on loopback: frames of up to 65,549 bytes (more than 65,535)."""
    port = 9209
    with tcpdump(out, f"tcp port {port}", extra=("-B", "65536")):  # a big buffer: fewer packets dropped
        _exchange("127.0.0.1", port, payload(nbytes))


SITUATIONS: dict[str, Callable[[pathlib.Path], None]] = {
    "self-connect": self_connect,
    "fast-open": fast_open,
    "reused-4-tuple": reused_tuple,
    "one-direction": one_direction,
    "snaplen-96": snaplen,
    "cooked-sll": cooked_v1,
    "cooked-sll2": cooked_v2,
    "ipv6-dstopts": ipv6_dstopts,
}


def record(name: str, out_dir: pathlib.Path) -> pathlib.Path:
    """Record situation ``name`` (or ``"bulk"``) into ``out_dir/<name>.pcap``; return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.pcap"
    (SITUATIONS.get(name) or bulk)(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SITUATIONS), help="situations (default: all)")
    parser.add_argument("--out", type=pathlib.Path, default=HERE)
    args = parser.parse_args(argv)
    for name in args.names:
        print(record(name, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
