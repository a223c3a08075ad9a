"""Config of the reward classifier: collecting labelled frames, training it, and using it as the success signal
(:mod:`robot_rl.policies.reward_classifier`, :mod:`robot_rl.actor.success`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.checks import check

REWARD_SOURCES = ("task", "classifier")
LABEL_MODES = ("none", "keys")


@dataclass
class RewardCollectConfig:
    """``robot-rl reward collect`` in the twin: the noisy scripted expert does the task and the twin's own success
    check labels every frame. ``minutes`` of robot time at ``task.control_hz`` (HIL-SERL collects ~5 minutes).
    After a success the episode goes on for ``post_success_steps``: the arm backs off and wanders (noise
    ``wander``) over the placed cube, the positives. ``near_miss_fraction`` of the episodes place the cube
    deliberately ``near_miss_offset`` (m, low-high) beside the target, released and backed off from: the
    negatives that look most like a success."""

    path: str = "runs/reward_frames.zarr"
    minutes: float = 10.0
    seed: int = 50_000
    expert_noise: float = 0.2
    near_miss_fraction: float = 0.3
    near_miss_offset: list[float] = field(default_factory=lambda: [0.035, 0.07])
    post_success_steps: int = 30
    wander: float = 0.6

    def validate(self, key: str) -> None:
        check(bool(self.path), f"{key}.path", "must not be empty")
        check(self.minutes > 0, f"{key}.minutes", f"must be > 0, got {self.minutes}")
        check(self.expert_noise >= 0, f"{key}.expert_noise", "must be >= 0")
        check(0.0 <= self.near_miss_fraction < 1.0, f"{key}.near_miss_fraction", "must be in [0, 1)")
        check(len(self.near_miss_offset) == 2 and 0 < self.near_miss_offset[0] <= self.near_miss_offset[1],
              f"{key}.near_miss_offset", f"needs [low, high] with 0 < low <= high, got {self.near_miss_offset}")
        check(self.post_success_steps >= 1, f"{key}.post_success_steps", "must be >= 1")
        check(self.wander >= 0, f"{key}.wander", "must be >= 0")


@dataclass
class RewardTrainConfig:
    """``robot-rl reward train``: a small CNN per camera (trained from scratch) on images resized to
    ``input_size``, plus the proprioception when ``use_state``, -> P(success). Validation is split by episode;
    the decision threshold is the lowest that keeps the validation negatives' false-positive rate at or under
    ``target_fpr`` per frame (never under 0.5)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    augment_pad: int = 3
    input_size: int = 64
    feature_dim: int = 32
    use_state: bool = True
    target_fpr: float = 0.005
    device: str = "auto"

    def validate(self, key: str) -> None:
        check(self.epochs > 0, f"{key}.epochs", "must be > 0")
        check(self.batch_size > 0, f"{key}.batch_size", "must be > 0")
        check(self.lr > 0, f"{key}.lr", "must be > 0")
        check(0.0 < self.val_fraction < 1.0, f"{key}.val_fraction", "must be in (0, 1): the threshold is calibrated "
              "on the validation split")
        check(self.augment_pad >= 0, f"{key}.augment_pad", "must be >= 0")
        check(16 <= self.input_size <= 512, f"{key}.input_size", f"must be in [16, 512], got {self.input_size}")
        check(self.feature_dim > 0, f"{key}.feature_dim", "must be > 0")
        check(0.0 < self.target_fpr < 0.5, f"{key}.target_fpr", f"must be in (0, 0.5), got {self.target_fpr}")


@dataclass
class RewardConfig:
    """Where an episode's success comes from. ``source``: ``task`` (the twin's own check, or the person's success
    key on hardware) or ``classifier`` (the bundle at ``path``: success once its probability stays at or above the
    threshold for ``consecutive`` new frames in a row; the person's success / failure keys still win, and a stale
    or missing frame never counts). ``threshold`` 0 uses the bundle's calibrated one. ``labels=keys`` (the ROS
    graph, on hardware): the person's keys label every recorded frame instead of ending the episode: ``success``
    marks the frames from now on as successes, ``not_yet`` as not yet, ``failure`` marks and ends the episode."""

    source: str = "task"
    path: str = "runs/reward.pt"
    consecutive: int = 3
    threshold: float = 0.0
    labels: str = "none"
    collect: RewardCollectConfig = field(default_factory=RewardCollectConfig)
    train: RewardTrainConfig = field(default_factory=RewardTrainConfig)

    def validate(self, key: str) -> None:
        check(self.source in REWARD_SOURCES, f"{key}.source",
              f"must be one of {', '.join(REWARD_SOURCES)}; got {self.source!r}")
        check(bool(self.path), f"{key}.path", "must not be empty")
        check(self.consecutive >= 1, f"{key}.consecutive", f"must be >= 1, got {self.consecutive}")
        check(self.threshold == 0.0 or 0.0 < self.threshold < 1.0, f"{key}.threshold",
              f"must be 0 (the bundle's) or in (0, 1), got {self.threshold}")
        check(self.labels in LABEL_MODES, f"{key}.labels", f"must be one of {', '.join(LABEL_MODES)}; "
              f"got {self.labels!r}")
        self.collect.validate(f"{key}.collect")
        self.train.validate(f"{key}.train")
