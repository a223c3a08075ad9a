"""The twin as the robot node's arm (SimCell): the Robot interface, episode resets, the step count the task
limit reads, the once-per-episode outcome, the state vector the simulated cameras mirror."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.hardware.robot import Robot, make_robot
from robot_rl.sim.cell import SimCell
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.state_vector import apply_sim_state
from robot_rl.sim.world import SimWorld


def test_the_factory_makes_a_connected_cell_for_the_mujoco_backend(cfg):
    cell = make_robot(cfg)
    try:
        assert isinstance(cell, SimCell) and isinstance(cell, Robot)
        assert cell.read_state().proprio().shape == (10,)
    finally:
        cell.disconnect()


def test_reset_matches_the_env_and_commands_count_toward_the_episode(cfg):
    cell = SimCell(cfg)
    with pytest.raises(RuntimeError, match="connect"):
        cell.read_state()
    cell.connect()
    try:
        cell.reset_episode(3)
        with PickPlaceEnv(cfg) as env:
            env.reset(3)
            np.testing.assert_allclose(cell.read_state().ee_pos, env.robot.read_state().ee_pos)
        sent = cell.send_action(np.full(7, 2.0, np.float32))  # out of range: clipped by the safety layer
        assert np.all(np.abs(sent.action) <= 1.0) and sent.clip.clipped
        assert cell.env is not None and cell.env.steps == 1
        cell.reset_episode(4)
        assert cell.env.steps == 0
    finally:
        cell.stop()
        cell.disconnect()


def test_outcome_is_reported_once_per_episode(cfg, monkeypatch):
    cell = make_robot(cfg)
    try:
        assert cell.outcome() is None  # at the start nothing is decided
        monkeypatch.setattr(cell.env, "evaluate", lambda: (True, False))
        assert cell.outcome() == "success"
        assert cell.outcome() is None
        cell.reset_episode(1)
        assert cell.outcome() == "success"  # a new episode may report again
    finally:
        cell.disconnect()


def test_the_state_vector_puts_a_mirror_world_where_the_cell_is(cfg):
    cell = make_robot(cfg)
    mirror = SimWorld(cfg)
    try:
        cell.reset_episode(7)
        cell.send_action(np.array([0.5, 0, -0.5, 0, 0, 0, 1], np.float32))
        apply_sim_state(mirror, cell.state_vector())
        np.testing.assert_array_equal(mirror.data.qpos, cell.env.world.data.qpos)
        pos, _ = mirror.tcp_pose()  # from the mirrored joints; the cell's from its last physics substep
        np.testing.assert_allclose(pos, cell.read_state().ee_pos, atol=1e-3)
        np.testing.assert_allclose(mirror.target_pos(), cell.env.world.target_pos())
    finally:
        mirror.close()
        cell.disconnect()
