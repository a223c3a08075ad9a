"""Rotation conversions (numpy only) shared by the safety layer and the robot backends.

Conventions: rotation vectors are axis * angle (3,); quaternions are (4,) w, x, y, z; matrices (3, 3)
map the rotated frame into the base frame.
"""

from __future__ import annotations

import numpy as np


def rotvec_to_mat(rotvec: np.ndarray) -> np.ndarray:
    """(3,) axis-angle -> (3, 3) rotation (Rodrigues)."""
    v = np.asarray(rotvec, dtype=np.float64)
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(angle) * kx + (1.0 - np.cos(angle)) * (kx @ kx)


def mat_to_rotvec(mat: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> (3,) axis-angle with angle in [0, pi]; stable near 0 and pi."""
    return quat_to_rotvec(mat_to_quat(mat))


def quat_to_rotvec(quat: np.ndarray) -> np.ndarray:
    """(4,) w, x, y, z -> (3,) axis-angle with angle in [0, pi]."""
    q = np.asarray(quat, dtype=np.float64)
    q = q / np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    s = float(np.linalg.norm(q[1:]))
    if s < 1e-12:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(s, q[0])
    return q[1:] / s * angle


def mat_to_quat(mat: np.ndarray) -> np.ndarray:
    """(3, 3) -> (4,) w, x, y, z with w >= 0 (Shepperd's method: no division by a small number)."""
    m = np.asarray(mat, dtype=np.float64)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    cands = np.array([tr, m[0, 0], m[1, 1], m[2, 2]])
    i = int(np.argmax(cands))
    if i == 0:
        s = np.sqrt(1.0 + tr) * 2.0
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif i == 1:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2.0
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif i == 2:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2.0
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2.0
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    quat = np.asarray(q)
    quat /= np.linalg.norm(quat)
    return -quat if quat[0] < 0 else quat


def quat_to_mat(quat: np.ndarray) -> np.ndarray:
    """(4,) w, x, y, z (any norm) -> (3, 3)."""
    w, x, y, z = np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rotation_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in [0, pi] of the rotation taking (3, 3) ``a`` to (3, 3) ``b``."""
    return float(np.linalg.norm(mat_to_rotvec(a.T @ b)))


def orthonormalize(mat: np.ndarray) -> np.ndarray:
    """Nearest rotation matrix to a (3, 3) matrix (drift from repeated products, measured poses)."""
    u, _, vt = np.linalg.svd(np.asarray(mat, dtype=np.float64))
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r
