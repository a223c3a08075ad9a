"""The watchdog: trips once per lapse, only when armed, on an injectable clock."""

from __future__ import annotations

import pytest

from robot_rl.control.safety import Watchdog


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_trips_once_after_timeout_and_rearms_on_feed():
    clock = Clock()
    dog = Watchdog(0.25, clock=clock)
    assert not dog.check() and not dog.armed  # unarmed until the first command
    dog.feed()
    clock.t += 0.2
    assert not dog.check()
    clock.t += 0.1
    assert dog.check()
    assert not dog.check()  # edge-triggered: one stop per lapse
    assert dog.trips == 1
    dog.feed()
    assert dog.age() == 0.0
    clock.t += 0.3
    assert dog.check() and dog.trips == 2


def test_disarm_stops_watching():
    clock = Clock()
    dog = Watchdog(0.1, clock=clock)
    dog.feed()
    dog.disarm()
    clock.t += 10
    assert not dog.check() and dog.age() == float("inf")


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan")])
def test_rejects_bad_timeouts(timeout):
    with pytest.raises(ValueError, match="timeout"):
        Watchdog(timeout)
