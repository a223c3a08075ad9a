"""A simulated human supervisor for the sim task, so human-in-the-loop training is reproducible.

It watches the policy the way a person at the robot would: when the policy's action disagrees with
what the scripted expert would do for ``drift_patience`` steps in a row, or the task stops making
progress for ``stall_steps`` steps, it takes over with the expert for ``takeover_steps`` steps and
then hands back. Its take-overs are what the RLIF reward and the intervention demonstrations come from.
"""

from __future__ import annotations

import numpy as np

from robot_rl.config.schema import HumanConfig
from robot_rl.sim.env import TaskState
from robot_rl.sim.expert import ScriptedExpert


def task_progress(s: TaskState) -> float:
    """A scalar that shrinks as the task advances: TCP-to-cube plus cube-to-target distance (m)."""
    return float(np.linalg.norm(s.tcp_pos - s.cube_pos) + np.linalg.norm(s.cube_pos[:2] - s.target_pos[:2]))


class SimulatedHuman:
    def __init__(self, cfg: HumanConfig, expert: ScriptedExpert) -> None:
        self.cfg = cfg
        self.expert = expert
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.expert.reset(seed)
        self._remaining = 0
        self._drift = 0
        self._best = np.inf
        self._since_best = 0
        self.takeovers = 0

    @property
    def intervening(self) -> bool:
        return self._remaining > 0

    def decide(self, state: TaskState, policy_action: np.ndarray) -> np.ndarray | None:
        """The human's action this step, or None to let the policy act."""
        if not self.cfg.enabled:
            return None
        expert_action = self.expert.act(state)
        if self.cfg.noise_std > 0:
            expert_action = np.clip(expert_action + self.expert.rng.normal(0, self.cfg.noise_std, 7), -1, 1)
        progress = task_progress(state)
        if progress < self._best - 0.005:
            self._best, self._since_best = progress, 0
        else:
            self._since_best += 1
        if self._remaining > 0:
            self._remaining -= 1
            return expert_action.astype(np.float32)
        disagreement = float(np.mean(np.abs(np.asarray(policy_action) - expert_action)))
        self._drift = self._drift + 1 if disagreement > self.cfg.drift_threshold else 0
        if self._drift >= self.cfg.drift_patience or self._since_best >= self.cfg.stall_steps:
            self.takeovers += 1
            self._drift, self._since_best, self._best = 0, 0, progress
            self._remaining = self.cfg.takeover_steps - 1
            return expert_action.astype(np.float32)
        return None
