"""Driving a robot through calibration poses and pairing each robot pose with a camera frame.

Only the :class:`Robot` and :class:`Camera` interfaces are used, so the same code runs the MuJoCo twin
and a real Franka with a RealSense. Motion goes through ``send_action`` and therefore through the safety
layer: a pose outside the workspace box or the orientation cone is reported and skipped, never forced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from robot_rl.calibration.charuco import BoardNotFoundError, BoardSpec, Detection, detect
from robot_rl.calibration.hand_eye import HandEyeSample
from robot_rl.calibration.transforms import make_T, mat_to_rotvec, pose_error
from robot_rl.hardware.camera import Camera
from robot_rl.hardware.robot import Robot, RobotState

log = logging.getLogger(__name__)


class MotionError(RuntimeError):
    """The arm did not reach a calibration pose."""


def state_pose(state: RobotState) -> np.ndarray:
    """The TCP pose of a robot state as (4, 4) ``T_base_tcp``."""
    return make_T(state.ee_mat, state.ee_pos)


@dataclass
class Motion:
    """How :func:`move_to` servos: tolerances, step budget, settling, and ``pace`` (called once per control
    step: a rate limiter on hardware, nothing in simulation where ``send_action`` steps physics)."""

    max_translation: float  # m per step at action 1.0 (robot.max_translation_per_step)
    max_rotation: float  # rad per step at action 1.0 (robot.max_rotation_per_step)
    tol_m: float = 0.015  # calibration pairs the *measured* pose with the image: the target need not be hit exactly
    tol_deg: float = 1.0
    max_steps: int = 100
    settle_speed: float = 0.01  # rad/s: joints slower than this count as at rest
    pace: Callable[[], None] = field(default=lambda: None)


def rate_limiter(hz: float) -> Callable[[], None]:
    """A pace function that returns at ``hz`` ticks per second (for loops driving real hardware)."""
    period, next_t = 1.0 / hz, [time.monotonic()]

    def pace() -> None:
        next_t[0] += period
        delay = next_t[0] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t[0] = time.monotonic()

    return pace


def _gripper_hold(state: RobotState, open_width: float = 0.04) -> float:
    """The gripper command that keeps the gripper as it is (a held board must not be dropped)."""
    return 1.0 if state.gripper_width < open_width else -1.0


def move_to(robot: Robot, target: np.ndarray, motion: Motion) -> RobotState:
    """Servo the TCP to ``target`` (4, 4) with EE-delta actions until within tolerance and at rest."""
    state = robot.read_state()
    grip = _gripper_hold(state)
    for _ in range(motion.max_steps):
        err_m, err_deg = pose_error(state_pose(state), target)
        at_rest = float(np.abs(state.joint_vel).max()) < motion.settle_speed
        if err_m < motion.tol_m and err_deg < motion.tol_deg and at_rest:
            return state
        dpos = (target[:3, 3] - state.ee_pos) / motion.max_translation
        drot = mat_to_rotvec(target[:3, :3] @ state.ee_mat.T) / motion.max_rotation
        for part in (dpos, drot):
            peak = float(np.abs(part).max())
            if peak > 1.0:
                part /= peak
        sent = robot.send_action(np.concatenate([dpos, drot, [grip]]).astype(np.float32))
        motion.pace()
        state = robot.read_state()
    err_m, err_deg = pose_error(state_pose(state), target)
    clipped = sent.clip.workspace_axes + tuple(n for n in sent.clip.limits if n == "rotation_range")
    why = (f": the safety layer clipped it ({', '.join(clipped)}); widen robot.workspace_low/high or "
           "robot.max_rotation_from_reference, or reduce calibration.max_tilt_deg/max_yaw_deg") if clipped else ""
    raise MotionError(f"pose not reached in {motion.max_steps} steps ({err_m * 1000:.1f} mm, {err_deg:.2f} deg off)"
                      f"{why}")


def fresh_frame(camera: Camera, after: float, max_age_s: float, timeout_s: float = 2.0):
    """The first frame captured at or after ``after`` (the backend's clock): never pair a pose with an image
    taken while the arm was still moving."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = camera.read_latest(max_age_s)
        if frame.stamp >= after:
            return frame
        if time.monotonic() > deadline:
            raise MotionError(f"camera {camera.name}: no frame newer than the robot pose within {timeout_s} s")
        time.sleep(0.005)  # polling a device for its next frame (hardware only; sim frames are always fresh)


@dataclass
class Views:
    samples: list[HandEyeSample] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def detections(self) -> list[Detection]:
        return [s.detection for s in self.samples]


def collect_views(robot: Robot, camera: Camera, poses: Sequence[np.ndarray], board: BoardSpec, motion: Motion,
                  min_corners: int = 8, max_age_s: float = 0.5,
                  on_view: Callable[[int, str], None] | None = None) -> Views:
    """Move to each pose, take a frame, detect the board. Unreachable poses and views without the board are
    skipped with the reason (the caller decides whether enough remain)."""
    views = Views()
    for i, target in enumerate(poses):
        label = f"view {i + 1}/{len(poses)}"
        try:
            state = move_to(robot, target, motion)
            frame = fresh_frame(camera, state.stamp, max_age_s)
            det = detect(frame.image, board, min_corners, view=label)
        except (MotionError, BoardNotFoundError) as exc:
            views.skipped.append(f"{label}: {exc}")
            if on_view:
                on_view(i, f"skipped: {exc}")
            continue
        views.samples.append(HandEyeSample(T_base_tcp=state_pose(state), detection=det, label=label))
        if on_view:
            on_view(i, f"{len(det)} corners")
    return views
