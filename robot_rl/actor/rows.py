"""The one place that turns a control step into a replay-store row (docs/architecture.md §2).

Row t holds the observation at t and what happened in the step from it; an episode's last row holds
only its final observation (zero actions, flags cleared), as the store's row schema describes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from robot_rl.spec import ACTION_DIM

Observation = Mapping[str, np.ndarray]
_ZERO = np.zeros(ACTION_DIM, dtype=np.float32)


def obs_fields(obs: Observation) -> dict[str, np.ndarray]:
    """``images/<cam>`` + ``state`` -> ``obs/images/<cam>`` + ``obs/state``."""
    return {f"obs/{k}": v for k, v in obs.items()}


def step_row(obs: Observation, *, action: np.ndarray, base_action: np.ndarray = _ZERO,
             residual_action: np.ndarray = _ZERO, policy_action: np.ndarray | None = None,
             intervened: bool = False, reward: float = 0.0, success: bool = False, terminated: bool = False,
             truncated: bool = False, t_obs: float = 0.0, t_action: float = 0.0,
             help_score: float | None = None, help_level: int = 0, success_prob: float | None = None,
             success_detected: bool = False, success_label: int | None = None) -> dict[str, np.ndarray]:
    """One step's row; ``help_score`` given: with the help gate's score and level; ``success_prob`` or
    ``success_label`` given: with the reward classifier's fields, which describe this row's frame (the store's
    optional fields)."""
    row = {
        **obs_fields(obs),
        "action": np.asarray(action, np.float32),
        "base_action": np.asarray(base_action, np.float32),
        "residual_action": np.asarray(residual_action, np.float32),
        "policy_action": np.asarray(action if policy_action is None else policy_action, np.float32),
        "intervened": np.bool_(intervened),
        "reward": np.float32(reward),
        "success": np.bool_(success),
        "terminated": np.bool_(terminated),
        "truncated": np.bool_(truncated),
        "t_obs": np.float64(t_obs),
        "t_action": np.float64(t_action),
    }
    if help_score is not None:
        row["help_score"] = np.float32(help_score)
        row["help_level"] = np.int8(help_level)
    if success_prob is not None or success_label is not None:
        row["success_prob"] = np.float32(np.nan if success_prob is None else success_prob)
        row["success_detected"] = np.bool_(success_detected)
        row["success_label"] = np.int8(-1 if success_label is None else success_label)
    return row


def final_row(obs: Observation, t_obs: float, **frame: object) -> dict[str, np.ndarray]:
    """The episode's closing row: its final observation, nothing executed from it; ``frame``: the reward fields
    of that frame (``success_prob``, ``success_detected``, ``success_label``)."""
    return step_row(obs, action=_ZERO, t_obs=t_obs, t_action=t_obs, **frame)  # type: ignore[arg-type]
