"""The actor's control loop: fixed rate, skips (never bunches) after an overrun, stops, reports a failing step.

Rate, skipping and the ``missed`` count are checked on a simulated clock injected into the loop (every reading
of it costs a fixed quantum, so the final spin to a deadline ends; ``sleep`` and the step's work advance it),
so each tick's time is known exactly and the checks hold however loaded the machine is. Only stopping and
error reporting run on the real clock, where nothing is timed."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from robot_rl.actor.control_loop import ControlLoop

QUANTUM = 2.0**-14  # s per clock reading (~61 us): a tick lands within one quantum after its deadline
HZ = 50.0
PERIOD = 1.0 / HZ


class SimClock:
    """A monotonic clock that only moves when read (by ``QUANTUM``), slept on, or worked against."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        self.t += QUANTUM
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def work(self, seconds: float) -> None:
        self.t += seconds


def run_ticks(n: int, work: Callable[[int, SimClock], None] = lambda i, c: None,
              spin_s: float = 0.002) -> tuple[ControlLoop, SimClock, list[float], float]:
    """Run a loop on a :class:`SimClock` for ``n`` ticks (the n-th step stops it). Returns the loop, the clock,
    each tick's time and the loop's start reading (deadline k is ``start + k * PERIOD``)."""
    clock = SimClock()
    ticks: list[float] = []
    done = threading.Event()
    loop: ControlLoop | None = None

    def step() -> None:
        ticks.append(clock.t)
        work(len(ticks), clock)
        if len(ticks) == n:
            assert loop is not None
            loop.stop()  # from the loop's own thread: ends the loop after this tick
            done.set()

    loop = ControlLoop(HZ, step, spin_s=spin_s, clock=clock, sleep=clock.sleep)
    loop.start()
    assert done.wait(60.0), f"the simulated loop did not reach its ticks: {loop.error!r}"
    loop.stop(timeout_s=60.0)
    assert not loop.running and loop.error is None
    return loop, clock, ticks, QUANTUM  # the loop's first clock reading is its start: one quantum


def deadline_index(t: float, start: float) -> int:
    """Which deadline the tick at ``t`` served, asserting it came within one quantum after it."""
    k = round((t - start) / PERIOD)
    assert 0 <= t - (start + k * PERIOD) < QUANTUM + 1e-12, f"tick at {t} is not just after deadline {k}"
    return k


def test_ticks_at_the_rate_sleeping_all_but_the_spin_and_stops():
    loop, clock, ticks, start = run_ticks(10)
    assert len(ticks) == 10, "the loop stops after the tick that asked it to"
    assert [deadline_index(t, start) for t in ticks] == list(range(1, 11))  # every deadline, once, in order
    assert loop.missed == 0
    assert len(loop.periods_s) == 9
    assert all(abs(p - PERIOD) < QUANTUM for p in loop.periods_s)
    # before each deadline the loop sleeps, leaving only spin_s (less the clock readings since the tick) to spin
    assert len(clock.sleeps) == 10
    assert all(PERIOD - 0.002 - 3 * QUANTUM <= s <= PERIOD - 0.002 for s in clock.sleeps), clock.sleeps


@pytest.mark.parametrize(("work_s", "missed"), [(0.015, 0), (0.025, 1), (0.055, 2), (0.101, 5)])
def test_an_overrun_skips_the_deadlines_it_missed_and_keeps_the_phase(work_s: float, missed: int):
    """Tick 2's step takes ``work_s``: every deadline it ran past is skipped and counted; the next tick is on
    the next deadline still ahead (never at once after the overrun, never off the original grid)."""

    def work(i: int, clock: SimClock) -> None:
        if i == 2:
            clock.work(work_s)

    loop, _, ticks, start = run_ticks(5, work)
    assert loop.missed == missed
    assert [deadline_index(t, start) for t in ticks] == [1, 2, *range(3 + missed, 6 + missed)]


def test_overruns_add_up_in_missed():
    def work(i: int, clock: SimClock) -> None:
        if i in (2, 4):
            clock.work(0.045)  # runs past two deadlines each time

    loop, _, ticks, start = run_ticks(6, work)
    assert loop.missed == 4
    assert [deadline_index(t, start) for t in ticks] == [1, 2, 5, 6, 9, 10]


def test_the_default_sleep_is_cut_short_by_stop():
    """On the real clock: a loop waiting for a deadline 100 s away stops at once, without ticking."""
    ticks: list[int] = []
    loop = ControlLoop(0.01, lambda: ticks.append(1)).start()
    loop.stop(timeout_s=60.0)
    assert not loop.running and ticks == [] and loop.missed == 0


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


@pytest.mark.parametrize("hz", [0.0, -10.0, float("nan")])
def test_rate_must_be_positive(hz: float):
    with pytest.raises(ValueError, match="rate"):
        ControlLoop(hz, lambda: None)
