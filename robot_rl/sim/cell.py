"""The twin as the robot node's arm: the simulated cell (arm, cube, target) behind the same :class:`Robot`
interface as the real Franka, plus what only a simulation has: episode resets that randomise the world, a
privileged success / failure check, and the full state vector the simulated cameras and human mirror.

Commands step physics one control period each (lock-step with the actor); the cameras render in their own
process from :meth:`SimCell.state_vector`, so a step here renders nothing."""

from __future__ import annotations

import numpy as np

from robot_rl.config.schema import Config
from robot_rl.hardware.robot import Robot, RobotState, SentCommand
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.state_vector import sim_state_vector


class SimCell(Robot):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.env: PickPlaceEnv | None = None
        self._reported = False

    def connect(self) -> None:
        if self.env is None:
            self.env = PickPlaceEnv(self.cfg)
            self.reset_episode(self.cfg.ros.seed)

    def disconnect(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None

    @property
    def _env(self) -> PickPlaceEnv:
        if self.env is None:
            raise RuntimeError("the simulated cell is not connected: call connect() first")
        return self.env

    def reset_episode(self, seed: int) -> None:
        self._env.reset(seed)
        self._reported = False

    def read_state(self) -> RobotState:
        return self._env.robot.read_state()

    def send_action(self, action: np.ndarray) -> SentCommand:
        return self._env.execute(action)

    def stop(self) -> None:
        if self.env is not None:
            self.env.robot.stop()

    def outcome(self) -> str | None:
        """``success`` / ``failure`` once per episode, from the twin's privileged task check."""
        if self._reported:
            return None
        success, failed = self._env.evaluate()
        if success or failed:
            self._reported = True
            return "success" if success else "failure"
        return None

    def state_vector(self) -> np.ndarray:
        """The twin's full state for the simulated cameras and human (:mod:`robot_rl.sim.state_vector`)."""
        return sim_state_vector(self._env.world)
