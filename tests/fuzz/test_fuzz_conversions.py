"""Fuzz the ROS message <-> numpy conversions: any message a peer can publish either converts to values the
stack can use (finite, float32-representable, the right shape) or raises :class:`ConversionError` naming the
field, which the nodes turn into a dropped message. Valid inputs round-trip exactly.

The pipelines at the end follow a message all the way to the arm: a command through ``msg_to_action`` and the
safety layer, a teleop twist through arbitration, a pose through the actor's ``ProprioAssembler``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

pytest.importorskip("rclpy", reason="ROS 2 wheels not installed (pip install -e '.[ros]')")

from geometry_msgs.msg import PoseStamped, TwistStamped
from robot_rl_ros import conversions as cv
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

from robot_rl.actor.arbitration import arbitrate
from robot_rl.actor.observation import ObservationBuffer, ProprioAssembler
from robot_rl.control.safety import ActionError, SafetyLimits
from robot_rl.spec import ACTION_NAMES
from tests.fuzz.conftest import fuzz

U32 = 2**32 - 1
F32_MAX = float(np.finfo(np.float32).max)
wild = st.floats(allow_nan=True, allow_infinity=True)  # NaN, inf, 1e308, subnormals, -0.0
sane = st.floats(-1e3, 1e3, allow_nan=False)
names_pool = st.sampled_from([*cv.JOINT_NAMES, *ACTION_NAMES, "", "fr3_joint8", "joint1", "gripper"])


def _assert_usable(values: np.ndarray) -> None:
    """What every successful conversion promises the consumers (which store and feed float32)."""
    assert np.isfinite(values).all()
    assert np.all(np.abs(values) <= F32_MAX)


def _bad_values(values) -> bool:
    """Not finite, or beyond float32: what a conversion must refuse."""
    with np.errstate(all="ignore"):
        arr = np.asarray(values, dtype=np.float64)
        return not (np.isfinite(arr).all() and np.all(np.abs(arr) <= F32_MAX))


def _image_fault(msg: Image, expect: tuple[int, int] | None) -> str | None:
    """The field a conversion of ``msg`` must name (checked in this order), None for a convertible image."""
    h, w, step = msg.height, msg.width, msg.step
    if msg.encoding not in cv.ENCODINGS:
        return "encoding"
    if h == 0 or w == 0 or (expect is not None and (h, w) != tuple(expect)):
        return "height/width"
    if step < w * 3:
        return "step"
    return "data" if len(msg.data) != h * step else None


def _joint_fault(msg: JointState, names) -> str | None:
    """The field a conversion of ``msg`` (to ``names``, or as given) must name; None when it converts."""
    got, position, velocity = list(msg.name), list(msg.position), list(msg.velocity)
    if got and len(position) != len(got):
        return "position"
    if len(velocity) not in (0, len(position)):
        return "velocity"
    if _bad_values(position):
        return "position"
    if _bad_values(velocity):
        return "velocity"
    if names is not None and (len(set(got)) != len(got) or not set(names) <= set(got)):
        return "name"
    return None


# ---------------------------------------------------------------------------------------------- images
@st.composite
def image_msgs(draw) -> Image:
    """Images whose header fields and buffer disagree in every way: sizes 0..huge, step below, at and above
    width*channels, data short, long or right, encodings real and made up."""
    msg = Image()
    small = st.integers(0, 9)
    msg.height = draw(st.one_of(small, st.integers(0, U32)))
    msg.width = draw(st.one_of(small, st.integers(0, U32)))
    w3 = msg.width * 3
    msg.step = draw(st.one_of(st.integers(0, U32), st.sampled_from([w3, max(0, w3 - 1), w3 + 1, w3 + 4])
                              .filter(lambda s: s <= U32)))
    msg.encoding = draw(st.one_of(st.sampled_from(["rgb8", "bgr8", "RGB8", "mono8", "rgba8", "16UC1", ""]),
                                  st.text(max_size=8)))
    right = msg.height * msg.step if msg.height * msg.step <= 4096 else 0
    n = draw(st.one_of(st.just(right), st.integers(0, 4096), st.sampled_from([max(0, right - 1), right + 1])))
    msg.data = draw(st.binary(min_size=n, max_size=n))
    return msg


@fuzz(300)
@given(msg=image_msgs(), expect=st.one_of(st.none(), st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_any_image_converts_exactly_or_names_the_field(msg: Image, expect):
    try:
        img = cv.msg_to_image(msg, expect)
    except cv.ConversionError as exc:
        assert exc.field == _image_fault(msg, expect), f"{exc} names the wrong field"
        assert str(exc).startswith(f"{exc.field}: ")
        return
    assert _image_fault(msg, expect) is None
    h, w, step = msg.height, msg.width, msg.step
    assert msg.encoding in cv.ENCODINGS and len(msg.data) == h * step >= h * w * 3
    assert img.shape == (h, w, 3) and img.dtype == np.uint8 and not img.flags.writeable
    if expect is not None:
        assert img.shape[:2] == expect
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(h, step)[:, : w * 3].reshape(h, w, 3)
    np.testing.assert_array_equal(img, rows[..., ::-1] if msg.encoding == "bgr8" else rows)


@fuzz(100)
@given(img=arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3))),
       stamp=st.integers(0, 2**31 * 10**9 - 1), frame=st.text(max_size=10))
def test_valid_images_round_trip_exactly(img: np.ndarray, stamp: int, frame: str):
    msg = cv.image_to_msg(img, stamp, frame)
    np.testing.assert_array_equal(cv.msg_to_image(msg, img.shape[:2]), img)
    assert cv.stamp_to_ns(msg.header.stamp) == stamp and msg.header.frame_id == frame


@fuzz(50)
@given(img=arrays(st.sampled_from([np.uint8, np.float32, np.int16]), st.lists(st.integers(0, 4), max_size=4)))
def test_image_to_msg_refuses_what_is_not_an_rgb_frame(img: np.ndarray):
    try:
        msg = cv.image_to_msg(img, 0)
    except cv.ConversionError as exc:
        assert exc.field == "data" and str(exc).startswith("data: ")
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert len(msg.data) == msg.height * msg.step


# ---------------------------------------------------------------------------------------------- joints
@st.composite
def joint_state_msgs(draw, names=names_pool) -> JointState:
    msg = JointState()
    n = draw(st.integers(0, 10))
    msg.name = draw(st.one_of(st.lists(names, min_size=n, max_size=n),
                              st.permutations(list(cv.JOINT_NAMES)), st.permutations(list(ACTION_NAMES))))
    k = draw(st.one_of(st.just(len(msg.name)), st.integers(0, 10)))
    msg.position = draw(st.lists(st.one_of(sane, wild), min_size=k, max_size=k))
    msg.velocity = draw(st.one_of(st.just([]), st.lists(st.one_of(sane, wild), min_size=k, max_size=k),
                                  st.lists(sane, max_size=10)))
    return msg


@fuzz(300)
@given(msg=joint_state_msgs(), ordered=st.booleans())
def test_any_joint_state_converts_in_the_robot_order_or_names_the_field(msg: JointState, ordered: bool):
    names = cv.JOINT_NAMES if ordered else None
    try:
        pos, vel = cv.msg_to_joint_state(msg, names)
    except cv.ConversionError as exc:
        assert exc.field == _joint_fault(msg, names), f"{exc} names the wrong field"
        assert str(exc).startswith(f"{exc.field}: ")
        return
    assert _joint_fault(msg, names) is None
    _assert_usable(pos)
    _assert_usable(vel)
    assert pos.dtype == vel.dtype == np.float64 and len(vel) in (0, len(pos))
    got = list(msg.name)
    if names is None:
        assert pos.tolist() == list(msg.position)
        return
    assert len(set(got)) == len(got) and len(pos) == len(names)
    for i, name in enumerate(names):  # each value is the one the message gave that joint
        assert pos[i] == msg.position[got.index(name)]
        if len(vel):
            assert vel[i] == msg.velocity[got.index(name)]


@fuzz(100)
@given(q=arrays(np.float64, 8, elements=st.floats(-1e30, 1e30)), dq=arrays(np.float64, 8, elements=sane),
       perm=st.permutations(range(8)))
def test_valid_joint_states_round_trip_exactly_in_any_order(q: np.ndarray, dq: np.ndarray, perm: list[int]):
    names = [cv.JOINT_NAMES[i] for i in perm]
    msg = cv.joint_state_to_msg(names, q[perm], dq[perm], 7)
    pos, vel = cv.msg_to_joint_state(msg, cv.JOINT_NAMES)
    assert pos.tobytes() == q.tobytes() and vel.tobytes() == dq.tobytes()


# ------------------------------------------------------------------------------ commands reach the arm
@pytest.fixture(scope="module")
def limits(cfg) -> SafetyLimits:
    return SafetyLimits.for_robot(cfg.robot)


@fuzz(300)
@given(msg=joint_state_msgs(names=st.sampled_from([*ACTION_NAMES, "dq", "grip"])),
       frac=arrays(np.float64, 3, elements=st.floats(0, 1)))
def test_a_command_message_is_dropped_or_executed_inside_the_limits(limits: SafetyLimits, msg: JointState,
                                                                    frac: np.ndarray):
    """The robot node's path: msg_to_action, then the safety layer. Both errors mean 'drop the message'."""
    pos = limits.workspace_low + frac * (limits.workspace_high - limits.workspace_low)
    try:
        action = cv.msg_to_action(msg)
    except cv.ConversionError as exc:
        assert exc.field == _joint_fault(msg, ACTION_NAMES), f"{exc} names the wrong field"
        assert str(exc).startswith(f"{exc.field}: ")
        return
    assert _joint_fault(msg, ACTION_NAMES) is None
    assert action.shape == (7,) and action.dtype == np.float32 and np.isfinite(action).all()
    cmd = limits.command(action, pos, limits.reference_mat)  # a converted action is always executable
    assert np.all(np.abs(cmd.action) <= 1.0) and -1.0 <= cmd.gripper <= 1.0
    assert np.all(cmd.target_pos >= limits.workspace_low) and np.all(cmd.target_pos <= limits.workspace_high)
    assert np.linalg.norm(cmd.target_pos - pos) <= limits.max_step + 1e-9


