"""Success rate of a policy on held-out seeds (no exploration, no human, nothing recorded)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from robot_rl.rl.episodes import EpisodeResult, ResidualDecider, run_episode
from robot_rl.rl.policy import ResidualPolicy
from robot_rl.sim.env import PickPlaceEnv

EVAL_SEED_OFFSET = 100_000  # evaluation seeds never overlap demonstration or training seeds


def eval_seeds(n: int, start: int = 0) -> list[int]:
    return list(range(EVAL_SEED_OFFSET + start, EVAL_SEED_OFFSET + start + n))


def evaluate(env: PickPlaceEnv, policy: ResidualPolicy, seeds: Iterable[int],
             frames: list[np.ndarray] | None = None) -> tuple[float, list[EpisodeResult]]:
    decide = ResidualDecider(env, policy, None, explore=False)
    results = [run_episode(env, seed, decide, frames=frames if i == 0 else None) for i, seed in enumerate(seeds)]
    return (float(np.mean([r.success for r in results])) if results else float("nan")), results
