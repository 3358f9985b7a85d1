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


def run(trials: int = 2000, loss: float = 0.2) -> list[dict[str, object]]:
    """Handshakes per second of three engines on the same Monte Carlo, and their estimates."""
    rows = []
    t0 = time.perf_counter()
    ev = [simulate("handshake", loss=loss, seed=s).outcome.endpoints["client"].established_at for s in range(trials)]
    t_event = time.perf_counter() - t0
    rng = random.Random(1)
    t0 = time.perf_counter()
    sp = [simpy_handshake(rng, loss)[0] for _ in range(trials)]
    t_simpy = time.perf_counter() - t0
    fast_trials = max(trials, 100_000)
    t0 = time.perf_counter()
    fast = sample_handshake(fast_trials, loss, seed=1)
    t_fast = time.perf_counter() - t0

    def mean_time(xs):
        v = np.array([x for x in xs if x is not None and math.isfinite(x)])
        return v.mean()

    for name, n, secs, mean in (
        ("tcpbook event simulator", trials, t_event, mean_time(ev)),
        ("SimPy, same model", trials, t_simpy, mean_time(sp)),
        ("tcpbook fast path (NumPy)", fast_trials, t_fast, fast.client_time[fast.client_established].mean()),
    ):
        rows.append(
            {"engine": name, "trials": n, "seconds": secs, "per_second": n / secs, "mean_client_time": float(mean)}
        )
    base = rows[1]["per_second"]
    for r in rows:
        r["vs_simpy"] = r["per_second"] / base
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--loss", type=float, default=0.2)
    args = ap.parse_args(argv)
    for r in run(args.trials, args.loss):
        print(
            f"{r['engine']:28s} {r['trials']:>8d} trials {r['seconds']:8.3f} s {r['per_second']:>12,.0f}/s  x{r['vs_simpy']:.2f} vs SimPy  mean time {r['mean_client_time']:.3f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
