"""robot_node with the Franka backend (franky-control / libfranka) against franky-sim, the libfranka protocol
peer: joint states stream, a reset goes home, commands move the arm, the watchdog halts it, SIGINT stops
it cleanly. Marked slow like the other Franka tests (a libfranka gripper read can block; see the report)."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.conversions import action_to_msg, msg_to_pose
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Int64

from tests.ros.conftest import wait_for

pytest.importorskip("franky", reason="the franka extra is not installed")
pytestmark = pytest.mark.slow


def test_franka_robot_node_against_franky_sim(tmp_path, probe, spawn):
    from robot_rl_ros.command_auth import CommandSigner

    from robot_rl.hardware.franka_sim import FrankySimPeer
    from robot_rl.security import load_key

    key_path = tmp_path / "deployment.key"
    signer = CommandSigner(load_key(key_path))

    with FrankySimPeer() as peer:
        poses = probe.collect(PoseStamped, qos.EE_POSE, qos.SENSOR)
        halted = probe.collect(Bool, qos.ROBOT_HALTED, qos.LATCHED)
        episodes = probe.collect(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        commands = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
        reset = probe.node.create_publisher(Int64, qos.ROBOT_RESET, qos.EVENTS)
        node = spawn("robot_node", ["robot=fr3_real", f"robot.ip={peer.host}", "robot.realtime=false",
                                    "robot.watchdog_s=1.0", f"security.key_path={key_path}"])

        def up() -> bool:
            assert node.alive(), node.output()[-3000:]
            return bool(poses) and bool(halted) and commands.get_subscription_count() > 0

        wait_for(up, 90, "the Franka robot node to connect and stream")
        wait_for(lambda: reset.get_subscription_count() > 0, 10, "the reset subscription")
        reset.publish(Int64(data=5))
        wait_for(lambda: episodes and episodes[-1][1].data == 5, 60, "the reset (move home) to finish")

        def z() -> float:
            with probe.lock:
                return float(msg_to_pose(poses[-1][1])[0][2])

        z0 = z()
        moved = []

        def climb() -> bool:  # one command per poll (50 Hz here, well inside the 1 s watchdog) until it rose 1 cm
            t = probe.now_ns()  # each command signed afresh: the robot node refuses a replayed one
            commands.publish(signer.sign(action_to_msg(np.array([0, 0, 1.0, 0, 0, 0, -1], np.float32), t), t))
            moved.append(z() - z0)
            return moved[-1] > 0.01

        wait_for(climb, 30, "the arm to rise 1 cm", poll_s=0.05)
        wait_for(lambda: halted[-1][1].data is True, 10, "the watchdog to halt the arm once commands stopped")
        assert node.stop() == 0, node.output()[-3000:]