@fuzz(100)
@given(action=arrays(np.float32, 7, elements=st.floats(-1, 1, width=32)), stamp=st.integers(0, 2**62))
def test_actions_round_trip_exactly(action: np.ndarray, stamp: int):
    msg = cv.action_to_msg(action, stamp)
    assert cv.msg_to_action(msg).tobytes() == action.tobytes()


# ---------------------------------------------------------------------------------------------- poses
def _pose_msg(values: list[float]) -> PoseStamped:
    msg = PoseStamped()
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z, q.w, q.x, q.y, q.z = values
    return msg


@fuzz(300)
@given(values=st.lists(st.one_of(sane, wild, st.floats(-1, 1)), min_size=7, max_size=7),
       normalise=st.booleans(), width=st.floats(0, 0.1))
def test_any_pose_gives_a_finite_state_or_names_the_field(values: list[float], normalise: bool, width: float):
    if normalise:  # unit quaternions where the numbers allow, so the accepting branch is exercised too
        with np.errstate(all="ignore"):
            q = np.asarray(values[3:])
            n = np.linalg.norm(q)
            if np.isfinite(n) and n > 1e-6:
                values = values[:3] + (q / n).tolist()
    try:
        pos, quat = cv.msg_to_pose(_pose_msg(values))
    except cv.ConversionError as exc:
        assert exc.field == ("pose.position" if _bad_values(values[:3]) else "pose.orientation"), str(exc)
        assert str(exc).startswith(f"{exc.field}: ")
        return
    _assert_usable(pos)
    assert abs(np.linalg.norm(quat) - 1.0) <= 1e-3
    assert pos.tolist() == values[:3] and quat.tolist() == values[3:]
    buffer = ObservationBuffer(["state"], 1.0)
    assembler = ProprioAssembler(buffer)
    assembler.on_joints(np.append(np.zeros(7), width), 5.0)
    assembler.on_pose(pos, quat, 5.0)
    state = buffer.assemble(5.0)[0]["state"]
    assert state.shape == (10,) and state.dtype == np.float32 and np.isfinite(state).all()


