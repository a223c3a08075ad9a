"""The learning experiment's cycle time compares like with like: only the evaluation seeds solved both at the
start and at the end count, so solving harder, longer episodes does not read as a slower policy."""

from __future__ import annotations

from benchmarks.learning import Curve, _paired_cycle
from robot_rl.sim.harness.episodes import EpisodeResult


def _results(success: list[bool], steps: list[int]) -> list[EpisodeResult]:
    return [EpisodeResult(seed=i, success=ok, steps=n, intervened_steps=0, takeovers=0, policy_version=0, seconds=0.0)
            for i, (ok, n) in enumerate(zip(success, steps, strict=True))]


def test_cycle_time_is_paired_on_the_seeds_solved_at_both_points():
    curve = Curve("residual_rlif_human", 0)
    curve.record(_results([True, True, False], [50, 40, 100]))
    curve.record(_results([True, False, True], [44, 120, 90]))  # seed 2 newly solved, and long
    assert curve.cycle_steps == [45.0, 67.0]  # unpaired: the end looks slower
    assert _paired_cycle(curve) == (50.0, 44.0, 1)  # paired on seed 0: faster


def test_no_cycle_time_without_a_seed_solved_twice():
    curve = Curve("bc", 0)
    curve.record(_results([True, False], [50, 100]))
    curve.record(_results([False, True], [100, 60]))
    assert _paired_cycle(curve) is None and curve.cycle_steps == [50.0, 60.0]
