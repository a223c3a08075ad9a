"""The one place that turns ROS messages into numpy arrays and back. Images travel as buffers (one
``bytes`` copy out, ``np.frombuffer`` in), never per pixel.

Every ``msg_to_*`` function checks what it reads and raises :class:`ConversionError` naming the field
(``data``, ``encoding``, ``name``, ...), so a node can drop a malformed message with a warning that says
what was wrong instead of crashing or handing garbage to the policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, TwistStamped
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

from robot_rl.spec import ACTION_NAMES

ENCODINGS = {"rgb8": 3, "bgr8": 3}  # what the camera nodes publish and the actor accepts
ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
JOINT_NAMES = (*ARM_JOINTS, "gripper_width")  # /robot/joint_states: 7 arm joints (rad) + gripper width (m)
WEIGHTS_LABEL = "residual-v"
FLOAT32_MAX = float(np.finfo(np.float32).max)  # observations and actions travel on as float32


class ConversionError(ValueError):
    """A message that cannot be converted; ``field`` names the offending message field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _check_values(values: np.ndarray, field: str) -> None:
    """Finite and representable as float32 (every consumer stores and feeds float32: 1e300 would become inf
    there and a NaN action later), or :class:`ConversionError` naming ``field``."""
    if not np.isfinite(values).all():
        raise ConversionError(field, f"non-finite values {values.tolist()}")
    if values.size and float(np.abs(values).max()) > FLOAT32_MAX:
        raise ConversionError(field, f"values beyond the float32 range {values.tolist()}")


# ---------------------------------------------------------------------------------------------- time
def stamp_from_ns(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def stamp_to_sec(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


# ---------------------------------------------------------------------------------------------- images
def image_to_msg(image: np.ndarray, stamp_ns: int, frame_id: str = "") -> Image:
    """(H, W, 3) uint8 RGB -> ``sensor_msgs/Image`` (rgb8), one buffer copy."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ConversionError("data", f"expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
    msg = Image()
    msg.header.stamp = stamp_from_ns(stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(image.shape[1]) * 3
    msg.data = np.ascontiguousarray(image).tobytes()
    return msg


def msg_to_image(msg: Image, shape: tuple[int, int] | None = None) -> np.ndarray:
    """``sensor_msgs/Image`` (rgb8 or bgr8, any row padding) -> (H, W, 3) uint8 RGB, read-only.
    ``shape``: the (H, W) the caller expects; anything else is refused."""
    channels = ENCODINGS.get(msg.encoding)
    if channels is None:
        raise ConversionError("encoding", f"unsupported encoding {msg.encoding!r} (accepted: {sorted(ENCODINGS)})")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise ConversionError("height/width", f"empty image {h}x{w}")
    if shape is not None and (h, w) != tuple(shape):
        raise ConversionError("height/width", f"{h}x{w}, expected {shape[0]}x{shape[1]}")
    if step < w * channels:
        raise ConversionError("step", f"{step} bytes per row is less than width*3 = {w * channels}")
    if len(msg.data) != h * step:
        raise ConversionError("data", f"{len(msg.data)} bytes, expected height*step = {h}*{step} = {h * step}")
    flat = np.frombuffer(msg.data, dtype=np.uint8)
    image = flat.reshape(h, step)[:, : w * channels].reshape(h, w, channels)
    if msg.encoding == "bgr8":
        image = image[..., ::-1]
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image)
    image.flags.writeable = False
    return image


# ---------------------------------------------------------------------------------------------- joints
def joint_state_to_msg(names: Sequence[str], position: np.ndarray, velocity: np.ndarray | None,
                       stamp_ns: int) -> JointState:
    msg = JointState()
    msg.header.stamp = stamp_from_ns(stamp_ns)
    msg.name = list(names)
    msg.position = [float(x) for x in position]
    msg.velocity = [] if velocity is None else [float(x) for x in velocity]
    return msg


def msg_to_joint_state(msg: JointState, names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> (position (N,), velocity (N,) or (0,)) float64, in the order of ``names`` (which must all be present)."""
    got = list(msg.name)
    position = np.asarray(msg.position, dtype=np.float64)
    velocity = np.asarray(msg.velocity, dtype=np.float64)
    if got and len(position) != len(got):
        raise ConversionError("position", f"{len(position)} values for {len(got)} names")
    if len(velocity) not in (0, len(position)):
        raise ConversionError("velocity", f"{len(velocity)} values for {len(position)} positions")
    _check_values(position, "position")
    _check_values(velocity, "velocity")
    if names is not None:
        if len(set(got)) != len(got):
            dup = sorted({n for n in got if got.count(n) > 1})
            raise ConversionError("name", f"joint names {got} repeat {dup}: which value is meant is ambiguous")
        missing = [n for n in names if n not in got]
        if missing:
            raise ConversionError("name", f"joint names {got} do not match the robot's {list(names)} "
                                          f"(missing {missing})")
        if got != list(names):
            order = [got.index(n) for n in names]
            position = position[order]
            velocity = velocity[order] if len(velocity) else velocity
    return position, velocity


def action_to_msg(action: np.ndarray, stamp_ns: int) -> JointState:
    """(7,) action in [-1, 1] -> ``sensor_msgs/JointState`` named dx, dy, dz, drx, dry, drz, gripper."""
    return joint_state_to_msg(ACTION_NAMES, action, None, stamp_ns)


def msg_to_action(msg: JointState) -> np.ndarray:
    """-> (7,) float32. The [-1, 1] range is not checked here (the robot node's safety layer clips every
    command); non-finite values and values beyond float32 are refused by :func:`msg_to_joint_state`."""
    position, _ = msg_to_joint_state(msg, ACTION_NAMES)
    return position.astype(np.float32)


# ---------------------------------------------------------------------------------------------- poses
def pose_to_msg(pos: np.ndarray, quat_wxyz: np.ndarray, stamp_ns: int, frame_id: str = "base") -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp = stamp_from_ns(stamp_ns)
    msg.header.frame_id = frame_id
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in pos)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def msg_to_pose(msg: PoseStamped) -> tuple[np.ndarray, np.ndarray]:
    """-> (position (3,), quaternion w, x, y, z (4,)) float64; the quaternion must be unit length."""
    p, q = msg.pose.position, msg.pose.orientation
    pos = np.array([p.x, p.y, p.z])
    quat = np.array([q.w, q.x, q.y, q.z])
    _check_values(pos, "pose.position")
    _check_values(quat, "pose.orientation")
    if abs(np.linalg.norm(quat) - 1.0) > 1e-3:
        raise ConversionError("pose.orientation", f"not a unit quaternion (norm {np.linalg.norm(quat):.4f})")
    return pos, quat


# ---------------------------------------------------------------------------------------------- teleop
def twist_to_msg(twist: np.ndarray, stamp_ns: int, frame_id: str = "base") -> TwistStamped:
    """(6,) in action units ([-1, 1]: vx, vy, vz, wx, wy, wz) -> ``geometry_msgs/TwistStamped``."""
    msg = TwistStamped()
    msg.header.stamp = stamp_from_ns(stamp_ns)
    msg.header.frame_id = frame_id
    lin, ang = msg.twist.linear, msg.twist.angular
    lin.x, lin.y, lin.z, ang.x, ang.y, ang.z = (float(v) for v in twist)
    return msg


def msg_to_twist(msg: TwistStamped) -> np.ndarray:
    lin, ang = msg.twist.linear, msg.twist.angular
    twist = np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z], dtype=np.float64)
    _check_values(twist, "twist")
    return twist.astype(np.float32)


