"""The one place where commands are checked and clipped before they reach any arm, real or simulated.

An action is ``(7,) float32`` in [-1, 1] (:mod:`robot_rl.spec`): EE delta translation (3), delta rotation as
axis-angle (3), gripper (1; -1 open, +1 closed). Malformed actions (wrong shape, NaN/inf) are refused with an
error naming the problem: a policy emitting NaN is a bug to surface, not to paper over. Out-of-range
values are clipped, and the clipping is reported so callers can log it.

:meth:`SafetyLimits.command` is the whole gate every backend calls: action range, per-step speed
(norm of the translation, angle of the rotation), workspace box, a cone of allowed orientations
around a reference, and the gripper. Joint targets and gripper forces have their own clips, and
:class:`Watchdog` stops an arm whose commands stopped arriving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_rl.config.schema import RobotConfig
from robot_rl.control.rotations import mat_to_quat, mat_to_rotvec, orthonormalize, rotvec_to_mat
from robot_rl.spec import ACTION_DIM, ACTION_NAMES


class ActionError(ValueError):
    """The action cannot be executed at all (wrong shape, dtype, NaN or inf)."""


@dataclass(frozen=True)
class ClipReport:
    """What clipping changed: action components outside [-1, 1] and workspace-box faces hit."""

    action_dims: tuple[str, ...] = ()
    workspace_axes: tuple[str, ...] = ()
    limits: tuple[str, ...] = ()  # other limits that bound: translation_speed, rotation_speed, rotation_range

    @property
    def clipped(self) -> bool:
        return bool(self.action_dims or self.workspace_axes or self.limits)


@dataclass(frozen=True)
class SafeCommand:
    """One control step after the safety layer: what the backend executes."""

    action: np.ndarray  # (7,) float32 in [-1, 1]
    target_pos: np.ndarray  # (3,) m, inside the workspace box, within max_ee_step of the current position
    target_mat: np.ndarray  # (3, 3) inside the orientation cone, within max_ee_rot_step of the current one
    gripper: float  # [-1, 1], -1 open
    clip: ClipReport

    @property
    def target_quat(self) -> np.ndarray:
        """(4,) w, x, y, z."""
        return mat_to_quat(self.target_mat)


def check_action(action: object) -> np.ndarray:
    """Return the action as ``(7,) float32``, or raise :class:`ActionError` saying what is wrong."""
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ActionError(f"action must be a numeric array of shape ({ACTION_DIM},): {exc}") from None
    if arr.shape != (ACTION_DIM,):
        raise ActionError(f"action must have shape ({ACTION_DIM},) [{', '.join(ACTION_NAMES)}], got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        names = [f"{ACTION_NAMES[i]}={arr[i]}" for i in np.flatnonzero(bad)]
        raise ActionError(f"action contains non-finite values: {', '.join(names)}")
    # Finite but beyond float32 (1e300) is merely out of range: keep it finite so clipping reports it.
    big = float(np.finfo(np.float32).max)
    return np.clip(arr, -big, big).astype(np.float32)


class SafetyLimits:
    """Action range, per-step motion limits and the workspace box of one robot config."""

    def __init__(self, robot: RobotConfig, workspace: tuple[np.ndarray, np.ndarray]) -> None:
        """``workspace``: the (low, high) box (3,) m; :meth:`for_robot` finds it for a robot config."""
        self.max_translation = float(robot.max_translation_per_step)
        self.max_rotation = float(robot.max_rotation_per_step)
        self.workspace_low, self.workspace_high = (np.asarray(b, dtype=np.float64) for b in workspace)
        self.max_step = float(robot.max_ee_step)
        self.max_rot_step = float(robot.max_ee_rot_step)
        self.reference_mat = rotvec_to_mat(np.asarray(robot.rotation_reference, dtype=np.float64))
        self.max_from_reference = float(robot.max_rotation_from_reference)
        self.max_gripper_force = float(robot.gripper_max_force)
        self.joint_low = np.asarray(robot.joint_low, dtype=np.float64)
        self.joint_high = np.asarray(robot.joint_high, dtype=np.float64)

    @classmethod
    def for_robot(cls, robot: RobotConfig) -> SafetyLimits:
        """The limits of a robot config, its workspace box from where ``robot.workspace_source`` says: the config
        keys or the recorded ``calibration/<robot.name>/workspace.yaml`` (read here, once)."""
        from robot_rl.calibration.workspace import workspace_bounds

        return cls(robot, workspace_bounds(robot))

    def clip_action(self, action: object) -> tuple[np.ndarray, tuple[str, ...]]:
        """Checked and clipped action, plus the names of the components that were out of range."""
        arr = check_action(action)
        clipped = np.clip(arr, -1.0, 1.0)
        dims = tuple(ACTION_NAMES[i] for i in np.flatnonzero(clipped != arr))
        return clipped, dims

    def clip_position(self, pos: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """Target EE position clipped into the workspace box, plus the axes that were clipped.
        A non-finite position cannot be clipped to anything meaningful: :class:`ActionError`."""
        pos = _finite(pos, (3,), "EE position")
        clipped = np.clip(pos, self.workspace_low, self.workspace_high)
        axes = tuple("xyz"[i] for i in np.flatnonzero(clipped != pos))
        return clipped, axes

    def scale(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Clipped action -> (delta position m (3,), delta rotation vector rad (3,), gripper in [-1, 1])."""
        return (action[:3].astype(np.float64) * self.max_translation,
                action[3:6].astype(np.float64) * self.max_rotation, float(action[6]))

    def limit_step(self, dpos: np.ndarray, drot: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """Scale a step's (3,) translation and (3,) rotation vector down to the per-step speed limits."""
        names: list[str] = []
        norm = float(np.linalg.norm(dpos))
        if norm > self.max_step:
            dpos = dpos * (self.max_step / norm)
            names.append("translation_speed")
        angle = float(np.linalg.norm(drot))
        if angle > self.max_rot_step:
            drot = drot * (self.max_rot_step / angle)
            names.append("rotation_speed")
        return dpos, drot, tuple(names)

    def clip_orientation(self, mat: np.ndarray) -> tuple[np.ndarray, bool]:
        """(3, 3) target orientation pulled back into the cone of ``max_rotation_from_reference``
        around the reference orientation; True when it had to be."""
        mat = orthonormalize(_finite(mat, (3, 3), "EE orientation"))
        rel = mat_to_rotvec(self.reference_mat.T @ mat)
        angle = float(np.linalg.norm(rel))
        if angle <= self.max_from_reference:
            return mat, False
        return self.reference_mat @ rotvec_to_mat(rel * (self.max_from_reference / angle)), True

    def command(self, action: object, pos: np.ndarray, mat: np.ndarray) -> SafeCommand:
        """The whole gate: action (7,) and the current EE pose ((3,) m, (3, 3)) -> the command to execute.

        The target is relative to where the EE is now (so a blocked arm never winds up) and always lies
        in the workspace box and the orientation cone. From a pose inside them it moves at most
        ``max_ee_step`` / ``max_ee_rot_step``; from a pose outside (after a collision or hand guiding)
        the box wins: the target is pulled back in and the backend's motion generator bounds the speed.
        """
        act, dims = self.clip_action(action)
        pos = _finite(pos, (3,), "current EE position")
        mat = orthonormalize(_finite(mat, (3, 3), "current EE orientation"))
        dpos, drot, grip = self.scale(act)
        dpos, drot, names = self.limit_step(dpos, drot)
        target_pos, axes = self.clip_position(pos + dpos)
        target_mat, rot_clipped = self.clip_orientation(rotvec_to_mat(drot) @ mat)
        if rot_clipped:
            names = (*names, "rotation_range")
        return SafeCommand(action=act, target_pos=target_pos, target_mat=target_mat, gripper=grip,
                           clip=ClipReport(action_dims=dims, workspace_axes=axes, limits=names))

    def clip_joints(self, q: object) -> tuple[np.ndarray, tuple[int, ...]]:
        """(7,) joint target clipped into [joint_low, joint_high]; also the indices that were clipped."""
        arr = _finite(q, (7,), "joint target")
        clipped = np.clip(arr, self.joint_low, self.joint_high)
        return clipped, tuple(int(i) for i in np.flatnonzero(clipped != arr))

    def clip_gripper_force(self, force: object) -> tuple[float, bool]:
        """Grasp force in N clipped into [0, gripper_max_force]; True when it had to be."""
        value = float(_finite(force, (), "gripper force"))
        clipped = min(max(value, 0.0), self.max_gripper_force)
        return clipped, clipped != value


def _finite(value: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` or :class:`ActionError` (non-numeric, NaN, inf, shape)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ActionError(f"{what} must be numeric: {exc}") from None
    if arr.shape != shape:
        raise ActionError(f"{what} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ActionError(f"{what} contains non-finite values: {arr.tolist()}")
    return arr


class Watchdog:
    """Trips when no command was fed for ``timeout_s``: the arm must then be stopped, not left on its way.

    Edge-triggered: :meth:`check` returns True once per lapse (not again until fed and lapsed anew), so a
    monitor thread calls stop once. Unarmed until the first :meth:`feed`. ``clock`` is injectable for tests.
    """

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be > 0, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._tripped = False
        self.trips = 0

    def feed(self) -> None:
        with self._lock:
            self._last = self._clock()
            self._tripped = False

    def disarm(self) -> None:
        """Stop watching (e.g. while the arm is deliberately idle or disconnected)."""
        with self._lock:
            self._last = None
            self._tripped = False

    def age(self) -> float:
        """Seconds since the last feed (inf when unarmed)."""
        with self._lock:
            return float("inf") if self._last is None else self._clock() - self._last

    @property
    def armed(self) -> bool:
        return self._last is not None

    def check(self) -> bool:
        """True exactly once when the last feed is older than the timeout."""
        with self._lock:
            if self._last is None or self._tripped or self._clock() - self._last <= self.timeout_s:
                return False
            self._tripped = True
            self.trips += 1
            return True
