"""The reward classifier as the actor uses it: the detector believes only a streak of new, fresh, complete frames;
a classifier for another setup is refused naming what differs; the graph's tick ends an episode on a detection,
the person's keys win, the twin's own success is ignored, and ``labels=keys`` labels frames instead."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robot_rl.actor.success import SuccessDetector
from robot_rl.actor.tick import GraphActor, Phase
from robot_rl.config import load_config
from robot_rl.config.loader import ConfigError
from robot_rl.control.safety import SafetyLimits
from robot_rl.policies import bundle as bundles
from robot_rl.policies.reward_classifier import ClassifierMismatch, RewardClassifier, load_classifier
from robot_rl.spec import STATE_DIM
from tests.unit.actor.test_tick import FakePolicy, FakeWriter, _buffer

Z = 2  # the state's tcp height


def state_classifier(cameras=("front",), image_hw=(4, 4), task="pick_place", below: float = 0.2
                     ) -> RewardClassifier:
    """A classifier that says success exactly when the tcp is lower than ``below`` (P ~0.993 vs ~0.007): its
    images are ignored (zero weights), so a test decides what it sees through the state."""
    net = RewardClassifier(list(cameras), image_hw, STATE_DIM, task, input_size=16, feature_dim=4)
    with torch.no_grad():
        for p in net.head.parameters():
            p.zero_()
        net.head[0].weight[0, len(cameras) * 4 + Z] = -1.0
        net.head[0].bias[0] = below
        net.head[2].weight[0, 0] = 100.0
        net.head[2].bias[0] = -5.0
    return net.eval()


def _obs(z: float, cams=("front",)) -> dict:
    state = np.zeros(STATE_DIM, np.float32)
    state[Z] = z
    return {**{f"images/{c}": np.zeros((4, 4, 3), np.uint8) for c in cams}, "state": state}


def test_success_needs_a_streak_of_new_frames():
    det = SuccessDetector(state_classifier(), consecutive=3, max_age_s=0.2)
    assert det.threshold == 0.5, "threshold 0: the bundle's"
    low = det.judge(_obs(0.3), 0.0)
    assert low.prob < 0.01 and not low.detected and low.streak == 0
    assert [det.judge(_obs(0.1), t).streak for t in (0.1, 0.2)] == [1, 2]
    again = det.judge(_obs(0.1), 0.2)
    assert again.prob > 0.99 and again.streak == 2 and not again.detected, "a frame judged before counts once"
    assert det.judge(_obs(0.1), 0.3).detected
    det.reset()
    assert not det.judge(_obs(0.1), 0.4).detected, "a new episode starts its streak again"


def test_a_stale_or_missing_frame_never_counts_and_breaks_the_streak():
    det = SuccessDetector(state_classifier(), consecutive=2, max_age_s=0.2)
    assert det.judge(_obs(0.1), 1.0, now=1.05).streak == 1
    stale = det.judge(_obs(0.1), 1.1, now=1.5)
    assert math.isnan(stale.prob) and not stale.detected and "old" in stale.reason
    assert det.judge(_obs(0.1), 1.6, now=1.6).streak == 1, "the stale frame broke the streak"
    missing = {k: v for k, v in _obs(0.1).items() if k != "images/front"}
    out = det.judge(missing, 1.7)
    assert math.isnan(out.prob) and not out.detected and "images/front" in out.reason
    assert det.judge(_obs(0.1), 1.8).streak == 1


def test_a_classifier_for_another_setup_is_refused_naming_what_differs(tmp_path):
    path = tmp_path / "reward.pt"
    bundles.save(state_classifier(("front",), (4, 4), "pick_place").to_bundle(), path)
    with pytest.raises(ClassifierMismatch) as err:
        load_classifier(str(path), ["front", "wrist"], (8, 8), "stack", STATE_DIM)
    msg = str(err.value)
    assert "camera.names=['front', 'wrist']" in msg and "camera.height x camera.width=8x8" in msg
    assert "task.name='stack'" in msg and "robot-rl reward train" in msg
    net = load_classifier(str(path), ["front"], (4, 4), "pick_place", STATE_DIM)
    assert net.probability({"images/front": torch.zeros(1, 4, 4, 3, dtype=torch.uint8),
                            "state": torch.zeros(1, STATE_DIM)}).shape == (1,)
    cfg = load_config([f"reward.path={path}", "reward.source=classifier"])  # the twin's two cameras at its size
    with pytest.raises(ClassifierMismatch, match="cameras"):
        SuccessDetector.from_config(cfg)


@pytest.mark.parametrize(("override", "key"), [("reward.source=camera", "reward.source"),
                                               ("reward.consecutive=0", "reward.consecutive"),
                                               ("reward.threshold=1.5", "reward.threshold"),
                                               ("reward.labels=voice", "reward.labels"),
                                               ("reward.train.target_fpr=0.7", "reward.train.target_fpr"),
                                               ("reward.collect.near_miss_offset=[0.05]",
                                                "reward.collect.near_miss_offset"),
                                               ("bench.reward.variants=[both]", "bench.reward.variants")])
def test_bad_reward_config_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config([override])


def _actor(success=None, label_keys=False, writer=None, max_steps=50):
    cfg = load_config([])
    return GraphActor(FakePolicy(), SafetyLimits.for_robot(cfg.robot), max_steps=max_steps, writer=writer,
                      episodes=1, seed=0, success=success, label_keys=label_keys)


def _buf(t: float, z: float):
    buf = _buffer(t)
    state = np.zeros(STATE_DIM, np.float32)
    state[Z] = z
    buf.put("state", state, t)
    return buf


def _start(actor) -> float:
    actor.tick(_buf(0.0, 0.3), 0.0)
    actor.on_reset_done(0, 0.01)
    return 0.02


def test_the_graph_ends_an_episode_on_a_detection_and_records_each_frame():
    writer = FakeWriter()
    actor = _actor(SuccessDetector(state_classifier(), consecutive=2, max_age_s=0.2), writer=writer)
    t = _start(actor)
    heights = [0.3, 0.3, 0.1, 0.1]
    actor.on_task_event("success")  # the twin's own check: ignored when the classifier decides
    for k, z in enumerate(heights):
        out = actor.tick(_buf(t + 0.1 * k, z), t + 0.1 * k + 0.01)
    assert out.reason == "episode over" and actor.phase is Phase.done and actor.stats.detected == 1
    rows = [c[1] for c in writer.calls if c[0] == "row"]
    assert len(rows) == len(heights), "three steps and the final frame"
    assert [bool(r["success"]) for r in rows[:-1]] == [False, False, True]
    assert bool(rows[-2]["terminated"]) and ("end", True) in writer.calls
    probs = [float(r["success_prob"]) for r in rows]
    assert probs[0] < 0.01 and probs[1] < 0.01 and probs[2] > 0.99 and probs[3] > 0.99
    assert [bool(r["success_detected"]) for r in rows] == [False, False, False, True]
    assert all(int(r["success_label"]) == -1 for r in rows), "nobody labelled these frames"


def test_the_persons_failure_key_wins_over_the_classifier_and_the_twin_still_fails():
    writer = FakeWriter()
    actor = _actor(SuccessDetector(state_classifier(), consecutive=1, max_age_s=0.2), writer=writer)
    t = _start(actor)
    actor.tick(_buf(t, 0.3), t + 0.01)
    actor.on_event("failure")
    actor.tick(_buf(t + 0.1, 0.1), t + 0.11)
    assert actor.phase is Phase.done and actor.stats.successes == 0 and actor.stats.detected == 0
    assert ("end", False) in writer.calls
    actor = _actor(SuccessDetector(state_classifier(), consecutive=1, max_age_s=0.2))
    t = _start(actor)
    actor.tick(_buf(t, 0.3), t + 0.01)
    actor.on_task_event("failure")
    actor.tick(_buf(t + 0.1, 0.3), t + 0.11)
    assert actor.phase is Phase.done and actor.stats.successes == 0, "the twin's failure still ends it"


def test_without_the_classifier_the_twins_success_ends_the_episode():
    actor = _actor()
    t = _start(actor)
    actor.tick(_buf(t, 0.3), t + 0.01)
    actor.on_task_event("success")
    actor.tick(_buf(t + 0.1, 0.3), t + 0.11)
    assert actor.phase is Phase.done and actor.stats.successes == 1


def test_label_keys_label_frames_and_only_failure_ends():
    writer = FakeWriter()
    actor = _actor(label_keys=True, writer=writer)
    t = _start(actor)
    actor.tick(_buf(t, 0.3), t + 0.01)
    actor.on_event("success")
    actor.on_task_event("success")
    actor.tick(_buf(t + 0.1, 0.3), t + 0.11)
    actor.tick(_buf(t + 0.2, 0.3), t + 0.21)
    assert actor.phase is Phase.running, "a success key labels, it does not end the episode"
    actor.on_event("not_yet")
    actor.tick(_buf(t + 0.3, 0.3), t + 0.31)
    actor.on_event("failure")
    actor.tick(_buf(t + 0.4, 0.3), t + 0.41)
    assert actor.phase is Phase.done and ("end", False) in writer.calls
    rows = [c[1] for c in writer.calls if c[0] == "row"]
    assert [int(r["success_label"]) for r in rows] == [0, 1, 1, 0, 0]
    assert all(math.isnan(float(r["success_prob"])) for r in rows), "no classifier ran"