# ---------------------------------------------------------------------------------------------- weights
def bundle_to_msg(version: int, data: bytes) -> UInt8MultiArray:
    """A weight bundle (checksummed bytes) -> ``std_msgs/UInt8MultiArray``; the version rides in the label."""
    msg = UInt8MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=f"{WEIGHTS_LABEL}{int(version)}", size=len(data), stride=len(data))]
    msg.data = bytes(data)
    return msg


def msg_to_bundle(msg: UInt8MultiArray) -> tuple[int, bytes]:
    dims = list(msg.layout.dim)
    if len(dims) != 1 or not dims[0].label.startswith(WEIGHTS_LABEL):
        raise ConversionError("layout.dim", f"expected one dimension labelled {WEIGHTS_LABEL}<version>")
    try:
        version = int(dims[0].label[len(WEIGHTS_LABEL):])
    except ValueError:
        raise ConversionError("layout.dim.label", f"bad version in {dims[0].label!r}") from None
    if dims[0].size != len(msg.data):
        raise ConversionError("data", f"{len(msg.data)} bytes, layout says {dims[0].size}")
    return version, bytes(msg.data)


HELP_NAME = "actor_node: help"


def help_to_msg(asking: bool, message: str, values: dict[str, float | int] | None = None) -> DiagnosticStatus:
    """The actor's help state for ``/actor/help``: WARN while it asks (``message``: why; ``values``: the score,
    its parts, the weights version), OK otherwise."""
    level = DiagnosticStatus.WARN if asking else DiagnosticStatus.OK
    return DiagnosticStatus(level=level, name=HELP_NAME, message=message, hardware_id="",
                            values=[KeyValue(key=k, value=f"{v:.4g}" if isinstance(v, float) else str(v))
                                    for k, v in (values or {}).items()])


def msg_to_help(msg: DiagnosticStatus) -> tuple[bool, str, dict[str, str]]:
    """(asking, message, values) from ``/actor/help``; :class:`ConversionError` on an unknown level."""
    level = _byte(msg.level)
    if level not in (_byte(DiagnosticStatus.OK), _byte(DiagnosticStatus.WARN)):
        raise ConversionError("level", f"expected OK (0) or WARN (1), got {level}")
    return level == _byte(DiagnosticStatus.WARN), msg.message, {kv.key: kv.value for kv in msg.values}


def _byte(value: bytes | int) -> int:
    """DiagnosticStatus levels are ``byte`` fields: bytes of length 1 in rclpy."""
    return value if isinstance(value, int) else int.from_bytes(value, "little")
