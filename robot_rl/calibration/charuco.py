"""The ChArUco board: its geometry, its printable image, detecting it and estimating its pose.

A ChArUco board (a chessboard with ArUco markers in the white squares) is identified corner by corner,
so partly occluded or partly out-of-view boards still give usable, correctly numbered points; chessboard
corners are found with sub-pixel accuracy. The board frame is OpenCV's: origin at the board's top-left
corner, x along ``squares_x``, y along ``squares_y``, z into the board, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from robot_rl.calibration.records import CameraIntrinsics
from robot_rl.calibration.transforms import make_T


class BoardNotFoundError(ValueError):
    """The board is not (or not enough of it is) visible in an image."""


@dataclass(frozen=True)
class BoardSpec:
    """The printed board, in metres (measure the print: the scale of every pose follows from it)."""

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.035
    marker_m: float = 0.026
    dictionary: str = "DICT_4X4_50"

    @classmethod
    def from_config(cls, cfg) -> BoardSpec:
        """From a :class:`robot_rl.config.schema.CalibrationConfig`."""
        return cls(cfg.squares_x, cfg.squares_y, cfg.square_m, cfg.marker_m, cfg.dictionary)

    @property
    def size_m(self) -> tuple[float, float]:
        """(width, height) of the chessboard area."""
        return self.squares_x * self.square_m, self.squares_y * self.square_m

    @property
    def n_corners(self) -> int:
        """Number of inner chessboard corners (the points detected)."""
        return (self.squares_x - 1) * (self.squares_y - 1)

    @property
    def center(self) -> np.ndarray:
        """(3,) centre of the board in the board frame, m."""
        w, h = self.size_m
        return np.array([w / 2, h / 2, 0.0])

    def cv_board(self) -> cv2.aruco.CharucoBoard:
        return _cv_board(self)

    def image(self, px_per_m: float = 4000.0) -> np.ndarray:
        """The board as a printable (H, W) uint8 image with no margin, ``px_per_m`` pixels per metre."""
        w, h = self.size_m
        size = (round(w * px_per_m), round(h * px_per_m))
        return self.cv_board().generateImage(size, marginSize=0, borderBits=1)


@lru_cache(maxsize=8)
def _cv_board(spec: BoardSpec) -> cv2.aruco.CharucoBoard:
    if not hasattr(cv2.aruco, spec.dictionary):
        raise ValueError(f"calibration.dictionary: OpenCV has no ArUco dictionary {spec.dictionary!r}")
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    n_markers = spec.squares_x * spec.squares_y // 2
    if n_markers > dictionary.bytesList.shape[0]:
        raise ValueError(f"calibration.dictionary: {spec.dictionary} has {dictionary.bytesList.shape[0]} markers, "
                         f"the {spec.squares_x}x{spec.squares_y} board needs {n_markers}")
    return cv2.aruco.CharucoBoard((spec.squares_x, spec.squares_y), spec.square_m, spec.marker_m, dictionary)


@lru_cache(maxsize=8)
def _detector(spec: BoardSpec) -> cv2.aruco.CharucoDetector:
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    return cv2.aruco.CharucoDetector(spec.cv_board(), cv2.aruco.CharucoParameters(), params)


@dataclass(frozen=True)
class Detection:
    """The board corners found in one image."""

    ids: np.ndarray  # (N,) int32 chessboard corner ids
    image_points: np.ndarray  # (N, 2) float32 px
    object_points: np.ndarray  # (N, 3) float32 m, in the board frame
    image_size: tuple[int, int]  # (width, height) px

    def __len__(self) -> int:
        return len(self.ids)


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB or (H, W) uint8 -> (H, W) uint8."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def detect(image: np.ndarray, board: BoardSpec, min_corners: int = 6, view: str = "image") -> Detection:
    """Find the board's chessboard corners in ``image`` ((H, W, 3) RGB or (H, W) uint8).

    Raises :class:`BoardNotFoundError` (naming ``view``) when fewer than ``min_corners`` are found: too few
    points give a pose that looks fine and is wrong."""
    gray = to_gray(np.ascontiguousarray(image))
    corners, ids, marker_corners, _ = _detector(board).detectBoard(gray)
    n = 0 if ids is None else len(ids)
    if n < max(min_corners, 4):
        markers = 0 if marker_corners is None else len(marker_corners)
        hint = ("no marker at all: is the board in view, lit, and is calibration.dictionary right?" if markers == 0
                else "move closer, face the board more squarely, or light it evenly")
        raise BoardNotFoundError(f"{view}: board not detected ({n} of {board.n_corners} corners, at least "
                                 f"{min_corners} needed; {markers} markers seen): {hint}")
    ids = ids.reshape(-1).astype(np.int32)
    obj = board.cv_board().getChessboardCorners()[ids].astype(np.float32)
    return Detection(ids=ids, image_points=corners.reshape(-1, 2).astype(np.float32), object_points=obj,
                     image_size=(gray.shape[1], gray.shape[0]))


def board_pose(det: Detection, intr: CameraIntrinsics) -> tuple[np.ndarray, float]:
    """Pose of the board in the camera's optical frame, ``T_camera_board`` (4, 4), and the RMS reprojection
    error in px. Iterative PnP refined with Levenberg-Marquardt."""
    if det.image_size != (intr.width, intr.height):
        raise ValueError(f"camera {intr.camera}: image is {det.image_size[0]}x{det.image_size[1]} but the "
                         f"intrinsics are for {intr.width}x{intr.height}; calibrate at the capture resolution")
    ok, rvec, tvec = cv2.solvePnP(det.object_points, det.image_points, intr.K, intr.dist,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise BoardNotFoundError(f"camera {intr.camera}: no board pose from {len(det)} corners")
    rvec, tvec = cv2.solvePnPRefineLM(det.object_points, det.image_points, intr.K, intr.dist, rvec, tvec)
    proj, _ = cv2.projectPoints(det.object_points, rvec, tvec, intr.K, intr.dist)
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - det.image_points) ** 2, axis=1))))
    return make_T(cv2.Rodrigues(rvec)[0], tvec.reshape(3)), rms


class TooFewViewsError(ValueError):
    """Not enough usable board views for a calibration."""


def require_views(n: int, minimum: int, what: str, skipped: list[str] | None = None) -> None:
    """Raise :class:`TooFewViewsError` when fewer than ``minimum`` views are usable, listing the skipped ones."""
    if n < minimum:
        why = f"; skipped: {'; '.join(skipped)}" if skipped else ""
        raise TooFewViewsError(f"{what}: {n} usable board views, at least {minimum} needed "
                               f"(calibration.min_views){why}")
