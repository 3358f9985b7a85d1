"""The real-kernel lab: reading Linux's table of TCP connections.

The kernel keeps a row for every TCP socket — its state, its two addresses and, for some
states, a timer.  ``ss -tano`` prints the table; ``/proc/net/tcp`` is the same table as
text (what ``ss``'s predecessor ``netstat`` parsed).  :func:`connection_table` reads it
from whichever is available, so the lab chapter runs on any Linux machine, and degrades
to an empty table elsewhere.
"""

from __future__ import annotations

import errno
import shutil
import socket
import struct
import subprocess
import time
from typing import Any

__all__ = [
    "PROC_STATES",
    "bind_after_time_wait",
    "connection_table",
    "local_address",
    "parse_ss_seconds",
    "proc_net_tcp",
    "reconnect_from_time_wait",
    "show_table",
    "slab_object_size",
    "ss_tan",
    "sysctl",
]

# The states as /proc/net/tcp numbers them (include/net/tcp_states.h), in ss's spelling.
PROC_STATES = {
    1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT",
    7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
}
USER_HZ = 100  # /proc reports timers in clock ticks of 1/100 s


def _proc_address(text: str) -> str:
    """'0100007F:1F90' -> '127.0.0.1:8080' (the address is little-endian hex)."""
    address, port = text.split(":")
    octets = [str(int(address[i : i + 2], 16)) for i in range(0, 8, 2)][::-1]
    return ".".join(octets) + ":" + str(int(port, 16))


def proc_net_tcp(path: str = "/proc/net/tcp") -> list[dict[str, Any]]:
    """Rows of the kernel's IPv4 TCP table: state, local, peer, timer seconds left."""
    rows = []
    with open(path) as table:
        next(table)  # header line
        for line in table:
            fields = line.split()
            timer_kind, ticks = fields[5].split(":")
            rows.append({
                "state": PROC_STATES.get(int(fields[3], 16), fields[3]),
                "local": _proc_address(fields[1]),
                "peer": _proc_address(fields[2]),
                # timer kind 3 is the TIME-WAIT (or orphaned FIN-WAIT-2) timer: time left
                "timer": int(ticks, 16) / USER_HZ if timer_kind == "03" else None,
            })
    return rows


