"""robot_node with the Franka backend (franky-control / libfranka) against franky-sim, the libfranka protocol
peer: joint states stream, a reset over ``/robot/reset`` goes home (arm at ``home_joints``, gripper open),
signed commands move the arm, the watchdog halts it when they stop, SIGINT stops the node cleanly.

In the default suite: no libfranka call can hang it (every call into the driver's worker process has a deadline,
the gripper's state stream included; see :mod:`robot_rl.hardware.franka`). ~15 s on an idle 2-core machine."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.conversions import JOINT_NAMES, action_to_msg, msg_to_joint_state, msg_to_pose
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Int64

from robot_rl.config import load_config
from tests.ros.conftest import wait_for

pytest.importorskip("franky", reason="the franka extra is not installed")

HOME_TOL = 0.03  # rad: franky-sim's joint PD keeps a small steady-state error (no integral term)
OVERRIDES = ["robot=fr3_real", "robot.realtime=false", "robot.watchdog_s=1.0"]


def test_franka_robot_node_against_franky_sim(tmp_path, probe, spawn):
    from robot_rl_ros.command_auth import CommandSigner

    from robot_rl.security import load_key
    from robot_rl.testing.franka_sim import FrankySimPeer

    key_path = tmp_path / "deployment.key"
    signer = CommandSigner(load_key(key_path))
    home = np.asarray(load_config(OVERRIDES).robot.home_joints)

    with FrankySimPeer() as peer:
        poses = probe.collect(PoseStamped, qos.EE_POSE, qos.SENSOR)
        joints = probe.collect(JointState, qos.JOINT_STATES, qos.SENSOR)
        halted = probe.collect(Bool, qos.ROBOT_HALTED, qos.LATCHED)
        episodes = probe.collect(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        commands = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
        reset = probe.node.create_publisher(Int64, qos.ROBOT_RESET, qos.EVENTS)
        node = spawn("robot_node", [*OVERRIDES, f"robot.ip={peer.host}", f"security.key_path={key_path}"])

        def alive() -> None:
            assert node.alive(), node.output()[-3000:]

        def latest_joints() -> np.ndarray:
            alive()
            with probe.lock:
                return msg_to_joint_state(joints[-1][1], JOINT_NAMES)[0] if joints else np.zeros(0)

        def z() -> float:
            with probe.lock:
                return float(msg_to_pose(poses[-1][1])[0][2])

        def halted_flags() -> list[bool]:
            with probe.lock:
                return [m.data for _, m in halted]

        wait_for(lambda: (alive(), poses and joints and halted and commands.get_subscription_count() > 0)[1], 90,
                 "the Franka robot node to connect and stream")
        assert halted_flags()[-1] is True, "nothing commanded yet: the node must start halted"
        assert np.abs(latest_joints()[:7] - home).max() > 0.5, "franky-sim starts away from home"
        wait_for(lambda: reset.get_subscription_count() > 0, 10, "the reset subscription")
        reset.publish(Int64(data=5))
        wait_for(lambda: episodes and episodes[-1][1].data == 5, 60, "the reset (move home) to finish")
        wait_for(lambda: np.abs(latest_joints()[:7] - home).max() < HOME_TOL, 10, "joint states at home_joints")
        wait_for(lambda: latest_joints()[7] > 0.075, 10, "the gripper open after the reset")

        z0, moved = z(), []

        def climb() -> bool:  # one command per poll (20 Hz here, well inside the 1 s watchdog) until it rose 1 cm
            t = probe.now_ns()  # each command signed afresh: the robot node refuses a replayed one
            commands.publish(signer.sign(action_to_msg(np.array([0, 0, 1.0, 0, 0, 0, -1], np.float32), t), t))
            moved.append(z() - z0)
            return moved[-1] > 0.01

        wait_for(climb, 30, "the arm to rise 1 cm", poll_s=0.05)
        wait_for(lambda: False in halted_flags(), 10, "the commands to release the halt")
        released = halted_flags().index(False)
        wait_for(lambda: True in halted_flags()[released:], 10, "the watchdog to halt the arm once commands stopped")
        wait_for(lambda: "arm halted" in node.output(), 5, "the node to log the watchdog's halt")
        assert node.stop() == 0, node.output()[-3000:]
