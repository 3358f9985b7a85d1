"""Capture import speed: `tcpbook show` on generated bulk-transfer captures of 1, 10, 100 MB.

    .venv/bin/python benchmarks/bench_capture.py                 # 1, 10, 100 MB
    .venv/bin/python benchmarks/bench_capture.py --sizes 1 10 100 200
    .venv/bin/python benchmarks/bench_capture.py --mss 65483    # loopback-sized segments

Each capture is a client sending N MB to a server over Ethernet (1448-byte segments,
an ACK every second segment, handshake and close: about 1,100 packets per MB), written
by ``tests/capture_factory.py``.  Each measurement runs in a fresh process, so its
peak memory (max RSS) is its own:

* ``read_capture`` — the import alone (``tcpbook.capture.read_capture``);
* ``show`` — the whole command line, ``python -m tcpbook show FILE`` (import,
  text ladder, printing; Python's start-up included).

The last column divides the time by the size: linear means it stays flat.  Nothing
here is a test; the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from capture_factory import bulk_capture  # noqa: E402

READ = "import sys; from tcpbook.capture import read_capture; t = read_capture(sys.argv[1]); print(len(t.segments))"


def _child(argv: list[str]) -> tuple[float, int, str]:
    """Like _timed, but with the child's own resource usage (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode(errors='replace').strip()}")
    return seconds, usage.ru_maxrss // 1024, out.decode(errors="replace").splitlines()[0] if out else ""


def run(sizes: list[float], mss: int = 1448) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in sizes:
            path = pathlib.Path(tmp) / f"bulk-{megabytes:g}MB.pcap"
            t0 = time.perf_counter()
            bulk_capture(path, int(megabytes * 1_000_000), mss=mss)
            made = time.perf_counter() - t0
            size_mb = path.stat().st_size / 1e6
            read_s, read_rss, segments = _child([sys.executable, "-c", READ, str(path)])
            show_s, show_rss, _ = _child([sys.executable, "-m", "tcpbook", "show", str(path)])
            rows.append(
                {
                    "payload_MB": megabytes,
                    "file_MB": size_mb,
                    "segments": int(segments),
                    "generate_s": made,
                    "read_capture_s": read_s,
                    "read_capture_MiB": read_rss,
                    "show_s": show_s,
                    "show_MiB": show_rss,
                    "show_s_per_file_MB": show_s / size_mb,
                }
            )
            path.unlink()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 100], help="payload sizes in MB")
    ap.add_argument("--mss", type=int, default=1448, help="bytes per data segment (65483: loopback)")
    args = ap.parse_args(argv)
    print(f"{'payload':>8} {'file':>9} {'segments':>9} {'read_capture':>13} {'peak':>8} {'show':>8} {'peak':>8} {'show s/MB':>10}")
    for row in run(args.sizes, args.mss):
        print(
            f"{row['payload_MB']:>6g}MB {row['file_MB']:>7.1f}MB {row['segments']:>9,} {row['read_capture_s']:>11.2f} s "
            f"{row['read_capture_MiB']:>5} MiB {row['show_s']:>6.2f} s {row['show_MiB']:>4} MiB {row['show_s_per_file_MB']:>10.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
