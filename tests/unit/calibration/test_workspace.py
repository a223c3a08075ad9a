"""Workspace box from corners, and the safety layer reading it from calibration/<robot>/workspace.yaml."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_rl.calibration.files import CALIBRATION_DIR_ENV, CalibrationMissingError, save
from robot_rl.calibration.workspace import WorkspaceError, box_from_corners, record_workspace, workspace_bounds
from robot_rl.config.schema import RobotConfig, WorkspaceSource
from robot_rl.control.safety import SafetyLimits

CORNERS = np.array([[0.30, -0.25, 0.01], [0.62, 0.25, 0.41], [0.45, 0.0, 0.2]])


def test_box_shrinks_by_margin_on_every_side():
    low, high = box_from_corners(CORNERS, 0.02)
    np.testing.assert_allclose(low, [0.32, -0.23, 0.03])
    np.testing.assert_allclose(high, [0.60, 0.23, 0.39])


def test_flat_corners_are_refused():
    with pytest.raises(WorkspaceError, match="along z"):
        box_from_corners(np.array([[0.3, -0.2, 0.1], [0.6, 0.2, 0.12]]), 0.02)
    with pytest.raises(WorkspaceError, match="at least 2"):
        box_from_corners(np.array([[0.3, -0.2, 0.1]]), 0.02)


def test_safety_layer_reads_the_recorded_box(tmp_path, monkeypatch):
    monkeypatch.setenv(CALIBRATION_DIR_ENV, str(tmp_path))
    robot = RobotConfig(name="bot")
    save(record_workspace(CORNERS, 0.02, "bot", "test"), tmp_path)
    keys = SafetyLimits.for_robot(robot)  # default: the config keys, untouched by the file
    np.testing.assert_allclose(keys.workspace_low, robot.workspace_low)
    calibrated = SafetyLimits.for_robot(dataclasses.replace(robot, workspace_source=WorkspaceSource.calibration))
    np.testing.assert_allclose(calibrated.workspace_low, [0.32, -0.23, 0.03])
    np.testing.assert_allclose(calibrated.workspace_high, [0.60, 0.23, 0.39])
    pos, axes = calibrated.clip_position(np.array([0.7, 0.0, 0.0]))
    np.testing.assert_allclose(pos, [0.60, 0.0, 0.03])
    assert axes == ("x", "z")


def test_missing_file_only_fails_when_required(tmp_path, monkeypatch):
    monkeypatch.setenv(CALIBRATION_DIR_ENV, str(tmp_path))
    auto = dataclasses.replace(RobotConfig(name="nobody"), workspace_source=WorkspaceSource.auto)
    np.testing.assert_allclose(workspace_bounds(auto)[0], auto.workspace_low)
    required = dataclasses.replace(auto, workspace_source=WorkspaceSource.calibration)
    with pytest.raises(CalibrationMissingError, match="robot-rl calibrate workspace"):
        SafetyLimits.for_robot(required)
