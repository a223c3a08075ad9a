"""Hand-eye calibration: where a camera sits relative to the robot, from board views paired with robot poses.

Two setups, one equation. Eye-in-hand (wrist camera, board fixed on the table): unknown ``X = T_tcp_camera``
and ``Z = T_base_board``. Eye-to-hand (fixed camera, board held by the hand): ``X = T_base_camera`` and
``Z = T_tcp_board``. For view i with robot pose ``T_base_tcp_i`` the board is seen at

    T_camera_board_i = inv(X) @ P_i @ Z,   P_i = inv(T_base_tcp_i) (eye-in-hand) or T_base_tcp_i (eye-to-hand).

OpenCV's closed forms (``cv2.calibrateHandEye``, ``cv2.calibrateRobotWorldHandEye``) give a first estimate;
a Levenberg-Marquardt refinement of X and Z on the corners' reprojection error (the quantity the noise is
in) gives the final one. Rotations about a single axis leave X's translation along that axis unobservable:
such pose sets are detected and refused before solving.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from robot_rl.calibration.charuco import Detection, board_pose, require_views
from robot_rl.calibration.files import new_provenance
from robot_rl.calibration.records import CameraExtrinsics, CameraIntrinsics, Mount
from robot_rl.calibration.transforms import inv_T, make_T, mat_to_rotvec, mean_T, perturb, pose_error, spread

log = logging.getLogger(__name__)
METHODS = {
    "tsai": cv2.CALIB_HAND_EYE_TSAI, "park": cv2.CALIB_HAND_EYE_PARK, "horaud": cv2.CALIB_HAND_EYE_HORAUD,
    "andreff": cv2.CALIB_HAND_EYE_ANDREFF, "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS,
    "shah": cv2.CALIB_ROBOT_WORLD_HAND_EYE_SHAH, "li": cv2.CALIB_ROBOT_WORLD_HAND_EYE_LI,
}
ROBOT_WORLD_METHODS = ("shah", "li")


class DegeneratePoseSetError(ValueError):
    """The robot poses do not rotate about two non-parallel axes: the extrinsics are not observable."""


@dataclass(frozen=True)
class HandEyeSample:
    """One view: the robot's TCP pose when the image was taken, and the board found in it."""

    T_base_tcp: np.ndarray  # (4, 4), metres
    detection: Detection
    label: str = ""


@dataclass(frozen=True)
class Diversity:
    """How much the pose set rotates: RMS angle (deg) of the pairwise relative rotations along their
    principal directions (``spread_deg[1]`` ~ 0 means every rotation is about one axis, ``axis``)."""

    spread_deg: tuple[float, float, float]
    max_angle_deg: float
    axis: tuple[float, float, float]  # dominant relative-rotation axis, in the TCP frame


def rotation_diversity(poses: Sequence[np.ndarray]) -> Diversity:
    """Diversity of (4, 4) TCP poses, from the relative rotations of every pair."""
    rots = [np.asarray(T)[:3, :3] for T in poses]
    rel = np.array([mat_to_rotvec(rots[i].T @ rots[j]) for i in range(len(rots)) for j in range(i + 1, len(rots))])
    if len(rel) == 0:
        return Diversity((0.0, 0.0, 0.0), 0.0, (0.0, 0.0, 1.0))
    _, s, vt = np.linalg.svd(np.degrees(rel), full_matrices=False)
    s = np.pad(s, (0, 3 - len(s))) / np.sqrt(len(rel))
    return Diversity((float(s[0]), float(s[1]), float(s[2])), float(np.degrees(np.linalg.norm(rel, axis=1)).max()),
                     tuple(float(v) for v in vt[0]))


