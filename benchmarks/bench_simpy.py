"""The handshake Monte Carlo written a second time, with SimPy, to compare engines.

Same rules as :mod:`tcpbook.analysis.fastpath` (client SYN timer on the profile's
schedule, the server's SYN,ACK timer, an immediate SYN,ACK for a duplicate SYN, re-ACKs
from an ESTABLISHED client), one SimPy ``Environment`` per trial.  It prints how many
handshakes per second each engine runs and checks that they agree.

    .venv/bin/python benchmarks/bench_simpy.py [--trials N] [--loss P]
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np
import simpy

from tcpbook import simulate
from tcpbook.analysis.fastpath import sample_handshake
from tcpbook.analysis.models import handshake_schedule
from tcpbook.analysis.montecarlo import handshake_times


def simpy_handshake(rng: random.Random, loss: float, rtt: float = 0.1, **profile: object) -> tuple[float, float]:
    """One handshake in SimPy: (client ESTABLISHED time, server ESTABLISHED time), inf = never."""
    sched = handshake_schedule("linux", **profile)
    d = rtt / 2
    env = simpy.Environment()
    st = {"client": math.inf, "server": math.inf, "req_end": -math.inf, "client_dead": False}
    client_up = env.event()
    server_up = env.event()

    def send(callback):  # a segment on the wire: lost, or delivered after d
        if rng.random() >= loss:
            env.process(_later(env, d, callback))

    def on_synack():
        if st["client_dead"]:
            return
        if math.isinf(st["client"]):
            st["client"] = env.now
            client_up.succeed()
        send(on_ack)  # first ACK, or a re-ACK of a duplicate SYN,ACK

    def on_ack():
        if math.isinf(st["server"]) and env.now < st["req_end"]:
            st["server"] = env.now
            server_up.succeed()

    def request(start):
        st["req_end"] = start + sched.request_lifetime
        for duration in sched.synack_timeouts:
            send(on_synack)
            yield env.timeout(duration) | server_up
            if server_up.triggered:
                return

    def on_syn():
        if env.now >= st["req_end"]:
            env.process(request(env.now))
        elif math.isinf(st["server"]):
            send(on_synack)  # duplicate SYN: answer at once

    def client():
        for duration in sched.syn_timeouts:
            send(on_syn)
            yield env.timeout(duration) | client_up
            if client_up.triggered:
                return
        st["client_dead"] = True

    env.process(client())
    env.run(until=sched.give_up + sched.request_lifetime + 10)
    return st["client"], st["server"]


def _later(env, delay, callback):
    yield env.timeout(delay)
    callback()


def _best(fn, repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` timed calls (a shared machine adds noise, never speed)."""
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(trials: int = 2000, loss: float = 0.2, repeat: int = 3) -> list[dict[str, object]]:
    """Handshakes per second of the engines on the same Monte Carlo, and their estimates.

    Each engine runs ``repeat`` times, interleaved, and its best time counts, so the
    ratios compare the engines under the same conditions.
    """
    engines = {
        "tcpbook event simulator, Monte Carlo": lambda: handshake_times(loss, trials, engine="event", seed=1)[0],
        "tcpbook event simulator, simulate() each": lambda: [
            simulate("handshake", loss=loss, seed=s).outcome.endpoints["client"].established_at for s in range(trials)
        ],
        "SimPy, same model": lambda: [simpy_handshake(random.Random(s), loss)[0] for s in range(trials)],
        "tcpbook fast path (NumPy)": lambda: sample_handshake(max(trials, 100_000), loss, seed=1),
    }
    best = {name: math.inf for name in engines}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in engines.items():
            secs, results[name] = _best(fn, 1)
            best[name] = min(best[name], secs)

    def mean_time(xs):
        if hasattr(xs, "client_time"):
            return xs.client_time[xs.client_established].mean()
        v = np.array([x for x in xs if x is not None and math.isfinite(x)])
        return v.mean()

    rows = []
    for name in engines:
        n = max(trials, 100_000) if "fast path" in name else trials
        rows.append({"engine": name, "trials": n, "seconds": best[name], "per_second": n / best[name], "mean_client_time": float(mean_time(results[name]))})
    base = next(r["per_second"] for r in rows if r["engine"].startswith("SimPy"))
    for r in rows:
        r["vs_simpy"] = r["per_second"] / base
    return rows


_ENGINE_SCRIPT = """
import random, sys
sys.path.insert(0, {bench!r})
from bench_simpy import simpy_handshake
from tcpbook.analysis.montecarlo import handshake_times
engine, trials, loss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if engine == "simpy":
    [simpy_handshake(random.Random(s), loss)[0] for s in range(trials)]
elif engine == "event":
    handshake_times(loss, trials, engine="event", seed=1)
"""


def instructions(trials: int = 300, loss: float = 0.2) -> dict[str, float] | None:
    """Machine instructions per handshake of each engine, counted by valgrind's callgrind
    (the same count on an idle or a busy machine, unlike seconds); None without valgrind.
    The cost of starting Python and importing everything is measured alone and taken off."""
    import os
    import re
    import shutil
    import subprocess
    import sys
    import tempfile

    if shutil.which("valgrind") is None:
        return None
    script = _ENGINE_SCRIPT.format(bench=os.path.dirname(os.path.abspath(__file__)))
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("none", "simpy", "event"):
            out = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg", sys.executable, "-c", script, engine, str(trials), str(loss)],
                capture_output=True, text=True, check=True,
            ).stderr
            counts[engine] = int(re.search(r"Collected : (\d+)", out).group(1))
    return {engine: (counts[engine] - counts["none"]) / trials for engine in ("simpy", "event")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--loss", type=float, default=0.2)
    ap.add_argument("--instructions", action="store_true", help="also count instructions per handshake with valgrind (slow, load-independent)")
    args = ap.parse_args(argv)
    for r in run(args.trials, args.loss):
        print(
            f"{r['engine']:42s} {r['trials']:>8d} trials {r['seconds']:8.3f} s {r['per_second']:>12,.0f}/s  x{r['vs_simpy']:.2f} vs SimPy  mean time {r['mean_client_time']:.3f} s"
        )
    if args.instructions:
        counts = instructions(loss=args.loss)
        if counts is None:
            print("instructions: valgrind is not installed")
        else:
            print(
                f"instructions per handshake (callgrind): SimPy {counts['simpy']:,.0f}, tcpbook event simulator "
                f"{counts['event']:,.0f}  ->  event simulator x{counts['simpy'] / counts['event']:.2f} vs SimPy"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
