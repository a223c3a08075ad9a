"""The one place where commands are checked and clipped before they reach any arm, real or simulated.

An action is ``(7,) float32`` in [-1, 1]: EE delta translation (3), delta rotation as axis-angle
(3), gripper (1; -1 open, +1 closed). Malformed actions (wrong shape, NaN/inf) are refused with an
error naming the problem: a policy emitting NaN is a bug to surface, not to paper over. Out-of-range
values are clipped, and the clipping is reported so callers can log it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_rl.config.schema import RobotConfig

ACTION_DIM = 7
ACTION_NAMES = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")


class ActionError(ValueError):
    """The action cannot be executed at all (wrong shape, dtype, NaN or inf)."""


@dataclass(frozen=True)
class ClipReport:
    """What clipping changed: action components outside [-1, 1] and workspace-box faces hit."""

    action_dims: tuple[str, ...] = ()
    workspace_axes: tuple[str, ...] = ()

    @property
    def clipped(self) -> bool:
        return bool(self.action_dims or self.workspace_axes)


def check_action(action: object) -> np.ndarray:
    """Return the action as ``(7,) float32``, or raise :class:`ActionError` saying what is wrong."""
    try:
        arr = np.asarray(action, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ActionError(f"action must be a numeric array of shape ({ACTION_DIM},): {exc}") from None
    if arr.shape != (ACTION_DIM,):
        raise ActionError(f"action must have shape ({ACTION_DIM},) [{', '.join(ACTION_NAMES)}], got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        names = [f"{ACTION_NAMES[i]}={arr[i]}" for i in np.flatnonzero(bad)]
        raise ActionError(f"action contains non-finite values: {', '.join(names)}")
    return arr


class SafetyLimits:
    """Action range, per-step motion limits and the workspace box of one robot config."""

    def __init__(self, robot: RobotConfig) -> None:
        self.max_translation = float(robot.max_translation_per_step)
        self.max_rotation = float(robot.max_rotation_per_step)
        self.workspace_low = np.asarray(robot.workspace_low, dtype=np.float64)
        self.workspace_high = np.asarray(robot.workspace_high, dtype=np.float64)

    def clip_action(self, action: object) -> tuple[np.ndarray, tuple[str, ...]]:
        """Checked and clipped action, plus the names of the components that were out of range."""
        arr = check_action(action)
        clipped = np.clip(arr, -1.0, 1.0)
        dims = tuple(ACTION_NAMES[i] for i in np.flatnonzero(clipped != arr))
        return clipped, dims

    def clip_position(self, pos: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """Target EE position clipped into the workspace box, plus the axes that were clipped."""
        clipped = np.clip(pos, self.workspace_low, self.workspace_high)
        axes = tuple("xyz"[i] for i in np.flatnonzero(clipped != pos))
        return clipped, axes

    def scale(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Clipped action -> (delta position m (3,), delta rotation vector rad (3,), gripper in [-1, 1])."""
        return (action[:3].astype(np.float64) * self.max_translation,
                action[3:6].astype(np.float64) * self.max_rotation, float(action[6]))
