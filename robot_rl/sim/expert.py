"""A scripted expert for the pick-and-place task: the demonstrator, and later the simulated human.

It reads privileged simulator state (:class:`TaskState`) and decides what to do from that state
alone (no internal phase), so it can take over at any moment of an episode, as a human would.
``noise_std`` adds Gaussian action noise to simulate a weaker demonstrator; ``gain`` is the fraction
of the remaining pose error corrected per step.
"""

from __future__ import annotations

import numpy as np

from robot_rl.config.schema import ExpertConfig
from robot_rl.control.safety import SafetyLimits
from robot_rl.sim.env import TaskState
from robot_rl.spec import ACTION_DIM, GRIPPER

HOVER_HEIGHT = 0.08  # above the cube centre, before descending
CARRY_HEIGHT = 0.12  # TCP height while carrying
XY_ALIGNED = 0.008  # m
YAW_ALIGNED = 0.08  # rad
DOWN = np.array([0.0, 0.0, -1.0])


def _wrap_quarter_turn(angle: float) -> float:
    """Map an angle to [-pi/4, pi/4): a cube looks the same every quarter turn."""
    return float((angle + np.pi / 4) % (np.pi / 2) - np.pi / 4)


def _cube_at_tcp(s: TaskState) -> bool:
    rel = s.cube_pos - s.tcp_pos
    return bool(np.linalg.norm(rel[:2]) < 0.02 and abs(rel[2]) < 0.025)


def holding(s: TaskState) -> bool:
    """The cube is between the closed fingers."""
    return _cube_at_tcp(s) and s.gripper_width < 2 * s.cube_half_size + 0.004


def placed(s: TaskState) -> bool:
    """The cube rests on the table at the target."""
    h = s.cube_half_size
    return bool(np.linalg.norm(s.cube_pos[:2] - s.target_pos[:2]) < 0.015 and s.cube_pos[2] < h + 0.01)


def task_phase(s: TaskState) -> int:
    """How far the task has come: 0 reaching for the cube, 1 carrying it (held and off the table), 2 placed.
    The simulated human hands back once the phase it took over in is done."""
    if placed(s):
        return 2
    return int(holding(s) and s.cube_pos[2] > s.cube_half_size + 0.01)


class ScriptedExpert:
    def __init__(self, cfg: ExpertConfig, limits: SafetyLimits, seed: int | None = None) -> None:
        self.cfg = cfg
        self.limits = limits
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, s: TaskState) -> np.ndarray:
        """The expert's action for this state. (7,) float32 in [-1, 1]."""
        goal, gripper, align_yaw = self._plan(s)
        action = np.zeros(ACTION_DIM)
        action[:3] = self.cfg.gain * (goal - s.tcp_pos) / self.limits.max_translation
        action[3:6] = self.cfg.gain * self._rotation_error(s, align_yaw) / self.limits.max_rotation
        action[GRIPPER] = gripper
        if self.cfg.noise_std > 0:
            action[:6] += self.rng.normal(0.0, self.cfg.noise_std, size=6)
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _plan(self, s: TaskState) -> tuple[np.ndarray, float, bool]:
        """(TCP goal position, gripper command, whether to align yaw with the cube)."""
        h, tcp, cube, target = s.cube_half_size, s.tcp_pos, s.cube_pos, s.target_pos
        rel = cube - tcp
        at_tcp = _cube_at_tcp(s)
        if holding(s):  # carrying
            to_target = target[:2] - cube[:2]
            if np.linalg.norm(to_target) > XY_ALIGNED:
                if tcp[2] < CARRY_HEIGHT - 0.03 and np.linalg.norm(to_target) > 0.03:
                    return np.array([tcp[0], tcp[1], CARRY_HEIGHT]), 1.0, False
                return np.array([*(tcp[:2] + to_target), CARRY_HEIGHT]), 1.0, False
            release = cube[2] < h + 0.006
            return np.array([*(tcp[:2] + to_target), h + 0.002]), (-1.0 if release else 1.0), False
        if placed(s):  # let go and back off
            return tcp + np.array([0.0, 0.0, 0.05]), -1.0, False
        if at_tcp and abs(rel[2]) < 0.008 and s.gripper_width > 2 * h:  # fingers around the cube: close
            return tcp.copy(), 1.0, True
        # approach: hover above the cube with the yaw aligned, open, then descend
        xy_err = np.linalg.norm(rel[:2])
        yaw_err = abs(self._yaw_error(s))
        fully_open = s.gripper_width > 2 * h + 0.02
        if xy_err > XY_ALIGNED or yaw_err > YAW_ALIGNED or not fully_open:
            if tcp[2] < cube[2] + 0.04 and xy_err > 0.015:  # lift clear first, never sweep the cube
                return np.array([tcp[0], tcp[1], cube[2] + HOVER_HEIGHT]), -1.0, True
            return np.array([cube[0], cube[1], cube[2] + HOVER_HEIGHT]), -1.0, True
        return np.array([cube[0], cube[1], cube[2] + 0.002]), -1.0, True

    @staticmethod
    def _yaw_error(s: TaskState) -> float:
        """Yaw turn that puts the fingers' closing axis (hand y) across a pair of cube faces."""
        w, z = s.cube_quat[0], s.cube_quat[3]
        cube_yaw = 2.0 * np.arctan2(z, w)
        hand_y = s.tcp_mat[:, 1]
        hand_yaw = np.arctan2(hand_y[1], hand_y[0])
        return _wrap_quarter_turn(cube_yaw - hand_yaw)

    def _rotation_error(self, s: TaskState, align_yaw: bool) -> np.ndarray:
        """World-frame rotation vector: tilt the TCP z axis back to straight down (+ yaw alignment)."""
        z_axis = s.tcp_mat[:, 2]
        axis = np.cross(z_axis, DOWN)
        sin, cos = np.linalg.norm(axis), float(np.dot(z_axis, DOWN))
        tilt = axis / sin * np.arctan2(sin, cos) if sin > 1e-9 else np.zeros(3)
        yaw = self._yaw_error(s) if align_yaw else 0.0
        return tilt + np.array([0.0, 0.0, yaw])
