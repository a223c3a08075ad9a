"""Hand-eye on exact synthetic data (no rendering): both setups, every OpenCV method, degenerate sets refused."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.calibration.charuco import BoardSpec, Detection, TooFewViewsError
from robot_rl.calibration.hand_eye import DegeneratePoseSetError, HandEyeSample, check_pose_set, solve_hand_eye
from robot_rl.calibration.intrinsics import mujoco_intrinsics
from robot_rl.calibration.poses import orbit_poses, single_axis_poses
from robot_rl.calibration.records import Mount
from robot_rl.calibration.transforms import inv_T, make_T, pose_error, rotvec_T

BOARD = BoardSpec()
INTR = mujoco_intrinsics(60.0, "cam", 640, 480, "bot")
DOWN = np.diag([1.0, -1.0, -1.0])


def _setup(mount: Mount):
    """(X, Z, start pose, pivot in the TCP frame) of a plausible cell."""
    if mount is Mount.eye_in_hand:
        X = rotvec_T([0.05, -0.4, 0.1], [0.06, 0.01, -0.05])  # T_tcp_camera
        T0 = make_T(DOWN, [0.5, 0.0, 0.35])
        centre = np.array([0.5, 0.0, 0.0])  # the camera looks at the board's centre
        Z = make_T(np.eye(3), centre - BOARD.center)  # board flat on the table at z = 0
        X = _aim(X, T0, centre)
        return X, Z, T0, (inv_T(T0) @ np.append(centre, 1))[:3]
    X = rotvec_T([2.2, 0.0, 0.0], [1.0, 0.3, 0.6])  # T_base_camera, looking back at the robot
    Z = rotvec_T([0.0, 0.3, 0.0], [-0.1, -0.08, 0.15])  # T_tcp_board
    T0 = make_T(DOWN, [0.5, 0.1, 0.35])
    return X, Z, T0, Z[:3, 3] + Z[:3, :3] @ BOARD.center


def _aim(X: np.ndarray, T0: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotate the camera about its centre so its optical axis points at ``target`` from pose T0."""
    cam = T0 @ X
    fwd = target - cam[:3, 3]
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    R_world = np.column_stack([right, np.cross(fwd, right), fwd])
    return make_T(T0[:3, :3].T @ R_world, X[:3, 3])


def _samples(mount, X, Z, poses):
    out = []
    obj = BOARD.cv_board().getChessboardCorners().astype(np.float64)
    for i, T in enumerate(poses):
        P = inv_T(T) if mount is Mount.eye_in_hand else T
        T_cb = inv_T(X) @ P @ Z
        pc = obj @ T_cb[:3, :3].T + T_cb[:3, 3]
        uv = pc[:, :2] / pc[:, 2:] * [INTR.fx, INTR.fy] + [INTR.cx, INTR.cy]
        det = Detection(ids=np.arange(len(obj), dtype=np.int32), image_points=uv.astype(np.float32),
                        object_points=obj.astype(np.float32), image_size=(640, 480))
        out.append(HandEyeSample(T, det, f"v{i}"))
    return out


@pytest.mark.parametrize("mount", list(Mount))
@pytest.mark.parametrize("method", ["park", "tsai", "daniilidis", "shah", "li"])
def test_exact_data_gives_exact_extrinsics(mount, method):
    X, Z, T0, pivot = _setup(mount)
    samples = _samples(mount, X, Z, orbit_poses(T0, pivot, 12, 25, 30))
    res = solve_hand_eye(samples, INTR, mount, "bot", method=method, refine_pinhole=False)
    err_m, err_deg = pose_error(res.extrinsics.T, X)
    assert err_m < 1e-5 and err_deg < 1e-3, (err_m, err_deg)
    assert pose_error(res.T_other, Z)[0] < 1e-5
    assert res.extrinsics.residuals["reprojection_rms_px"] < 0.01
    assert res.extrinsics.mount is mount
    if method == "shah":
        assert "calibrateRobotWorldHandEye" in res.extrinsics.provenance.method


def test_single_axis_rotation_is_refused():
    X, Z, T0, pivot = _setup(Mount.eye_in_hand)
    samples = _samples(Mount.eye_in_hand, X, Z, single_axis_poses(T0, pivot, 12, 30))
    one_axis = r"all rotations are about one axis \(\[[+-]0\.00, [+-]0\.00, [+-]1\.00\]"
    with pytest.raises(DegeneratePoseSetError, match=one_axis):
        solve_hand_eye(samples, INTR, Mount.eye_in_hand, "bot")


def test_translation_only_and_too_few_views_are_refused():
    T0 = make_T(DOWN, [0.5, 0.0, 0.35])
    shifted = [T0 @ make_T(np.eye(3), [0.02 * i, 0.01 * i, 0.0]) for i in range(10)]
    with pytest.raises(DegeneratePoseSetError, match="hardly rotate"):
        check_pose_set(shifted, 5.0)
    X, Z, T0, pivot = _setup(Mount.eye_to_hand)
    samples = _samples(Mount.eye_to_hand, X, Z, orbit_poses(T0, pivot, 4, 25, 30))
    with pytest.raises(TooFewViewsError, match="4 usable board views, at least 8"):
        solve_hand_eye(samples, INTR, Mount.eye_to_hand, "bot", min_views=8)
