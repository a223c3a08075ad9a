"""The reward classifier: P(the task is done) from the cameras (and the proprioception), trained from scratch.

On a real arm nobody tells the learner that the cube is on the target; HIL-SERL (Luo et al. 2024) trains a binary
success classifier per task from a few hundred labelled frames, and so do we. A false "success" is what poisons RL
(the policy learns to stop short), so the decision threshold travels with the weights, calibrated on held-out
negatives to a target false-positive rate, and the actor only believes a streak of frames
(:mod:`robot_rl.actor.success`).

The bundle (kind ``reward``) records what it was trained for: cameras, image size, task and the state size. A
classifier that does not match the config it is used with is refused at start, naming what differs
(:func:`check_fits`), since a classifier for other cameras would judge images it has never seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.policies import bundle as bundles
from robot_rl.policies.encoders import ConvEncoder, random_shift, to_float_nchw
from robot_rl.spec import image_key


class ClassifierMismatch(bundles.BundleError):
    """The classifier was trained for other cameras, another image size or another task."""


class RewardClassifier(bundles.BundledModule):
    """``images/<cam>`` (B, H, W, 3) uint8 (+ ``state`` (B, D)) -> success logit (B,).

    Each camera is resized to ``input_size`` (area average) before a :class:`ConvEncoder`: success is a coarse
    judgement (is the cube on the target, released) that a 64x64 view still shows, at a quarter of the cost."""

    bundle_kind = "reward"

    def __init__(self, cameras: Sequence[str], image_hw: Sequence[int], state_dim: int, task: str,
                 input_size: int = 64, feature_dim: int = 32, use_state: bool = True, hidden_dim: int = 128,
                 threshold: float = 0.5) -> None:
        super().__init__()
        self.cameras = list(cameras)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.state_dim, self.task, self.input_size = int(state_dim), str(task), int(input_size)
        self.feature_dim, self.use_state, self.hidden_dim = int(feature_dim), bool(use_state), int(hidden_dim)
        self.threshold = float(threshold)
        size = (self.input_size, self.input_size)
        self.encoders = nn.ModuleDict({c: ConvEncoder(self.feature_dim, size) for c in self.cameras})
        self.register_buffer("state_mean", torch.zeros(self.state_dim))
        self.register_buffer("state_std", torch.ones(self.state_dim))
        width = len(self.cameras) * self.feature_dim + (self.state_dim if self.use_state else 0)
        self.head = nn.Sequential(nn.Linear(width, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1))

    def config(self) -> dict[str, Any]:
        return {"cameras": self.cameras, "image_hw": list(self.image_hw), "state_dim": self.state_dim,
                "task": self.task, "input_size": self.input_size, "feature_dim": self.feature_dim,
                "use_state": self.use_state, "hidden_dim": self.hidden_dim, "threshold": self.threshold}

    def _image(self, images: torch.Tensor, augment_pad: int) -> torch.Tensor:
        x = to_float_nchw(images)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="area")
        if augment_pad <= 0:
            return x
        b = x.shape[0]  # training: shifts, plus brightness and contrast jitter (lighting differs between sessions)
        gain = torch.empty(b, 1, 1, 1, device=x.device).uniform_(0.8, 1.2)
        offset = torch.empty(b, 1, 1, 1, device=x.device).uniform_(-0.08, 0.08)
        return random_shift(x * gain + offset, augment_pad)

    def forward(self, obs: Mapping[str, torch.Tensor], augment_pad: int = 0) -> torch.Tensor:
        """``augment_pad`` > 0 (training): random shifts of up to that many pixels and lighting jitter."""
        parts = [self.encoders[c](self._image(obs[image_key(c)], augment_pad)) for c in self.cameras]
        if self.use_state:
            parts.append((obs["state"].float() - self.state_mean) / self.state_std)
        return self.head(torch.cat(parts, dim=-1)).squeeze(-1)

    @torch.no_grad()
    def probability(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B,) P(success) in [0, 1]."""
        return torch.sigmoid(self(obs))


def check_fits(net: RewardClassifier, cameras: Sequence[str], image_hw: Sequence[int], task: str,
               state_dim: int, where: str = "the reward classifier") -> None:
    """Refuse a classifier trained for other cameras, image size, task or state, naming each difference and the
    config key that sets it."""
    wrong = []
    if list(cameras) != net.cameras:
        wrong.append(f"cameras {net.cameras}, not camera.names={list(cameras)}")
    if tuple(int(v) for v in image_hw) != net.image_hw:
        wrong.append(f"images {net.image_hw[0]}x{net.image_hw[1]}, not camera.height x camera.width="
                     f"{image_hw[0]}x{image_hw[1]}")
    if task != net.task:
        wrong.append(f"task {net.task!r}, not task.name={task!r}")
    if net.use_state and int(state_dim) != net.state_dim:
        wrong.append(f"a state of {net.state_dim} values, not {state_dim}")
    if wrong:
        raise ClassifierMismatch(f"{where} was trained for {'; '.join(wrong)}: train one for this setup with "
                                 "robot-rl reward collect, then robot-rl reward train")


def load_classifier(path: str, cameras: Sequence[str], image_hw: Sequence[int], task: str,
                    state_dim: int) -> RewardClassifier:
    """The classifier at ``path``, verified (checksum, shapes) and checked against this setup; eval mode."""
    net = RewardClassifier.from_bundle(bundles.load(path, kind="reward"))
    check_fits(net, cameras, image_hw, task, state_dim, where=f"the reward classifier {path}")
    return net.eval()