@fuzz(100)
@given(pos=arrays(np.float64, 3, elements=st.floats(-10, 10)),
       quat=arrays(np.float64, 4, elements=st.floats(-1, 1)).filter(lambda q: np.linalg.norm(q) > 0.1))
def test_valid_poses_round_trip_exactly(pos: np.ndarray, quat: np.ndarray):
    quat = quat / np.linalg.norm(quat)
    p, q = cv.msg_to_pose(cv.pose_to_msg(pos, quat, 5))
    assert p.tobytes() == pos.tobytes() and q.tobytes() == quat.tobytes()


# ---------------------------------------------------------------------------------------------- teleop
@fuzz(300)
@given(values=st.lists(st.one_of(sane, wild), min_size=6, max_size=6), gripper=st.floats(-1, 1),
       policy=arrays(np.float32, 7, elements=st.floats(-2, 2, width=32)))
def test_any_twist_is_dropped_or_arbitrates_into_an_executable_action(values: list[float], gripper: float,
                                                                      policy: np.ndarray, limits: SafetyLimits):
    """The actor's path for the human's command: a twist it accepts must never make the tick raise (that
    would stop the actor's control loop for good)."""
    msg = TwistStamped()
    lin, ang = msg.twist.linear, msg.twist.angular
    lin.x, lin.y, lin.z, ang.x, ang.y, ang.z = values
    try:
        twist = cv.msg_to_twist(msg)
    except cv.ConversionError as exc:
        assert exc.field == "twist" and str(exc).startswith("twist: ") and _bad_values(values)
        return
    assert twist.dtype == np.float32 and np.isfinite(twist).all()
    np.testing.assert_array_equal(twist, np.asarray(values, np.float32))
    executed, intervened = arbitrate(policy, np.append(twist, gripper).astype(np.float32))
    clipped, _ = limits.clip_action(executed)
    assert intervened and np.all(np.abs(clipped) <= 1.0)


