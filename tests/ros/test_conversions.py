"""conversions: the one msg <-> numpy module. Round trips are exact; malformed messages raise naming the field."""

from __future__ import annotations

import numpy as np
import pytest
from robot_rl_ros import conversions as cv

from robot_rl.hardware.robot import RobotState
from robot_rl.spec import ACTION_NAMES


def test_image_round_trip_is_exact_and_copies_no_pixel_by_pixel():
    rng = np.random.default_rng(0)
    for shape in ((128, 128, 3), (480, 640, 3), (1, 7, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        msg = cv.image_to_msg(img, 1_234_567_890_123, frame_id="wrist")
        assert (msg.height, msg.width, msg.step, msg.encoding) == (shape[0], shape[1], shape[1] * 3, "rgb8")
        back = cv.msg_to_image(msg, shape[:2])
        assert back.dtype == np.uint8 and back.shape == shape
        np.testing.assert_array_equal(back, img)
        assert cv.stamp_to_ns(msg.header.stamp) == 1_234_567_890_123


def test_image_with_row_padding_and_bgr():
    img = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    msg = cv.image_to_msg(img, 0)
    padded = np.zeros((4, 16), dtype=np.uint8)
    padded[:, :15] = img[..., ::-1].reshape(4, 15)  # BGR rows padded to 16 bytes
    msg.encoding, msg.step, msg.data = "bgr8", 16, padded.tobytes()
    np.testing.assert_array_equal(cv.msg_to_image(msg), img)


def test_joint_state_round_trip_is_exact():
    rng = np.random.default_rng(2)
    q, dq = rng.standard_normal(8), rng.standard_normal(8)
    msg = cv.joint_state_to_msg(cv.JOINT_NAMES, q, dq, 42)
    pos, vel = cv.msg_to_joint_state(msg, cv.JOINT_NAMES)
    assert pos.tobytes() == q.tobytes() and vel.tobytes() == dq.tobytes()
    # names in another order are put back into the robot's order
    msg.name, msg.position = list(reversed(msg.name)), list(reversed(q))
    pos, _ = cv.msg_to_joint_state(msg, cv.JOINT_NAMES)
    assert pos.tobytes() == q.tobytes()


def test_action_pose_twist_bundle_round_trips():
    a = np.array([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 1.0], np.float32)
    msg = cv.action_to_msg(a, 7)
    assert list(msg.name) == list(ACTION_NAMES)
    np.testing.assert_array_equal(cv.msg_to_action(msg), a)
    twist = np.array([0.5, 0, -0.5, 0.1, 0.2, 0.3], np.float32)
    np.testing.assert_array_equal(cv.msg_to_twist(cv.twist_to_msg(twist, 0)), twist)
    data = bytes(range(256)) * 10
    assert cv.msg_to_bundle(cv.bundle_to_msg(12, data)) == (12, data)


def test_a_pose_message_assembles_to_the_robot_proprio():
    from robot_rl.actor.observation import ObservationBuffer, ProprioAssembler
    from robot_rl.control.rotations import mat_to_quat, rotvec_to_mat

    mat = rotvec_to_mat(np.array([3.0, 0.2, -0.1]))
    s = RobotState(ee_pos=np.array([0.5, 0.1, 0.2]), ee_quat=mat_to_quat(mat), gripper_width=0.04,
                   joint_pos=np.zeros(7), joint_vel=np.zeros(7), stamp=0.0, ee_mat=mat)
    pos, quat = cv.msg_to_pose(cv.pose_to_msg(s.ee_pos, s.ee_quat, 0))
    buffer = ObservationBuffer(["state"], 1.0)
    assembler = ProprioAssembler(buffer)
    assembler.on_joints(np.append(s.joint_pos, s.gripper_width), 0.0)
    assembler.on_pose(pos, quat, 0.0)
    np.testing.assert_allclose(buffer.assemble(0.0)[0]["state"], s.proprio(), atol=1e-6)


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda m: setattr(m, "data", m.data[:-1]), "data"),  # data does not match height*step
    (lambda m: setattr(m, "encoding", "yuv422"), "encoding"),
    (lambda m: setattr(m, "step", 3), "step"),
    (lambda m: setattr(m, "width", 0), "height/width"),
    (lambda m: (setattr(m, "height", 8), setattr(m, "data", bytes(8 * m.step))), "height/width"),  # wrong size
])
def test_malformed_images_name_the_field(mutate, field):
    msg = cv.image_to_msg(np.zeros((4, 4, 3), np.uint8), 0)
    mutate(msg)
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_image(msg, (4, 4))
    assert exc.value.field == field


def test_malformed_joint_states_and_actions_name_the_field():
    msg = cv.joint_state_to_msg(["a", "b"], [1.0, 2.0], None, 0)
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_joint_state(msg, cv.JOINT_NAMES)  # joint names that do not match the robot
    assert exc.value.field == "name"
    msg = cv.joint_state_to_msg(cv.JOINT_NAMES, np.zeros(8), None, 0)
    msg.position = [0.0] * 3
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_joint_state(msg, cv.JOINT_NAMES)
    assert exc.value.field == "position"
    msg = cv.action_to_msg(np.zeros(7, np.float32), 0)
    msg.position = [0.0] * 6 + [float("nan")]
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_action(msg)
    assert exc.value.field == "position"
    bad = cv.bundle_to_msg(1, b"abc")
    bad.layout.dim[0].label = "something"
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_bundle(bad)
    assert exc.value.field == "layout.dim"


def test_help_state_round_trips_and_an_unknown_level_names_the_field():
    from diagnostic_msgs.msg import DiagnosticStatus

    msg = cv.help_to_msg(True, "weights v0 carry no critics", {"score": float("nan"), "novelty": 1.23456, "version": 7})
    assert (msg.name, msg.hardware_id, msg.level) == ("actor_node: help", "", DiagnosticStatus.WARN)
    assert cv.msg_to_help(msg) == (True, "weights v0 carry no critics",
                                   {"score": "nan", "novelty": "1.235", "version": "7"})
    ok = cv.help_to_msg(False, "resumed")
    assert ok.level == DiagnosticStatus.OK and cv.msg_to_help(ok) == (False, "resumed", {})
    ok.level = DiagnosticStatus.ERROR
    with pytest.raises(cv.ConversionError) as exc:
        cv.msg_to_help(ok)
    assert exc.value.field == "level"
