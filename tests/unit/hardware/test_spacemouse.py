"""The SpaceMouse through pyspacemouse's real report parsing, fed raw HID reports by a fake device at
the HID-read boundary (no virtual HID device can be created on these machines)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_rl.hardware.camera import StaleFrameError
from robot_rl.hardware.deadline import wait_for
from robot_rl.hardware.errors import DeviceNotFoundError

pytest.importorskip("pyspacemouse", reason="pyspacemouse is not installed (pip install -e '.[teleop]')")

from robot_rl.hardware.spacemouse import SpaceMouse, apply_deadband
from robot_rl.testing.fake_hid import FakeHIDDevice, axis_report, button_report

FULL = 350  # SpaceNavigator axis_scale: a raw value of 350 is a full push


@pytest.fixture
def hid():
    return FakeHIDDevice()


@pytest.fixture
def sm_cfg(cfg):
    return dataclasses.replace(cfg.teleop.spacemouse, deadband=0.1, translation_scale=1.0, rotation_scale=0.5,
                               reconnect_s=0.05)


def test_reports_become_a_scaled_twist_with_deadband(hid, sm_cfg):
    with SpaceMouse(sm_cfg, hid_devices=lambda: [hid]) as sm:
        hid.feed(axis_report(1, FULL, -FULL // 2, 20))  # x full, y half (HID y is toward the user), z in deadband
        hid.feed(axis_report(2, 0, 0, FULL))  # yaw full
        s = wait_for(lambda: (x := sm.latest()).reports >= 2 and x, 2.0, "two reports parsed")
        # HID_Z_UP: x = +HID x, y = -HID y, yaw = -HID rz; deadband 0.1 rescales 0.5 -> 0.444
        np.testing.assert_allclose(s.twist, [1.0, (0.5 - 0.1) / 0.9, 0.0, 0.0, 0.0, -0.5], atol=1e-6)
        assert s.twist.dtype == np.float32 and s.buttons == (0, 0)
        hid.feed(button_report(0b10))
        wait_for(lambda: sm.latest().buttons == (0, 1), 2.0, "take-over button")
        hid.feed(axis_report(1, 10 * FULL, 0, 0))  # beyond full scale: clipped
        wait_for(lambda: sm.latest().twist[0] == 1.0 and sm.latest().reports >= 4, 2.0, "clipped x")


def test_holds_newest_state_and_polls_at_100hz_or_more(hid, sm_cfg):
    with SpaceMouse(sm_cfg, hid_devices=lambda: [hid]) as sm:
        first = wait_for(lambda: sm.latest(max_age_s=1.0), 1.0, "first poll")
        polls0 = sm.polls
        later = wait_for(lambda: (x := sm.latest()).stamp > first.stamp + 0.5 and x, 2.0, "0.5 s of polls")
        assert later.reports == 0 and np.all(later.twist == 0)  # no reports: at rest, and kept fresh
        assert (sm.polls - polls0) / (later.stamp - first.stamp) >= 100


def test_unplug_is_reported_and_replug_recovers(hid, sm_cfg):
    with SpaceMouse(sm_cfg, hid_devices=lambda: [hid] if hid.plugged else []) as sm:
        hid.feed(axis_report(1, FULL, 0, 0))
        wait_for(lambda: sm.latest().reports == 1, 2.0, "report")
        hid.unplug()
        wait_for(lambda: sm.status.startswith("lost"), 2.0, "unplug reported")
        with pytest.raises(StaleFrameError, match="lost"):
            wait_for(lambda: sm.latest(max_age_s=0.05) and False, 2.0, "stale")
        hid.replug()
        wait_for(lambda: sm.status.startswith("connected") and sm.reconnects == 1, 2.0, "reconnected")
        hid.feed(axis_report(1, 0, 0, -FULL))
        wait_for(lambda: sm.latest().twist[2] == 1.0, 2.0, "z after replug")  # HID z is down: -raw is up


def test_no_device_names_the_fix(sm_cfg):
    with pytest.raises(DeviceNotFoundError, match="libhidapi-hidraw0"):
        SpaceMouse(sm_cfg, hid_devices=lambda: []).start()


def test_deadband_is_continuous_and_reaches_one():
    x = np.array([-1.0, -0.1, -0.05, 0.0, 0.05, 0.1, 0.55, 1.0])
    np.testing.assert_allclose(apply_deadband(x, 0.1), [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0])


def test_fake_hid_socket_in_the_config_feeds_reports_from_another_process(sm_cfg, tmp_path):
    """``fake_hid_socket``: the SpaceMouse opens a fake device reading datagrams from that Unix socket (what the
    teleop node's ROS test sends to); the socket exists while the device is open."""
    from robot_rl.testing.fake_hid import send_report

    path = str(tmp_path / "hid.sock")
    with SpaceMouse(dataclasses.replace(sm_cfg, fake_hid_socket=path)) as sm:
        assert sm.status == "connected: SpaceNavigator"
        send_report(path, axis_report(1, 0, FULL, 0))
        send_report(path, button_report(0b01))
        s = wait_for(lambda: (x := sm.latest(max_age_s=10.0)).reports >= 2 and x, 5.0, "two reports over the socket")
        np.testing.assert_allclose(s.twist, [0.0, -1.0, 0.0, 0.0, 0.0, 0.0], atol=1e-6)  # HID y is toward the user
        assert s.buttons == (1, 0)
    assert not (tmp_path / "hid.sock").exists()
