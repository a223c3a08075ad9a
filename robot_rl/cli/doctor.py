"""Check this machine: what is connected and what is missing, each with the fix.

Lists RealSense cameras (serials, firmware) against camera.serials, the SpaceMouse, the keyboard's
X display, the Franka at robot.ip, the MuJoCo GL backend, ROS 2 (rclpy), and the optional packages (data
interop, Rerun, TensorBoard, W&B), each needed when the config turns on what uses it. Exit code 0; 1 with
--strict when anything the config needs is missing.

The Franka is contacted over the network only when you ask: with --probe-robot, with --franka-mode
(which also connects through libfranka to read the robot's mode and errors), or when robot.ip=... is
given on the command line. Otherwise the address from the config is listed as "skipped", so that a
plain `robot-rl doctor` never sends a packet to a robot's subnet.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
from dataclasses import dataclass

from robot_rl.config import Config
from robot_rl.config.schema import CameraBackend, RobotBackend


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = False  # the composed config uses it
    skipped: bool = False  # not checked (the user did not ask for it): neither ok nor missing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="exit 1 when something the config needs is missing")
    parser.add_argument("--probe-robot", action="store_true",
                        help="contact the Franka at robot.ip (TCP port 1337) to check it is reachable; without this "
                             "flag (or --franka-mode, or robot.ip=... on the command line) the robot is not contacted")
    parser.add_argument("--franka-mode", action="store_true",
                        help="connect through libfranka to read the robot's mode and errors (implies --probe-robot; "
                             "gives up after --franka-timeout seconds)")
    parser.add_argument("--franka-timeout", type=float, default=10.0, metavar="S",
                        help="deadline for the libfranka connection of --franka-mode (default: 10)")


def _cameras(cfg: Config) -> list[Check]:
    needed = cfg.camera.backend == CameraBackend.realsense
    if importlib.util.find_spec("pyrealsense2") is None:
        return [Check("realsense", False, "pyrealsense2 not installed", "pip install -e '.[realsense]'", needed)]
    try:
        from robot_rl.hardware.realsense import connected_devices

        devices = connected_devices()
    except Exception as exc:
        return [Check("realsense", False, f"librealsense failed: {exc}", "apt install libusb-1.0-0", needed)]
    out = [Check(f"realsense {s}", True, d) for s, d in devices.items()]
    for name in cfg.camera.names if needed else []:
        serial = cfg.camera.serials.get(name, "")
        if name in cfg.camera.playback:
            ok = os.path.isfile(cfg.camera.playback[name])
            out.append(Check(f"camera {name}", ok, f"plays {cfg.camera.playback[name]}",
                             "" if ok else "fix camera.playback", True))
        elif serial not in devices:
            out.append(Check(f"camera {name}", False, f"serial {serial!r} not connected; connected: "
                             f"{', '.join(devices) or 'none'}", f"plug it in or set camera.serials.{name}", True))
    if not devices:
        out.append(Check("realsense", not needed, "no RealSense connected", "plug a camera into a USB 3 port", needed))
    return out


def _spacemouse() -> Check:
    if importlib.util.find_spec("pyspacemouse") is None:
        return Check("spacemouse", False, "pyspacemouse not installed", "pip install -e '.[teleop]'")
    try:
        import pyspacemouse

        found = pyspacemouse.get_connected_devices()
    except Exception as exc:
        return Check("spacemouse", False, f"hidapi unusable: {exc}", "apt install libhidapi-hidraw0")
    return Check("spacemouse", bool(found), ", ".join(found) or "none connected",
                 "" if found else "plug it in; a udev rule must give this user /dev/hidraw* access")


def _keyboard() -> Check:
    display = os.environ.get("DISPLAY", "")
    if not display:
        return Check("keyboard", False, "DISPLAY not set (pynput needs X)", "run in the desktop session or Xvfb")
    try:
        import Xlib.display

        Xlib.display.Display(display).close()
    except Exception as exc:
        return Check("keyboard", False, f"cannot open X display {display}: {exc}", "check DISPLAY / xhost")
    return Check("keyboard", True, f"X display {display}")


def _franka(cfg: Config, probe: bool, read_mode: bool, timeout_s: float = 10.0) -> Check:
    needed = cfg.robot.backend == RobotBackend.franka
    ip = cfg.robot.ip
    if not ip:
        return Check("franka", not needed, "robot.ip not set", "set robot.ip=<FCI address>", needed)
    if not (probe or read_mode):
        return Check("franka", False, f"robot.ip={ip} not contacted", "add --probe-robot (or --franka-mode) to check "
                     "it, or give robot.ip=... on the command line", needed, skipped=True)
    try:
        with socket.create_connection((ip, 1337), timeout=2.0):
            pass
    except OSError as exc:
        return Check("franka", False, f"{ip}:1337 unreachable ({exc})",
                     "check the cable, this PC's address on the robot subnet, FCI activated in Desk", needed)
    if not read_mode:
        return Check("franka", True, f"{ip}:1337 reachable (add --franka-mode to read the mode)", needed=needed)
    if importlib.util.find_spec("franky") is None:
        return Check("franka", False, f"{ip} reachable; franky not installed", "pip install -e '.[franka]'", needed)
    from robot_rl.hardware.errors import DeviceError
    from robot_rl.hardware.franka import FrankaRobot

    robot = FrankaRobot(cfg.robot, connect_timeout_s=timeout_s)  # every libfranka call has a deadline
    try:
        robot.connect()
        state = robot.read_state()
    except DeviceError as exc:
        return Check("franka", False, f"{ip} reachable but libfranka failed: {exc}",
                     "unlock the joints, activate FCI, match libfranka to the system version", needed)
    finally:
        robot.disconnect()
    ok = state.mode in ("Idle", "Move") and not state.errors
    return Check("franka", ok, f"{ip}: mode {state.mode}, errors {list(state.errors) or 'none'}",
                 "" if ok else "release the stop / recover errors in Desk", needed)


def _gl() -> Check:
    backend = os.environ.get("MUJOCO_GL", "")
    try:
        import mujoco

        model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='.1'/></worldbody></mujoco>")
        with mujoco.Renderer(model, 16, 16) as r:
            r.render()
    except Exception as exc:
        return Check("mujoco gl", False, f"MUJOCO_GL={backend or '(unset)'}: {exc}",
                     "apt install libegl1 libgl1-mesa-dri (egl) or libosmesa6 and MUJOCO_GL=osmesa")
    return Check("mujoco gl", True, f"MUJOCO_GL={backend or '(default)'} renders")


def _ros() -> Check:
    if importlib.util.find_spec("rclpy") is None:
        return Check("ros 2", False, "rclpy not importable", "pip install -e '.[ros]' (or source /opt/ros/jazzy)")
    return Check("ros 2", True, "rclpy importable")


# (check name, the packages, what they are for, the fix)
PACKAGES = (("data interop", ("pyarrow", "av", "rosbags", "mcap"), "buffer import / export / repair, ros.record_bag",
             "pip install -e '.[interop]'"),
            ("rerun", ("rerun",), "robot-rl view, act --rerun", "pip install -e '.[viz]'"),
            ("tensorboard", ("tensorboard",), "the learner's TensorBoard event files (learner.tensorboard)",
             "pip install tensorboard (or learner.tensorboard=false)"),
            ("wandb", ("wandb",), "the learner's W&B run (learner.wandb)", "pip install wandb (or learner.wandb=off)"))


def _packages(cfg: Config) -> list[Check]:
    """The optional Python packages; needed when the config turns on what uses them."""
    needed = {"data interop": bool(cfg.ros.record_bag), "tensorboard": cfg.learner.tensorboard,
              "wandb": cfg.learner.wandb != "off"}
    out = []
    for name, modules, what, fix in PACKAGES:
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
        detail = f"for {what}: " + (f"{', '.join(absent)} not installed" if absent else "installed")
        out.append(Check(name, not absent, detail, fix, needed.get(name, False)))
    return out


def checks(cfg: Config, probe_robot: bool = False, franka_mode: bool = False,
           franka_timeout_s: float = 10.0) -> list[Check]:
    return [*_cameras(cfg), _spacemouse(), _keyboard(), _franka(cfg, probe_robot, franka_mode, franka_timeout_s),
            _gl(), _ros(), *_packages(cfg)]


def run(args: argparse.Namespace, cfg: Config) -> int:
    ip_given = any(o.lstrip("+~").startswith("robot.ip=") for o in getattr(args, "overrides", []))
    results = checks(cfg, args.probe_robot or ip_given, args.franka_mode, args.franka_timeout)
    width = max(len(c.name) for c in results)
    for c in results:
        mark = "skipped" if c.skipped else "ok     " if c.ok else ("MISSING" if c.needed else "absent ")
        line = f"{mark}  {c.name:<{width}}  {c.detail}"
        print(line + (f"\n{'':9}{'':<{width}}  fix: {c.fix}" if not c.ok and c.fix else ""))
    missing = [c.name for c in results if c.needed and not c.ok and not c.skipped]
    print(f"\n{len(missing)} needed by this config missing" + (f": {', '.join(missing)}" if missing else ""))
    return 1 if args.strict and missing else 0
