"""Calibrate the cell and write calibration/<robot.name>/*.yaml (values, units, frames, date, method, residuals).

  robot-rl calibrate intrinsics --camera wrist     ChArUco views taken by moving the arm; prints the reprojection error
  robot-rl calibrate intrinsics --camera front --factory [--recording F.db3]   a RealSense's factory intrinsics
      (in simulation: the MuJoCo camera's exact intrinsics, from its fovy)
  robot-rl calibrate hand-eye --camera wrist       eye-in-hand: the arm moves the camera over a fixed board
  robot-rl calibrate hand-eye --camera front       eye-to-hand: the arm moves a board held by the hand
      the arm runs through calibration.views poses rotated about calibration.pivot_tcp (tilts and turns, so
      the pose set has rotation diversity; degenerate sets are refused); --teleop: drive to your own poses
      with the SpaceMouse (or guide the arm by hand) and press Enter at each
  robot-rl calibrate workspace --corner X Y Z --corner X Y Z [...]   move to the corners, write the box shrunk
      by calibration.workspace_margin; --teleop: drive to each corner and press Enter. The safety layer
      uses it with robot.workspace_source=calibration (or auto)
  robot-rl calibrate show                          every calibration of robot.name, with residuals and age
  robot-rl calibrate board --out board.png         the board image to print (geometry from calibration.*)

With robot.backend=mujoco it all runs on the MuJoCo twin (the board is a texture; the default noise model
adds image noise and robot pose error, --no-noise removes it) and prints the error against the ground
truth. With robot.backend=franka the same code drives the Franka and the RealSense cameras.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.config import Config

ACTIONS = ("intrinsics", "hand-eye", "workspace", "show", "board")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to calibrate (or show, or print the board)")
    parser.add_argument("--camera", help="camera name (one of camera.names)")
    parser.add_argument("--mount", choices=("eye_in_hand", "eye_to_hand"),
                        help="override calibration.mounts for this camera")
    parser.add_argument("--factory", action="store_true", help="intrinsics: read a RealSense's factory values")
    parser.add_argument("--recording", help="intrinsics --factory: read them from a .db3 recording instead")
    parser.add_argument("--teleop", action="store_true", help="drive to your own poses/corners and press Enter")
    parser.add_argument("--corner", nargs=3, type=float, action="append", metavar=("X", "Y", "Z"),
                        help="workspace: a corner to move the TCP to (base frame, m); repeat")
    parser.add_argument("--pivot", nargs=3, type=float, metavar=("X", "Y", "Z"),
                        help="hand-eye: point the poses rotate about, TCP frame (m) (default calibration.pivot_tcp)")
    parser.add_argument("--refine-intrinsics", action="store_true",
                        help="hand-eye: refine fx, fy, cx, cy with the extrinsics and rewrite the intrinsics file")
    parser.add_argument("--degenerate", action="store_true",
                        help="hand-eye: rotate about the tool axis only, to see the degenerate set refused")
    parser.add_argument("--no-noise", action="store_true", help="simulation: no image noise or robot pose error")
    parser.add_argument("--seed", type=int, default=0, help="simulation: noise seed")
    parser.add_argument("--root", type=Path, help="calibration folder (default $ROBOT_RL_CALIBRATION_DIR or "
                        "the repository's calibration/)")
    parser.add_argument("--out", type=Path, default=Path("charuco_board.png"), help="board: image file to write")


@dataclass
class Rig:
    robot: object
    camera: object
    T_start: np.ndarray
    pivot: np.ndarray
    pace: object
    sim: object | None = None


def _is_sim(cfg: Config) -> bool:
    return cfg.robot.backend.value == "mujoco"


def _mount(cfg: Config, args: argparse.Namespace):
    from robot_rl.calibration.records import Mount

    name = args.mount or cfg.calibration.mounts.get(args.camera)
    if name is None:
        raise SystemExit(f"robot-rl calibrate: is camera {args.camera!r} on the hand or fixed? Pass --mount "
                         "eye_in_hand|eye_to_hand or set calibration.mounts")
    return Mount(name)


@contextlib.contextmanager
def _rig(cfg: Config, args: argparse.Namespace, mount) -> Iterator[Rig]:
    """The robot and camera to calibrate with: the MuJoCo twin with a board, or the real hardware."""
    from robot_rl.calibration.charuco import BoardSpec
    from robot_rl.calibration.session import rate_limiter, state_pose

    board = BoardSpec.from_config(cfg.calibration)
    if _is_sim(cfg):
        from robot_rl.calibration.sim_cell import NO_NOISE, NoiseModel, SimCalibrationCell

        noise = NO_NOISE if args.no_noise else NoiseModel()
        with SimCalibrationCell(cfg, args.camera, mount, board, noise=noise, seed=args.seed) as cell:
            T_start, pivot = cell.start_pose()
            yield Rig(cell.robot, cell.camera, T_start, np.asarray(args.pivot or pivot), lambda: None, cell)
        return
    from robot_rl.hardware.franka import FrankaRobot
    from robot_rl.hardware.realsense import RealSenseCamera

    c = cfg.camera  # full capture frames: intrinsics belong to the capture resolution, not the policy's crop
    full = dataclasses.replace(c, width=c.capture_width, height=c.capture_height,
                               crops={args.camera: [0, 0, c.capture_width, c.capture_height]})
    with FrankaRobot(cfg.robot) as robot, RealSenseCamera(args.camera, full, recording=c.playback.get(args.camera)) \
            as camera:
        if not args.teleop:
            input(f"Position the arm so that camera {args.camera} sees the board near the image centre "
                  "(hand guiding or SpaceMouse), then press Enter: ")
        yield Rig(robot, camera, state_pose(robot.read_state()), np.asarray(args.pivot or cfg.calibration.pivot_tcp),
                  rate_limiter(cfg.task.control_hz))


def _views(cfg: Config, args: argparse.Namespace, rig: Rig, degenerate: bool = False):
    from robot_rl.calibration.charuco import BoardSpec, detect
    from robot_rl.calibration.hand_eye import HandEyeSample
    from robot_rl.calibration.poses import orbit_poses, single_axis_poses
    from robot_rl.calibration.session import Motion, Views, collect_views, fresh_frame, state_pose

    cal, board = cfg.calibration, BoardSpec.from_config(cfg.calibration)
    if args.teleop:
        from robot_rl.calibration.teleop import capture_loop, spacemouse_twist, stdin_line
        from robot_rl.hardware.spacemouse import SpaceMouse

        views = Views()

        def capture(state) -> str:
            frame = fresh_frame(rig.camera, state.stamp, cfg.camera.max_age_s)
            det = detect(frame.image, board, cal.min_corners, view=f"capture {len(views.samples) + 1}")
            views.samples.append(HandEyeSample(state_pose(state), det, f"capture {len(views.samples) + 1}"))
            return f"{len(det)} corners"

        with contextlib.ExitStack() as stack:
            try:
                twist = spacemouse_twist(stack.enter_context(SpaceMouse(cfg.teleop.spacemouse)))
            except Exception as exc:  # no SpaceMouse: guide the arm by hand
                print(f"no SpaceMouse ({exc}): guide the arm by hand")
                twist = None
            capture_loop(rig.robot, capture, stdin_line, twist, rig.pace)
        return views
    poses = (single_axis_poses(rig.T_start, rig.pivot, cal.views, cal.max_yaw_deg) if degenerate else
             orbit_poses(rig.T_start, rig.pivot, cal.views, cal.max_tilt_deg, cal.max_yaw_deg))
    motion = Motion(cfg.robot.max_translation_per_step, cfg.robot.max_rotation_per_step, pace=rig.pace)
    return collect_views(rig.robot, rig.camera, poses, board, motion, cal.min_corners, max(cfg.camera.max_age_s, 0.5),
                         on_view=lambda i, msg: print(f"  view {i + 1}/{len(poses)}: {msg}"))


def _fmt_residuals(res) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in res.items())


def _intrinsics(cfg: Config, args: argparse.Namespace) -> int:
    from robot_rl.calibration.files import save
    from robot_rl.calibration.intrinsics import calibrate_intrinsics, realsense_intrinsics

    if args.factory and _is_sim(cfg):  # a simulated camera's "factory" values: exact, from its fovy
        from robot_rl.calibration.charuco import BoardSpec
        from robot_rl.calibration.sim_cell import SimCalibrationCell

        with SimCalibrationCell(cfg, args.camera, _mount(cfg, args), BoardSpec.from_config(cfg.calibration)) as cell:
            rec = cell.true_intrinsics(cfg.robot.name)
    elif args.factory:
        rec = realsense_intrinsics(args.camera, cfg.robot.name, cfg.camera.serials.get(args.camera, ""),
                                   cfg.camera.capture_width, cfg.camera.capture_height, cfg.camera.fps,
                                   args.recording or cfg.camera.playback.get(args.camera))
    else:
        mount = _mount(cfg, args)
        with _rig(cfg, args, mount) as rig:
            print(f"collecting board views with camera {args.camera} ({mount.value})")
            views = _views(cfg, args, rig)
            rec = calibrate_intrinsics(views.detections, args.camera, cfg.robot.name, cfg.calibration.min_views,
                                       views.skipped)
            if rig.sim is not None:
                truth = rig.sim.true_intrinsics(cfg.robot.name)
                print("  simulation check against the MuJoCo camera's fovy intrinsics: " + ", ".join(
                    f"{n} {100 * (getattr(rec, n) / getattr(truth, n) - 1):+.2f}%" for n in ("fx", "fy", "cx", "cy")))
    print(f"camera {args.camera}: {rec.width}x{rec.height} fx {rec.fx:.2f} fy {rec.fy:.2f} cx {rec.cx:.2f} "
          f"cy {rec.cy:.2f} px, distortion {[round(d, 5) for d in rec.distortion]}")
    print(f"  residuals: {_fmt_residuals(rec.residuals) or 'none (factory values)'}")
    print(f"wrote {save(rec, args.root)}")
    return 0


def _hand_eye(cfg: Config, args: argparse.Namespace) -> int:
    from robot_rl.calibration.files import intrinsics_path, load_intrinsics, save
    from robot_rl.calibration.hand_eye import NoiseWeights, solve_hand_eye
    from robot_rl.calibration.transforms import mat_to_rotvec, pose_error

    cal = cfg.calibration
    intr = load_intrinsics(intrinsics_path(cfg.robot.name, args.camera, args.root), cal.max_age_days)
    mount = _mount(cfg, args)
    with _rig(cfg, args, mount) as rig:
        print(f"hand-eye for camera {args.camera} ({mount.value}), pivot {np.round(rig.pivot, 3).tolist()} m in "
              "the TCP frame")
        views = _views(cfg, args, rig, degenerate=args.degenerate)
        for why in views.skipped:
            print(f"  skipped {why}")
        res = solve_hand_eye(views.samples, intr, mount, cfg.robot.name, cal.hand_eye_method, cal.min_views,
                             cal.min_rotation_spread_deg, NoiseWeights(), refine_pinhole=args.refine_intrinsics)
        truth = rig.sim.true_extrinsics() if rig.sim is not None else None
    ext = res.extrinsics
    print(f"T_{ext.parent_frame}_{ext.child_frame}: translation {np.round(ext.translation, 4).tolist()} m, "
          f"rotation vector {np.round(mat_to_rotvec(ext.rotation), 4).tolist()} rad")
    print(f"  residuals: {_fmt_residuals(ext.residuals)}")
    if ext.residuals["reprojection_rms_px"] > cal.max_reprojection_px:
        print(f"  WARNING: reprojection RMS above calibration.max_reprojection_px={cal.max_reprojection_px}: check "
              "the board measurements, the intrinsics and that images were taken with the arm at rest")
    if truth is not None:
        err_m, err_deg = pose_error(ext.T, truth)
        print(f"  simulation check against the true extrinsics: {err_m * 1000:.2f} mm, {err_deg:.3f} deg")
    print(f"wrote {save(ext, args.root)}")
    if args.refine_intrinsics:
        print(f"wrote {save(res.intrinsics, args.root)} (fx, fy, cx, cy refined: fx "
              f"{res.intrinsics.residuals['focal_change_pct']:+.2f}%)")
    return 0


def _workspace(cfg: Config, args: argparse.Namespace) -> int:
    from robot_rl.calibration.files import save
    from robot_rl.calibration.session import Motion, move_to, rate_limiter, state_pose
    from robot_rl.calibration.workspace import record_workspace
    from robot_rl.control.safety import SafetyLimits

    if not args.corner and not args.teleop:
        raise SystemExit("robot-rl calibrate workspace: give --corner X Y Z (at least two) or --teleop")
    corners: list[np.ndarray] = []
    with contextlib.ExitStack() as stack:
        if _is_sim(cfg):
            import mujoco

            from robot_rl.sim.robot import MujocoRobot
            from robot_rl.sim.world import SimWorld

            world = SimWorld(cfg)
            stack.callback(world.close)
            robot = MujocoRobot(world, SafetyLimits.for_robot(cfg.robot))
            world.data.qpos[world.arm_qadr] = world.data.ctrl[world.arm_act] = world.q_home  # start at home
            mujoco.mj_forward(world.model, world.data)
            pace = lambda: None  # noqa: E731
        else:
            from robot_rl.hardware.franka import FrankaRobot

            robot = stack.enter_context(FrankaRobot(cfg.robot))
            pace = rate_limiter(cfg.task.control_hz)
        robot.connect()
        motion = Motion(cfg.robot.max_translation_per_step, cfg.robot.max_rotation_per_step,
                        max_steps=400, pace=pace)
        for corner in args.corner or []:
            target = state_pose(robot.read_state())
            target[:3, 3] = corner
            state = move_to(robot, target, motion)
            corners.append(state.ee_pos.copy())
            print(f"  corner {len(corners)}: asked {corner}, measured {np.round(state.ee_pos, 4).tolist()} m")
        if args.teleop:
            from robot_rl.calibration.teleop import capture_loop, stdin_line

            def capture(state) -> str:
                corners.append(state.ee_pos.copy())
                return f"TCP at {np.round(state.ee_pos, 4).tolist()} m"

            capture_loop(robot, capture, stdin_line, None, pace)
    method = "TCP moved to the corners" + (" by teleoperation" if args.teleop else f" {len(corners)} given corners")
    rec = record_workspace(np.array(corners), cfg.calibration.workspace_margin, cfg.robot.name,
                           method + f"; box shrunk by {cfg.calibration.workspace_margin} m")
    print(f"workspace box (base frame, m): low {np.round(rec.low, 4).tolist()} high {np.round(rec.high, 4).tolist()} "
          f"(margin {rec.margin} m)")
    print(f"wrote {save(rec, args.root)}; the safety layer uses it with robot.workspace_source=calibration (or auto)")
    return 0


def _show(cfg: Config, args: argparse.Namespace) -> int:
    import warnings

    from robot_rl.calibration.consumers import load_cell, workspace_crop
    from robot_rl.calibration.transforms import mat_to_rotvec

    cameras = [args.camera] if args.camera else list(cfg.camera.names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cell = load_cell(cfg.robot.name, cameras, args.root, cfg.calibration.max_age_days)
    print(f"calibration of {cfg.robot.name}:")
    for cam in cameras:
        intr, ext = cell.intrinsics.get(cam), cell.extrinsics.get(cam)
        if intr is None:
            print(f"  {cam}: no intrinsics (robot-rl calibrate intrinsics --camera {cam})")
        else:
            print(f"  {cam} intrinsics: {intr.width}x{intr.height} fx {intr.fx:.2f} fy {intr.fy:.2f} cx {intr.cx:.2f} "
                  f"cy {intr.cy:.2f}; {intr.provenance.method}; {intr.provenance.age_days():.1f} days old")
            print(f"    residuals: {_fmt_residuals(intr.residuals) or 'none'}")
        if ext is None:
            print(f"  {cam}: no extrinsics (robot-rl calibrate hand-eye --camera {cam})")
        else:
            print(f"  {cam} extrinsics T_{ext.parent_frame}_{ext.child_frame}: "
                  f"t {np.round(ext.translation, 4).tolist()} m, "
                  f"rotvec {np.round(mat_to_rotvec(ext.rotation), 4).tolist()} rad; "
                  f"{ext.provenance.age_days():.1f} days old")
            print(f"    residuals: {_fmt_residuals(ext.residuals)}")
            if intr is not None and ext.mount.value == "eye_to_hand" and cell.workspace is not None:
                crop = workspace_crop(intr, ext.T, cell.workspace.low, cell.workspace.high)
                print(f"    workspace crop [x, y, w, h] in the {intr.width}x{intr.height} capture: {crop}")
    if cell.workspace is None:
        print("  workspace: none (robot-rl calibrate workspace)")
    else:
        w = cell.workspace
        print(f"  workspace: low {np.round(w.low, 4).tolist()} high {np.round(w.high, 4).tolist()} m, "
              f"margin {w.margin} m; {w.provenance.age_days():.1f} days old")
    for warning in caught:
        print(f"  WARNING: {warning.message}")
    return 0


def _board(cfg: Config, args: argparse.Namespace) -> int:
    import cv2

    from robot_rl.calibration.charuco import BoardSpec

    board = BoardSpec.from_config(cfg.calibration)
    dpi = 300
    img = board.image(px_per_m=dpi / 0.0254)
    pad = int(0.01 / 0.0254 * dpi)
    cv2.imwrite(str(args.out), cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255))
    w, h = board.size_m
    print(f"wrote {args.out}: {board.squares_x}x{board.squares_y} squares of {board.square_m * 1000:g} mm "
          f"({w * 1000:g} x {h * 1000:g} mm) at {dpi} dpi; print at 100% and measure a square")
    return 0


def run(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.calibration.charuco import BoardNotFoundError, TooFewViewsError
    from robot_rl.calibration.files import CalibrationFileError, CalibrationMissingError
    from robot_rl.calibration.hand_eye import DegeneratePoseSetError
    from robot_rl.calibration.session import MotionError
    from robot_rl.calibration.workspace import WorkspaceError
    from robot_rl.hardware.errors import DeviceError

    if args.action in ("intrinsics", "hand-eye") and args.camera not in cfg.camera.names:
        print(f"robot-rl calibrate {args.action}: --camera must be one of {list(cfg.camera.names)}, "
              f"got {args.camera!r}")
        return 2
    handlers = {"intrinsics": _intrinsics, "hand-eye": _hand_eye, "workspace": _workspace, "show": _show,
                "board": _board}
    try:
        return handlers[args.action](cfg, args)
    except (BoardNotFoundError, TooFewViewsError, DegeneratePoseSetError, CalibrationFileError,
            CalibrationMissingError, WorkspaceError, MotionError, DeviceError) as exc:
        print(f"robot-rl calibrate {args.action}: {exc}")
        return 1
