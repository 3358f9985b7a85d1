"""Run every benchmark and print one table (this is ``make bench``).

    .venv/bin/python benchmarks/run_all.py            # simulator, SimPy, sweep, explorer, page weights
    .venv/bin/python benchmarks/run_all.py --book     # also time a clean and a cached book build (slow)
    .venv/bin/python benchmarks/run_all.py --quick    # smaller trial counts

Nothing here is a test: the numbers depend on the machine.  Targets are printed beside
the figures; ``benchmarks/README.md`` records a run and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

os.environ.setdefault("TCPBOOK_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import bench_book  # noqa: E402
import bench_capture  # noqa: E402
import bench_simpy  # noqa: E402
import bench_simulator  # noqa: E402
import bench_sweep  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {numpy.__version__}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--book", action="store_true", help="time a clean and a cached book build (slow)")
    ap.add_argument("--quick", action="store_true", help="fewer trials")
    a = ap.parse_args(argv)
    rows: list[tuple[str, str, str, str]] = []  # benchmark, measure, value, target

    print(f"machine: {machine()}")
    t_start = time.perf_counter()

    sim = bench_simulator.run(repeat=1 if a.quick else 3)
    rows.append(("simulator: 10 MB, 1% loss", "wall time", f"{sim['seconds']:.2f} s", "< 2 s"))
    rows.append(("", "trace events / s", f"{sim['events_per_s']:,.0f}", ""))
    rows.append(("", "segments / s", f"{sim['segments_per_s']:,.0f}", ""))
    rows.append(("", "delivered intact", str(sim["delivered_ok"]), "True"))

    engines = bench_simpy.run(trials=500 if a.quick else 2000, loss=0.2)
    for e in engines:
        rows.append(
            (
                f"handshake MC: {e['engine']}",
                "handshakes / s",
                f"{e['per_second']:,.0f}",
                f"x{e['vs_simpy']:.2f} vs SimPy",
            )
        )

    sweep = bench_sweep.run(trials=20_000 if a.quick else 100_000, event_trials=50 if a.quick else 200)
    for s in sweep:
        unit = "x" if s["engine"].startswith("ratio") else "s"
        target = "< 2 s" if s["engine"].startswith("fast") and not a.quick else ""
        label = f"sweep 77 pts x {s['trials_per_point']:,}: {s['engine']}"
        rows.append((label, "derived" if not s["measured"] else "measured", f"{s['seconds']:.2f} {unit}", target))

    for c in bench_capture.run([1, 10] if a.quick else [1, 10, 100]):
        rows.append(
            (
                f"show: {c['payload_MB']:g} MB capture ({c['file_MB']:.1f} MB file)",
                "tcpbook show",
                f"{c['show_s']:.2f} s, {c['show_MiB']} MiB peak",
                f"{c['show_s_per_file_MB']:.3f} s/MB (flat = linear)",
            )
        )

    explorer = HERE / "bench_explorer.py"
    if explorer.exists():
        proc = subprocess.run([sys.executable, str(explorer)], capture_output=True, text=True, timeout=900)
        out = (proc.stdout.strip() or proc.stderr.strip() or "(no output)").splitlines()
        for line in out[-12:]:
            rows.append(("explorer latency (bench_explorer.py)", "", line.strip(), "p95 < 100 ms"))
    else:
        rows.append(("explorer latency", "", "bench_explorer.py not present", ""))

    # The loss-and-retries chapter's explorer: one live redraw = fast-path sample + two-panel figure.
    import numpy as np

    from tcpbook.analysis.plots import LossExplorerPlot

    lat = []
    plot = LossExplorerPlot(trials=20_000)  # what the live explorer keeps between moves
    for i, (loss, retries) in enumerate([(x / 10, r) for r in (0, 1, 6) for x in range(6)][: 8 if a.quick else 18]):
        t0 = time.perf_counter()
        plot.update(loss, retries, i)
        plot.png(dpi=80)
        lat.append(1000 * (time.perf_counter() - t0))
    rows.append(
        (
            "loss explorer (loss-and-retries chapter) live redraw",
            f"{len(lat)} changes",
            f"p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms",
            "p95 < 100 ms",
        )
    )

    if a.book:
        clean = bench_book.timed_build(True)
        cached = bench_book.timed_build(False)
        rows.append(("book build", "clean", f"{clean:.1f} s", ""))
        rows.append(("book build", "cached", f"{cached:.1f} s", f"x{clean / cached:.1f} faster"))
    if bench_book.HTML.is_dir():
        for w in bench_book.page_weights():
            rows.append(
                (
                    "page weight",
                    w["page"],
                    f"{w['total_bytes'] / 1024:,.0f} KB",
                    f"html {w['html_bytes'] / 1024:,.0f} KB",
                )
            )
    else:
        rows.append(("page weight", "", "no _build/html (make book)", ""))

    widths = [max(len(r[i]) for r in rows + [("benchmark", "measure", "value", "target / note")]) for i in range(4)]
    header = ("benchmark", "measure", "value", "target / note")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(f"(all benchmarks: {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
