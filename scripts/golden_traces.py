"""Golden traces: the ``--json`` output of every scenario over a grid of parameters and seeds.

They pin the simulator's behaviour byte for byte while its insides change.  Written once
with ``--write`` (``tests/golden/traces.jsonl.gz``, one ``{"case": …, "json": …}`` line per
run); ``--check`` (and ``tests/test_golden.py``) re-runs every case and compares.

    .venv/bin/python scripts/golden_traces.py --write
    .venv/bin/python scripts/golden_traces.py --check [--normalise]

A deliberate change of behaviour (a bug fix) regenerates the file in its own commit,
whose message says which cases changed and why.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "traces.jsonl.gz"

LOSS_SEEDS = ((0.0, 0), (0.1, 1), (0.2, 2), (0.3, 3), (0.5, 4))

# Scenario-specific variations, crossed with both profiles and LOSS_SEEDS.
VARIATIONS: dict[str, list[dict[str, Any]]] = {
    "handshake": [
        {},
        {"drop": ["client:SYN:*"]},
        {"drop": ["server:SYN-ACK:*"]},
        {"drop": ["client:ACK:1"], "bytes": 100},
        {"drop": ["client:ACK:*"]},
        {"syn_retries": 2, "linear_syn_timeouts": 0},
        {"isn_client": 2**32 - 1, "isn_server": 7, "bytes": 100},
        {"jitter": 0.03, "rtt": 0.5},
    ],
    "transfer": [
        {},
        {"bytes": 50000, "delayed_ack": True},
        {"drop": ["client:DATA:3"]},
        {"drop": ["client:DATA:2", "client:DATA:3"], "bytes": 20000},
        {"jitter": 0.05, "bytes": 30000},
        {"mss": 536, "rcvbuf": 4000, "bytes": 10000},
        {"bytes": 200000, "cc": "reno", "drop": ["client:DATA:20"]},
        {"bytes": 100000, "cc": "none", "initcwnd": 1},
        {"bytes": 60000, "read_rate": 20000, "rcvbuf": 20000},
        {"bytes": 60000, "reorder": 0.2, "jitter": 0.02},
        {"bytes": 100, "rtt": 0.0001, "drop": ["client:DATA:*"], "retries2": 5},
    ],
    "close": [
        {},
        {"closer": "server"},
        {"bytes": 3000, "close_delay": 0.0},
        {"drop": ["client:ACK:*"]},
        {"drop": ["server:FIN:1"], "time_wait": 5.0},
        {"closer": "server", "close_delay": 2.0, "delayed_ack": True},
    ],
    "full": [
        {},
        {"crash": True},
        {"bytes": 20000, "delayed_ack": True},
        {"jitter": 0.04},
        {"close_delay": 100.0, "fin_timeout": 10.0},
        {"bytes": 3000, "linger": 0},
    ],
    "exit": [{}, {"bytes": 100000}, {"bytes": 100000, "unread": 500}, {"linger": 0}],
    "crash": [{}, {"bytes": 3000, "crash_at": 0.12, "reboot_at": 1.0, "send_at": 2.0}, {"crash_at": 0.12, "send_at": 1.0, "user_timeout": 20}],
    "dead-peer": [
        {"keepalive": True, "keepidle": 10, "keepintvl": 2, "keepcnt": 3},
        {"send_at": 20, "retries2": 8},
        {"keepalive": True, "keepidle": 10, "keepintvl": 2, "keepcnt": 3, "crash_at": 45},
    ],
    "time-wait-reuse": [{}, {"second_isn": 50}],
    "time-wait-rst": [{}, {"rfc1337": True}],
    "simultaneous-open": [{}, {"bytes": 500}],
    "simultaneous-close": [{}, {"close_at": 0.5}, {"drop": ["client:FIN:1"]}],
    "half-close": [{}, {"response_bytes": 20000, "rcvbuf": 3000}],
    "old-duplicate-syn": [{}, {"old_isn": 12345}],
    "refused": [{}, {"port": 8080}],
    "abort": [{}, {"how": "abort"}, {"how": "unread", "close_at": 0.2}],
    "syn-flood": [
        {"attack_rate": 20.0, "attack_duration": 5.0, "clients": 3, "client_interval": 1.0, "client_start": 1.0},
        {"attack_rate": 20.0, "attack_duration": 5.0, "clients": 3, "syncookies": True, "backlog": 8},
        {"attack_rate": 30.0, "attack_duration": 4.0, "clients": 2, "attack_pattern": "poisson", "backlog": 16},
        {"attack_rate": 100.0, "attack_duration": 10.0, "clients": 2, "syncookies": False, "backlog": 32, "attack_pattern": "even"},
    ],
}


def cases() -> Iterator[dict[str, Any]]:
    """Every golden case as ``{"scenario": …, **params}``, in a fixed order."""
    for scenario, variations in VARIATIONS.items():
        for variation, profile, (loss, seed) in itertools.product(variations, ("linux", "rfc"), LOSS_SEEDS):
            if scenario == "syn-flood" and loss > 0.1:
                continue  # floods are long; two loss levels are enough
            yield {"scenario": scenario, "profile": profile, "loss": loss, "seed": seed, **variation}


def run_case(case: dict[str, Any]) -> str:
    from tcpbook import simulate

    params = dict(case)
    return simulate(params.pop("scenario"), **params).to_json()


def write() -> int:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"case": case, "json": run_case(case)}, sort_keys=True) for case in cases()]
    # mtime=0: the same traces give the same file bytes
    with open(GOLDEN, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(("\n".join(lines) + "\n").encode())
    print(f"wrote {len(lines)} golden traces to {GOLDEN.relative_to(ROOT)}")
    return 0


def load() -> list[dict[str, Any]]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(normalise: bool = False) -> int:
    bad = 0
    golden = load()
    for entry in golden:
        got = run_case(entry["case"])
        if got != entry["json"]:
            bad += 1
            if bad <= 10:
                print("DIFFERS:", json.dumps(entry["case"]))
    print(f"{len(golden) - bad} of {len(golden)} golden traces identical")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.write:
        return write()
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
