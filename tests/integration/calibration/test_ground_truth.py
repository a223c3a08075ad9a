"""Ground truth: a ChArUco board rendered as a MuJoCo texture, seen by the simulated cameras while the arm
moves through the calibration pose set, with the default noise model (image blur + noise, robot pose error).

Extrinsics must come back within 2 mm and 0.2 degrees from 15 views for both setups; intrinsics calibrated
from the rendered views must match the MuJoCo camera's fovy-derived intrinsics within 1%.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.calibration.charuco import BoardNotFoundError, BoardSpec, detect
from robot_rl.calibration.hand_eye import DegeneratePoseSetError, solve_hand_eye
from robot_rl.calibration.intrinsics import calibrate_intrinsics
from robot_rl.calibration.poses import orbit_poses, single_axis_poses
from robot_rl.calibration.records import Mount
from robot_rl.calibration.session import Motion, collect_views
from robot_rl.calibration.sim_cell import NoiseModel, SimCalibrationCell
from robot_rl.calibration.transforms import pose_error

CAMERA = {Mount.eye_in_hand: "wrist", Mount.eye_to_hand: "front"}
VIEWS = 15


@pytest.fixture(scope="module", params=list(Mount), ids=lambda m: m.value)
def run(request, cfg):
    """Collect the 15-view pose set once per setup: (cell ground truth, views)."""
    mount = request.param
    board = BoardSpec.from_config(cfg.calibration)
    with SimCalibrationCell(cfg, CAMERA[mount], mount, board, noise=NoiseModel(), seed=7) as cell:
        T0, pivot = cell.start_pose()
        poses = orbit_poses(T0, pivot, VIEWS, cfg.calibration.max_tilt_deg, cfg.calibration.max_yaw_deg)
        motion = Motion(cfg.robot.max_translation_per_step, cfg.robot.max_rotation_per_step)
        views = collect_views(cell.robot, cell.camera, poses, board, motion, cfg.calibration.min_corners)
        yield mount, cell.true_extrinsics(), cell.true_intrinsics(), views, cell


def test_extrinsics_within_2mm_and_0p2deg(run, cfg):
    mount, truth, factory, views, _ = run
    assert len(views.samples) >= 13, views.skipped  # the pose set is reachable: at most 2 of 15 skipped
    res = solve_hand_eye(views.samples, factory, mount, "fr3_sim", cfg.calibration.hand_eye_method,
                         cfg.calibration.min_views, cfg.calibration.min_rotation_spread_deg, refine_pinhole=False)
    err_m, err_deg = pose_error(res.extrinsics.T, truth)
    print(f"{mount.value}: {len(views.samples)} views, error {err_m * 1000:.3f} mm, {err_deg:.4f} deg; "
          f"closed form {pose_error(res.T_closed_form, truth)[0] * 1000:.3f} mm; residuals "
          f"{dict(res.extrinsics.residuals)}")
    assert err_m < 0.002 and err_deg < 0.2
    assert res.extrinsics.residuals["reprojection_rms_px"] < cfg.calibration.max_reprojection_px
    assert res.diversity.spread_deg[1] > cfg.calibration.min_rotation_spread_deg


def test_intrinsics_from_rendered_views_within_1_percent(run, cfg):
    mount, _, factory, views, _ = run
    intr = calibrate_intrinsics(views.detections, CAMERA[mount], "fr3_sim", cfg.calibration.min_views)
    errors = {n: abs(getattr(intr, n) / getattr(factory, n) - 1) for n in ("fx", "fy", "cx", "cy")}
    print(f"{mount.value}: intrinsics relative errors {errors}, rms {intr.residuals['reprojection_rms_px']:.3f} px")
    assert max(errors.values()) < 0.01, errors
    assert intr.residuals["reprojection_rms_px"] < 0.5


def test_degenerate_pose_set_is_detected_and_refused(run, cfg):
    mount, _, factory, _, cell = run
    board = BoardSpec.from_config(cfg.calibration)
    cell.reset()
    T0, pivot = cell.start_pose()
    poses = single_axis_poses(T0, pivot, 10, cfg.calibration.max_yaw_deg)  # turns about the tool axis only
    motion = Motion(cfg.robot.max_translation_per_step, cfg.robot.max_rotation_per_step)
    views = collect_views(cell.robot, cell.camera, poses, board, motion, cfg.calibration.min_corners)
    assert len(views.samples) >= cfg.calibration.min_views  # enough views: refused for degeneracy, not count
    with pytest.raises(DegeneratePoseSetError, match="about one axis"):
        solve_hand_eye(views.samples, factory, mount, "fr3_sim", min_views=cfg.calibration.min_views)


def test_no_board_in_view_is_reported(cfg):
    with pytest.raises(BoardNotFoundError, match=r"view 3: board not detected \(0 of 24 corners"):
        detect(np.full((480, 640, 3), 127, np.uint8), BoardSpec.from_config(cfg.calibration), view="view 3")
