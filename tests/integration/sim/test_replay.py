"""Replay of recorded episodes in the twin: action space reproduces a seeded sim episode, joint space
is the twin's kinematics, real-robot episodes replay the arm alone, bad input is refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robot_rl.cli.main import main
from robot_rl.data.replay_store import ReplayStore
from robot_rl.sim.replay import EpisodeReplayer, ReplayInputError, load_episode, replay_episode

from .recorded import copy_as_real, record


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    return record(root)


def test_action_space_replay_reproduces_a_seeded_sim_episode(recorded):
    cfg, _, path = recorded
    with ReplayStore.open(path) as store:
        ep = load_episode(store, 1, cameras=["wrist", "front"])
        with EpisodeReplayer(cfg, ["wrist", "front"], store.schema.image_hw) as replayer:
            result = replayer.replay(ep, "action")
    assert result.scene == "seeded" and len(result.simulated) == ep.length > 10
    err = result.error
    assert err.position.max() < 1e-6 and err.rotation.max() < 1e-5 and err.gripper.max() < 1e-6
    assert np.abs(result.simulated - ep.state).max() < 1e-6
    for cam in ("wrist", "front"):  # the renders match the recorded frames too
        diff = np.abs(result.frames[cam].astype(int) - ep.images(cam).astype(int))
        assert diff.mean() < 1.0, cam
    assert not result.notes


def test_action_space_replay_notices_different_actions(recorded):
    cfg, _, path = recorded
    with ReplayStore.open(path) as store:
        ep = load_episode(store, 1)
    ep.cols["action"][5:15, :3] *= -1.0  # not what was executed
    with EpisodeReplayer(cfg) as replayer:
        result = replayer.replay(ep, "action")
    assert result.error.position.max() > 0.01
    assert any("drifts" in n for n in result.notes)


def test_joint_space_replay_is_the_twins_kinematics(recorded):
    cfg, _, path = recorded
    with ReplayStore.open(path) as store:
        (result,) = replay_episode(cfg, store, 0, ["joint"])
    err = result.error
    # The sim's EE observation lags its joints by one 2 ms physics substep (site_xpos is computed before
    # mj_step integrates), so FK of the recorded joints differs by up to ~0.5 mm while the arm moves.
    assert err.position.max() < 1e-3 and np.degrees(err.rotation.max()) < 0.2
    assert err.position[0] < 1e-6  # at rest after reset: exact


def test_real_robot_episode_replays_the_arm_alone(recorded, tmp_path):
    cfg, _, path = recorded
    real = copy_as_real(path, tmp_path / "real.zarr")
    with ReplayStore.open(real) as store:
        joint, action = replay_episode(cfg, store, 1)
    assert joint.scene == action.scene == "arm-only"
    assert joint.error.position.max() < 1e-3
    assert action.initial_offset_m < 1e-5  # started from the recorded joints
    assert action.error.position.mean() < 3e-3  # open loop without the cube: close, not exact


def test_real_robot_episode_without_joints_starts_from_the_recorded_pose(recorded, tmp_path):
    cfg, _, path = recorded
    real = copy_as_real(path, tmp_path / "nojoints.zarr", joints=False)
    with ReplayStore.open(real) as store:
        (action,) = replay_episode(cfg, store, 0, ["action"])
        with pytest.raises(ReplayInputError, match=r"no joint positions \(obs/joints\).*obs/state"):
            replay_episode(cfg, store, 0, ["joint"])
    assert action.initial_offset_m < 1e-4  # placed through IK
    assert action.error.position.mean() < 3e-3


def test_bad_input_says_what_is_available(recorded):
    cfg, _, path = recorded
    with ReplayStore.open(path) as store:
        with pytest.raises(ReplayInputError, match=r"episode 7 is out of range: .* holds episodes 0\.\.1"):
            load_episode(store, 7)
        with pytest.raises(ReplayInputError, match=r"camera 'side' is not in .*its cameras: wrist, front"):
            load_episode(store, 0, cameras=["side"])
    with pytest.raises(ReplayInputError, match="no simulated twin; the simulation has cameras wrist, front"):
        EpisodeReplayer(cfg, ["side"])


def test_replay_command(recorded, tmp_path, capsys):
    _, overrides, path = recorded
    assert main(["replay", str(path), "--episode", "-1", "--out", str(tmp_path), *overrides]) == 0
    out = capsys.readouterr().out
    assert "joint   seeded" in out and "action  seeded" in out
    (_joint, action) = json.loads((tmp_path / "replay_1.json").read_text())
    assert action["mode"] == "action" and action["pos_max_mm"] < 1e-3
    assert (tmp_path / "replay_1.png").stat().st_size > 5000
    assert main(["replay", str(path), "--episode", "2", *overrides]) == 2
    assert "episode 2 is out of range" in capsys.readouterr().err


def test_replay_command_refuses_joint_mode_without_joints(recorded, tmp_path, capsys):
    _, overrides, path = recorded
    real = copy_as_real(path, tmp_path / "nojoints.zarr", joints=False)
    assert main(["replay", str(real), "--mode", "joint", *overrides]) == 2
    err = capsys.readouterr().err
    assert "joint-space replay is impossible" in err and "obs/state" in err
    assert main(["replay", str(real), *overrides]) == 0  # both: the action replay, and a note
    assert "joint-space replay skipped" in capsys.readouterr().out
