"""The event loop: time order, deterministic ties, limits."""

import pytest

from tcpbook.errors import ParameterError
from tcpbook.simulator import RunDidNotFinish, SimulationError, Simulator


def test_events_run_in_time_order_and_ties_in_scheduling_order():
    sim, seen = Simulator(), []
    sim.schedule(2.0, seen.append, "c")
    sim.schedule(1.0, seen.append, "a")
    sim.schedule(1.0, seen.append, "b")
    sim.run()
    assert seen == ["a", "b", "c"] and sim.now == 2.0 and sim.events_run == 3


def test_callbacks_can_schedule_more():
    sim, seen = Simulator(), []

    def tick(n):
        seen.append((sim.now, n))
        if n < 3:
            sim.schedule(sim.now + 0.5, tick, n + 1)

    sim.schedule(0.0, tick, 0)
    sim.run()
    assert seen == [(0.0, 0), (0.5, 1), (1.0, 2), (1.5, 3)]


def test_until_stops_the_clock():
    sim, seen = Simulator(), []
    for t in (1, 2, 3):
        sim.schedule(t, seen.append, t)
    sim.run(until=2.5)
    assert seen == [1, 2] and sim.now == 2.5 and sim.peek() == 3


def test_no_scheduling_in_the_past_and_a_runaway_guard():
    sim = Simulator()
    sim.schedule(1.0, lambda: None)
    sim.run()
    with pytest.raises(SimulationError, match="before now"):
        sim.schedule(0.5, lambda: None)

    def forever():
        sim.schedule(sim.now, forever)

    sim.schedule(sim.now, forever)
    with pytest.raises(RunDidNotFinish, match="did not finish within 100 events"):
        sim.run(max_events=100)
    with pytest.raises(ParameterError, match="until"):
        Simulator().run(until=-1)
