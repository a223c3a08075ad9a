"""What a calibration *is*: frozen, validated dataclasses for intrinsics, extrinsics and workspace bounds.

Every record carries its :class:`Provenance` (when, how, with which tool version) and the residuals the
method reported, so a consumer can judge it. Construction validates: a rotation that is not orthonormal,
a focal length of 0, a camera 40 m from the gripper (millimetres written as metres) all raise
:class:`CalibrationFieldError` naming the field. Arrays are stored read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from types import MappingProxyType

import numpy as np

from robot_rl.calibration.transforms import make_T

ORTHONORMAL_TOL = 1e-6  # max |R^T R - I| accepted: YAML round-trips floats exactly, so this only allows rounding
MAX_WRIST_OFFSET_M = 0.5  # a camera on the hand farther than this from the TCP is a unit error, not a mount
MAX_FIXED_DISTANCE_M = 5.0  # a fixed camera farther than this from the robot base cannot see the workspace
MAX_REACH_M = 2.0  # workspace corners farther than this from the base are beyond any arm we drive


class CalibrationFieldError(ValueError):
    """A calibration value is invalid; ``field`` is its dotted name in the file."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


def check(ok: bool, field_name: str, problem: str) -> None:
    if not ok:
        raise CalibrationFieldError(field_name, problem)


class Mount(str, Enum):
    """Eye-in-hand: the camera rides on the hand (extrinsics in the TCP frame). Eye-to-hand: the camera is
    fixed in the cell (extrinsics in the robot base frame)."""

    eye_in_hand = "eye_in_hand"
    eye_to_hand = "eye_to_hand"

    @property
    def parent_frame(self) -> str:
        return "tcp" if self is Mount.eye_in_hand else "base"


def optical_frame(camera: str) -> str:
    """Name of a camera's OpenCV optical frame (x right, y down, z forward)."""
    return f"{camera}_optical"