def check_pose_set(poses: Sequence[np.ndarray], min_spread_deg: float) -> Diversity:
    """Refuse pose sets that cannot determine the extrinsics; returns their :class:`Diversity`."""
    div = rotation_diversity(poses)
    if div.spread_deg[0] < min_spread_deg:
        raise DegeneratePoseSetError(
            f"degenerate pose set: the {len(poses)} poses hardly rotate (largest relative rotation "
            f"{div.max_angle_deg:.1f} deg; RMS {div.spread_deg[0]:.1f} deg < {min_spread_deg:g} deg). Translations "
            "alone cannot determine a camera's rotation: tilt and turn the tool between views")
    if div.spread_deg[1] < min_spread_deg:
        ax = ", ".join(f"{v:+.2f}" for v in div.axis)
        raise DegeneratePoseSetError(
            f"degenerate pose set: all rotations are about one axis ([{ax}] in the TCP frame; spread about any other "
            f"axis {div.spread_deg[1]:.2f} deg < {min_spread_deg:g} deg), which leaves the camera's position along "
            "that axis undetermined. Add rotations about a second axis (tilt the tool as well as turning it)")
    return div


@dataclass(frozen=True)
class HandEyeResult:
    extrinsics: CameraExtrinsics  # X
    intrinsics: CameraIntrinsics  # as given, or with fx, fy, cx, cy refined
    T_other: np.ndarray  # (4, 4) Z: the board in the base (eye-in-hand) or TCP (eye-to-hand) frame
    T_closed_form: np.ndarray  # (4, 4) X from OpenCV's closed form, before refinement
    diversity: Diversity
    per_view_rms_px: tuple[float, ...]
    labels: tuple[str, ...] = field(default_factory=tuple)


def _P(mount: Mount, T_base_tcp: np.ndarray) -> np.ndarray:
    return inv_T(T_base_tcp) if mount is Mount.eye_in_hand else T_base_tcp


def closed_form(mount: Mount, T_base_tcp: Sequence[np.ndarray], T_cam_board: Sequence[np.ndarray],
                method: str) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's closed-form (X, Z), both (4, 4). See the module docstring for what X and Z are."""
    P = [_P(mount, T) for T in T_base_tcp]
    if method in ROBOT_WORLD_METHODS:
        # OpenCV solves  cTw @ wTb = cTg @ gTb  for wTb ("base2world") and cTg ("gripper2cam").
        if mount is Mount.eye_in_hand:  # w = board, c = camera, g = tcp, b = base
            A, B = list(T_cam_board), [inv_T(T) for T in T_base_tcp]
        else:  # roles swapped: c = board, w = camera, g = tcp, b = base
            A, B = [inv_T(T) for T in T_cam_board], [inv_T(T) for T in T_base_tcp]
        R_wb, t_wb, R_cg, t_cg = cv2.calibrateRobotWorldHandEye(
            [T[:3, :3] for T in A], [T[:3, 3] for T in A], [T[:3, :3] for T in B], [T[:3, 3] for T in B],
            method=METHODS[method])
        wTb, cTg = make_T(R_wb, t_wb), make_T(R_cg, t_cg)
        X, Z = (inv_T(cTg), inv_T(wTb)) if mount is Mount.eye_in_hand else (inv_T(wTb), cTg)
        return X, Z
    # calibrateHandEye solves gripper2base_i @ X = ... @ target2cam_i for X = cam2gripper; passing
    # inv(P_i) as "gripper2base" covers both setups (eye-to-hand: base2gripper, giving cam2base).
    G = [inv_T(Pi) for Pi in P]
    R, t = cv2.calibrateHandEye([T[:3, :3] for T in G], [T[:3, 3] for T in G],
                                [T[:3, :3] for T in T_cam_board], [T[:3, 3] for T in T_cam_board],
                                method=METHODS[method])
    X = make_T(R, t)
    return X, mean_T([inv_T(Pi) @ X @ Tc for Pi, Tc in zip(P, T_cam_board, strict=True)])


@dataclass(frozen=True)
class NoiseWeights:
    """What the refinement assumes about its inputs (1 sigma): a board corner's image position (px), and a TCP
    pose reading's rotation (deg) and position (m). Only their ratios matter for the estimate; the
    reported uncertainty is rescaled by the fit's actual residuals."""

    corner_px: float = 0.2
    robot_deg: float = 0.02
    robot_m: float = 0.0002


