"""Camera intrinsics: from a RealSense's factory calibration, from ChArUco views, or from a MuJoCo camera.

The factory values of a RealSense are good to a fraction of a pixel and need no board; the ChArUco
calibration is for every other camera (and to check the factory values). A MuJoCo camera's intrinsics
follow from its vertical field of view; they are the ground truth the ChArUco path is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from robot_rl.calibration.charuco import Detection, require_views
from robot_rl.calibration.files import new_provenance
from robot_rl.calibration.records import CameraIntrinsics

# Radial k1, k2 and tangential p1, p2 estimated; k3 fixed at 0 (it only fits noise without wide-angle views).
CALIB_FLAGS = cv2.CALIB_FIX_K3


def pinhole_from_fovy(fovy_deg: float, width: int, height: int) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) px of an ideal camera with vertical field of view ``fovy_deg`` (MuJoCo's ``fovy``):
    square pixels, principal point at the image centre in OpenCV pixel coordinates ((W - 1) / 2)."""
    f = (height / 2.0) / np.tan(np.radians(fovy_deg) / 2.0)
    return float(f), float(f), (width - 1) / 2.0, (height - 1) / 2.0


def mujoco_intrinsics(fovy_deg: float, camera: str, width: int, height: int, robot_id: str) -> CameraIntrinsics:
    """The exact intrinsics of a simulated camera (no distortion)."""
    fx, fy, cx, cy = pinhole_from_fovy(fovy_deg, width, height)
    return CameraIntrinsics(camera=camera, width=width, height=height, fx=fx, fy=fy, cx=cx, cy=cy,
                            distortion=(0.0,) * 5, provenance=new_provenance(robot_id, f"MuJoCo fovy {fovy_deg:g} deg"),
                            residuals={"reprojection_rms_px": 0.0})


def calibrate_intrinsics(detections: Sequence[Detection], camera: str, robot_id: str, min_views: int = 8,
                         skipped: list[str] | None = None) -> CameraIntrinsics:
    """Zhang's calibration (``cv2.calibrateCameraExtended``) from ChArUco detections of one camera.

    Residuals: RMS reprojection error (px) over all corners, the worst view's RMS, and the standard
    deviations of fx, fy, cx, cy (px) that OpenCV estimates; views from many tilts pin the focal length."""
    require_views(len(detections), min_views, f"intrinsics of camera {camera}", skipped)
    sizes = {d.image_size for d in detections}
    if len(sizes) != 1:
        raise ValueError(f"camera {camera}: views have different image sizes {sorted(sizes)}")
    (width, height), = sizes
    obj = [d.object_points.reshape(-1, 1, 3) for d in detections]
    img = [d.image_points.reshape(-1, 1, 2) for d in detections]
    rms, K, dist, _, _, std_intr, _, per_view = cv2.calibrateCameraExtended(
        obj, img, (width, height), None, None, flags=CALIB_FLAGS,
        criteria=(cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-12))
    std = std_intr.reshape(-1)
    return CameraIntrinsics(
        camera=camera, width=width, height=height, fx=float(K[0, 0]), fy=float(K[1, 1]), cx=float(K[0, 2]),
        cy=float(K[1, 2]), distortion=tuple(float(d) for d in dist.reshape(-1)[:5]),
        provenance=new_provenance(robot_id, "ChArUco views, cv2.calibrateCameraExtended (k1, k2, p1, p2; k3 fixed)"),
        residuals={"reprojection_rms_px": float(rms), "worst_view_rms_px": float(np.max(per_view)),
                   "views": float(len(detections)), "corners": float(sum(len(d) for d in detections)),
                   "std_fx_px": float(std[0]), "std_fy_px": float(std[1]), "std_cx_px": float(std[2]),
                   "std_cy_px": float(std[3])})


def realsense_intrinsics(camera: str, robot_id: str, serial: str = "", width: int = 640, height: int = 480,
                         fps: int = 30, recording: str | Path | None = None) -> CameraIntrinsics:
    """The factory intrinsics of a RealSense colour stream at ``width`` x ``height``, read through
    librealsense from the device with ``serial`` (or from a ``.db3`` recording, which stores them)."""
    from robot_rl.hardware.errors import DeviceError, require

    rs = require("pyrealsense2", "realsense")
    config = rs.config()
    if recording is not None:
        config.enable_device_from_file(str(recording), repeat_playback=False)
    elif serial:
        config.enable_device(serial)
    config.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
    pipeline = rs.pipeline()
    source = f"recording {recording}" if recording is not None else f"RealSense {serial or '(first found)'}"
    try:
        profile = pipeline.start(config)
    except RuntimeError as exc:
        raise DeviceError(f"camera {camera}: cannot open {source} at {width}x{height} @ {fps}: {exc}") from exc
    try:
        stream = profile.get_stream(rs.stream.color).as_video_stream_profile()
        intr = stream.get_intrinsics()
        dev = profile.get_device()
        found_serial = dev.get_info(rs.camera_info.serial_number) if dev.supports(rs.camera_info.serial_number) \
            else serial
    finally:
        pipeline.stop()
    coeffs = [float(c) for c in intr.coeffs][:5]
    model = intr.model
    exact = model in (rs.distortion.none, rs.distortion.brown_conrady, rs.distortion.modified_brown_conrady)
    if not exact and any(abs(c) > 1e-9 for c in coeffs):
        raise ValueError(f"camera {camera}: {source} reports {model} distortion {coeffs}, which OpenCV's model "
                         "cannot represent: calibrate it from ChArUco views (robot-rl calibrate intrinsics)")
    return CameraIntrinsics(
        camera=camera, width=int(intr.width), height=int(intr.height), fx=float(intr.fx), fy=float(intr.fy),
        cx=float(intr.ppx), cy=float(intr.ppy), distortion=tuple(coeffs) if len(coeffs) == 5 else (0.0,) * 5,
        provenance=new_provenance(robot_id, f"RealSense factory calibration ({model})"),
        residuals={}, serial=str(found_serial))