# ---------------------------------------------------------------------------------------------- weights
@st.composite
def bundle_msgs(draw) -> UInt8MultiArray:
    msg = UInt8MultiArray()
    msg.data = draw(st.binary(max_size=64))
    labels = st.one_of(st.builds(lambda v: f"{cv.WEIGHTS_LABEL}{v}", st.integers(-5, 2**70)),
                       st.builds(lambda t: cv.WEIGHTS_LABEL + t, st.text(max_size=6)),
                       st.text(max_size=14), st.just(cv.WEIGHTS_LABEL + "9" * 5000))
    sizes = st.one_of(st.just(len(msg.data)), st.integers(0, U32))
    dims = st.lists(st.builds(lambda lab, s: MultiArrayDimension(label=lab, size=s, stride=s), labels, sizes),
                    max_size=3)
    msg.layout.dim = draw(dims)
    return msg


@fuzz(300)
@given(msg=bundle_msgs())
def test_any_weights_envelope_unpacks_or_names_the_field(msg: UInt8MultiArray):
    try:
        version, data = cv.msg_to_bundle(msg)
    except cv.ConversionError as exc:
        assert exc.field in {"layout.dim", "layout.dim.label", "data"} and str(exc).startswith(exc.field)
        return
    assert data == bytes(msg.data) and len(msg.layout.dim) == 1 and msg.layout.dim[0].size == len(data)
    assert int(msg.layout.dim[0].label[len(cv.WEIGHTS_LABEL):]) == version


@fuzz(100)
@given(version=st.integers(0, 2**63 - 1), data=st.binary(max_size=256))
def test_valid_bundles_round_trip_exactly(version: int, data: bytes):
    assert cv.msg_to_bundle(cv.bundle_to_msg(version, data)) == (version, data)


@fuzz(100)
@given(ns=st.integers(-(2**31) * 10**9, 2**31 * 10**9 - 1))
def test_stamps_round_trip_exactly(ns: int):
    stamp = cv.stamp_from_ns(ns)
    assert cv.stamp_to_ns(stamp) == ns and 0 <= stamp.nanosec < 10**9


@fuzz(50)
@given(action=arrays(np.float64, 7, elements=st.floats(-1e300, 1e300)).filter(
    lambda a: np.abs(a).max() > F32_MAX))
def test_a_command_beyond_float32_is_refused_not_turned_into_inf(action: np.ndarray):
    """Found by this suite: msg_to_action cast 1e300 to float32 inf; now the message names the field."""
    msg = cv.joint_state_to_msg(ACTION_NAMES, action, None, 0)
    with pytest.raises(cv.ConversionError, match=r"^position: values beyond the float32 range") as exc:
        cv.msg_to_action(msg)
    assert exc.value.field == "position"


def test_duplicate_joint_names_are_refused():
    """Found by this suite: a name given twice silently picked the first value."""
    msg = cv.joint_state_to_msg([*cv.JOINT_NAMES, "fr3_joint1"], np.arange(9.0), None, 0)
    with pytest.raises(cv.ConversionError, match=r"^name: .* repeat \['fr3_joint1'\]") as exc:
        cv.msg_to_joint_state(msg, cv.JOINT_NAMES)
    assert exc.value.field == "name"


def test_a_twist_beyond_float32_no_longer_kills_the_actor_tick(limits: SafetyLimits):
    """Found by this suite: a finite 1e39 twist became inf in float32 and made clip_action raise in the tick,
    which stops the actor's control loop. It is now dropped at the subscription."""
    msg = cv.twist_to_msg(np.array([1e39, 0, 0, 0, 0, 0]), 0)
    with pytest.raises(cv.ConversionError, match=r"^twist: values beyond the float32 range") as exc:
        cv.msg_to_twist(msg)
    assert exc.value.field == "twist"
    with np.errstate(over="ignore"), pytest.raises(ActionError):  # what the tick used to get
        limits.clip_action(np.append(np.float32(1e39), np.zeros(6, np.float32)))
