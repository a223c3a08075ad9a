"""Intrinsics after crop+resize, RealSense factory intrinsics through librealsense, the capture loop."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.calibration.intrinsics import mujoco_intrinsics, pinhole_from_fovy, realsense_intrinsics
from robot_rl.calibration.teleop import capture_loop
from robot_rl.config.schema import RobotConfig
from robot_rl.control.safety import SafetyLimits
from robot_rl.hardware.robot import Robot, RobotState, SentCommand


def test_centre_crop_of_the_capture_is_the_policy_camera():
    """The 128x128 sim image is the 640x480 render's centre square, resized: intrinsics must agree."""
    full = mujoco_intrinsics(75.0, "wrist", 640, 480, "bot")
    small = full.cropped([80, 0, 480, 480], (128, 128))
    np.testing.assert_allclose([small.fx, small.fy, small.cx, small.cy], pinhole_from_fovy(75.0, 128, 128))


def test_realsense_factory_intrinsics_from_a_recording(tmp_path):
    pytest.importorskip("pyrealsense2")
    from robot_rl.hardware.realsense_recording import write_recording

    path = write_recording(tmp_path / "cam.db3", np.zeros((3, 48, 64, 3), np.uint8), serial="123456789012")
    rec = realsense_intrinsics("front", "bot", width=64, height=48, recording=path)
    assert (rec.width, rec.height, rec.fx, rec.cx, rec.cy) == (64, 48, 64.0, 32.0, 24.0)  # as the recording says
    assert rec.serial == "123456789012" and "factory" in rec.provenance.method


class FakeRobot(Robot):
    def __init__(self) -> None:
        self.pos, self.actions, self.stops = np.array([0.4, 0.0, 0.3]), [], 0
        self.limits = SafetyLimits.for_robot(RobotConfig())

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def read_state(self) -> RobotState:
        return RobotState(ee_pos=self.pos.copy(), ee_quat=np.array([0.0, 1.0, 0.0, 0.0]), gripper_width=0.02,
                          joint_pos=np.zeros(7), joint_vel=np.zeros(7), stamp=0.0, ee_mat=np.diag([1.0, -1, -1]))

    def send_action(self, action: np.ndarray) -> SentCommand:
        self.actions.append(np.asarray(action))
        self.pos = self.pos + np.asarray(action[:3], float) * 0.01
        return SentCommand(action=action, target_pos=self.pos, target_quat=np.zeros(4), gripper=float(action[6]),
                           clip=self.limits.command(action, self.pos, np.diag([1.0, -1, -1])).clip)

    def stop(self) -> None:
        self.stops += 1


def test_capture_loop_drives_captures_and_quits():
    robot = FakeRobot()
    script = iter([None, None, "\n", None, "\n", "q\n"])
    captured = []
    n = capture_loop(robot, lambda s: captured.append(s.ee_pos) or "ok", lambda: next(script),
                     lambda: np.array([1.0, 0, 0, 0, 0, 0], np.float32), lambda: None, say=lambda _: None)
    assert n == 2 and len(captured) == 2
    assert captured[1][0] > captured[0][0]  # the twist moved the arm between captures
    assert all(a[6] == 1.0 for a in robot.actions)  # a closed gripper (holding a board) stays closed
    assert robot.stops >= 3  # still at every capture and at the end
