"""Run one episode in simulation: decide, act, record. Shared by demo collection, the actor,
evaluation and the benchmarks, so all of them produce identical rows and statistics."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from robot_rl.actor.arbitration import arbitrate
from robot_rl.actor.help import HelpLevel, HelpResponse
from robot_rl.actor.policy import ResidualPolicy
from robot_rl.actor.rows import final_row, step_row
from robot_rl.actor.success import SuccessDetector, SuccessJudgement
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.human import SimulatedHuman
from robot_rl.spec import ACTION_DIM, GRIPPER

_ZERO = np.zeros(ACTION_DIM, dtype=np.float32)


@dataclass(frozen=True)
class StepDecision:
    action: np.ndarray  # executed (7,)
    policy_action: np.ndarray  # what the policy wanted (7,)
    base_action: np.ndarray = field(default_factory=lambda: _ZERO)
    residual_action: np.ndarray = field(default_factory=lambda: _ZERO)
    intervened: bool = False
    help_score: float | None = None  # the help gate's score and level (None: no gate ran)
    help_level: int = 0  # the gate's verdict (2: it asked this step, even when the human answered at once)
    help_request: bool = False
    held: bool = False  # the arm held still this step, waiting for the human


class Decide(Protocol):
    """Chooses each step's action; ``reset(seed)`` is called at every episode start."""

    def reset(self, seed: int) -> None: ...

    def __call__(self, obs: Mapping[str, np.ndarray]) -> StepDecision: ...


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    steps: int
    intervened_steps: int
    takeovers: int
    policy_version: int
    seconds: float
    human_finished: bool = False  # a success reached while the human drove: its take-over finished the episode
    help_requests: int = 0  # help requests the gate made
    held_steps: int = 0  # steps the arm held still, asking
    attention_steps: int = 0  # steps the (simulated) human watched or drove
    true_success: bool | None = None  # the twin's own check, where a reward classifier decided ``success``

    @property
    def intervention_rate(self) -> float:
        return self.intervened_steps / max(1, self.steps)


class ExpertDecider:
    """The scripted expert acts (demonstrations)."""

    def __init__(self, env: PickPlaceEnv, expert: ScriptedExpert) -> None:
        self.env, self.expert = env, expert

    def reset(self, seed: int) -> None:
        self.expert.reset(seed)

    def __call__(self, obs: Mapping[str, np.ndarray]) -> StepDecision:
        a = self.expert.act(self.env.task_state())
        return StepDecision(action=a, policy_action=a)


class HumanDecider:
    """The simulated human drives the whole episode, at its skill: its own success rate."""

    def __init__(self, env: PickPlaceEnv, human: SimulatedHuman) -> None:
        self.env, self.human = env, human

    def reset(self, seed: int) -> None:
        self.human.reset(seed)

    def __call__(self, obs: Mapping[str, np.ndarray]) -> StepDecision:
        a = self.human.drive(self.env.task_state())
        return StepDecision(action=a, policy_action=a, intervened=True)


class ResidualDecider:
    """Base + residual proposes; the (simulated) human may take over and then wins.

    ``help``: the help gate's graded response (:mod:`robot_rl.actor.help`): the arm slows down when unsure and
    holds still asking until the human takes over or acknowledges. ``help_shadow``: the gate only scores and
    records (every request acknowledged at once, nothing held or slowed): how its requests would have fallen on
    a run left alone, which the help benchmark measures."""

    def __init__(self, env: PickPlaceEnv, policy: ResidualPolicy, human: SimulatedHuman | None,
                 explore: bool, help: HelpResponse | None = None, help_shadow: bool = False) -> None:
        self.env, self.policy, self.human, self.explore = env, policy, human, explore
        self.help = help if help is not None else HelpResponse()
        self.help_shadow = help_shadow
        self._gripper = -1.0

    def reset(self, seed: int) -> None:
        self.policy.reset()
        self.help.reset()
        self._gripper = -1.0
        if self.human is not None:
            self.human.reset(seed)

    def __call__(self, obs: Mapping[str, np.ndarray]) -> StepDecision:
        out = self.policy.act(obs, explore=self.explore)
        verdict = self.help.step(obs, out, self.human is not None and self.human.intervening)
        level = verdict.level
        if self.help_shadow and verdict.asking:
            self.help.acknowledge()
            level = HelpLevel.normal
        human_action = None
        if self.human is not None:
            human_action = self.human.decide(self.env.task_state(), out.action, asked=level is HelpLevel.ask)
            if self.human.acknowledged:
                self.help.acknowledge()
                level = HelpLevel.caution  # seen and let go on, but still unsure
        executed, intervened = arbitrate(out.action, human_action)
        if not intervened and not self.help_shadow:
            executed = self.help.apply(executed, level, self._gripper)
        self._gripper = float(executed[GRIPPER])
        return StepDecision(action=executed, policy_action=out.action, base_action=out.base_action,
                            residual_action=out.residual_action, intervened=intervened,
                            help_score=verdict.score if self.help.enabled else None,
                            help_level=int(verdict.level), help_request=verdict.request,
                            held=not intervened and level is HelpLevel.ask and not self.help_shadow)


