"""The real-kernel lab: reading Linux's table of TCP connections.

The kernel keeps a row for every TCP socket — its state, its two addresses and, for some
states, a timer.  ``ss -tano`` prints the table; ``/proc/net/tcp`` is the same table as
text (what ``ss``'s predecessor ``netstat`` parsed).  :func:`connection_table` reads it
from whichever is available, so the lab chapter runs on any Linux machine, and degrades
to an empty table elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

__all__ = ["PROC_STATES", "connection_table", "parse_ss_seconds", "proc_net_tcp", "show_table", "ss_tan"]

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