def project(points: np.ndarray, R: np.ndarray, t: np.ndarray, pinhole: np.ndarray,
            distortion: Sequence[float]) -> np.ndarray:
    """OpenCV's pinhole + (k1, k2, p1, p2, k3) projection, vectorised over points with their own pose:
    ``points`` (M, 3) m, ``R`` (M, 3, 3), ``t`` (M, 3), ``pinhole`` (fx, fy, cx, cy) px -> (M, 2) px."""
    pc = np.einsum("mij,mj->mi", R, points) + t
    x, y = pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2]
    k1, k2, p1, p2, k3 = (list(distortion) + [0.0] * 5)[:5]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    fx, fy, cx, cy = pinhole
    return np.column_stack([fx * xd + cx, fy * yd + cy])


class _Problem:
    """Whitened reprojection errors of all views as a function of the parameter vector
    ``[dX (6), dZ (6), d(fx, fy, cx, cy) (4, optional), robot pose corrections (6 per view)]``.

    The robot's pose readings are measurements too (trusting them exactly lets their noise leak into X),
    so each gets a correction held near zero by a prior. The pinhole parameters may be refined as well:
    the robot's metric motion fixes the depth scale that board views alone leave slightly uncertain."""

    def __init__(self, mount: Mount, poses: Sequence[np.ndarray], dets: Sequence[Detection],
                 intr: CameraIntrinsics, w: NoiseWeights, with_pinhole: bool) -> None:
        if len(intr.distortion) > 5 and any(intr.distortion[5:]):
            raise ValueError(f"camera {intr.camera}: hand-eye refinement supports k1, k2, p1, p2, k3 distortion only")
        self.mount, self.poses, self.w = mount, list(poses), w
        self.pinhole0 = np.array([intr.fx, intr.fy, intr.cx, intr.cy])
        self.distortion = intr.distortion
        self.obj = np.concatenate([d.object_points for d in dets]).astype(np.float64)
        self.img = np.concatenate([d.image_points for d in dets]).astype(np.float64)
        self.view_of = np.concatenate([np.full(len(d), i) for i, d in enumerate(dets)])
        self.prior_scale = np.array([np.radians(w.robot_deg)] * 3 + [w.robot_m] * 3)
        self.n_k = 4 if with_pinhole else 0
        self.n_global = 12 + self.n_k

    def unpack(self, theta: np.ndarray, X: np.ndarray, Z: np.ndarray):
        k = np.zeros(4)
        k[:self.n_k] = theta[12:self.n_global]
        return (perturb(X, theta[:6]), perturb(Z, theta[6:12]), self.pinhole0 + k,
                theta[self.n_global:].reshape(len(self.poses), 6))

    def image_residuals(self, theta: np.ndarray, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """(2 M,) whitened reprojection errors of all corners (x, y interleaved)."""
        X, Z, pinhole, eps = self.unpack(theta, X, Z)
        X_inv = inv_T(X)
        T = np.stack([X_inv @ _P(self.mount, perturb(Tp, e)) @ Z for Tp, e in zip(self.poses, eps, strict=True)])
        T = T[self.view_of]
        proj = project(self.obj, T[:, :3, :3], T[:, :3, 3], pinhole, self.distortion)
        return ((proj - self.img) / self.w.corner_px).reshape(-1)

    def residuals(self, theta: np.ndarray, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        return np.concatenate([self.image_residuals(theta, X, Z), theta[self.n_global:] / np.tile(
            self.prior_scale, len(self.poses))])

    def jacobian(self, theta: np.ndarray, X: np.ndarray, Z: np.ndarray, h: float = 1e-6) -> np.ndarray:
        """Central differences. A robot-pose correction touches only its own view, so one evaluation
        perturbing coordinate k of every view's correction at once gives all N of those columns."""
        n, m2, g = len(self.poses), 2 * len(self.obj), self.n_global
        J = np.zeros((m2 + 6 * n, g + 6 * n))
        for k in range(g):
            d = np.zeros_like(theta)
            d[k] = 1e-4 if k >= 12 else h  # pixels need a larger step than radians and metres
            J[:m2, k] = (self.image_residuals(theta + d, X, Z) - self.image_residuals(theta - d, X, Z)) / (2 * d[k])
        rows = np.repeat(self.view_of, 2)
        for k in range(6):
            d = np.zeros_like(theta)
            d[g + k::6] = h
            col = (self.image_residuals(theta + d, X, Z) - self.image_residuals(theta - d, X, Z)) / (2 * h)
            J[np.arange(m2), g + 6 * rows + k] = col
            J[m2 + 6 * np.arange(n) + k, g + 6 * np.arange(n) + k] = 1.0 / self.prior_scale[k]
        return J


@dataclass(frozen=True)
class Refined:
    X: np.ndarray  # (4, 4)
    Z: np.ndarray  # (4, 4)
    pinhole: np.ndarray  # (4,) fx, fy, cx, cy px (unchanged unless refined)
    residuals_px: np.ndarray  # (2 M,) image residuals
    cov_X: np.ndarray  # (6, 6) rotation rad (X frame), translation m; scaled by the reduced chi-square


def refine(mount: Mount, X: np.ndarray, Z: np.ndarray, poses: Sequence[np.ndarray], dets: Sequence[Detection],
           intr: CameraIntrinsics, weights: NoiseWeights | None = None, refine_pinhole: bool = True,
           iters: int = 30) -> Refined:
    """Levenberg-Marquardt over X, Z, the robot pose corrections and (optionally) fx, fy, cx, cy, minimising
    whitened reprojection errors: bundle adjustment for hand-eye."""
    w = weights or NoiseWeights()
    prob = _Problem(mount, poses, dets, intr, w, refine_pinhole)
    theta = np.zeros(prob.n_global + 6 * len(poses))
    r = prob.residuals(theta, X, Z)
    cost, lam = float(r @ r), 1e-3
    J = prob.jacobian(theta, X, Z)
    for _ in range(iters):
        JtJ, grad = J.T @ J, J.T @ r
        step = np.linalg.solve(JtJ + lam * np.diag(np.diag(JtJ) + 1e-12), -grad)
        r_new = prob.residuals(theta + step, X, Z)
        cost_new = float(r_new @ r_new)
        if cost_new < cost:
            done = cost - cost_new < 1e-8 * cost or np.abs(step).max() < 1e-10
            theta, r, cost, lam = theta + step, r_new, cost_new, max(lam / 10, 1e-9)
            J = prob.jacobian(theta, X, Z)
            if done:
                break
        else:
            lam *= 10
            if lam > 1e8:
                break
    dof = max(len(r) - J.shape[1], 1)
    cov = (cost / dof) * np.linalg.pinv(J.T @ J)[:6, :6]
    X_new, Z_new, pinhole, _ = prob.unpack(theta, X, Z)
    return Refined(X=X_new, Z=Z_new, pinhole=pinhole, residuals_px=r[:2 * len(prob.obj)] * w.corner_px, cov_X=cov)


def solve_hand_eye(samples: Sequence[HandEyeSample], intr: CameraIntrinsics, mount: Mount | str, robot_id: str,
                   method: str = "park", min_views: int = 8, min_spread_deg: float = 5.0,
                   weights: NoiseWeights | None = None, refine_pinhole: bool = True) -> HandEyeResult:
    """Extrinsics of ``intr.camera`` from paired robot poses and board detections.

    Refuses too few views (:class:`TooFewViewsError`) and degenerate pose sets
    (:class:`DegeneratePoseSetError`). With ``refine_pinhole`` the focal lengths and principal point are
    refined too (returned as ``HandEyeResult.intrinsics``; distortion is kept). Residuals reported in the
    record: reprojection RMS (px), how far the per-view estimates of the board's pose scatter (mm, deg),
    the 1-sigma uncertainty of the camera pose (mm, deg), and the change from the closed form (mm, deg)."""
    mount = Mount(mount)
    if method not in METHODS:
        raise ValueError(f"calibration.hand_eye_method: unknown method {method!r}; choose from {list(METHODS)}")
    require_views(len(samples), min_views, f"hand-eye of camera {intr.camera}")
    poses = [np.asarray(s.T_base_tcp, dtype=np.float64) for s in samples]
    div = check_pose_set(poses, min_spread_deg)
    dets = [s.detection for s in samples]
    T_cam_board = [board_pose(d, intr)[0] for d in dets]
    try:
        X0, Z0 = closed_form(mount, poses, T_cam_board, method)
    except cv2.error as exc:  # e.g. Li's method on noise-free data: its rotation normalisation fails
        fallback = "park" if method != "park" else "tsai"
        log.warning("hand-eye method %s failed (%s); using %s", method, str(exc).strip().splitlines()[-1], fallback)
        method = fallback
        X0, Z0 = closed_form(mount, poses, T_cam_board, method)
    ref = refine(mount, X0, Z0, poses, dets, intr, weights, refine_pinhole)
    X, r = ref.X, ref.residuals_px
    fx, fy, cx, cy = (float(v) for v in ref.pinhole)
    new_intr = dataclasses.replace(intr, fx=fx, fy=fy, cx=cx, cy=cy, residuals={
        **intr.residuals, "hand_eye_reprojection_rms_px": float(np.sqrt(np.mean(r ** 2) * 2)),
        "focal_change_pct": 100.0 * (fx / intr.fx - 1.0)}, provenance=new_provenance(
        robot_id, f"{intr.provenance.method}; fx, fy, cx, cy refined with hand-eye ({mount.value})")) \
        if refine_pinhole else intr
    per_view, start = [], 0
    for d in dets:
        n = 2 * len(d)
        per_view.append(float(np.sqrt(np.mean(r[start:start + n] ** 2) * 2)))
        start += n
    P = [_P(mount, T) for T in poses]
    z_views = [inv_T(Pi) @ X @ board_pose(d, new_intr)[0] for Pi, d in zip(P, dets, strict=True)]
    z_spread_m, z_spread_deg = spread(z_views)
    moved_m, moved_deg = pose_error(X, X0)
    sigma_rot = np.sqrt(np.clip(np.diag(ref.cov_X)[:3], 0, None))
    cov_t = X[:3, :3] @ ref.cov_X[3:6, 3:6] @ X[:3, :3].T  # X's translation increment is in X's frame (X @ dT)
    residuals = {
        "reprojection_rms_px": float(np.sqrt(np.mean(r ** 2) * 2)),
        "worst_view_rms_px": float(max(per_view)),
        "board_pose_spread_mm": z_spread_m * 1000, "board_pose_spread_deg": z_spread_deg,
        "sigma_translation_mm": float(np.sqrt(np.trace(cov_t))) * 1000,
        "sigma_rotation_deg": float(np.degrees(np.linalg.norm(sigma_rot))),
        "closed_form_change_mm": moved_m * 1000, "closed_form_change_deg": moved_deg,
        "views": float(len(samples)), "rotation_spread_deg": div.spread_deg[1],
    }
    what = {"eye_in_hand": "board fixed, camera on the hand", "eye_to_hand": "camera fixed, board on the hand"}
    solver = "calibrateRobotWorldHandEye" if method in ROBOT_WORLD_METHODS else "calibrateHandEye"
    refined = "X, Z, robot pose errors" + (" and fx, fy, cx, cy" if refine_pinhole else "")
    ext = CameraExtrinsics(
        camera=intr.camera, mount=mount, rotation=X[:3, :3], translation=X[:3, 3],
        provenance=new_provenance(robot_id, f"{mount.value} ({what[mount.value]}): ChArUco + cv2.{solver} "
                                  f"({method}), then {refined} refined on reprojection error"),
        residuals=residuals)
    return HandEyeResult(extrinsics=ext, intrinsics=new_intr, T_other=ref.Z, T_closed_form=X0, diversity=div,
                         per_view_rms_px=tuple(per_view), labels=tuple(s.label for s in samples))
