"""The MuJoCo pick-and-place env: observation contract, determinism, bad actions, cameras."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.control.safety import ActionError
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.spec import STATE_DIM, image_key


@pytest.fixture(scope="module")
def env(cfg):
    with PickPlaceEnv(cfg) as e:
        yield e


def _rollout(env: PickPlaceEnv, seed: int, steps: int) -> list[dict[str, np.ndarray]]:
    actions = np.random.default_rng(1234).uniform(-1, 1, size=(steps, 7)).astype(np.float32)
    obs, _ = env.reset(seed)
    trajectory = [obs]
    for action in actions:
        obs, *_ = env.step(action)
        trajectory.append(obs)
    return trajectory


def test_observation_contract(env, cfg):
    obs, info = env.reset(0)
    assert set(obs) == {"images/wrist", "images/front", "state", "joints"}
    assert obs["joints"].shape == (7,) and obs["joints"].dtype == np.float32
    for cam in cfg.camera.names:
        assert obs[image_key(cam)].shape == (cfg.camera.height, cfg.camera.width, 3)
        assert obs[image_key(cam)].dtype == np.uint8
    assert obs["state"].shape == (STATE_DIM,) and obs["state"].dtype == np.float32
    np.testing.assert_allclose(obs["state"][:3], cfg.task.start_pos, atol=cfg.task.start_pos_noise * 1.5 + 1e-3)
    assert obs["state"][-1] == pytest.approx(cfg.robot.gripper_max_width, abs=1e-3)  # starts open
    assert np.linalg.norm(info["cube_pos"][:2] - info["target_pos"][:2]) >= cfg.task.min_cube_target_distance


def test_same_seed_same_trajectory(env):
    first = _rollout(env, seed=7, steps=12)
    second = _rollout(env, seed=7, steps=12)
    for a, b in zip(first, second, strict=False):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_different_seeds_differ(env):
    _, a = env.reset(1)
    _, b = env.reset(2)
    assert not np.allclose(a["cube_pos"], b["cube_pos"])


def test_cameras_see_the_scene_and_differ(env):
    obs, _ = env.reset(3)
    wrist, front = obs["images/wrist"], obs["images/front"]
    for img in (wrist, front):
        assert img.std() > 10.0  # not blank
        assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20
    assert np.abs(wrist.astype(int) - front.astype(int)).mean() > 20.0
    # the red cube is in both views
    for img in (wrist, front):
        red = (img[..., 0] > 150) & (img[..., 1] < 80) & (img[..., 2] < 80)
        assert red.sum() > 3


def test_non_finite_and_misshapen_actions_are_refused(env):
    env.reset(0)
    t0 = env.world.time
    bad = np.zeros(7, dtype=np.float32)
    bad[2] = np.nan
    with pytest.raises(ActionError, match="dz=nan"):
        env.step(bad)
    with pytest.raises(ActionError, match=r"shape \(7,\)"):
        env.step(np.zeros(3))
    assert env.world.time == t0  # nothing was executed


def test_out_of_range_action_is_clipped_and_reported(env, cfg):
    obs, _ = env.reset(0)
    obs2, _, _, _, info = env.step(np.array([4.0, 0, 0, 0, 0, 0, -1], dtype=np.float32))
    assert info["action_clipped"] and info["clipped_dims"] == ("dx",)
    assert info["executed_action"][0] == 1.0
    moved = obs2["state"][0] - obs["state"][0]
    assert 0.5 * cfg.robot.max_translation_per_step < moved < 1.2 * cfg.robot.max_translation_per_step
    _, _, _, _, info = env.step(np.zeros(7, dtype=np.float32))
    assert not info["action_clipped"]


def test_workspace_floor_holds(env, cfg):
    env.reset(0)
    seen_clip = False
    for _ in range(25):
        obs, _, _, _, info = env.step(np.array([0, 0, -1, 0, 0, 0, 1], dtype=np.float32))
        seen_clip |= "z" in info["workspace_clipped_axes"]
    assert seen_clip
    assert obs["state"][2] > cfg.robot.workspace_low[2] - 0.01


def test_gripper_closes_and_opens(env):
    env.reset(0)
    for _ in range(3):
        obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, 1], dtype=np.float32))
    assert obs["state"][-1] < 0.005
    for _ in range(3):
        obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float32))
    assert obs["state"][-1] > 0.075


def test_episode_truncates_at_max_steps(cfg):
    from dataclasses import replace

    short = replace(cfg, task=replace(cfg.task, max_steps=4))
    with PickPlaceEnv(short) as e:
        e.reset(0)
        flags = [e.step(np.zeros(7, dtype=np.float32))[3] for _ in range(4)]
    assert flags == [False, False, False, True]
