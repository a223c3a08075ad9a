"""A simulated human supervisor for the sim task, so human-in-the-loop training is reproducible.

It behaves like a person watching the robot: it notices when the policy drifts (its action disagrees with
what the scripted expert would do for ``drift_patience`` steps in a row) or stalls (no progress for
``stall_steps``), reacts ``reaction_steps`` later (the policy keeps acting meanwhile), then drives with the
expert, at its ``skill``, until the task is back on track: the phase it took over in (reaching, carrying) is
done, so a take-over during the carry ends with the cube placed and the episode a success. It holds at least
``min_takeover_steps`` and gives up after ``max_takeover_steps``. Its take-overs are what the RLIF reward and
the intervention demonstrations come from.

Attention (``human.attention``): ``always`` watches every step. ``gated`` looks only when the robot asks for
help (arriving ``call_delay_steps`` later, while the arm holds still) or at an unprompted glance
(``glance_rate`` per step), then watches ``watch_steps``. Asked, it judges at once: it takes over when the
policy's proposal is off (drift) or the task stalled, else it acknowledges and the policy goes on. Its
attention is counted in :attr:`SimulatedHuman.attention_steps`: the steps it watched or drove.
"""

from __future__ import annotations

import numpy as np

from robot_rl.config.schema import HumanConfig
from robot_rl.sim.env import TaskState
from robot_rl.sim.expert import ScriptedExpert, task_phase


def task_progress(s: TaskState) -> float:
    """A scalar that shrinks as the task advances: TCP-to-cube plus cube-to-target distance (m)."""
    return float(np.linalg.norm(s.tcp_pos - s.cube_pos) + np.linalg.norm(s.cube_pos[:2] - s.target_pos[:2]))


class SimulatedHuman:
    def __init__(self, cfg: HumanConfig, expert: ScriptedExpert, seed: int = 0) -> None:
        self.cfg = cfg
        self.expert = expert
        self.glances = np.random.default_rng(seed + 31)
        self.attention_steps = 0  # over the human's life: steps watched or driven
        self.acks = 0
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.expert.reset(seed)
        self._held = 0  # steps of the current take-over so far; 0 while the policy drives
        self._phase = 0  # the task phase the current take-over started in
        self._reacting = -1  # steps left until the human has control; -1 when nothing was noticed
        self._drift = 0
        self._best = np.inf
        self._since_best = 0
        self.takeovers = 0
        self._watch = 0  # gated attention: steps of watching left
        self._call = -1  # gated attention: steps until it arrives after a request; -1 when not called
        self.acknowledged = False  # this step it acknowledged a help request (the actor goes on)

    @property
    def intervening(self) -> bool:
        return self._held > 0

    def drive(self, state: TaskState) -> np.ndarray:
        """What the human commands in this state when driving: the expert's action with the skill's noise."""
        action = self.expert.act(state)
        if self.cfg.noise_std > 0:
            action[:6] += self.expert.rng.normal(0.0, self.cfg.noise_std, 6)
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def decide(self, state: TaskState, policy_action: np.ndarray, asked: bool = False) -> np.ndarray | None:
        """The human's action this step, or None to let the policy act. ``asked``: the robot holds still and
        asks for help (sets :attr:`acknowledged` when the human lets it go on)."""
        self.acknowledged = False
        if not self.cfg.enabled:
            return None
        action = self.drive(state)
        self._track_progress(state)
        if self._held > 0:
            self.attention_steps += 1
            if self._back_on_track(state):
                self._held, self._drift, self._since_best, self._best = 0, 0, 0, task_progress(state)
                self._watch = self.cfg.watch_steps  # gated: it keeps an eye on the hand-back for a while
                return None
            self._held += 1
            return action
        if not self._attending(asked):
            return None
        self.attention_steps += 1
        if asked:  # called (or already watching): judge the proposal now
            if self._off_track(policy_action, action):
                return self._take_over(state, action)
            self.acknowledged = True
            self.acks += 1
            return None
        if self._reacting < 0:
            disagreement = float(np.mean(np.abs(np.asarray(policy_action) - action)))
            self._drift = self._drift + 1 if disagreement > self.cfg.drift_threshold else 0
            if self._drift < self.cfg.drift_patience and self._since_best < self.cfg.stall_steps:
                return None
            self._reacting = self.cfg.reaction_steps  # noticed: in control that many steps from now
            if self._reacting > 0:
                return None
        elif self._reacting > 0:  # reacting: the policy still acts
            self._reacting -= 1
            return None
        return self._take_over(state, action)

    def _take_over(self, state: TaskState, action: np.ndarray) -> np.ndarray:
        self._reacting = -1
        self.takeovers += 1
        self._held, self._phase = 1, task_phase(state)
        return action

    def _off_track(self, policy_action: np.ndarray, action: np.ndarray) -> bool:
        gap = float(np.mean(np.abs(np.asarray(policy_action) - action)))
        return gap > self.cfg.drift_threshold or self._since_best >= self.cfg.stall_steps

    def _attending(self, asked: bool) -> bool:
        """Whether the human watches this step (``always``: every step; ``gated``: called or glancing)."""
        if self.cfg.attention == "always":
            return True
        if self._watch == 0 and self._call < 0:
            if asked:
                self._call = self.cfg.call_delay_steps
            elif self.glances.random() < self.cfg.glance_rate:
                self._watch = self.cfg.watch_steps
        if self._call > 0:
            self._call -= 1
            return False
        if self._call == 0:
            self._call, self._watch = -1, self.cfg.watch_steps
        if self._watch == 0:
            return False
        self._watch -= 1
        if self._watch == 0:
            self._drift, self._reacting = 0, -1  # it looked away: what it had half-noticed is forgotten
        return True

    def _track_progress(self, state: TaskState) -> None:
        progress = task_progress(state)
        if progress < self._best - 0.005:
            self._best, self._since_best = progress, 0
        else:
            self._since_best += 1

    def _back_on_track(self, state: TaskState) -> bool:
        """Hand back once the phase the take-over began in is done (and the minimum hold is over), or give up."""
        if self._held >= self.cfg.max_takeover_steps:
            return True
        return self._held >= self.cfg.min_takeover_steps and task_phase(state) > self._phase
