"""The reward classifier on the MuJoCo twin: frames collected and labelled by the twin's own check (a real zarr
store), a classifier trained from scratch on them that tells held-out seeds' frames apart far above chance, saved
and refused for another setup through the command line; and an episode that the classifier, not the twin, ends,
with its judgement in the store and the report."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.actor.success import SuccessDetector
from robot_rl.actor.wiring import row_schema
from robot_rl.cli.main import main
from robot_rl.config import load_config
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies.train_reward import load_frames, predict, train_classifier
from robot_rl.report.html import write_report
from robot_rl.report.stats import episode_stats
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import ExpertDecider, run_episode
from robot_rl.sim.harness.reward_frames import collect_labelled
from tests.unit.actor.test_success import Z, state_classifier

SMALL = ["camera.width=32", "camera.height=32", "reward.train.input_size=32", "reward.train.feature_dim=16",
         "reward.train.epochs=20", "reward.collect.post_success_steps=20"]


def _collect(cfg, path, frames, seed):
    with PickPlaceEnv(cfg) as env, EpisodeWriter.from_config(cfg.buffer, row_schema(cfg, reward=True),
                                                             str(path)).start() as writer:
        return collect_labelled(cfg, env, writer, frames, seed, progress=False)


def test_collect_train_and_tell_held_out_frames_apart(tmp_path):
    cfg = load_config([*SMALL, f"reward.path={tmp_path / 'reward.pt'}"])
    episodes = _collect(cfg, tmp_path / "train.zarr", 1500, seed=1)
    assert any(e.near_miss for e in episodes) and sum(e.positives for e in episodes) > 100
    with ReplayStore.open(tmp_path / "train.zarr") as store:
        assert store.schema.reward and store.n_episodes == len(episodes)
        labels = store.read_episode(0, ["success_label"])["success_label"]
        assert set(np.unique(labels)) <= {0, 1}, "every frame labelled by the twin"
    _collect(cfg, tmp_path / "test.zarr", 500, seed=900)
    frames = load_frames([str(tmp_path / "train.zarr")], cfg.camera.names)
    net, history = train_classifier(cfg, frames, progress=False)
    assert 0.5 <= net.threshold < 1.0 and history.best_epoch >= 1
    test = load_frames([str(tmp_path / "test.zarr")], cfg.camera.names)
    hit, y = predict(net, test) >= 0.5, test.label
    chance = max(y.mean(), 1 - y.mean())
    accuracy = float(np.mean(hit == y))
    balanced = (hit[y].mean() + (~hit[~y]).mean()) / 2  # 0.5 for any guess that ignores the frame
    assert accuracy > chance, f"held-out accuracy {accuracy:.1%} against {chance:.1%} by always guessing"
    assert balanced > 0.85, f"held-out balanced accuracy {balanced:.1%}"


def test_the_command_line_trains_saves_and_refuses_another_setup(tmp_path, capsys):
    common = [*SMALL, "reward.train.epochs=1", f"reward.path={tmp_path / 'reward.pt'}",
              f"reward.collect.path={tmp_path / 'frames.zarr'}", "reward.collect.minutes=0.6"]
    assert main(["reward", "collect", *common]) == 0
    assert main(["reward", "train", *common]) == 0
    assert (tmp_path / "reward.pt").is_file()
    assert main(["reward", "check", "--data", str(tmp_path / "frames.zarr"), *common]) == 0
    assert "false positives" in capsys.readouterr().out
    assert main(["reward", "check", *common, "camera.names=[front]"]) != 0
    assert "camera.names=['front']" in capsys.readouterr().err


def test_one_class_data_is_refused_before_training(tmp_path, capsys):
    cfg = load_config(SMALL)
    with PickPlaceEnv(cfg) as env, EpisodeWriter.from_config(cfg.buffer, row_schema(cfg),
                                                             str(tmp_path / "demos.zarr")).start() as writer:
        expert = ScriptedExpert(cfg.expert, env.limits)
        for seed in range(2):  # demonstrations end on their success: only their closing frame is a success,
            run_episode(env, seed, ExpertDecider(env, expert), writer=writer, source="demo")  # drop those
    with ReplayStore.open(tmp_path / "demos.zarr", "a") as store:
        assert store.n_episodes == 2
    frames = load_frames([str(tmp_path / "demos.zarr")], cfg.camera.names)
    only_negative = frames.take(np.flatnonzero(~frames.label))
    with pytest.raises(ValueError, match="all non-successes"):
        train_classifier(cfg, only_negative, progress=False)


def test_an_episode_ends_when_the_classifier_sees_success_and_rows_keep_the_truth(tmp_path):
    cfg = load_config([*SMALL, "task.max_steps=150"])
    with PickPlaceEnv(cfg) as env:
        obs, _ = env.reset(3)
        home_z = float(obs["state"][Z])
        # a classifier that (wrongly) calls every low tcp a success: the expert's reach for the cube ends the episode
        det = SuccessDetector(state_classifier(cfg.camera.names, (32, 32), cfg.task.name, below=home_z - 0.05),
                              consecutive=3)
        with EpisodeWriter.from_config(cfg.buffer, row_schema(cfg, reward=True),
                                       str(tmp_path / "run.zarr")).start() as writer:
            r = run_episode(env, 3, ExpertDecider(env, ScriptedExpert(cfg.expert, env.limits)), writer=writer,
                            success=det)
    assert r.success and r.true_success is False and r.steps < cfg.task.max_steps
    with ReplayStore.open(tmp_path / "run.zarr") as store:
        meta = store.episode_meta(0)
        cols = store.read_episode(0, ["success", "terminated", "obs/state", "success_prob", "success_detected",
                                      "success_label", "reward"])
    assert meta.success, "the episode is stored as the classifier's success"
    assert cols["success"][-2] and cols["terminated"][-2] and cols["reward"][-2] == 1.0
    assert cols["success_detected"][-1] and not cols["success_detected"][:-1].any()
    assert (cols["success_prob"][-3:] > 0.5).all() and cols["success_prob"][0] < 0.5
    assert (cols["success_label"] == 0).all(), "the twin's truth: no frame was a success"
    assert (cols["obs/state"][-3:, Z] < home_z - 0.05).all()
    with ReplayStore.open(tmp_path / "run.zarr") as store:
        eps = episode_stats(store)
    e = eps[0]
    assert e.success_detected and e.success_prob_max > 0.9 and e.success_prob_last == e.success_prob_max
    report = write_report(tmp_path / "report", str(tmp_path / "run.zarr"), eps)
    assert {p.stem for p in report.pngs} >= {"success_prob", "success_detected"}
