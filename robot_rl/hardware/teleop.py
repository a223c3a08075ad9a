"""The human's side of the loop, without ROS: what a person at the robot commands, one poll at a time.

A teleop backend turns its devices into a :class:`HumanCommand` per poll of the teleop node: the twist while the
human commands, the gripper value and the take-over state when they change, and the task events they pressed.
:class:`DeviceTeleop` is the SpaceMouse (a button edge toggles the gripper, another toggles the take-over) plus the
keyboard (take over / hand back, success, failure, reset, pause, quit, and ack: let the policy go on after it asked
for help); the twin's simulated person is :class:`robot_rl.sim.harness.human_teleop.SimulatedTeleop`.
:func:`make_teleop` is the one place a backend is chosen (``ros.teleop``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from robot_rl.config.schema import Config, TeleopConfig
    from robot_rl.hardware.keyboard import KeyboardTeleop
    from robot_rl.hardware.spacemouse import SpaceMouse


@dataclass(frozen=True)
class HumanCommand:
    twist: np.ndarray | None = None  # (6,) action units, while the human commands; None: publish none
    stamp: float = 0.0  # time.monotonic() of the twist's sample
    gripper: float | None = None  # the gripper value in [-1, 1] when it changed (or is first known)
    intervening: bool | None = None  # the take-over state when it changed
    events: tuple[str, ...] = ()  # success, failure, reset, pause, quit, ack (take-overs are ``intervening``)


class Teleop(Protocol):
    def poll(self) -> HumanCommand:
        """What the human commands now; raises when a device is stale or unplugged (the actor then holds)."""

    def close(self) -> None: ...


class DeviceTeleop:
    """SpaceMouse + keyboard. The gripper starts open (-1); the first poll reports it."""

    def __init__(self, cfg: TeleopConfig, mouse: SpaceMouse, keys: KeyboardTeleop) -> None:
        self.cfg = cfg.spacemouse
        self.mouse, self.keys = mouse, keys
        self.gripper = -1.0
        self.intervening = False
        self._buttons: tuple[int, ...] = ()
        self._gripper_reported = False

    def poll(self) -> HumanCommand:
        sample = self.mouse.latest(self.cfg.max_age_s)
        pressed = [i for i, b in enumerate(sample.buttons)
                   if b and (i >= len(self._buttons) or not self._buttons[i])]  # rising edges only
        self._buttons = sample.buttons
        report_gripper = not self._gripper_reported
        self._gripper_reported = True
        if self.cfg.button_gripper in pressed:
            self.gripper, report_gripper = -self.gripper, True
        was = self.intervening
        if self.cfg.button_takeover in pressed:
            self.intervening = not self.intervening
        events = []
        for key in self.keys.poll():
            if key.event in ("takeover", "handback"):
                self.intervening = key.event == "takeover"
            else:
                events.append(key.event)
        return HumanCommand(twist=sample.twist, stamp=sample.stamp,
                            gripper=self.gripper if report_gripper else None,
                            intervening=self.intervening if self.intervening != was else None, events=tuple(events))

    def close(self) -> None:
        self.mouse.stop()
        self.keys.stop()


def make_teleop(cfg: Config) -> Teleop | None:
    """The backend ``ros.teleop`` names, started: ``devices``, ``sim`` or ``none`` (None)."""
    if cfg.ros.teleop == "devices":
        from robot_rl.hardware.keyboard import KeyboardTeleop
        from robot_rl.hardware.spacemouse import SpaceMouse

        mouse = SpaceMouse(cfg.teleop.spacemouse).start()
        try:
            keys = KeyboardTeleop(dict(cfg.teleop.keys)).start()
        except BaseException:
            mouse.stop()
            raise
        return DeviceTeleop(cfg.teleop, mouse, keys)
    if cfg.ros.teleop == "sim":
        from robot_rl.sim.harness.human_teleop import SimulatedTeleop

        return SimulatedTeleop(cfg)
    return None
