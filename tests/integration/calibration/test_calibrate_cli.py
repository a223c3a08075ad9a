"""`robot-rl calibrate` end to end on the MuJoCo twin, writing into a temporary calibration folder."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.calibration.consumers import apply_calibration, load_cell
from robot_rl.calibration.files import CALIBRATION_DIR_ENV, extrinsics_path
from robot_rl.cli.main import main
from robot_rl.config import load_config


@pytest.fixture()
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(CALIBRATION_DIR_ENV, str(tmp_path))
    return tmp_path


def test_wrist_intrinsics_hand_eye_workspace_show(root, capsys):
    assert main(["calibrate", "intrinsics", "--camera", "wrist", "--factory"]) == 0
    assert main(["calibrate", "hand-eye", "--camera", "wrist"]) == 0
    out = capsys.readouterr().out
    assert "simulation check against the true extrinsics" in out
    err_mm = float(out.split("true extrinsics: ")[1].split(" mm")[0])
    assert err_mm < 2.0
    assert main(["calibrate", "workspace", "--corner", "0.3", "-0.3", "0.02", "--corner", "0.65", "0.3", "0.4"]) == 0
    cell = load_cell("fr3_sim", ["wrist"], root, required=True)
    assert cell.extrinsics["wrist"].parent_frame == "tcp"
    assert np.all(cell.workspace.high - cell.workspace.low > 0.15)
    assert main(["calibrate", "show"]) == 0
    shown = capsys.readouterr().out
    assert "wrist extrinsics T_tcp_wrist_optical" in shown and "front: no intrinsics" in shown
    assert "residuals: reprojection_rms_px" in shown


def test_degenerate_set_refused_and_missing_intrinsics_explained(root, capsys):
    assert main(["calibrate", "hand-eye", "--camera", "front"]) == 1
    assert "robot-rl calibrate intrinsics" in capsys.readouterr().out
    assert main(["calibrate", "intrinsics", "--camera", "front", "--factory"]) == 0
    assert main(["calibrate", "hand-eye", "calibration.views=9", "calibration.min_views=6", "--camera", "front",
                 "--degenerate"]) == 1
    assert "degenerate pose set: all rotations are about one axis" in capsys.readouterr().out
    assert not extrinsics_path("fr3_sim", "front", root).exists()


def test_repository_sim_calibration_is_valid_and_drives_the_crop():
    """calibration/fr3_sim/ (written by the tool) loads, and puts the workspace crop into the camera config."""
    cfg = load_config([])
    cell = load_cell("fr3_sim", cfg.camera.names, required=True)
    assert set(cell.extrinsics) == {"wrist", "front"}
    applied = apply_calibration(cfg)
    x, y, w, h = applied.camera.crops["front"]
    assert w == h and x >= 0 and x + w <= cfg.camera.capture_width and y + h <= cfg.camera.capture_height
    assert "wrist" not in applied.camera.crops  # a camera on the hand keeps the default crop
