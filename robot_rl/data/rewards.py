"""Reward relabelling: the one implementation of the reward modes of docs/architecture.md §2.

Applied per episode when the learner's cache ingests it (:mod:`robot_rl.data.cache`), so the
store keeps the raw signals (``intervened``, ``success``) and the mode can change between runs.
Row ``t``'s reward belongs to the transition from row ``t`` to row ``t + 1``.
"""

from __future__ import annotations

import numpy as np

from robot_rl.data.modes import RewardMode

RLIF_PENALTY = -1.0  # RLIF, Luo et al. 2023
SUCCESS_REWARD = 1.0


def rlif_rewards(intervened: np.ndarray) -> np.ndarray:
    """``(T,) bool -> (T,) float32``: -1 where the policy acted (row t) and the human took over at row t+1."""
    intervened = np.asarray(intervened, dtype=bool)
    out = np.zeros(len(intervened), dtype=np.float32)
    takeover = ~intervened[:-1] & intervened[1:]
    out[:-1][takeover] = RLIF_PENALTY
    return out


def sparse_rewards(success: np.ndarray) -> np.ndarray:
    """``(T,) bool -> (T,) float32``: 1 on the steps flagged ``success``."""
    return np.where(np.asarray(success, dtype=bool), SUCCESS_REWARD, 0.0).astype(np.float32)


def relabel_rewards(mode: str | RewardMode, intervened: np.ndarray, success: np.ndarray) -> np.ndarray:
    """``(T,) float32`` rewards of one episode under ``mode`` (``rlif`` | ``sparse`` | ``both``)."""
    mode = RewardMode(getattr(mode, "value", mode))
    if mode is RewardMode.rlif:
        return rlif_rewards(intervened)
    if mode is RewardMode.sparse:
        return sparse_rewards(success)
    return rlif_rewards(intervened) + sparse_rewards(success)
