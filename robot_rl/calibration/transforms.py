"""Rigid transforms as (4, 4) homogeneous matrices, the currency of every calibration module.

``T_a_b`` maps points from frame ``b`` into frame ``a`` (so ``T_a_c = T_a_b @ T_b_c``); translations are
metres. Kept separate from :mod:`robot_rl.control.rotations` (rotation-only) so the calibration code reads
as the equations in the papers it implements.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robot_rl.control.rotations import mat_to_quat, mat_to_rotvec, orthonormalize, quat_to_mat, rotvec_to_mat


def make_T(rot: np.ndarray, trans: Sequence[float] | np.ndarray) -> np.ndarray:
    """(3, 3) rotation and (3,) translation -> (4, 4)."""
    T = np.eye(4)
    T[:3, :3] = np.asarray(rot, dtype=np.float64)
    T[:3, 3] = np.asarray(trans, dtype=np.float64).reshape(3)
    return T


def inv_T(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid (4, 4) transform (transpose the rotation, no general matrix inverse)."""
    R, t = T[:3, :3], T[:3, 3]
    return make_T(R.T, -R.T @ t)


def rotvec_T(rotvec: Sequence[float] | np.ndarray, trans: Sequence[float] | np.ndarray) -> np.ndarray:
    """(3,) axis-angle rad and (3,) translation m -> (4, 4)."""
    return make_T(rotvec_to_mat(np.asarray(rotvec, dtype=np.float64)), trans)


def perturb(T: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``T`` moved by a (6,) body-frame increment [rotation vector rad (3), translation m (3)]."""
    return T @ rotvec_T(delta[:3], delta[3:])


def rotation_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    """Angle in degrees of the rotation between two (3, 3) rotations."""
    return float(np.degrees(np.linalg.norm(mat_to_rotvec(Ra.T @ Rb))))


def pose_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """(translation error m, rotation error deg) between two (4, 4) transforms."""
    return float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3])), rotation_deg(T_est[:3, :3], T_true[:3, :3])


def mean_T(transforms: Sequence[np.ndarray]) -> np.ndarray:
    """Average of (4, 4) transforms: chordal mean of the rotations (SVD projection), mean translation."""
    stack = np.asarray(transforms, dtype=np.float64)
    return make_T(orthonormalize(stack[:, :3, :3].mean(axis=0)), stack[:, :3, 3].mean(axis=0))


def spread(transforms: Sequence[np.ndarray]) -> tuple[float, float]:
    """RMS deviation (m, deg) of (4, 4) transforms from their mean: how well repeated estimates of one
    fixed transform agree (the hand-eye residual a person can read)."""
    mean = mean_T(transforms)
    errs = np.array([pose_error(T, mean) for T in transforms])
    return float(np.sqrt(np.mean(errs[:, 0] ** 2))), float(np.sqrt(np.mean(errs[:, 1] ** 2)))


__all__ = ["inv_T", "make_T", "mat_to_quat", "mat_to_rotvec", "mean_T", "perturb", "pose_error", "quat_to_mat",
           "rotation_deg", "rotvec_T", "rotvec_to_mat", "spread"]
