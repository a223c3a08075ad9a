"""robot_node on the MuJoCo twin: executes commands through the safety layer (clipped), halts the arm when
the command stream stops (watchdog), drops malformed commands and commands computed from too old an
observation, echoes what it executed on ``/robot/executed``, announces its start on ``/robot/episode`` (-1), and
refuses commands after a stop request.
Commands are signed with the test's deployment key (``tiny_overrides`` puts it in the test's directory).

Measured without scheduler luck: the twin only moves when a command executes, and each step is read from a pose
the robot published after that command's ``/robot/executed`` echo (which names the command by its signed send
time) reached the test, so a pose published before the execution can never make one step look like two. The
watchdog's delay is read from the robot's own log: the trip after the last "arm released" line (the log is the
robot's serialised record, and a command's release line is written before any pose the robot publishes after
that command's echo) is the one that followed the last command; its log stamp minus that command's send time
bounds the robot's feed-to-trip delay from below whatever the delivery and scheduling delays. The stop request
is waited for in the robot's log, never assumed done when ``/robot/halted`` reads True (the watchdog may have
halted the arm first)."""

from __future__ import annotations

import os
import re
import signal

import numpy as np
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.command_auth import CommandSigner, send_ns
from robot_rl_ros.conversions import action_to_msg, msg_to_pose, stamp_to_ns
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Int64

from robot_rl.config import load_config
from robot_rl.security import key_from_config
from tests.integration.learner.conftest import tiny_overrides
from tests.ros.conftest import wait_for

LOG_FORMAT = "[{severity}] [{time}] [{name}]: {message}"  # {time}: the robot's system clock, s.ns
TRIP = "no command for 0.3 s: arm halted"
RELEASED = "arm released: executing commands again"
STOPPED = "stop requested by the supervisor: arm halted, commands refused"


def robot_log(output: str) -> list[tuple[str, int]]:
    """The robot node's log lines in order, as (message, log stamp ns)."""
    return [(msg, int(sec) * 10**9 + int(frac.ljust(9, "0")[:9]))
            for sec, frac, msg in re.findall(r"\[(\d+)\.(\d+)\] \[robot_node\]: (.*)", output)]


def test_robot_node_clips_commands_and_halts_when_they_stop(tmp_path, probe, spawn, monkeypatch):
    overrides = [*tiny_overrides(tmp_path), "robot.watchdog_s=0.3"]
    cfg = load_config(overrides)
    monkeypatch.setenv("RCUTILS_CONSOLE_OUTPUT_FORMAT", LOG_FORMAT)  # inherited by the node process
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

    def pose_after(t_ns: int) -> np.ndarray | None:
        """The newest EE position the robot stamped after ``t_ns`` (probe clock = robot clock: one host)."""
        with probe.lock:
            fresh = [m for _, m in poses if stamp_to_ns(m.header.stamp) > t_ns]
        return msg_to_pose(fresh[-1])[0] if fresh else None  # (3,) or None

    def echo_of(sent_ns: int) -> int | None:
        """When the ``/robot/executed`` echo of the command signed at ``sent_ns`` arrived (probe ns), or None."""
        with probe.lock:
            return next((recv for recv, m in executed if send_ns(m) == sent_ns), None)

    def command(action) -> tuple[int, np.ndarray]:
        """Send one command; (its signed send time, the EE position after it executed). The echo is published
        after the arm moved, so a pose stamped after the echo's receipt shows this execution and no earlier one."""
        t = probe.now_ns()
        msg = signer.sign(action_to_msg(np.asarray(action, np.float32), t), t)
        commands.publish(msg)
        done = wait_for(lambda: echo_of(send_ns(msg)), 5, "the echo of the executed command")
        return send_ns(msg), wait_for(lambda: pose_after(done), 5, "a pose published after the execution")

    start = pose_after(0)
    steps = []
    prev = start
    sent = []
    for _ in range(6):  # +x far out of range: the safety layer clips it to one full step per command
        t, pos = command([5.0, 0, 0, 0, 0, 0, -1])
        sent.append(t)
        steps.append(pos - prev)
        prev = pos
    # every release is logged by now: before any pose published after the command's echo; no commands follow
    releases = [i for i, (msg, _) in enumerate(robot_log(robot.output())) if msg == RELEASED]
    assert releases, "the first command released the arm held since the start"
    moved = prev - start
    assert moved[0] > 0.05, f"the arm should have moved along +x, moved {moved}"
    assert all(s[0] > 0 for s in steps), f"each command moved the arm along +x once: {steps}"
    assert max(abs(s[0]) for s in steps) <= cfg.robot.max_translation_per_step + 0.005, "command not clipped"
    with probe.lock:
        assert [send_ns(m) for _, m in executed] == sent, "one echo per executed command, in order"
        echoed = np.array([m.position for _, m in executed])
    np.testing.assert_allclose(echoed[:, 0], 1.0, err_msg="the echo is the command as clipped (5.0 -> 1.0)")

    trips = wait_for(lambda: [t for msg, t in robot_log(robot.output())[releases[-1]:] if msg == TRIP], 5,
                     "the watchdog to halt the arm after commands stopped")
    # the robot fed its watchdog after the last command was sent, tripped at least watchdog_s after that feed and
    # logged it after tripping (1e-3: the robot's monotonic watchdog clock against the system clock of the stamps)
    assert (trips[0] - sent[-1]) * 1e-9 >= cfg.robot.watchdog_s * (1 - 1e-3), "halted before the watchdog lapsed"
    wait_for(lambda: halted[-1][1].data is True, 5, "/robot/halted to say the arm is held")

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

    # the supervisor's stop request: halted, and commands refused from then on (also when the watchdog halted first)
    command([0, 0, 0.5, 0, 0, 0, -1])
    os.kill(robot.proc.pid, signal.SIGUSR1)
    wait_for(lambda: STOPPED in robot.output(), 5, "the robot to act on the stop request")
    wait_for(lambda: halted[-1][1].data is True, 5, "/robot/halted to say the arm is held")
    before, n_executed = pose_after(0), len(executed)
    t = probe.now_ns()
    commands.publish(signer.sign(action_to_msg(np.array([0, 0, 1, 0, 0, 0, -1], np.float32), t), t))
    wait_for(lambda: "the robot was stopped by the supervisor; command refused" in robot.output(), 5,
             "the refused command")
    np.testing.assert_array_equal(pose_after(0), before)
    assert len(executed) == n_executed