@dataclass(frozen=True)
class Provenance:
    """Who made a calibration and how: enough to decide whether to trust it, or to redo it."""

    robot_id: str
    created: datetime  # timezone-aware, UTC
    method: str
    tool: str  # e.g. "robot_rl 0.1.0, opencv 4.14.0"

    def __post_init__(self) -> None:
        check(bool(self.robot_id), "robot_id", "must not be empty")
        check(self.created.tzinfo is not None, "created", "needs a timezone (write ISO 8601 with Z or +00:00)")
        check(bool(self.method), "method", "must not be empty")
        check(bool(self.tool), "tool", "must name the tool version that wrote the file")

    def age_days(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (now - self.created).total_seconds() / 86400.0


def _frozen_array(value: object, shape: tuple[int, ...], field_name: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CalibrationFieldError(field_name, f"must be numbers of shape {shape}: {exc}") from None
    check(arr.shape == shape, field_name, f"must have shape {shape}, got {arr.shape}")
    check(bool(np.isfinite(arr).all()), field_name, f"contains non-finite values: {arr.tolist()}")
    arr.flags.writeable = False
    return arr


def _residuals(value: Mapping[str, float]) -> Mapping[str, float]:
    out = {}
    for k, v in dict(value).items():
        check(isinstance(v, int | float) and np.isfinite(v), f"residuals.{k}", f"must be a finite number, got {v!r}")
        out[str(k)] = float(v)
    return MappingProxyType(out)


def check_rotation(rot: np.ndarray, field_name: str) -> None:
    """Orthonormal with determinant +1, or :class:`CalibrationFieldError` saying how far off it is."""
    dev = float(np.abs(rot.T @ rot - np.eye(3)).max())
    check(dev <= ORTHONORMAL_TOL, field_name,
          f"not orthonormal: max |R^T R - I| = {dev:.2e} (tolerance {ORTHONORMAL_TOL:g}); write a rotation matrix")
    check(np.linalg.det(rot) > 0, field_name, "is a reflection (determinant -1), not a rotation")


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole + OpenCV distortion of one camera at one resolution. Pixels use OpenCV's convention (pixel
    centres at integer coordinates). ``distortion``: (k1, k2, p1, p2[, k3, ...]), OpenCV order."""

    camera: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, ...]
    provenance: Provenance
    residuals: Mapping[str, float] = field(default_factory=dict)
    serial: str = ""

    def __post_init__(self) -> None:
        check(bool(self.camera), "camera", "must not be empty")
        for name in ("width", "height"):
            v = getattr(self, name)
            check(isinstance(v, int) and 0 < v <= 16384, name, f"must be an integer number of pixels in (0, 16384], "
                  f"got {v!r}")
        for name, size in (("fx", self.width), ("fy", self.height)):
            v = float(getattr(self, name))
            check(np.isfinite(v) and 0.1 * size <= v <= 20.0 * size, name,
                  f"{v!r} px is not a plausible focal length for a {size} px wide image (0.1x to 20x the size: a "
                  "field of view of 3 to 157 degrees); is it in pixels?")
        check(0.0 <= float(self.cx) <= self.width, "cx", f"{self.cx!r} px lies outside the {self.width} px wide image")
        check(0.0 <= float(self.cy) <= self.height, "cy", f"{self.cy!r} px lies outside the {self.height} px image")
        dist = tuple(float(d) for d in self.distortion)
        check(len(dist) in (4, 5, 8, 12, 14), "distortion",
              f"needs 4, 5, 8, 12 or 14 OpenCV coefficients, got {len(dist)}")
        check(all(np.isfinite(d) and abs(d) < 100 for d in dist), "distortion", f"implausible values {list(dist)}")
        object.__setattr__(self, "distortion", dist)
        object.__setattr__(self, "residuals", _residuals(self.residuals))

    @property
    def K(self) -> np.ndarray:
        """(3, 3) camera matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist(self) -> np.ndarray:
        """(N,) distortion coefficients for OpenCV."""
        return np.asarray(self.distortion, dtype=np.float64)

    def cropped(self, crop: list[int] | tuple[int, ...], size: tuple[int, int]) -> CameraIntrinsics:
        """Intrinsics of the image after cropping [x, y, w, h] and resizing to ``size`` = (width, height),
        as the camera backends do before the policy sees a frame. Distortion is unchanged in normalised
        coordinates."""
        x, y, w, h = (float(v) for v in crop)
        sx, sy = size[0] / w, size[1] / h
        return CameraIntrinsics(
            camera=self.camera, width=int(size[0]), height=int(size[1]), fx=self.fx * sx, fy=self.fy * sy,
            cx=(self.cx - x + 0.5) * sx - 0.5, cy=(self.cy - y + 0.5) * sy - 0.5, distortion=self.distortion,
            provenance=self.provenance, residuals=dict(self.residuals), serial=self.serial)


@dataclass(frozen=True)
class CameraExtrinsics:
    """Pose of a camera's optical frame in its parent frame: ``T_parent_camera`` maps camera-frame points
    into the parent frame (the TCP for eye-in-hand, the robot base for eye-to-hand). Metres."""

    camera: str
    mount: Mount
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,) m
    provenance: Provenance
    residuals: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(bool(self.camera), "camera", "must not be empty")
        try:
            mount = Mount(self.mount)
        except ValueError:
            raise CalibrationFieldError("mount", f"must be one of {[m.value for m in Mount]}, got {self.mount!r}") \
                from None
        object.__setattr__(self, "mount", mount)
        rot = _frozen_array(self.rotation, (3, 3), "rotation")
        check_rotation(rot, "rotation")
        trans = _frozen_array(self.translation, (3,), "translation")
        limit = MAX_WRIST_OFFSET_M if mount is Mount.eye_in_hand else MAX_FIXED_DISTANCE_M
        dist = float(np.linalg.norm(trans))
        check(dist <= limit, "translation", f"the camera is {dist:.3f} m from the {mount.parent_frame} frame, "
              f"more than the {limit} m plausible for {mount.value}: are the values in metres?")
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "translation", trans)
        object.__setattr__(self, "residuals", _residuals(self.residuals))

    @property
    def parent_frame(self) -> str:
        return self.mount.parent_frame

    @property
    def child_frame(self) -> str:
        return optical_frame(self.camera)

    @property
    def T(self) -> np.ndarray:
        """(4, 4) ``T_parent_camera``."""
        return make_T(self.rotation, self.translation)


@dataclass(frozen=True)
class WorkspaceBounds:
    """The box the TCP must stay in, in the robot base frame (m): recorded corners shrunk by ``margin``."""

    low: np.ndarray  # (3,) m
    high: np.ndarray  # (3,) m
    margin: float  # m, already applied to low/high
    corners: np.ndarray  # (N, 3) m, the TCP positions recorded
    provenance: Provenance
    residuals: Mapping[str, float] = field(default_factory=dict)
    frame: str = "base"

    def __post_init__(self) -> None:
        low = _frozen_array(self.low, (3,), "low")
        high = _frozen_array(self.high, (3,), "high")
        check(bool(np.all(low < high)), "low/high", f"low {low.tolist()} must be < high {high.tolist()} on every axis")
        check(bool(np.all(np.abs(np.concatenate([low, high])) <= MAX_REACH_M)), "low/high",
              f"corners beyond {MAX_REACH_M} m of the base ({low.tolist()}, {high.tolist()}): "
              "are the values in metres?")
        check(0.0 <= float(self.margin) <= 0.2, "margin", f"must be in [0, 0.2] m, got {self.margin!r}")
        check(self.frame == "base", "frames.parent", f"bounds are in the robot base frame, got {self.frame!r}")
        corners = np.array(self.corners, dtype=np.float64)
        check(corners.ndim == 2 and corners.shape[1] == 3 and len(corners) >= 2, "corners",
              f"must be a list of at least 2 points [x, y, z], got shape {corners.shape}")
        corners.flags.writeable = False
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "corners", corners)
        object.__setattr__(self, "residuals", _residuals(self.residuals))
