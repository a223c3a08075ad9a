"""The twin's full state as one vector, so processes other than the robot node (the simulated cameras, the
simulated human) can mirror the simulated cell: ``[time, qpos (nq), target position (3)]`` float64."""

from __future__ import annotations

import mujoco
import numpy as np

from robot_rl.sim.world import SimWorld


def sim_state_vector(world: SimWorld) -> np.ndarray:
    """(1 + nq + 3,) float64."""
    return np.concatenate([[world.time], world.data.qpos, world.target_pos()])


def apply_sim_state(world: SimWorld, vec: np.ndarray) -> None:
    """Set ``world`` to the state in ``vec`` (kinematics only: enough to render and to read poses)."""
    nq = world.model.nq
    if vec.shape != (1 + nq + 3,):
        raise ValueError(f"sim state has {vec.shape[0]} values, this model needs 1 + {nq} + 3")
    world.data.time = float(vec[0])
    world.data.qpos[:] = vec[1:1 + nq]
    world.data.qvel[:] = 0.0
    world.data.mocap_pos[world.target_mocap] = vec[1 + nq:]
    mujoco.mj_kinematics(world.model, world.data)
