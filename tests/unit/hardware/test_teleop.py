"""DeviceTeleop, the SpaceMouse + keyboard backend without ROS: button edges toggle the gripper and the take-over,
keys take over / hand back and pass task events on, each change is reported once, a stale device raises."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.hardware.errors import DeviceError
from robot_rl.hardware.keyboard import KeyEvent
from robot_rl.hardware.spacemouse import TwistSample
from robot_rl.hardware.teleop import DeviceTeleop, make_teleop


class Mouse:
    """Stands in at the device boundary: the buttons and twist the next ``latest`` returns."""

    def __init__(self) -> None:
        self.buttons = (0, 0)
        self.stale = False
        self.stopped = False

    def latest(self, max_age_s=None) -> TwistSample:
        if self.stale:
            raise DeviceError("SpaceMouse: newest report is 0.5 s old")
        return TwistSample(np.full(6, 0.5, np.float32), self.buttons, 12.0, 1)

    def stop(self) -> None:
        self.stopped = True


class Keys:
    def __init__(self) -> None:
        self.pending: list[str] = []
        self.stopped = False

    def poll(self) -> list[KeyEvent]:
        out = [KeyEvent(e, e[0], 1.0) for e in self.pending]
        self.pending = []
        return out

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def teleop():
    cfg = load_config([])
    mouse, keys = Mouse(), Keys()
    return DeviceTeleop(cfg.teleop, mouse, keys), mouse, keys, cfg.teleop.spacemouse


def _press(mouse: Mouse, button: int) -> None:
    b = list(mouse.buttons)
    b[button] = 1
    mouse.buttons = tuple(b)


def test_first_poll_reports_the_open_gripper_and_the_twist_with_its_stamp(teleop):
    t, *_ = teleop
    cmd = t.poll()
    assert cmd.gripper == -1.0 and cmd.intervening is None and cmd.events == ()
    np.testing.assert_array_equal(cmd.twist, np.full(6, 0.5, np.float32))
    assert cmd.stamp == 12.0
    assert t.poll().gripper is None  # unchanged: not said again


def test_a_held_button_toggles_once(teleop):
    t, mouse, _, sm = teleop
    t.poll()
    _press(mouse, sm.button_gripper)
    assert t.poll().gripper == 1.0
    assert t.poll().gripper is None  # still held: no second toggle
    mouse.buttons = (0, 0)
    t.poll()
    _press(mouse, sm.button_gripper)
    assert t.poll().gripper == -1.0


def test_the_takeover_button_and_keys_change_the_takeover_once_each(teleop):
    t, mouse, keys, sm = teleop
    _press(mouse, sm.button_takeover)
    assert t.poll().intervening is True
    assert t.poll().intervening is None
    keys.pending = ["handback", "success"]
    cmd = t.poll()
    assert cmd.intervening is False and cmd.events == ("success",)
    keys.pending = ["takeover", "handback"]  # both within one poll: nothing changed
    assert t.poll().intervening is None


def test_a_stale_device_raises_and_close_stops_both(teleop):
    t, mouse, keys, _ = teleop
    mouse.stale = True
    with pytest.raises(DeviceError, match="old"):
        t.poll()
    t.close()
    assert mouse.stopped and keys.stopped


def test_the_factory_chooses_by_ros_teleop():
    assert make_teleop(load_config(["ros.teleop=none"])) is None