def run_episode(env: PickPlaceEnv, seed: int, decide: Decide, *, writer: EpisodeWriter | None = None,
                source: str = "policy", policy_version: Callable[[], int] = lambda: -1,
                between_ticks: Callable[[], object] | None = None, frames: list[np.ndarray] | None = None,
                success: SuccessDetector | None = None) -> EpisodeResult:
    """One episode from ``env.reset(seed)`` to termination or truncation. ``frames``, when given,
    collects the camera images side by side, (H, W * cameras, 3) uint8 per step, for a video.

    ``success``: the reward classifier decides success (as on a real arm) instead of the twin's check: the episode
    ends when it detects one, or on the twin's failure, or at ``task.max_steps``; reward and ``success`` follow it.
    Each row then records the classifier's judgement of its own frame and, as ``success_label``, the twin's truth
    about that frame, so its errors can be counted afterwards."""
    start = time.perf_counter()
    obs, _ = env.reset(seed)
    decide.reset(seed)
    judged: SuccessJudgement | None = None
    label = 0
    if success is not None:
        success.reset()
        judged = success.judge(obs, env.world.time)
    true_success = False
    cams = [k for k in obs if k.startswith("images/")]
    if frames is not None:
        frames.append(np.concatenate([obs[c] for c in cams], axis=1))
    version = policy_version()
    if writer is not None:
        writer.begin_episode(source=source, seed=seed, policy_version=version)
    done, info, intervened_steps, intervened = False, {"success": False}, 0, False
    requests = held = 0
    human = getattr(decide, "human", None)
    attention_before = human.attention_steps if human is not None else 0
    try:
        while not done:
            if between_ticks is not None:
                between_ticks()  # e.g. swap in new weights: never inside a tick
            t_obs = env.world.time
            d = decide(obs)
            next_obs, reward, terminated, truncated, info = env.step(d.action)
            true_success |= bool(info["success"])
            frame: dict = {}
            if success is not None:
                assert judged is not None
                frame = {"success_prob": judged.prob, "success_detected": judged.detected, "success_label": label}
                judged, label = success.judge(next_obs, env.world.time), int(info["success"])
                info = {**info, "success": judged.detected}
                reward = float(judged.detected)
                terminated = judged.detected or bool(info["failed"])
                truncated = not terminated and env.steps >= env.cfg.task.max_steps
            done = terminated or truncated
            intervened_steps += int(d.intervened)
            intervened = d.intervened
            requests += int(d.help_request)
            held += int(d.held)
            if writer is not None:
                writer.put(step_row(obs, action=info["executed_action"], base_action=d.base_action,
                                    residual_action=d.residual_action, policy_action=d.policy_action,
                                    intervened=d.intervened, reward=reward, success=info["success"],
                                    terminated=terminated, truncated=truncated, t_obs=t_obs,
                                    t_action=env.world.time, help_score=d.help_score, help_level=d.help_level,
                                    **frame))
            obs = next_obs
            if frames is not None:
                frames.append(np.concatenate([obs[c] for c in cams], axis=1))
        if writer is not None:
            last = ({} if judged is None else
                    {"success_prob": judged.prob, "success_detected": judged.detected, "success_label": label})
            writer.put(final_row(obs, env.world.time, **last))
            writer.end_episode(success=bool(info["success"]))
    except BaseException:
        if writer is not None:
            writer.abort_episode()
        raise
    return EpisodeResult(seed=seed, success=bool(info["success"]), steps=env.steps, intervened_steps=intervened_steps,
                         takeovers=human.takeovers if human is not None else 0, policy_version=version,
                         seconds=time.perf_counter() - start, human_finished=bool(info["success"]) and intervened,
                         help_requests=requests, held_steps=held,
                         attention_steps=(human.attention_steps - attention_before) if human is not None else 0,
                         true_success=true_success if success is not None else None)
