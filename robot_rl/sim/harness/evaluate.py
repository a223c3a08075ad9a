"""Success rate of a policy on held-out seeds (no exploration, no human, nothing recorded), and of the simulated
human driving alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from robot_rl.actor.policy import ResidualPolicy
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.episodes import EpisodeResult, HumanDecider, ResidualDecider, run_episode
from robot_rl.sim.harness.human import SimulatedHuman

EVAL_SEED_OFFSET = 100_000  # evaluation seeds never overlap demonstration or training seeds


def eval_seeds(n: int, start: int = 0) -> list[int]:
    return list(range(EVAL_SEED_OFFSET + start, EVAL_SEED_OFFSET + start + n))


def success_difference(before: Sequence[bool], after: Sequence[bool], z: float = 1.96) -> tuple[float, float, float]:
    """``after - before`` success rate on the same seeds, with its ``z`` (95%) interval: paired per seed (each
    seed's difference is -1, 0 or 1), normal approximation of the mean. Returns (difference, low, high)."""
    if len(before) != len(after) or not before:
        raise ValueError(f"need the same, non-zero number of episodes before and after, got {len(before)} and "
                         f"{len(after)}")
    d = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    half = z * float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("inf")
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


def evaluate(env: PickPlaceEnv, policy: ResidualPolicy, seeds: Iterable[int],
             frames: list[np.ndarray] | None = None) -> tuple[float, list[EpisodeResult]]:
    decide = ResidualDecider(env, policy, None, explore=False)
    results = [run_episode(env, seed, decide, frames=frames if i == 0 else None) for i, seed in enumerate(seeds)]
    return (float(np.mean([r.success for r in results])) if results else float("nan")), results


def evaluate_human(env: PickPlaceEnv, human: SimulatedHuman, seeds: Iterable[int]) -> float:
    """The simulated human's own success rate when it drives whole episodes (what its take-overs can achieve)."""
    results = [run_episode(env, seed, HumanDecider(env, human)) for seed in seeds]
    return float(np.mean([r.success for r in results])) if results else float("nan")
