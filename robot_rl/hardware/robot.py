"""The robot interface every arm backend implements (real Franka, MuJoCo twin, test fakes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from robot_rl import spec
from robot_rl.control.safety import ClipReport

if TYPE_CHECKING:
    from robot_rl.config.schema import Config


@dataclass(frozen=True)
class RobotState:
    """One proprioceptive sample. Positions in metres in the robot base frame; ``stamp`` in seconds
    on the backend's clock (monotonic on hardware, simulation time in sim)."""

    ee_pos: np.ndarray  # (3,)
    ee_quat: np.ndarray  # (4,) w, x, y, z with w >= 0
    gripper_width: float
    joint_pos: np.ndarray  # (7,)
    joint_vel: np.ndarray  # (7,)
    stamp: float

    ee_mat: np.ndarray  # (3, 3) rotation of the EE frame in the base frame
    mode: str = "ok"  # backend's robot mode, e.g. libfranka's "Idle", "Move", "Reflex"
    errors: tuple[str, ...] = ()  # active error flags (libfranka names), empty when healthy

    def proprio(self) -> np.ndarray:
        """The observation's ``state`` vector (:func:`robot_rl.spec.proprio`): (10,) float32."""
        return spec.proprio(self.ee_pos, self.ee_mat, self.gripper_width)


@dataclass(frozen=True)
class SentCommand:
    """What :meth:`Robot.send_action` actually executed, after clipping."""

    action: np.ndarray  # (7,) float32, clipped to [-1, 1]
    target_pos: np.ndarray  # (3,) EE target, clipped to the workspace
    target_quat: np.ndarray  # (4,)
    gripper: float  # [-1, 1], -1 open
    clip: ClipReport


class Robot(ABC):
    """An arm with a gripper, commanded in end-effector deltas (see :mod:`robot_rl.control.safety`).

    Lifecycle: ``connect()`` ... ``disconnect()`` (or use it as a context manager); ``stop()`` must
    leave the arm holding still and is safe to call at any time, from any state.
    """

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def disconnect(self) -> None: ...

    @abstractmethod
    def read_state(self) -> RobotState: ...

    @abstractmethod
    def send_action(self, action: np.ndarray) -> SentCommand:
        """Check, clip and execute one control step's action; returns what was executed."""

    @abstractmethod
    def stop(self) -> None: ...

    def reset_episode(self, seed: int) -> None:
        """Bring the arm (in sim: the whole cell, randomised by ``seed``) to an episode's start. The default
        does nothing: an arm without a scene or a home pose to return to."""
        return None

    def outcome(self) -> str | None:
        """``success`` / ``failure`` once per episode where the backend can judge the task (the twin's
        privileged check); None otherwise (on hardware the human says so)."""
        return None

    def __enter__(self) -> Robot:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.disconnect()


def make_robot(cfg: Config) -> Robot:
    """The one place a robot backend is chosen (``robot.backend``); the robot is connected."""
    from robot_rl.config.schema import RobotBackend

    if cfg.robot.backend == RobotBackend.mujoco:
        from robot_rl.sim.cell import SimCell

        robot: Robot = SimCell(cfg)
    else:
        from robot_rl.hardware.franka import FrankaRobot

        robot = FrankaRobot(cfg.robot)
    robot.connect()
    return robot
