"""Workspace bounds: the box the TCP may move in, recorded by touching its corners with the arm.

A box typed by hand is a guess; one recorded by moving the TCP to where the table, the walls and the
fixtures actually are is a measurement. The recorded corners are shrunk by a margin on every side, so
the safety layer (:mod:`robot_rl.control.safety`, through :func:`workspace_bounds`) stops the TCP
``margin`` metres short of what was touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.calibration.files import (
    DEFAULT_MAX_AGE_DAYS,
    CalibrationMissingError,
    load_workspace,
    new_provenance,
    workspace_path,
)
from robot_rl.calibration.records import WorkspaceBounds
from robot_rl.config.schema import RobotConfig, WorkspaceSource

MIN_SIDE_M = 0.02  # a box thinner than this after the margin leaves no room to work in


class WorkspaceError(ValueError):
    """The recorded corners do not make a usable box."""


def box_from_corners(corners: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box of (N, 3) TCP positions (m), shrunk by ``margin`` m on every side -> (low, high)."""
    pts = np.asarray(corners, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 2:
        raise WorkspaceError(f"need at least 2 corner positions [x, y, z] (opposite corners), got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise WorkspaceError("corner positions contain non-finite values")
    low, high = pts.min(axis=0) + margin, pts.max(axis=0) - margin
    for i, axis in enumerate("xyz"):
        if high[i] - low[i] < MIN_SIDE_M:
            span = pts[:, i].max() - pts[:, i].min()
            raise WorkspaceError(
                f"the corners span only {span * 1000:.0f} mm along {axis}; with a margin of {margin * 1000:.0f} mm "
                f"on each side that leaves less than {MIN_SIDE_M * 1000:.0f} mm. Record corners that differ along "
                "every axis (e.g. low on the table and high above it)")
    return low, high


def record_workspace(corners: np.ndarray, margin: float, robot_id: str, method: str) -> WorkspaceBounds:
    """A workspace record from measured TCP positions (N, 3) m."""
    pts = np.asarray(corners, dtype=np.float64)
    low, high = box_from_corners(pts, margin)
    return WorkspaceBounds(low=low, high=high, margin=float(margin), corners=pts,
                           provenance=new_provenance(robot_id, method),
                           residuals={"corners": float(len(pts)), "volume_m3": float(np.prod(high - low))})


def workspace_bounds(robot: RobotConfig, root: Path | None = None,
                     max_age_days: float = DEFAULT_MAX_AGE_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """The (low, high) box (3,) m the safety layer enforces for a :class:`RobotConfig`."""
    source = WorkspaceSource(robot.workspace_source)
    keys = (np.asarray(robot.workspace_low, dtype=np.float64), np.asarray(robot.workspace_high, dtype=np.float64))
    if source is WorkspaceSource.config:
        return keys
    path = workspace_path(robot.name, root)
    if source is WorkspaceSource.auto and not path.is_file():
        return keys
    try:
        rec = load_workspace(path, max_age_days=max_age_days)
    except CalibrationMissingError as exc:
        raise CalibrationMissingError(f"robot.workspace_source=calibration but {exc}; or use "
                                      "robot.workspace_source=config (robot.workspace_low/high)") from None
    return np.array(rec.low), np.array(rec.high)
