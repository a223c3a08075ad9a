"""The simulated human in MuJoCo: its take-overs finish episodes, and its skill sets how well it drives alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from robot_rl.actor.arbitration import arbitrate
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import StepDecision, run_episode
from robot_rl.sim.harness.evaluate import evaluate_human
from robot_rl.sim.harness.human import SimulatedHuman


class FrozenPolicy:
    """A policy that never moves the arm and keeps the gripper as it is: every episode stalls until the human
    steps in, and a cube the human left in the gripper stays there."""

    def __init__(self, env: PickPlaceEnv, human: SimulatedHuman) -> None:
        self.env, self.human = env, human

    def reset(self, seed: int) -> None:
        self.human.reset(seed)
        self.gripper = -1.0

    def __call__(self, obs: Mapping[str, np.ndarray]) -> StepDecision:
        still = np.array([0, 0, 0, 0, 0, 0, self.gripper], np.float32)
        executed, intervened = arbitrate(still, self.human.decide(self.env.task_state(), still))
        self.gripper = float(executed[6])
        return StepDecision(action=executed, policy_action=still, intervened=intervened)


def _small(cfg):
    return replace(cfg, camera=replace(cfg.camera, width=32, height=32))


def test_a_take_over_carries_a_stalled_episode_to_success(cfg):
    cfg = replace(_small(cfg), human=replace(cfg.human, stall_steps=5, reaction_steps=2, skill=1.0))
    with PickPlaceEnv(cfg) as env:
        decide = FrozenPolicy(env, SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits)))
        results = [run_episode(env, seed, decide) for seed in (300, 301, 302)]
    # the human took over when the arm stalled, kept control past the grasp, handed back, took over again when the
    # still policy stalled with the cube in hand, and placed it: the episode ends a success with the human driving
    assert all(r.success and r.human_finished for r in results), results
    assert all(r.takeovers >= 2 for r in results)
    assert all(r.intervened_steps < r.steps for r in results)  # the stalls before each take-over were the policy's


def test_the_human_s_own_success_falls_with_its_skill(cfg):
    cfg = _small(cfg)
    seeds = range(400, 410)
    with PickPlaceEnv(cfg) as env:
        skilled = evaluate_human(env, SimulatedHuman(replace(cfg.human, skill=1.0),
                                                     ScriptedExpert(cfg.expert, env.limits)), seeds)
        clumsy = evaluate_human(env, SimulatedHuman(replace(cfg.human, skill=0.0),
                                                    ScriptedExpert(cfg.expert, env.limits)), seeds)
    assert skilled >= 0.9 and clumsy <= skilled - 0.3, (skilled, clumsy)
