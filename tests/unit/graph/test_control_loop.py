"""The actor's control loop: fixed rate, skips (never bunches) after an overrun, stops, reports a failing step."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from robot_rl.graph.control_loop import ControlLoop


def test_ticks_at_the_rate_and_stops():
    ticks: list[float] = []
    enough = threading.Event()

    def step() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 10:
            enough.set()

    loop = ControlLoop(50.0, step).start()
    assert enough.wait(5.0)
    loop.stop()
    assert not loop.running
    n = len(ticks)
    assert n >= 10 and len(loop.periods_s) == n - 1
    # the mean period is the nominal one (each deadline is a multiple of the period from the start)
    assert abs((ticks[-1] - ticks[0]) / (n - 1) - 0.02) < 0.002 or loop.missed > 0


def test_an_overrun_skips_deadlines_instead_of_bunching_ticks():
    ticks: list[float] = []
    enough = threading.Event()

    def step() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 2:
            time.sleep(0.055)  # overruns the next two 20 ms deadlines
        if len(ticks) == 4:
            enough.set()

    loop = ControlLoop(50.0, step).start()
    assert enough.wait(5.0)
    loop.stop()
    assert loop.missed >= 2
    gaps = np.diff(ticks)
    assert gaps[2] > 0.015, f"the tick after the overrun must wait for its deadline, not follow at once: {gaps}"


def test_a_failing_step_stops_the_loop_and_is_reported():
    seen: list[BaseException] = []
    reported = threading.Event()

    def step() -> None:
        raise RuntimeError("policy exploded")

    def on_error(exc: BaseException) -> None:
        seen.append(exc)
        reported.set()

    loop = ControlLoop(100.0, step, on_error=on_error).start()
    assert reported.wait(5.0)
    loop.stop()
    assert isinstance(loop.error, RuntimeError) and seen == [loop.error] and not loop.running


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="rate"):
        ControlLoop(0.0, lambda: None)
