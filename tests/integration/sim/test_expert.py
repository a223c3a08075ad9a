"""The scripted expert solves the task; its noise knob makes it a weaker demonstrator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert


def _success_rate(cfg, seeds) -> float:
    results = []
    with PickPlaceEnv(cfg) as env:
        expert = ScriptedExpert(cfg.expert, env.limits)
        for seed in seeds:
            env.reset(seed)
            expert.reset(seed)
            done, info = False, {}
            while not done:
                _, _, terminated, truncated, info = env.step(expert.act(env.task_state()))
                done = terminated or truncated
            results.append(info["success"])
    return float(np.mean(results))


def test_expert_succeeds_on_random_seeds(cfg):
    assert _success_rate(cfg, range(100, 120)) >= 0.95


def test_noisy_expert_is_weaker(cfg):
    noisy = replace(cfg, expert=replace(cfg.expert, noise_std=0.6), task=replace(cfg.task, max_steps=60))
    assert _success_rate(noisy, range(200, 208)) <= 0.75
