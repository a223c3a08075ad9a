"""Using calibrations: crops for the camera nodes, camera poses for the actor.

A fixed camera sees far more than the workspace; the policy's 128x128 input should spend its pixels on
the box the arm works in. :func:`workspace_crop` projects the workspace box through the camera's
intrinsics and extrinsics and returns the square crop that holds it; :func:`apply_calibration` puts
those crops (and the cameras' serial numbers) into a config, so the camera backend crops to them. The
actor gets every camera's pose in the robot base frame from :meth:`CellCalibration.camera_pose`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.calibration.files import (
    CalibrationMissingError,
    extrinsics_path,
    intrinsics_path,
    load_extrinsics,
    load_intrinsics,
    load_workspace,
    workspace_path,
)
from robot_rl.calibration.hand_eye import project
from robot_rl.calibration.records import CameraExtrinsics, CameraIntrinsics, Mount, WorkspaceBounds
from robot_rl.calibration.transforms import inv_T
from robot_rl.config.schema import Config


@dataclass(frozen=True)
class CellCalibration:
    """Everything calibrated about one robot cell; cameras without a file are simply absent."""

    robot_id: str
    intrinsics: Mapping[str, CameraIntrinsics]
    extrinsics: Mapping[str, CameraExtrinsics]
    workspace: WorkspaceBounds | None

    def camera_pose(self, camera: str, T_base_tcp: np.ndarray) -> np.ndarray:
        """(4, 4) ``T_base_camera`` (optical frame) with the TCP at ``T_base_tcp`` (4, 4)."""
        if camera not in self.extrinsics:
            raise CalibrationMissingError(f"no extrinsics for camera {camera!r} of {self.robot_id}: run "
                                          f"`robot-rl calibrate hand-eye --camera {camera}`")
        ext = self.extrinsics[camera]
        return T_base_tcp @ ext.T if ext.mount is Mount.eye_in_hand else ext.T


def load_cell(robot_id: str, cameras: Sequence[str], root: Path | None = None, max_age_days: float = 30.0,
              required: bool = False) -> CellCalibration:
    """Load what exists for ``robot_id`` (all of it with ``required``, else missing files are skipped).
    Invalid files always raise :class:`CalibrationFileError`."""
    intr, ext = {}, {}
    for cam in cameras:
        for path, load, out in ((intrinsics_path(robot_id, cam, root), load_intrinsics, intr),
                                (extrinsics_path(robot_id, cam, root), load_extrinsics, ext)):
            if path.is_file() or required:
                out[cam] = load(path, max_age_days)
    ws_path = workspace_path(robot_id, root)
    workspace = load_workspace(ws_path, max_age_days) if ws_path.is_file() or required else None
    return CellCalibration(robot_id, intr, ext, workspace)


def box_corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(8, 3) corners of an axis-aligned box."""
    return np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])


def workspace_crop(intr: CameraIntrinsics, T_base_camera: np.ndarray, low: np.ndarray, high: np.ndarray,
                   pad: float = 0.05) -> list[int]:
    """The square crop [x, y, w, h] (px, capture resolution) that holds the workspace box as seen by a fixed
    camera, padded by ``pad`` of its size, shifted (not cut) to stay inside the image where it fits."""
    T = inv_T(T_base_camera)
    pts = box_corners(np.asarray(low), np.asarray(high))
    in_front = (pts @ T[:3, :3].T + T[:3, 3])[:, 2] > 0.01
    if not in_front.all():
        raise ValueError(f"camera {intr.camera}: part of the workspace box is behind the camera; check its "
                         "extrinsics (robot-rl calibrate show)")
    uv = project(pts, np.repeat(T[None, :3, :3], 8, axis=0), np.repeat(T[None, :3, 3], 8, axis=0),
                 np.array([intr.fx, intr.fy, intr.cx, intr.cy]), intr.distortion)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    side = min(int(np.ceil((hi - lo).max() * (1 + 2 * pad))), intr.width, intr.height)
    centre = (lo + hi) / 2
    x = int(np.clip(round(centre[0] - side / 2), 0, intr.width - side))
    y = int(np.clip(round(centre[1] - side / 2), 0, intr.height - side))
    return [x, y, side, side]


def apply_calibration(cfg: Config, root: Path | None = None) -> Config:
    """A copy of ``cfg`` whose camera settings use the calibration files of ``cfg.robot.name``: crops for
    fixed cameras around the workspace (where no crop was configured explicitly) and serial numbers from
    the intrinsics files (where none was configured). What the camera node calls before opening cameras."""
    cell = load_cell(cfg.robot.name, cfg.camera.names, root, cfg.calibration.max_age_days)
    crops = {k: list(v) for k, v in cfg.camera.crops.items()}
    serials = dict(cfg.camera.serials)
    if cell.workspace is not None:
        low, high = cell.workspace.low, cell.workspace.high
    else:
        low, high = np.asarray(cfg.robot.workspace_low), np.asarray(cfg.robot.workspace_high)
    size = (cfg.camera.capture_width, cfg.camera.capture_height)
    for cam in cfg.camera.names:
        intr, ext = cell.intrinsics.get(cam), cell.extrinsics.get(cam)
        if intr is not None and intr.serial and cam not in serials:
            serials[cam] = intr.serial
        if intr is None or ext is None or ext.mount is not Mount.eye_to_hand or cam in crops:
            continue
        if (intr.width, intr.height) != size:
            intr = intr.cropped([0, 0, intr.width, intr.height], size)
        crops[cam] = workspace_crop(intr, ext.T, low, high)
    return dataclasses.replace(cfg, camera=dataclasses.replace(cfg.camera, crops=crops, serials=serials))
