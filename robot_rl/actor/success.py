"""Success from the cameras: the reward classifier's probability, believed only for a streak of fresh frames.

A single frame can be wrong (the cube passing over the target, a hand in view), and a false success ends the
episode and rewards the policy for stopping short. So the detector declares success only when the probability
stays at or above the threshold for ``consecutive`` *new* frames in a row: a frame it has already judged (the
same capture stamp) does not extend the streak, and a missing or stale frame is not judged at all (probability
NaN) and breaks the streak. The actor's own observation-age check runs first; this one holds on its own too.

Used by the in-process episode runner (:func:`robot_rl.sim.harness.episodes.run_episode`) and the graph's tick
(:class:`robot_rl.actor.tick.GraphActor`), where the person's success / failure keys still win.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from robot_rl.policies.device import resolve_device
from robot_rl.policies.reward_classifier import RewardClassifier, load_classifier
from robot_rl.spec import STATE, STATE_DIM, image_key


@dataclass(frozen=True)
class SuccessJudgement:
    prob: float  # P(success) on this frame; NaN: not judged (missing or stale)
    detected: bool  # the streak reached ``consecutive`` with this frame
    streak: int = 0
    reason: str = ""


class SuccessDetector:
    def __init__(self, net: RewardClassifier, *, consecutive: int = 3, threshold: float = 0.0,
                 max_age_s: float = float("inf"), device: torch.device | None = None) -> None:
        self.device = device or torch.device("cpu")
        self.net = net.to(self.device).eval()
        self.consecutive = int(consecutive)
        self.threshold = float(threshold) if threshold else net.threshold
        self.max_age_s = float(max_age_s)
        self._streak = 0
        self._last_stamp = -math.inf

    @classmethod
    def from_config(cls, cfg) -> SuccessDetector:
        """``reward.path`` checked against the cameras, image size and task of ``cfg`` (refused naming what
        differs), with ``reward.consecutive`` / ``reward.threshold`` and ``camera.max_age_s``."""
        net = load_classifier(cfg.reward.path, cfg.camera.names, (cfg.camera.height, cfg.camera.width),
                              cfg.task.name, STATE_DIM)
        return cls(net, consecutive=cfg.reward.consecutive, threshold=cfg.reward.threshold,
                   max_age_s=cfg.camera.max_age_s, device=resolve_device(cfg.policy.device))

    def reset(self) -> None:
        """A new episode: the streak starts again."""
        self._streak = 0
        self._last_stamp = -math.inf

    def _missing(self, reason: str) -> SuccessJudgement:
        self._streak = 0
        return SuccessJudgement(float("nan"), False, 0, reason)

    @torch.no_grad()
    def judge(self, obs: Mapping[str, np.ndarray], t_obs: float, now: float | None = None) -> SuccessJudgement:
        """One frame (``t_obs``: its capture time; ``now``: the clock it is judged by, None: not checked)."""
        missing = [k for k in (*(image_key(c) for c in self.net.cameras), STATE) if obs.get(k) is None]
        if missing:
            return self._missing(f"no {', '.join(missing)} in the observation")
        if now is not None and now - t_obs > self.max_age_s:
            return self._missing(f"frame {now - t_obs:.3f} s old (camera.max_age_s={self.max_age_s})")
        x = {image_key(c): torch.from_numpy(np.ascontiguousarray(obs[image_key(c)]))[None].to(self.device)
             for c in self.net.cameras}
        x[STATE] = torch.from_numpy(np.asarray(obs[STATE], dtype=np.float32))[None].to(self.device)
        prob = float(self.net.probability(x)[0])
        if not math.isfinite(prob):
            return self._missing("the classifier gave a non-finite probability")
        if t_obs <= self._last_stamp:  # judged already: it cannot extend the streak
            return SuccessJudgement(prob, False, self._streak, "a frame judged before")
        self._last_stamp = t_obs
        self._streak = self._streak + 1 if prob >= self.threshold else 0
        detected = self._streak >= self.consecutive
        return SuccessJudgement(prob, detected, self._streak, "success" if detected else "")


def detector_for(cfg) -> SuccessDetector | None:
    """The detector ``reward.source=classifier`` asks for (refused at start when it does not fit), else None: the
    twin's check or the person's success key decides."""
    return SuccessDetector.from_config(cfg) if cfg.reward.source == "classifier" else None
