"""Config of the devices: the robot (and its safety limits), the cameras, the teleop devices, their calibration
procedure and the deployment key that signs what reaches the robot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from robot_rl.config.checks import check, check_box


class RobotBackend(str, Enum):
    mujoco = "mujoco"
    franka = "franka"


class CameraBackend(str, Enum):
    mujoco = "mujoco"
    realsense = "realsense"


class WorkspaceSource(str, Enum):
    """Where the safety layer's workspace box comes from: ``config`` (``robot.workspace_low/high``),
    ``calibration`` (``calibration/<robot.name>/workspace.yaml`` from ``robot-rl calibrate workspace``; required),
    ``auto`` (that file when it exists, else the config keys)."""

    config = "config"
    calibration = "calibration"
    auto = "auto"


class RenderGeoms(str, Enum):
    """Which arm geometry the simulated cameras draw: the coarse collision meshes (fast, ~3 ms per
    128x128 frame in software GL) or the detailed visual meshes (~45 ms; for videos)."""

    collision = "collision"
    visual = "visual"


@dataclass
class RobotConfig:
    """The arm and its safety limits. An action of 1.0 moves the end effector by
    ``max_translation_per_step`` metres (or ``max_rotation_per_step`` radians) in one control step."""

    name: str = "fr3_sim"
    backend: RobotBackend = RobotBackend.mujoco
    ip: str = ""
    max_translation_per_step: float = 0.03
    max_rotation_per_step: float = 0.15
    workspace_low: list[float] = field(default_factory=lambda: [0.25, -0.35, 0.0])
    workspace_high: list[float] = field(default_factory=lambda: [0.75, 0.35, 0.45])
    workspace_source: WorkspaceSource = WorkspaceSource.config
    gripper_max_width: float = 0.08
    watchdog_s: float = 0.3
    # The robot node refuses a command computed from an observation older than this when the command arrives
    # (an actor paused or backlogged after its own freshness check; clocks synchronised across hosts). 0: off.
    max_command_age_s: float = 0.5
    physics_dt: float = 0.002
    # Safety layer (robot_rl.control.safety), applied by every backend. Norm limits on one step's motion
    # (the per-axis scaling above allows sqrt(3) times more on a diagonal), and a cone around a reference
    # EE orientation (a rotation vector; [pi, 0, 0] = gripper pointing down). pi disables the cone.
    max_ee_step: float = 0.06
    max_ee_rot_step: float = 0.3
    rotation_reference: list[float] = field(default_factory=lambda: [3.141592653589793, 0.0, 0.0])
    max_rotation_from_reference: float = 3.141592653589793
    gripper_max_force: float = 40.0
    gripper_grasp_force: float = 20.0
    gripper_speed: float = 0.05
    joint_low: list[float] = field(default_factory=lambda: [-2.70, -1.75, -2.87, -3.0, -2.77, 0.58, -2.98])
    joint_high: list[float] = field(default_factory=lambda: [2.70, 1.75, 2.87, -0.19, 2.77, 4.48, 2.98])
    home_joints: list[float] = field(default_factory=lambda: [0.0, -0.27, 0.0, -2.511, 0.0, 2.239, 0.785])
    # Franka (libfranka through franky): fraction of the arm's velocity/acceleration/jerk limits that
    # motions may use, reflex errors recovered automatically before the stack stops, and whether the
    # control thread must run with real-time priority (true on the robot PC; false for franky-sim).
    dynamics_factor: float = 0.2
    max_reflex_recoveries: int = 3
    realtime: bool = True

    def validate(self, key: str) -> None:
        check(self.max_command_age_s >= 0, f"{key}.max_command_age_s", f"must be >= 0 s (0: off), got "
               f"{self.max_command_age_s}")
        check(0 < self.max_ee_step <= 0.2, f"{key}.max_ee_step", f"must be in (0, 0.2] m, got {self.max_ee_step}")
        check(0 < self.max_ee_rot_step <= 1.0, f"{key}.max_ee_rot_step",
               f"must be in (0, 1.0] rad, got {self.max_ee_rot_step}")
        check(len(self.rotation_reference) == 3, f"{key}.rotation_reference", "needs 3 values (a rotation vector)")
        check(0 < self.max_rotation_from_reference <= 3.1416, f"{key}.max_rotation_from_reference",
               f"must be in (0, pi] rad, got {self.max_rotation_from_reference}")
        check(0 < self.gripper_max_force <= 70.0, f"{key}.gripper_max_force",
               f"must be in (0, 70] N (the Franka hand's continuous force), got {self.gripper_max_force}")
        check(0 < self.gripper_grasp_force <= self.gripper_max_force, f"{key}.gripper_grasp_force",
               f"must be in (0, gripper_max_force={self.gripper_max_force}] N, got {self.gripper_grasp_force}")
        check(0 < self.gripper_speed <= 0.1, f"{key}.gripper_speed",
               f"must be in (0, 0.1] m/s, got {self.gripper_speed}")
        check(len(self.joint_low) == 7, f"{key}.joint_low", f"needs 7 values, got {len(self.joint_low)}")
        check_box(self.joint_low, self.joint_high, f"{key}.joint_low/high")
        check(len(self.home_joints) == 7, f"{key}.home_joints", f"needs 7 values, got {len(self.home_joints)}")
        check(all(lo <= q <= hi for lo, q, hi in zip(self.joint_low, self.home_joints, self.joint_high, strict=False)),
               f"{key}.home_joints", "must lie within joint_low/high")
        check(0 < self.dynamics_factor <= 1.0, f"{key}.dynamics_factor",
               f"must be in (0, 1], got {self.dynamics_factor}")
        check(self.max_reflex_recoveries >= 0, f"{key}.max_reflex_recoveries", "must be >= 0")
        check(0 < self.max_translation_per_step <= 0.1, f"{key}.max_translation_per_step",
               f"must be in (0, 0.1] m per step, got {self.max_translation_per_step}")
        check(0 < self.max_rotation_per_step <= 0.5, f"{key}.max_rotation_per_step",
               f"must be in (0, 0.5] rad per step, got {self.max_rotation_per_step}")
        check(len(self.workspace_low) == 3, f"{key}.workspace_low", "needs 3 values (x, y, z)")
        check_box(self.workspace_low, self.workspace_high, f"{key}.workspace_low/high")
        check(0 < self.gripper_max_width <= 0.08, f"{key}.gripper_max_width", "must be in (0, 0.08] m")
        check(self.watchdog_s > 0, f"{key}.watchdog_s", "must be > 0")
        check(0 < self.physics_dt <= 0.01, f"{key}.physics_dt", "must be in (0, 0.01] s")
        if self.backend == RobotBackend.franka:
            check(bool(self.ip), f"{key}.ip", "the franka backend needs the robot's IP address")


@dataclass
class CameraConfig:
    """The camera set. ``names`` are the observation keys ``images/<name>``."""

    backend: CameraBackend = CameraBackend.mujoco
    names: list[str] = field(default_factory=lambda: ["wrist", "front"])
    width: int = 128
    height: int = 128
    fps: int = 30
    max_age_s: float = 0.2
    serials: dict[str, str] = field(default_factory=dict)
    render_geoms: RenderGeoms = RenderGeoms.collision
    # RealSense: capture size (cropped, then resized to width x height), aligned depth, per-camera crop
    # [x, y, w, h] in capture pixels (default: the centred square), recordings to play instead of devices
    # (name -> .db3 path), and how long without frames counts as unplugged before reconnecting.
    capture_width: int = 640
    capture_height: int = 480
    depth: bool = False
    crops: dict[str, list[int]] = field(default_factory=dict)
    playback: dict[str, str] = field(default_factory=dict)
    reconnect_s: float = 1.0

    def validate(self, key: str) -> None:
        check(self.capture_width > 0 and self.capture_height > 0, f"{key}.capture_width/height", "must be > 0")
        check(self.reconnect_s > 0, f"{key}.reconnect_s", "must be > 0")
        for cam, crop in self.crops.items():
            check(len(crop) == 4 and crop[2] > 0 and crop[3] > 0 and crop[0] >= 0 and crop[1] >= 0
                   and crop[0] + crop[2] <= self.capture_width and crop[1] + crop[3] <= self.capture_height,
                   f"{key}.crops.{cam}", f"must be [x, y, w, h] inside the {self.capture_width}x"
                   f"{self.capture_height} capture, got {list(crop)}")
        check(len(self.names) > 0, f"{key}.names", "needs at least one camera")
        check(len(set(self.names)) == len(self.names), f"{key}.names", f"duplicate names in {self.names}")
        check(16 <= self.width <= 4096 and 16 <= self.height <= 4096, f"{key}.width/height",
               f"must be in [16, 4096], got {self.width}x{self.height}")
        check(self.fps > 0, f"{key}.fps", "must be > 0")
        check(self.max_age_s > 0, f"{key}.max_age_s", "must be > 0")
        if self.backend == CameraBackend.realsense:
            missing = [n for n in self.names if n not in self.serials and n not in self.playback]
            check(not missing, f"{key}.serials", f"no serial number for camera(s) {missing}")


HAND_EYE_METHODS = ("tsai", "park", "horaud", "andreff", "daniilidis", "shah", "li")


@dataclass
class CalibrationConfig:
    """``robot-rl calibrate``: the ChArUco board, the pose set, acceptance thresholds. The calibrated values
    themselves are data in ``calibration/<robot.name>/`` (see robot_rl.calibration), never config.

    Board: ``squares_x`` x ``squares_y`` squares of ``square_m`` with ArUco markers of ``marker_m`` (metres, as
    printed: measure the print). Pose set: ``views`` poses rotated up to ``max_tilt_deg`` and ``max_yaw_deg``
    about ``pivot_tcp`` (a point in the TCP frame, m: where the wrist camera looks, or the centre of a board
    held by the hand); a set whose rotations do not span two axes by ``min_rotation_spread_deg`` is refused.
    ``hand_eye_method``: OpenCV's closed form (tsai, park, horaud, andreff, daniilidis: calibrateHandEye;
    shah, li: calibrateRobotWorldHandEye), refined on reprojection error. Files older than
    ``max_age_days`` are used with a warning. ``mounts``: which cameras ride on the hand (eye_in_hand) and
    which are fixed in the cell (eye_to_hand)."""

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.035
    marker_m: float = 0.026
    dictionary: str = "DICT_4X4_50"
    views: int = 15
    min_views: int = 8
    min_corners: int = 8
    max_tilt_deg: float = 25.0
    max_yaw_deg: float = 30.0
    pivot_tcp: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.25])
    min_rotation_spread_deg: float = 5.0
    hand_eye_method: str = "park"
    max_reprojection_px: float = 1.0
    workspace_margin: float = 0.02  # the recorded workspace corners shrunk by this much on every side (m)
    max_age_days: float = 30.0
    mounts: dict[str, str] = field(default_factory=lambda: {"wrist": "eye_in_hand", "front": "eye_to_hand"})

    def validate(self, key: str) -> None:
        bad = {c: m for c, m in self.mounts.items() if m not in ("eye_in_hand", "eye_to_hand")}
        check(not bad, f"{key}.mounts", f"must map cameras to eye_in_hand or eye_to_hand, got {bad}")
        check(self.squares_x >= 3 and self.squares_y >= 3, f"{key}.squares_x/squares_y", "must be >= 3")
        check(0 < self.square_m <= 0.5, f"{key}.square_m", f"must be in (0, 0.5] m, got {self.square_m}")
        check(0 < self.marker_m < self.square_m, f"{key}.marker_m",
               f"must be in (0, square_m={self.square_m}) m, got {self.marker_m}")
        check(self.dictionary.startswith("DICT_"), f"{key}.dictionary", "must be an OpenCV ArUco dictionary name, "
               f"e.g. DICT_4X4_50; got {self.dictionary!r}")
        check(self.min_views >= 3, f"{key}.min_views", "must be >= 3 (hand-eye needs two relative motions)")
        check(self.views >= self.min_views, f"{key}.views", f"must be >= min_views={self.min_views}")
        check(self.min_corners >= 4, f"{key}.min_corners", "must be >= 4 (a pose needs 4 points)")
        check(0 < self.max_tilt_deg <= 60 and 0 <= self.max_yaw_deg <= 90, f"{key}.max_tilt_deg/max_yaw_deg",
               "must be in (0, 60] and [0, 90] degrees")
        check(len(self.pivot_tcp) == 3, f"{key}.pivot_tcp", "needs 3 values (x, y, z) in metres")
        check(self.min_rotation_spread_deg > 0, f"{key}.min_rotation_spread_deg", "must be > 0")
        check(self.hand_eye_method in HAND_EYE_METHODS, f"{key}.hand_eye_method",
               f"must be one of {list(HAND_EYE_METHODS)}, got {self.hand_eye_method!r}")
        check(self.max_reprojection_px > 0, f"{key}.max_reprojection_px", "must be > 0")
        check(0 <= self.workspace_margin <= 0.2, f"{key}.workspace_margin", "must be in [0, 0.2] m")
        check(self.max_age_days > 0, f"{key}.max_age_days", "must be > 0")


# ack: the person saw the robot's help request (/actor/help) and lets the policy go on (robot_rl.actor.help);
# not_yet: with reward.labels=keys, the frames from now on are not (or no longer) a success
TELEOP_EVENTS = ("takeover", "handback", "success", "failure", "reset", "pause", "quit", "ack", "not_yet")


@dataclass
class SpaceMouseConfig:
    """The 3Dconnexion SpaceMouse: axes in [-1, 1] after ``deadband`` (values below it read 0, the rest
    rescaled so output starts at 0) and scaling, so a full push is a full action. ``device`` is a
    pyspacemouse device name ("" = the first one found). Button indices for gripper toggle and take-over.
    ``fake_hid_socket``: a Unix socket path; when set, no real device is opened: a fake HID device reads raw
    reports sent to that socket (:mod:`robot_rl.testing.fake_hid`; tests and demos without a SpaceMouse)."""

    device: str = ""
    deadband: float = 0.1
    translation_scale: float = 1.0
    rotation_scale: float = 1.0
    poll_hz: float = 200.0
    max_age_s: float = 0.1
    reconnect_s: float = 1.0
    button_gripper: int = 0
    button_takeover: int = 1
    fake_hid_socket: str = ""

    def validate(self, key: str) -> None:
        check(0 <= self.deadband < 1, f"{key}.deadband", f"must be in [0, 1), got {self.deadband}")
        check(self.translation_scale > 0 and self.rotation_scale > 0, f"{key}.translation_scale/rotation_scale",
               "must be > 0")
        check(self.poll_hz >= 100, f"{key}.poll_hz", f"must be >= 100 Hz, got {self.poll_hz}")
        check(self.max_age_s > 0, f"{key}.max_age_s", "must be > 0")
        check(self.reconnect_s > 0, f"{key}.reconnect_s", "must be > 0")
        check(self.button_gripper != self.button_takeover, f"{key}.button_gripper/button_takeover",
               "must be different buttons")
        check(len(self.fake_hid_socket.encode()) < 108, f"{key}.fake_hid_socket",
               "a Unix socket path must be shorter than 108 bytes")


@dataclass
class TeleopConfig:
    """Human input: the SpaceMouse and the keyboard's key map (event -> key: a character or a pynput
    ``Key`` name such as ``space``, ``esc``, ``f1``). ``ack`` answers a help request: the policy goes on;
    ``not_yet`` labels the frames from now on as no success (``reward.labels=keys``)."""

    spacemouse: SpaceMouseConfig = field(default_factory=SpaceMouseConfig)
    keys: dict[str, str] = field(default_factory=lambda: {
        "takeover": "t", "handback": "h", "success": "s", "failure": "f", "reset": "r", "pause": "p",
        "quit": "esc", "ack": "a", "not_yet": "n"})

    def validate(self, key: str) -> None:
        self.spacemouse.validate(f"{key}.spacemouse")
        unknown = [e for e in self.keys if e not in TELEOP_EVENTS]
        check(not unknown, f"{key}.keys", f"unknown event(s) {unknown}; known: {list(TELEOP_EVENTS)}")
        values = list(self.keys.values())
        dup = sorted({v for v in values if values.count(v) > 1})
        check(not dup, f"{key}.keys", f"key(s) {dup} bound to more than one event")
        check(all(v for v in values), f"{key}.keys", "empty key name")


@dataclass
class SecurityConfig:
    """The per-deployment key (``robot_rl.security``): residual weights and robot commands carry an HMAC made
    with it, and the actor / robot node refuse what does not verify. ``key_path``: a file outside the repo,
    mode 0600, created with a fresh random key when missing; every host of one graph needs the same file.
    ``command_expiry_s``: a signed command expires this long after its send time, by the robot node's clock (a
    replay after a robot node restart is refused); 0 turns that check off. Not to be confused with
    ``robot.max_command_age_s``, the age of the *observation* a command was computed from."""

    key_path: str = "~/.config/robot_rl/deployment.key"
    command_expiry_s: float = 2.0

    def validate(self, key: str) -> None:
        check(bool(self.key_path.strip()), f"{key}.key_path", "must name the deployment key file")
        check(self.command_expiry_s >= 0, f"{key}.command_expiry_s", "must be >= 0 (0: no age check)")
