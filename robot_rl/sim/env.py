"""The pick-and-place task in simulation, with a Gymnasium-style API.

``reset(seed)`` -> ``(obs, info)``; ``step(action)`` -> ``(obs, reward, terminated, truncated, info)``.
Observations follow docs/architecture.md §2: ``images/<camera>`` ``(H, W, 3) uint8`` and ``state`` ``(10,) float32``
(TCP position, TCP rotation as two matrix columns, gripper width), plus ``joints`` ``(7,) float32`` (arm joint
positions, recorded as ``obs/joints`` for joint-space replay; policies read ``state`` only). The env is
composed of the same :class:`Robot` and :class:`Camera` interfaces the hardware implements; only reset
and success checking use privileged simulator state. Seeded resets are reproducible bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from robot_rl.config.schema import Config
from robot_rl.control.safety import SafetyLimits
from robot_rl.hardware.robot import SentCommand
from robot_rl.sim.camera import MujocoCamera
from robot_rl.sim.robot import MujocoRobot
from robot_rl.sim.world import SimWorld
from robot_rl.spec import image_key

Observation = dict[str, np.ndarray]


@dataclass(frozen=True)
class TaskState:
    """Privileged simulator state: what the scripted expert and the success check look at."""

    tcp_pos: np.ndarray  # (3,)
    tcp_mat: np.ndarray  # (3, 3)
    gripper_width: float
    cube_pos: np.ndarray  # (3,)
    cube_quat: np.ndarray  # (4,) w, x, y, z
    target_pos: np.ndarray  # (3,)
    cube_half_size: float


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def task_state(world: SimWorld, cube_half_size: float) -> TaskState:
    """The task's privileged state from a world (the env's own, or a mirror of the robot node's twin)."""
    pos, mat = world.tcp_pose()
    cube_pos, cube_quat = world.cube_pose()
    return TaskState(tcp_pos=pos, tcp_mat=mat, gripper_width=world.gripper_width(), cube_pos=cube_pos,
                     cube_quat=cube_quat, target_pos=world.target_pos(), cube_half_size=cube_half_size)


class PickPlaceEnv:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.world = SimWorld(cfg)
        self.limits = SafetyLimits.for_robot(cfg.robot)
        self.robot = MujocoRobot(self.world, self.limits)
        self.cameras = {name: MujocoCamera(name, self.world) for name in cfg.camera.names}
        self.robot.connect()
        for cam in self.cameras.values():
            cam.connect()
        _pos, self._down = self._home_tcp_pose()
        self.steps = 0
        self.seed: int | None = None

    def _home_tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        qpos = self.world.data.qpos.copy()
        qpos[self.world.arm_qadr] = self.world.q_home
        return self.robot.ik.site_pose(qpos)

    # -- Gymnasium-style API -------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> tuple[Observation, dict[str, Any]]:
        rng = np.random.default_rng(seed)
        self.seed = seed
        task, w = self.cfg.task, self.world
        mujoco.mj_resetData(w.model, w.data)
        w.data.qpos[w.arm_qadr] = w.q_home
        start = np.asarray(task.start_pos, dtype=np.float64)
        start[:2] += rng.uniform(-task.start_pos_noise, task.start_pos_noise, size=2)
        self.robot.place(start, self._down, gripper=-1.0)

        cube_xy = rng.uniform(task.cube_xy_low, task.cube_xy_high)
        yaw = rng.uniform(-task.cube_yaw_range, task.cube_yaw_range)
        target_xy = self._sample_target(rng, cube_xy)
        w.data.qpos[w.cube_qadr:w.cube_qadr + 7] = [*cube_xy, task.cube_half_size, *yaw_quat(yaw)]
        w.data.mocap_pos[w.target_mocap] = [*target_xy, 0.0]
        mujoco.mj_forward(w.model, w.data)
        for cam in self.cameras.values():
            cam.invalidate()
        self.steps = 0
        return self.observe(), {"seed": seed, "target_pos": w.target_pos(), "cube_pos": w.cube_pose()[0]}

    def _sample_target(self, rng: np.random.Generator, cube_xy: np.ndarray) -> np.ndarray:
        task = self.cfg.task
        for _ in range(1000):
            xy = rng.uniform(task.target_xy_low, task.target_xy_high)
            if np.linalg.norm(xy - cube_xy) >= task.min_cube_target_distance:
                return xy
        raise ValueError("task: cannot place the target task.min_cube_target_distance away from the cube "
                         "within task.target_xy_low/high; widen the ranges")

    def step(self, action: np.ndarray) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        sent = self.execute(action)
        success, failed = self.evaluate()
        terminated = success or failed
        truncated = not terminated and self.steps >= self.cfg.task.max_steps
        info = {
            "success": success,
            "failed": failed,
            "executed_action": sent.action,
            "action_clipped": sent.clip.clipped,
            "clipped_dims": sent.clip.action_dims,
            "workspace_clipped_axes": sent.clip.workspace_axes,
            "t": self.world.time,
        }
        return self.observe(), float(success), terminated, truncated, info

    def execute(self, action: np.ndarray) -> SentCommand:
        """One control step without rendering an observation (the robot node's twin: cameras render
        elsewhere); counts toward ``task.max_steps`` like :meth:`step`."""
        sent = self.robot.send_action(action)
        self.steps += 1
        return sent

    def observe(self) -> Observation:
        obs = {image_key(name): cam.read_latest(self.cfg.camera.max_age_s).image
               for name, cam in self.cameras.items()}
        state = self.robot.read_state()
        obs["state"] = state.proprio()
        obs["joints"] = state.joint_pos.astype(np.float32)
        return obs

    def task_state(self) -> TaskState:
        return task_state(self.world, self.cfg.task.cube_half_size)

    def evaluate(self) -> tuple[bool, bool]:
        """(success, failed). Success: cube on the target within tolerance, released, at rest."""
        task, w = self.cfg.task, self.world
        cube_pos, _ = w.cube_pose()
        on_target = np.linalg.norm(cube_pos[:2] - w.target_pos()[:2]) < task.success_tolerance
        on_table = cube_pos[2] < task.cube_half_size + 0.01
        released = w.gripper_width() > 2 * task.cube_half_size + 0.01
        settled = w.cube_speed() < 0.03
        failed = bool(cube_pos[2] < -0.05)  # fell off the table
        return bool(on_target and on_table and released and settled), failed

    def close(self) -> None:
        self.robot.stop()
        self.robot.disconnect()
        for cam in self.cameras.values():
            cam.disconnect()
        self.world.close()

    def __enter__(self) -> PickPlaceEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
