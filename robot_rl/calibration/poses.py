"""Pose sets for hand-eye calibration: rotations about a pivot, spread over three axes.

The arm turns about a fixed point (the pivot): for a wrist camera, the point it looks at on the board,
so the board stays where it is in the image while the viewing angle changes; for a board held by the
hand, the board's centre, so the board stays in the fixed camera's view while it turns. Tilts about
axes spread around the tool's z axis (golden-angle azimuths) plus turns about that axis give the
rotation diversity hand-eye needs (see :func:`robot_rl.calibration.hand_eye.check_pose_set`).
"""

from __future__ import annotations

import numpy as np

from robot_rl.calibration.transforms import make_T, rotvec_to_mat

GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


def orbit_rotations(n: int, max_tilt_deg: float, max_yaw_deg: float) -> list[np.ndarray]:
    """``n`` rotations (3, 3) in the tool frame: the first is the identity, the rest tilt by 70-100% of
    ``max_tilt_deg`` about an axis in the tool's x-y plane (azimuth advancing by the golden angle) and turn
    by up to ``max_yaw_deg`` about the tool's z axis (alternating sign)."""
    rots = [np.eye(3)]
    for k in range(1, n):
        azimuth = k * GOLDEN_ANGLE
        tilt = np.radians(max_tilt_deg) * (0.7 + 0.3 * ((k * 0.618034) % 1.0))
        yaw = np.radians(max_yaw_deg) * (-1.0) ** k * ((k * 0.381966) % 1.0)
        R_tilt = rotvec_to_mat(tilt * np.array([np.cos(azimuth), np.sin(azimuth), 0.0]))
        rots.append(rotvec_to_mat(np.array([0.0, 0.0, yaw])) @ R_tilt)
    return rots


def orbit_poses(T_start: np.ndarray, pivot_tcp: np.ndarray, n: int, max_tilt_deg: float,
                max_yaw_deg: float) -> list[np.ndarray]:
    """``n`` TCP poses (4, 4) in the base frame, each ``T_start`` rotated about the point ``pivot_tcp`` (3,)
    (m, in the start TCP frame), which stays fixed in the world."""
    p = np.asarray(pivot_tcp, dtype=np.float64)
    return [T_start @ make_T(R, p - R @ p) for R in orbit_rotations(n, max_tilt_deg, max_yaw_deg)]


def single_axis_poses(T_start: np.ndarray, pivot_tcp: np.ndarray, n: int, max_angle_deg: float,
                      axis: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> list[np.ndarray]:
    """A deliberately degenerate set: ``n`` rotations about one tool axis only. For tests and demonstrations
    of the degeneracy check (such a set must be refused)."""
    p = np.asarray(pivot_tcp, dtype=np.float64)
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    angles = np.radians(np.linspace(-max_angle_deg, max_angle_deg, n))
    return [T_start @ make_T(R, p - R @ p) for R in (rotvec_to_mat(t * a) for t in angles)]
