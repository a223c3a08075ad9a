"""robot_node on the MuJoCo twin: executes commands through the safety layer (clipped), halts the arm when
the command stream stops (watchdog), drops malformed commands and commands computed from too old an
observation, echoes what it executed on ``/robot/executed``, announces its start on ``/robot/episode`` (-1), and
refuses commands after a stop request.
Commands are signed with the test's deployment key (``tiny_overrides`` puts it in the test's directory)."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.command_auth import CommandSigner
from robot_rl_ros.conversions import action_to_msg, msg_to_pose, stamp_to_ns
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Int64

from robot_rl.config import load_config
from robot_rl.security import key_from_config
from tests.integration.rl.conftest import tiny_overrides
from tests.ros.conftest import wait_for


def test_robot_node_clips_commands_and_halts_when_they_stop(tmp_path, probe, spawn):
    overrides = [*tiny_overrides(tmp_path), "robot.watchdog_s=0.3"]
    cfg = load_config(overrides)
    robot = spawn("robot_node", overrides)
    signer = CommandSigner(key_from_config(cfg))
    poses = probe.collect(PoseStamped, qos.EE_POSE, qos.SENSOR)
    halted = probe.collect(Bool, qos.ROBOT_HALTED, qos.LATCHED)
    episode = probe.collect(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
    executed = probe.collect(JointState, qos.ROBOT_EXECUTED, qos.EVENTS)
    commands = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
    wait_for(lambda: poses and halted and episode and commands.get_subscription_count(), 60,
             "the robot node to come up")
    assert halted[-1][1].data is True, "nothing commanded yet: the arm must be held"
    assert [m.data for _, m in episode] == [-1], "a starting robot node announces that no episode is running"

    def pose_after(t_ns: int) -> np.ndarray:
        with probe.lock:
            fresh = [m for _, m in poses if stamp_to_ns(m.header.stamp) > t_ns]
        return msg_to_pose(fresh[-1])[0] if fresh else None  # (3,) or None

    def command(action) -> np.ndarray:
        t = probe.now_ns()
        commands.publish(signer.sign(action_to_msg(np.asarray(action, np.float32), t), t))
        return wait_for(lambda: pose_after(t), 5, "the pose after a command")

    start = pose_after(0)
    steps = []
    prev = start
    for _ in range(6):  # +x far out of range: the safety layer clips it to one full step per command
        pos = command([5.0, 0, 0, 0, 0, 0, -1])
        steps.append(pos - prev)
        prev = pos
    last_command = time.monotonic()
    moved = prev - start
    assert moved[0] > 0.05, f"the arm should have moved along +x, moved {moved}"
    assert max(abs(s[0]) for s in steps) <= cfg.robot.max_translation_per_step + 0.005, "command not clipped"
    assert halted[-1][1].data is False
    wait_for(lambda: len(executed) == 6, 5, "an echo of each executed command")
    echoed = np.array([m.position for _, m in executed])
    np.testing.assert_allclose(echoed[:, 0], 1.0, err_msg="the echo is the command as clipped (5.0 -> 1.0)")

    wait_for(lambda: halted[-1][1].data is True, 5, "the watchdog to halt the arm after commands stopped")
    assert time.monotonic() - last_command >= cfg.robot.watchdog_s - 0.05
    assert "no command for 0.3 s: arm halted" in robot.output()

    # malformed commands are dropped with a warning naming the topic and the field; the node stays up
    bad = action_to_msg(np.zeros(7, np.float32), probe.now_ns())
    bad.name = ["a", "b", "c", "d", "e", "f", "g"]
    commands.publish(signer.sign(bad, probe.now_ns()))
    wait_for(lambda: "dropped malformed message on /robot/command: field name" in robot.output(), 10,
             "the drop warning for wrong names")
    assert robot.alive()

    # a command acting on an observation older than robot.max_command_age_s is refused, however well signed
    before, n_executed = pose_after(0), len(executed)
    t = probe.now_ns()
    stale = action_to_msg(np.array([0, 0, 1, 0, 0, 0, -1], np.float32), t - int(2 * cfg.robot.max_command_age_s * 1e9))
    commands.publish(signer.sign(stale, t))
    wait_for(lambda: "refused command on /robot/command: computed from an observation" in robot.output(), 10,
             "the refusal of a stale command")
    assert "s old (robot.max_command_age_s=0.5); not executed (1 stale so far)" in robot.output()
    np.testing.assert_array_equal(pose_after(0), before)
    assert len(executed) == n_executed

    # the supervisor's stop request: halted, and commands refused from then on
    command([0, 0, 0.5, 0, 0, 0, -1])
    wait_for(lambda: halted[-1][1].data is False, 5, "un-halted by a command")
    os.kill(robot.proc.pid, signal.SIGUSR1)
    wait_for(lambda: halted[-1][1].data is True, 5, "the stop request to halt the arm")
    before = pose_after(0)
    t = probe.now_ns()
    commands.publish(signer.sign(action_to_msg(np.array([0, 0, 1, 0, 0, 0, -1], np.float32), t), t))
    wait_for(lambda: "command refused" in robot.output(), 5, "the refused command")
    np.testing.assert_array_equal(pose_after(0), before)
