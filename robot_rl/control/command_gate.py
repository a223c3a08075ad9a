"""Which commands the robot node lets through to the arm, and when the arm is held: the admission rules and the
halt state machine, without ROS (the robot node feeds it and acts on what it says).

Admission, in order: a stop request from the supervisor refuses every later command for good; a command computed
from an observation older than ``robot.max_command_age_s`` when it arrives is refused (the actor checks freshness
before it acts, but can be paused or backlogged after that check; 0 turns the check off). The signature check
comes before both and lives with the message format (``robot_rl_ros.command_auth``).

Halts: the arm starts held (nothing commanded yet); :meth:`CommandGate.poll` says, once each, when the stop
request must be acted on (also when the watchdog had halted the arm already) and when the watchdog lapsed;
:meth:`CommandGate.executed` says when a command released a held arm. A reset disarms the watchdog: the arm is
idle on purpose until the next episode's first command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from robot_rl.control.safety import Watchdog


class Refusal(str, Enum):
    stopped = "stopped"  # the supervisor asked the robot to stop: no command runs again in this process
    stale = "stale"  # computed from an observation older than the configured age


@dataclass(frozen=True)
class Refused:
    kind: Refusal
    message: str


class Halt(str, Enum):
    stop_requested = "stop_requested"
    watchdog = "watchdog"


class CommandGate:
    """``clock`` drives the watchdog (injectable for tests); :meth:`admit` takes the caller's times (the robot
    node: ROS time, the clock the command's observation stamp is on)."""

    def __init__(self, watchdog_s: float, max_command_age_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.watchdog = Watchdog(watchdog_s, clock)
        self.max_age_s = float(max_command_age_s)
        self.halted = True  # nothing commanded yet
        self.executed_count = 0
        self._stop_requested = False
        self._stop_reported = False

    def request_stop(self) -> None:
        """The supervisor's stop (a signal handler may call this: it only sets a flag)."""
        self._stop_requested = True

    @property
    def stopped(self) -> bool:
        return self._stop_requested

    def admit(self, observation_stamp_s: float, now_s: float) -> Refused | None:
        """None when a (correctly signed) command may run; otherwise why not."""
        if self._stop_requested:
            return Refused(Refusal.stopped, "the robot was stopped by the supervisor; command refused")
        age = now_s - observation_stamp_s
        if self.max_age_s and age > self.max_age_s:
            return Refused(Refusal.stale, f"computed from an observation {age:.3f} s old "
                                          f"(robot.max_command_age_s={self.max_age_s:g}); not executed")
        return None

    def executed(self) -> bool:
        """A command ran: feed the watchdog. True when it released a held arm."""
        self.executed_count += 1
        self.watchdog.feed()
        released, self.halted = self.halted, False
        return released

    def reset(self) -> None:
        """An episode reset: the arm is idle on purpose until the next command."""
        self.watchdog.disarm()

    def poll(self) -> list[Halt]:
        """At the state rate: the halts to act on now (stop the arm, say so, publish halted), each once."""
        halts = []
        if self._stop_requested and not self._stop_reported:
            self._stop_reported = True
            halts.append(Halt.stop_requested)
        if self.watchdog.check():
            halts.append(Halt.watchdog)
        if halts:
            self.halted = True
        return halts
