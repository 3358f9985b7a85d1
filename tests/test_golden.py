"""The golden traces: every scenario over a grid of parameters and seeds gives, byte for
byte, the ``--json`` document recorded in ``tests/golden/traces.jsonl.gz``.

The file is written by ``scripts/golden_traces.py --write``; a change that alters it
must say which cases changed and why in its commit message.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import golden_traces  # noqa: E402

GOLDEN = golden_traces.load()


def test_the_golden_grid_covers_every_scenario():
    from tcpbook import SCENARIOS

    assert {entry["case"]["scenario"] for entry in GOLDEN} == set(SCENARIOS)
    assert [entry["case"] for entry in GOLDEN] == list(golden_traces.cases())


@pytest.mark.parametrize("entry", GOLDEN, ids=lambda e: "-".join(str(v) for v in e["case"].values())[:90])
def test_trace_is_byte_identical_to_the_golden_one(entry):
    assert golden_traces.run_case(entry["case"]) == entry["json"]
