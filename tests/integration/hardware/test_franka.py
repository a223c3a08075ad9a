"""The Franka backend (franky / libfranka) against franky-sim, the libfranka protocol peer, on loopback."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from robot_rl.control.rotations import quat_to_mat, rotation_angle, rotvec_to_mat
from robot_rl.control.safety import ActionError
from robot_rl.hardware.deadline import DeadlineExceeded, wait_for
from robot_rl.hardware.errors import DeviceFaultError, DeviceNotFoundError
from robot_rl.hardware.franka import FrankaRobot

POS_TOL = 0.002  # m
ROT_TOL = 0.01  # rad
SIM_ROT_TRACKING = 0.03  # rad: franky-sim's joint PD has a steady-state error on the wrist (no integral term)


@pytest.fixture
def robot(real_cfg, franky_sim):
    # These tests send one command and wait for the arm to arrive, which on a loaded machine can take longer
    # than fr3_real's 0.25 s watchdog (that would stop the arm short): a 2 s watchdog here; it has its own test.
    with FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host, watchdog_s=2.0)) as arm:
        arm.reset()
        yield arm


def _settled(robot: FrankaRobot, target: np.ndarray, timeout_s: float = 10.0):
    """Wait until the arm is idle at ``target`` (within POS_TOL); returns the state."""
    return wait_for(lambda: (s := robot.read_state()).mode == "Idle" and np.linalg.norm(s.ee_pos - target) < POS_TOL
                    and s, timeout_s, f"EE at {target}")


def test_state_readback_at_home(robot, real_cfg):
    s = robot.read_state()
    np.testing.assert_allclose(s.joint_pos, real_cfg.robot.home_joints, atol=1e-3)
    # home's EE pose: (0.45, 0, 0.25) pointing down (franky-sim reports it a few cm off, see its O_T_EE notes)
    assert np.all(s.ee_pos > real_cfg.robot.workspace_low) and np.all(s.ee_pos < real_cfg.robot.workspace_high)
    assert rotation_angle(rotvec_to_mat([np.pi, 0, 0]), s.ee_mat) < 0.05
    assert np.isclose(np.linalg.norm(s.ee_quat), 1.0) and s.ee_quat[0] >= 0
    assert s.mode == "Idle" and s.errors == ()
    assert s.proprio().shape == (10,)
    wait_for(lambda: robot.read_state().gripper_width > 0.075, 5.0, "gripper open after reset")
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 0.3:
        robot.read_state()
        n += 1
    assert n / 0.3 >= 100, f"state read at {n / 0.3:.0f} Hz, need >= 100"


def test_ee_delta_motions_arrive_within_tolerance(robot, real_cfg):
    start = robot.read_state()
    sent = robot.send_action(np.array([1.0, 0, -0.5, 0, 0, 0, -1], dtype=np.float32))
    expected = start.ee_pos + np.array([1.0, 0, -0.5]) * real_cfg.robot.max_translation_per_step
    np.testing.assert_allclose(sent.target_pos, expected, atol=1e-9)
    s = _settled(robot, expected)
    assert rotation_angle(start.ee_mat, s.ee_mat) < ROT_TOL
    # a rotation about the base z axis
    sent = robot.send_action(np.array([0, 0, 0, 0, 0, 1.0, -1], dtype=np.float32))
    want = rotvec_to_mat([0, 0, real_cfg.robot.max_rotation_per_step]) @ s.ee_mat
    assert rotation_angle(want, quat_to_mat(sent.target_quat)) < 1e-9
    # franky-sim's joint servo leaves up to ~0.02 rad on the wrist (no integral term): wait within that
    s2 = wait_for(lambda: (st := robot.read_state()).mode == "Idle" and rotation_angle(want, st.ee_mat)
                  < SIM_ROT_TRACKING and st, 10.0, "rotated EE")
    np.testing.assert_allclose(s2.ee_pos, s.ee_pos, atol=POS_TOL)


def test_streamed_actions_preempt_and_stay_in_the_box(robot, real_cfg):
    """10 Hz stream of +z actions: each target preempts the last; the arm stops at the workspace top."""
    clipped_steps = 0
    for _ in range(40):
        sent = robot.send_action(np.array([0, 0, 1.0, 0, 0, 0, -1], dtype=np.float32))
        assert sent.target_pos[2] <= real_cfg.robot.workspace_high[2]
        clipped_steps += sent.clip.workspace_axes == ("z",)
        if clipped_steps == 3:
            break
        t_next = time.monotonic() + 0.1
        wait_for(lambda t=t_next: time.monotonic() >= t, 1.0, "next control tick")
    assert clipped_steps == 3, "the stream never reached the top of the workspace"
    top = real_cfg.robot.workspace_high[2]
    s = wait_for(lambda: (st := robot.read_state()).mode == "Idle" and st, 10.0, "arm idle")
    assert abs(s.ee_pos[2] - top) < POS_TOL


def test_gripper_grasps_and_opens(robot):
    robot.send_action(np.array([0, 0, 0, 0, 0, 0, 1.0], dtype=np.float32))
    wait_for(lambda: robot.read_state().gripper_width < 0.002, 10.0, "gripper closed")
    robot.send_action(np.array([0, 0, 0, 0, 0, 0, -1.0], dtype=np.float32))
    wait_for(lambda: robot.read_state().gripper_width > 0.075, 10.0, "gripper open")


def test_reflex_during_motion_is_recovered_automatically(robot, franky_sim, real_cfg):
    _, recoveries_before = franky_sim.status()
    robot.send_action(np.array([0, 1.0, 0, 0, 0, 0, -1], dtype=np.float32))
    franky_sim.inject_reflex()
    wait_for(lambda: robot.read_state().mode == "Reflex", 5.0, "reflex mode")
    assert robot.read_state().errors == ("joint_reflex",)
    start = robot.read_state()
    robot.send_action(np.array([0, -1.0, 0, 0, 0, 0, -1], dtype=np.float32))  # recovers, then moves
    assert franky_sim.status() == ("ok", recoveries_before + 1)
    assert robot.reflex_count == 1 and robot.faults[-1].errors == ("joint_reflex",) and robot.faults[-1].recovered
    _settled(robot, start.ee_pos + np.array([0, -real_cfg.robot.max_translation_per_step, 0]))


def test_reflexes_beyond_the_budget_stop_the_stack(real_cfg, franky_sim):
    cfg = dataclasses.replace(real_cfg.robot, ip=franky_sim.host, max_reflex_recoveries=1)
    with FrankaRobot(cfg) as robot:
        robot.reset()
        for i in range(2):
            franky_sim.inject_reflex()
            wait_for(lambda: robot.read_state().mode == "Reflex", 5.0, "reflex mode")
            if i == 0:
                robot.send_action(np.zeros(7, dtype=np.float32))
        with pytest.raises(DeviceFaultError, match="max_reflex_recoveries=1; stopping"):
            robot.send_action(np.zeros(7, dtype=np.float32))
        assert [f.recovered for f in robot.faults] == [True, False]
        robot.reset()  # a new episode: the operator fixed it; reset recovers and restores the budget
        assert robot.read_state().errors == () and robot.reflex_count == 0


def test_watchdog_stops_the_arm_when_commands_stop(real_cfg, franky_sim):
    cfg = dataclasses.replace(real_cfg.robot, ip=franky_sim.host, dynamics_factor=0.05, watchdog_s=0.1)
    with FrankaRobot(cfg) as robot:
        robot.reset()
        start = robot.read_state()
        sent = robot.send_action(np.array([1.0, 0, 0, 0, 0, 0, -1], dtype=np.float32))  # 2 cm, slowly
        wait_for(lambda: robot.watchdog.trips == 1, 2.0, "watchdog trip")
        s = wait_for(lambda: (st := robot.read_state()).mode == "Idle" and st, 5.0, "arm stopped")
        assert np.linalg.norm(s.ee_pos - sent.target_pos) > 0.005, "stopped short of the target"
        assert s.ee_pos[0] > start.ee_pos[0]  # it had started moving
        hold_until = time.monotonic() + 0.3
        wait_for(lambda: time.monotonic() >= hold_until, 1.0, "0.3 s of holding")
        np.testing.assert_allclose(robot.read_state().ee_pos, s.ee_pos, atol=1e-3)  # it holds there
        assert robot.faults[-1].message.startswith("watchdog")


def test_joint_targets_are_clipped_to_the_joint_box(real_cfg, franky_sim):
    high = list(real_cfg.robot.joint_high)
    high[0] = 0.15  # a narrow box so the clipped move is short
    with FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host, joint_high=high)) as robot:
        robot.reset()
        q = np.array(real_cfg.robot.home_joints)
        q[0] = 9.0
        target, report = robot.move_joints(q)
        assert report.limits == ("joint1",) and target[0] == 0.15
        # franky-sim's PD servo trails the finished trajectory: wait for it to arrive
        wait_for(lambda: robot.read_state().joint_pos[0] > 0.145, 10.0, "joint 1 at 0.15")
        np.testing.assert_allclose(robot.read_state().joint_pos, target, atol=0.01)


def test_malformed_action_is_refused_and_nothing_moves(robot):
    before = robot.read_state()
    with pytest.raises(ActionError, match="dz=nan"):
        robot.send_action(np.array([0, 0, np.nan, 0, 0, 0, 0]))
    assert robot.read_state().mode == "Idle"
    np.testing.assert_allclose(robot.read_state().ee_pos, before.ee_pos, atol=1e-4)


def test_unreachable_robot_names_the_fix(real_cfg):
    cfg = dataclasses.replace(real_cfg.robot, ip="127.0.0.1")
    with pytest.raises(DeviceNotFoundError, match=r"unreachable.*FCI"):
        FrankaRobot(cfg, connect_timeout_s=1.0).connect()


# Deadlines: franky-sim made to stop answering, as a hung controller (or franky-sim itself, for a gripper
# command that a second one preempts) would. libfranka would wait for ever; the driver must not.

@pytest.fixture
def muted(franky_sim):
    """franky_sim.mute(...) for one test; always answers again afterwards."""
    yield franky_sim.mute
    franky_sim.mute("none")


def _dropped(franky_sim) -> bool:
    _, _, control, client = franky_sim.details()
    return control == "IDLE" and not client


def test_gripper_command_without_answer_faults_and_stops_the_arm(real_cfg, franky_sim, muted):
    cfg = dataclasses.replace(real_cfg.robot, ip=franky_sim.host)
    with FrankaRobot(cfg) as robot:
        robot.reset()  # (with the default deadline: a full stroke takes ~1.6 s, longer on a loaded machine)
        default_timeout, robot.gripper_timeout_s = robot.gripper_timeout_s, 2.0
        muted("gripper")
        t0 = time.monotonic()
        robot.send_action(np.array([0, 0, 0, 0, 0, 0, 1.0], dtype=np.float32))  # grasp: runs, never answered
        held = robot.read_state().ee_pos
        # nobody needs to call anything: the watchdog thread puts the deadline on the gripper command
        wait_for(lambda: not robot.connected, 2.0 + robot.call_timeout_s + 2.0, "connection dropped")
        assert 2.0 <= time.monotonic() - t0 < 2.0 + robot.call_timeout_s + 2.0
        with pytest.raises(DeviceFaultError, match=r"gripper's grasp got no answer within 2 s.*stops the arm"):
            robot.send_action(np.zeros(7, dtype=np.float32))
        assert robot.faults[-1].recovered is False and "gripper" in robot.faults[-1].message
        wait_for(lambda: _dropped(franky_sim), 5.0, "franky-sim: no client, arm idle")
        muted("none")
        robot.connect()  # recovers without restarting anything else
        np.testing.assert_allclose(robot.read_state().ee_pos, held, atol=1e-3)  # the arm held where it was
        robot.gripper_timeout_s = default_timeout
        robot.reset()
        assert robot.read_state().gripper_width > 0.075


def test_controller_that_stops_answering_is_dropped_within_the_deadline(real_cfg, franky_sim, muted):
    cfg = dataclasses.replace(real_cfg.robot, ip=franky_sim.host)
    with FrankaRobot(cfg, call_timeout_s=1.5) as robot:
        robot.reset()
        muted("robot")  # commands unread; the state still streams
        franky_sim.inject_reflex()
        wait_for(lambda: robot.read_state().mode == "Reflex", 5.0, "reflex mode")
        t0 = time.monotonic()
        with pytest.raises(DeviceFaultError, match=r"no answer to automatic error recovery within 1.5 s"):
            robot.send_action(np.zeros(7, dtype=np.float32))  # recovery first: libfranka waits for ever
        assert time.monotonic() - t0 < 1.5 + 2.0
        assert not robot.connected
        with pytest.raises(DeviceFaultError, match="connect\\(\\) again"):
            robot.read_state()
        robot.stop()  # still safe to call
        muted("none")
        wait_for(lambda: not franky_sim.details()[3], 5.0, "franky-sim: client gone")
        robot.connect()
        robot.reset()  # recovers the reflex and goes home
        assert robot.read_state().errors == ()


def test_state_that_stops_arriving_faults_within_the_deadline(real_cfg, franky_sim, muted):
    with FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host), call_timeout_s=1.5) as robot:
        robot.reset()
        muted("state")
        t0 = time.monotonic()
        with pytest.raises(DeviceFaultError, match=r"no robot state for .* s"):
            wait_for(lambda: robot.read_state() and False, 10.0, "a fault")  # reads return until samples age
        assert time.monotonic() - t0 < 0.5 + 1.5 + 2.0 and not robot.connected
        muted("none")
        wait_for(lambda: not franky_sim.details()[3], 5.0, "franky-sim: client gone")
        robot.connect()
        assert robot.read_state().mode == "Idle"


def test_gripper_state_that_stops_arriving_faults_within_the_deadline(real_cfg, franky_sim, muted):
    """libfranka's gripper connection never recovers from a lost state stream (every later read and command
    fails): the width reads NaN, then the driver faults naming the gripper, while the arm's state kept streaming
    (a gripper read blocked in libfranka stalls no other thread), instead of serving a dead gripper for ever."""
    with FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host), call_timeout_s=3.0) as robot:
        robot.reset()
        muted("gripper_state")
        t0 = time.monotonic()
        wait_for(lambda: math.isnan(robot.read_state().gripper_width), 3.0, "the width to read NaN")
        with pytest.raises(DeviceFaultError, match=r"no gripper state for .* s \(libfranka lost the gripper"):
            wait_for(lambda: robot.read_state() and False, 10.0, "a fault")  # the arm's state is fresh meanwhile
        assert time.monotonic() - t0 < 3.0 + 2.0 and not robot.connected
        muted("none")
        wait_for(lambda: not franky_sim.details()[3], 5.0, "franky-sim: client gone")
        robot.connect()  # a fresh gripper connection
        assert robot.read_state().gripper_width > 0.075


def test_connect_to_a_controller_that_never_answers_fails_in_time(real_cfg, franky_sim, muted):
    muted("robot")
    robot = FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host), connect_timeout_s=2.0)
    t0 = time.monotonic()
    with pytest.raises(DeviceNotFoundError, match=r"no answer to connecting within 2 s.*activate FCI"):
        robot.connect()
    assert time.monotonic() - t0 < 2.0 + 2.0 and not robot.connected


def test_set_gripper_wait_has_a_deadline(real_cfg, franky_sim, muted):
    with FrankaRobot(dataclasses.replace(real_cfg.robot, ip=franky_sim.host)) as robot:
        robot.reset()
        robot.gripper_timeout_s = 1.0
        muted("gripper")
        with pytest.raises(DeviceFaultError, match="gripper's grasp got no answer within 1 s"):
            robot.set_gripper(1.0, wait=True)
        with pytest.raises(DeadlineExceeded):  # nothing reconnects by itself
            wait_for(lambda: robot.connected, 0.2, "reconnected")
