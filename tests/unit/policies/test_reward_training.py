"""Training the reward classifier: labels per frame, data of one class refused before training, the threshold
calibrated to the target false-positive rate, the split by whole episodes, per-episode scoring as the actor
judges, and the bundle round trip (``weights_only`` loading, threshold included)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reward import episode_outcomes, score
from robot_rl.policies import bundle as bundles
from robot_rl.policies.reward_classifier import RewardClassifier
from robot_rl.policies.train_reward import (
    LabelledFrames,
    calibrate_threshold,
    check_two_classes,
    frame_labels,
    split_by_episode,
)


def _frames(labels, episodes) -> LabelledFrames:
    n = len(labels)
    return LabelledFrames({"front": np.zeros((n, 4, 4, 3), np.uint8)}, np.zeros((n, 10), np.float32),
                          np.asarray(labels, bool), np.asarray(episodes))


def test_frame_labels_prefer_the_stored_label_else_the_step_into_the_frame():
    assert frame_labels({"success": np.array([0, 0, 1, 0], bool)}).tolist() == [0, 0, 0, 1]
    stored = {"success": np.zeros(3, bool), "success_label": np.array([-1, 0, 1], np.int8)}
    assert frame_labels(stored).tolist() == [-1, 0, 1]


def test_labels_of_one_class_are_refused_before_training():
    for labels, kind in (([0, 0, 0], "non-successes"), ([1, 1], "successes")):
        with pytest.raises(ValueError, match=f"all {kind}"):
            check_two_classes(_frames(labels, [0] * len(labels)))
    check_two_classes(_frames([0, 1], [0, 0]))


def test_threshold_keeps_the_false_positive_rate_at_or_under_the_target():
    rng = np.random.default_rng(0)
    neg = rng.uniform(0, 1, 1000).astype(np.float32)
    for target in (0.005, 0.01, 0.1):
        thr = calibrate_threshold(neg, target)
        assert np.mean(neg >= thr) <= target
        next_lower = np.sort(neg)[::-1][int(target * len(neg))]  # the highest negative it lets through
        assert thr > next_lower and np.mean(neg >= next_lower) > target, "not needlessly high"
    assert calibrate_threshold(np.full(50, 0.1, np.float32), 0.01) == 0.5, "never under 0.5"


def test_the_validation_split_takes_whole_episodes_with_both_classes():
    labels = [0, 0, 1] * 10
    episodes = np.repeat(np.arange(10), 3)
    train, val = split_by_episode(_frames(labels, episodes), 0.2, np.random.default_rng(0))
    assert not set(episodes[train]) & set(episodes[val]) and len(set(episodes[val])) == 2
    assert len(train) + len(val) == 30


def test_episode_outcomes_judge_as_the_actor_does():
    label = np.array([0, 0, 0, 1, 1, 1, 1])
    ok = episode_outcomes(np.array([0.1, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9]), label, 0.5, 3)
    assert ok == {"detected": True, "false": False, "positive": True, "missed": False, "delay": 2}
    early = episode_outcomes(np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]), label, 0.5, 3)
    assert early["false"] and early["missed"] and early["delay"] is None
    never = episode_outcomes(np.zeros(7), label, 0.5, 3)
    assert not never["detected"] and never["missed"]
    frames = _frames([0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1])
    s = score(np.array([0.1, 0.6, 0.9, 0.9, 0.1, 0.1]), frames, 0.5, 2)
    assert s["fpr"] == 0.25 and s["recall"] == 1.0 and s["episode_fpr"] == 0.0 and s["delay_mean"] == 0.0


def test_the_bundle_round_trip_keeps_weights_and_threshold(tmp_path):
    net = RewardClassifier(["front"], (8, 8), 10, "pick_place", input_size=16, feature_dim=4)
    net.threshold = 0.731
    bundles.save(net.to_bundle(), tmp_path / "reward.pt")
    back = RewardClassifier.from_bundle(bundles.load(tmp_path / "reward.pt", kind="reward"))
    assert back.threshold == 0.731 and back.cameras == ["front"] and back.image_hw == (8, 8)
    for a, b in zip(net.state_dict().values(), back.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(bundles.BundleError):
        bundles.load(tmp_path / "reward.pt", kind="bc")
