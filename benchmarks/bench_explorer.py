"""Live-explorer latency: how long a control change takes to re-simulate and redraw.

For each explorer, builds the live widget and moves its controls N times to random
allowed values (seeded, so every run moves them the same way), timing each change
from the value being set to both pictures and the summary being replaced — the
whole work a kernel does between a slider release and the new frame.  Prints
p50 / p95 / max in milliseconds per explorer.  The target (issue 3) is p95 < 100 ms
on a 2-core machine.

    .venv/bin/python benchmarks/bench_explorer.py            # 60 changes each
    .venv/bin/python benchmarks/bench_explorer.py -n 200 handshake
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tcpbook.explorers import SPECS, Control, explore  # noqa: E402


def random_value(control: Control, rng: random.Random, current: object) -> object:
    """A different allowed value of ``control`` (what a reader might pick next)."""
    for _ in range(20):
        if control.kind in ("float", "int") and control.live_range:
            lo, hi, step = control.live_range
            steps = int(round((hi - lo) / step))
            value = lo + step * rng.randint(0, steps)
            value = int(value) if control.kind == "int" else round(value, 6)
        else:
            value = rng.choice(list(control.choices or control.grid))
        if value != current:
            return value
    return current


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


def bench(name: str, changes: int, seed: int) -> list[float]:
    box = explore(name, static=False)
    ex = box.explorer
    rng = random.Random(seed)
    times = []
    for _ in range(changes):
        control = rng.choice(ex.controls)
        widget = ex.inputs[control.name]
        value = random_value(control, rng, widget.value)
        if value == widget.value:
            continue
        start = time.perf_counter()
        widget.value = value  # observe() re-simulates and redraws synchronously
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("explorers", nargs="*", default=list(SPECS))
    parser.add_argument("-n", "--changes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'explorer':<11} {'changes':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for name in args.explorers:
        times = bench(name, args.changes, args.seed)
        p95 = percentile(times, 95)
        worst = max(worst, p95)
        print(f"{name:<11} {len(times):>7} {statistics.median(times):>8.1f} {p95:>8.1f} {max(times):>8.1f}")
    print(f"worst p95: {worst:.1f} ms (target < 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
