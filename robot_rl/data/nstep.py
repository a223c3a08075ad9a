"""n-step returns of one episode, computed once when the episode enters the cache.

For a transition starting at row ``t`` of an episode with last row ``L`` (which carries only the
final observation), the target is ``G_t + discount_t * Q(obs[t + m_t])`` with

    m_t        = steps summed: n, or fewer when a step terminates, truncates, or reaches row L
    G_t        = sum_{k < m_t} gamma^k * reward[t + k]
    discount_t = 0 if step t + m_t - 1 terminated, else gamma^m_t   (bootstrap across truncations)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NStepTargets:
    """Per row of one episode, ``(T,)`` each; the last row is not a transition start (``steps == 0``)."""

    returns: np.ndarray  # float32, G_t
    steps: np.ndarray  # int32, m_t (next observation is row t + m_t)
    discount: np.ndarray  # float32, gamma^m_t, 0 after a termination
    terminated: np.ndarray  # bool, the n-step window ended in a terminal state


def nstep_targets(reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, n: int,
                  gamma: float) -> NStepTargets:
    """Vectorised over rows; loops over the ``n`` steps only. Inputs ``(T,)``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    reward = np.asarray(reward, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    T = len(reward)
    last = T - 1
    rows = np.arange(T)
    returns = np.zeros(T)
    steps = np.zeros(T, dtype=np.int32)
    done = np.zeros(T, dtype=bool)
    alive = rows < last
    for k in range(n):
        at = np.minimum(rows + k, max(last, 0))
        live = alive & (rows + k < last)
        returns += np.where(live, gamma**k * reward[at], 0.0)
        steps += live
        done |= live & terminated[at]
        alive = live & ~terminated[at] & ~truncated[at]
    discount = np.where(done, 0.0, float(gamma) ** steps)
    return NStepTargets(returns.astype(np.float32), steps, discount.astype(np.float32), done)
