"""The event engine: time order, then priority, then scheduling order."""

from __future__ import annotations

import pytest

from schedlab.engine import Simulator


def test_deterministic_tie_order() -> None:
    sim = Simulator()
    seen: list[tuple[float, str]] = []
    for name, time, priority in [("c", 2.0, 1), ("a", 1.0, 0), ("d", 2.0, 0), ("e", 2.0, 1), ("b", 1.5, 5)]:
        sim.schedule(time, lambda n: seen.append((sim.now, n)), name, priority)
    assert sim.run() == 5
    assert seen == [(1.0, "a"), (1.5, "b"), (2.0, "d"), (2.0, "c"), (2.0, "e")]


def test_handlers_schedule_more_and_run_until() -> None:
    sim = Simulator()
    ticks: list[float] = []

    def tick(i: int) -> None:
        ticks.append(sim.now)
        if i < 9:
            sim.schedule(sim.now + 1, tick, i + 1)

    sim.schedule(0.0, tick, 0)
    sim.run(until=4.5)
    assert ticks == [0, 1, 2, 3, 4] and sim.pending == 1 and sim.peek() == 5
    sim.run()
    assert len(ticks) == 10 and sim.events == 10


def test_no_scheduling_in_the_past() -> None:
    sim = Simulator(start=3.0)
    with pytest.raises(ValueError):
        sim.schedule(2.0, print)
