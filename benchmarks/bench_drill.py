"""packetdrill scripts: how long `tcpbook.drill` takes to parse and run one.

    .venv/bin/python benchmarks/bench_drill.py              # the corpus, and long scripts
    .venv/bin/python benchmarks/bench_drill.py --lines 1000 10000 100000

* the corpus (``tests/drill/*.pkt``): the best of five runs of each script, in
  milliseconds — what a reader waits for after ``tcpbook drill x.pkt`` (Python's
  start-up aside);
* long scripts made here: a handshake, then N/4 exchanges of ``write`` / ``>`` data /
  ``<`` ACK / ``+.1`` apart, which gives N lines.  The last column divides the time by
  the lines: linear means it stays flat.

Nothing here is a test; the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tcpbook import drill  # noqa: E402

HANDSHAKE = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
"""


def long_script(lines: int) -> str:
    """A script of about ``lines`` lines: 100-byte writes, each acknowledged 100 ms later."""
    parts = [HANDSHAKE]
    seq = 1
    for _ in range(max(1, (lines - 7) // 3)):
        parts.append(f"+0 write(4, ..., 100) = 100\n+0 > P. {seq}:{seq + 100}(100) ack 1\n"
                     f"+.1 < . 1:1(0) ack {seq + 100} win 65535\n")
        seq = (seq + 100) % 2**32
    return "".join(parts)


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def corpus() -> list[tuple[str, int, int, float]]:
    rows = []
    for path in sorted((ROOT / "tests" / "drill").glob("*.pkt")):
        result = drill(path)
        assert result.passed, path.name
        seconds = best_of(5, lambda p=path: drill(p))
        rows.append((path.stem, len(result.script.events), len(result.trace.segments), seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1000, 10000, 100000])
    a = parser.parse_args()
    print(f"{'corpus script':<26} {'events':>6} {'segments':>8} {'ms':>8}")
    rows = corpus()
    for name, events, segments, seconds in rows:
        print(f"{name:<26} {events:>6} {segments:>8} {seconds * 1000:>8.2f}")
    total = sum(r[3] for r in rows)
    print(f"{'all ' + str(len(rows)) + ' scripts':<26} {'':>6} {'':>8} {total * 1000:>8.2f}")
    print()
    print(f"{'long script, lines':<26} {'segments':>8} {'s':>8} {'µs/line':>8}")
    for lines in a.lines:
        text = long_script(lines)
        n = text.count("\n")
        t0 = time.perf_counter()
        result = drill(text)
        seconds = time.perf_counter() - t0
        assert result.passed, result.failure and result.failure.message
        print(f"{n:<26,} {len(result.trace.segments):>8,} {seconds:>8.2f} {seconds / n * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
