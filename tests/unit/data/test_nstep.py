from __future__ import annotations

import numpy as np
import pytest

from robot_rl.data.nstep import nstep_targets

B = bool


def reference(reward, terminated, truncated, n, gamma):
    """Straight from the definition, one transition at a time."""
    last = len(reward) - 1
    out = []
    for t in range(len(reward)):
        g, m, done = 0.0, 0, False
        if t < last:
            for k in range(n):
                i = t + k
                if i >= last:
                    break
                g += gamma**k * reward[i]
                m += 1
                if terminated[i]:
                    done = True
                    break
                if truncated[i]:
                    break
        out.append((g, m, 0.0 if done else gamma**m, done))
    return out


def check(reward, terminated, truncated, n, gamma, want):
    got = nstep_targets(np.array(reward, float), np.array(terminated, B), np.array(truncated, B), n, gamma)
    for t, (g, m, disc, done) in enumerate(want):
        assert got.returns[t] == pytest.approx(g), t
        assert got.steps[t] == m, t
        assert got.discount[t] == pytest.approx(disc), t
        assert got.terminated[t] == done, t


def test_plain_three_step_returns_and_episode_end():
    # rows 0..4, row 4 is the final observation (not a transition start)
    r = [1, 2, 3, 4, 5]
    f = [0] * 5
    check(r, f, f, 3, 0.5, [
        (1 + 0.5 * 2 + 0.25 * 3, 3, 0.125, False),
        (2 + 0.5 * 3 + 0.25 * 4, 3, 0.125, False),
        (3 + 0.5 * 4, 2, 0.25, False),  # window cut by the episode end: bootstrap from row 4
        (4, 1, 0.5, False),
        (0, 0, 1.0, False),
    ])


def test_termination_stops_the_sum_and_the_bootstrap():
    r = [0, 0, 1, 9, 9]
    term = [0, 0, 1, 0, 0]  # step 2 reaches the terminal state
    f = [0] * 5
    check(r, term, f, 3, 0.9, [
        (0 + 0 + 0.81 * 1, 3, 0.0, True),
        (0 + 0.9 * 1, 2, 0.0, True),
        (1, 1, 0.0, True),
        (9, 1, 0.9, False),
        (0, 0, 1.0, False),
    ])


def test_truncation_stops_the_sum_but_bootstraps():
    r = [1, 1, 1, 1]
    trunc = [0, 1, 0, 0]
    f = [0] * 4
    check(r, f, trunc, 3, 0.5, [
        (1.5, 2, 0.25, False),
        (1, 1, 0.5, False),
        (1, 1, 0.5, False),
        (0, 0, 1.0, False),
    ])


def test_one_step_and_tiny_episodes():
    check([2, 3], [0, 0], [0, 0], 1, 0.99, [(2, 1, 0.99, False), (0, 0, 1.0, False)])
    check([5], [0], [0], 3, 0.99, [(0, 0, 1.0, False)])  # a lone final observation: no transition


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_definition_on_random_episodes(seed):
    rng = np.random.default_rng(seed)
    n_rows = int(rng.integers(1, 40))
    r = rng.standard_normal(n_rows)
    term = rng.random(n_rows) < 0.1
    trunc = rng.random(n_rows) < 0.1
    n = int(rng.integers(1, 6))
    check(r, term, trunc, n, 0.97, reference(r, term, trunc, n, 0.97))