def ss_tan() -> list[dict[str, Any]] | None:
    """Rows of `ss -tano` (None if ss is missing or fails)."""
    if shutil.which("ss") is None:
        return None
    try:
        out = subprocess.run(["ss", "-tano"], capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    rows = []
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        timer = None
        if "timewait," in line:  # timer:(timewait,59sec,0), also shown for an orphaned FIN-WAIT-2
            spec = line.split("timewait,")[1].split(",")[0]
            timer = parse_ss_seconds(spec)
        rows.append({"state": fields[0], "local": fields[3], "peer": fields[4], "timer": timer})
    return rows


def parse_ss_seconds(spec: str) -> float:
    """ss's '59sec', '1min2sec', '350ms' -> seconds."""
    total, number = 0.0, ""
    units = {"min": 60, "sec": 1, "ms": 0.001}
    i = 0
    while i < len(spec):
        if spec[i].isdigit() or spec[i] == ".":
            number += spec[i]
            i += 1
            continue
        unit = next(u for u in units if spec.startswith(u, i))
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return total


def connection_table(port: int) -> tuple[str, list[dict[str, Any]]]:
    """The kernel's rows for sockets on `port`, from ss or from /proc/net/tcp."""
    rows = ss_tan()
    source = "ss -tano"
    if rows is None:
        try:
            rows, source = proc_net_tcp(), "/proc/net/tcp"
        except OSError:  # not Linux: no table to show, but the lab still runs
            rows, source = [], "no ss and no /proc/net/tcp on this system"
    wanted = [r for r in rows if r["local"].endswith(f":{port}") or r["peer"].endswith(f":{port}")]
    return source, sorted(wanted, key=lambda r: (r["local"].endswith(f":{port}"), r["local"]))




def show_table(title: str, port: int) -> list[dict[str, Any]]:
    """Print the kernel's rows for ``port`` under ``title``; return them."""
    source, rows = connection_table(port)
    print(f"{title}   (from {source})")
    for r in rows:
        timer = f"  timer: {r['timer']:.1f} s left" if r["timer"] is not None else ""
        print(f"  {r['state']:<11} {r['local']:>21} -> {r['peer']:<21}{timer}")
    return rows


# -- TIME-WAIT on the real kernel (the TIME-WAIT chapter) ----------------------------------
# Each experiment below makes real connections on this machine; the TIME-WAIT entries they
# leave behind expire on their own after 60 s, as every TIME-WAIT entry does.

IP_LOCAL_PORT_RANGE = 51  # <linux/in.h>: a socket's own ephemeral port range (Linux >= 6.3)


def sysctl(name: str) -> str | None:
    """A kernel setting as ``sysctl`` prints it (``"net.ipv4.tcp_tw_reuse"`` → ``"2"``),
    read from ``/proc/sys``; None where there is no such file (not Linux, or an older kernel)."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return " ".join(f.read().split())
    except OSError:
        return None


def slab_object_size(cache: str) -> int | None:
    """Bytes of one object of the kernel's slab cache ``cache`` (``"tw_sock_TCP"``: a
    TIME-WAIT socket; ``"TCP"``: a full one), from ``/proc/slabinfo``; None if it cannot be
    read (it needs root)."""
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] == cache:
                    return int(fields[3])
    except (OSError, ValueError, IndexError):
        return None
    return None


def local_address() -> str | None:
    """This host's own non-loopback IPv4 address (the source of its default route), or
    None.  Connecting a UDP socket only chooses a route: nothing is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never answered, never sent to
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _wait_for_time_wait(local: str, timeout: float = 2.0) -> bool:
    """Wait until the kernel's table shows a TIME-WAIT entry whose local end is ``local``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = proc_net_tcp()
        except OSError:
            return False
        if any(r["state"] == "TIME-WAIT" and r["local"] == local for r in rows):
            return True
        time.sleep(0.005)
    return False


def _listener(host: str, port: int, reuse: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def bind_after_time_wait(old_reuse: bool, new_reuse: bool, host: str = "127.0.0.1") -> str:
    """A server restarts while a connection of its previous run is in TIME-WAIT.

    A listener (``SO_REUSEADDR`` = ``old_reuse``) accepts one connection; the server closes
    it first, so that connection's TIME-WAIT sits on the listening port; the listener
    closes.  A new listener (``SO_REUSEADDR`` = ``new_reuse``) then binds the same port.
    Returns ``"bound"`` or the name of the error (``"EADDRINUSE"``).  Linux lets the
    bind through only if both sockets set ``SO_REUSEADDR`` (``inet_bind_conflict()``: a
    TIME-WAIT socket keeps its listener's setting).
    """
    old = _listener(host, 0, old_reuse)
    port = old.getsockname()[1]
    client = socket.create_connection((host, port), timeout=5)
    server, _ = old.accept()
    try:
        server.close()  # the server closes first: TIME-WAIT will be on its side, on `port`
        client.recv(1)  # end-of-file: the server's FIN has arrived
        client.close()
        if not _wait_for_time_wait(f"{host}:{port}"):
            raise RuntimeError(f"no TIME-WAIT entry appeared on {host}:{port}")
    finally:
        client.close()
        old.close()
    try:
        _listener(host, port, new_reuse).close()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "bound"


def reconnect_from_time_wait(host: str = "127.0.0.1", *, give_up: float = 3.0, step: float = 0.05) -> dict[str, Any] | None:
    """A client that closed first connects again to the same server address and port from
    the same port, which is still in TIME-WAIT.

    The client's ephemeral range is narrowed to one port with ``IP_LOCAL_PORT_RANGE``, so
    ``connect()`` must take that port or fail.  It tries every ``step`` s for up to
    ``give_up`` s after TIME-WAIT began.  Returns ``{"port", "errors", "connected_after",
    "attempts"}`` — ``errors``: the error names seen, ``connected_after``: seconds after
    TIME-WAIT began, or None — or None when the kernel has no ``IP_LOCAL_PORT_RANGE``.

    Linux (``tcp_twsk_unique()``) lets ``connect()`` reuse a TIME-WAIT 4-tuple only with
    ``tcp_tw_reuse`` (2, the default: loopback only) and TCP timestamps, once
    ``tcp_tw_reuse_delay`` (1 s) has passed since TIME-WAIT began.
    """
    listener = _listener(host, 0, True)
    server_port = listener.getsockname()[1]

    def client_on(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_LOCAL_PORT_RANGE, struct.pack("I", port | (port << 16)))
        return sock

    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.IPPROTO_IP, IP_LOCAL_PORT_RANGE, struct.pack("I", 0))
        except OSError:
            return None  # an older kernel: no per-socket port range
        finally:
            probe.close()
        first = socket.create_connection((host, server_port), timeout=5)
        port = first.getsockname()[1]
        server, _ = listener.accept()
        first.close()  # the client closes first: its port goes to TIME-WAIT
        server.recv(1)
        server.close()  # the server's FIN: the client enters TIME-WAIT as it arrives
        # TIME-WAIT began now (the kernel stamps it when the FIN is processed, during this
        # close() on loopback), not when the table below first shows it: reading
        # /proc/net/tcp on a busy machine can take tens of milliseconds
        began = time.monotonic()
        if not _wait_for_time_wait(f"{host}:{port}"):
            raise RuntimeError(f"no TIME-WAIT entry appeared on {host}:{port}")
        errors: list[str] = []
        attempts = 0
        while time.monotonic() - began <= give_up:
            attempts += 1
            sock = client_on(port)
            try:
                sock.connect((host, server_port))
            except OSError as exc:
                sock.close()
                name = errno.errorcode.get(exc.errno or 0, str(exc))
                if name not in errors:
                    errors.append(name)
                time.sleep(step)
                continue
            after = time.monotonic() - began
            accepted, _ = listener.accept()
            sock.close()
            accepted.close()
            return {"port": port, "errors": errors, "connected_after": after, "attempts": attempts}
        return {"port": port, "errors": errors, "connected_after": None, "attempts": attempts}
    finally:
        listener.close()
