"""robot_node: owns the arm (MuJoCo twin or a Franka). Publishes joint states and the EE pose at
``ros.state_hz``, executes every command through the safety layer (each backend's ``send_action`` clips
to the workspace box, speed and gripper limits), and stops the arm when commands stop arriving
(``robot.watchdog_s``) or when the supervisor asks (SIGUSR1: halt and refuse further commands). In sim it
also resets episodes, reports task success / failure and publishes the twin's state for the cameras.
The log records when the arm is held: each watchdog halt, the stop request (once, even when the watchdog had
halted the arm already), and the first command executed after a halt ("arm released").

Only the actor's signed commands are executed (:mod:`robot_rl_ros.command_auth`, key at ``security.key_path``):
an unsigned, wrongly signed, replayed or expired command is dropped with a throttled warning, and does not feed
the watchdog. So is a command computed from an observation older than ``robot.max_command_age_s`` when it
arrives (the actor checks freshness before it acts, but can be paused or backlogged after that check).

Every executed command is echoed, as clipped, on ``/robot/executed`` (stamped with the observation it acted
on; ``frame_id`` repeats the command's signature field, so its send time says which command ran), so what the arm
actually did is on the wire. On start the node announces episode -1 on ``/robot/episode``:
an actor mid-episode learns that the robot (and, in sim, the world) restarted under it."""

from __future__ import annotations

import signal
import sys

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Int64, String

from robot_rl.config import Config
from robot_rl.control.command_gate import CommandGate, Halt, Refusal
from robot_rl.control.safety import ActionError
from robot_rl.hardware.robot import make_robot
from robot_rl.security import RefusalLog, SignatureError, key_from_config
from robot_rl_ros import qos
from robot_rl_ros.command_auth import CommandGuard
from robot_rl_ros.conversions import (
    JOINT_NAMES,
    ConversionError,
    action_to_msg,
    joint_state_to_msg,
    msg_to_action,
    pose_to_msg,
    stamp_to_ns,
)
from robot_rl_ros.node_util import DropLog, now_ns, run_node

NO_EPISODE = -1  # announced on /robot/episode at start: no episode (the robot node restarted)


class RobotNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("robot_node")
        self.guard = CommandGuard(key_from_config(cfg), cfg.security.command_expiry_s)  # before the arm moves
        self.refusals = RefusalLog(self.get_logger().warning)
        self.arm = make_robot(cfg)
        self.state_vector = getattr(self.arm, "state_vector", None)  # the twin's full state (sim only)
        self.gate = CommandGate(cfg.robot.watchdog_s, cfg.robot.max_command_age_s)
        self.drops = DropLog(self)
        self.pub_joints = self.create_publisher(JointState, qos.JOINT_STATES, qos.SENSOR)
        self.pub_pose = self.create_publisher(PoseStamped, qos.EE_POSE, qos.SENSOR)
        self.pub_halted = self.create_publisher(Bool, qos.ROBOT_HALTED, qos.LATCHED)
        self.pub_episode = self.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        self.pub_executed = self.create_publisher(JointState, qos.ROBOT_EXECUTED, qos.EVENTS)
        self.pub_task = self.create_publisher(String, qos.TASK_EVENTS, qos.EVENTS)
        if self.state_vector is not None:
            self.pub_sim = self.create_publisher(JointState, qos.SIM_STATE_TOPIC, qos.SIM_STATE)
        self.create_subscription(JointState, qos.ROBOT_COMMAND, self.on_command, qos.COMMAND)
        self.create_subscription(Int64, qos.ROBOT_RESET, self.on_reset, qos.EVENTS)
        self.create_timer(1.0 / cfg.ros.state_hz, self.on_timer)
        signal.signal(signal.SIGUSR1, lambda *_: self.gate.request_stop())
        self.pub_halted.publish(Bool(data=True))  # nothing commanded yet
        self.publish_state()
        self.pub_episode.publish(Int64(data=NO_EPISODE))
        self.get_logger().info(f"robot {cfg.robot.name} ({cfg.robot.backend.value}) up; watchdog "
                               f"{cfg.robot.watchdog_s} s")

    def on_command(self, msg: JointState) -> None:
        now = now_ns(self)
        if not self.gate.stopped:  # a stopped robot refuses everything, signed or not
            try:
                self.guard.check(msg, now)
            except SignatureError as exc:
                self.refusals.refuse(exc.reason, f"refused command on {qos.ROBOT_COMMAND}: {exc}; not executed")
                return
        stamp = stamp_to_ns(msg.header.stamp)
        refused = self.gate.admit(stamp * 1e-9, now * 1e-9)
        if refused is not None:
            if refused.kind is Refusal.stopped:
                self.drops.drop(qos.ROBOT_COMMAND, "-", refused.message)
            else:
                self.refusals.refuse(refused.kind.value, f"refused command on {qos.ROBOT_COMMAND}: {refused.message}")
            return
        try:
            sent = self.arm.send_action(msg_to_action(msg))  # the safety layer clips it
        except ConversionError as exc:
            self.drops.drop(qos.ROBOT_COMMAND, exc.field, str(exc))
            return
        except ActionError as exc:
            self.drops.drop(qos.ROBOT_COMMAND, "position", str(exc))
            return
        echo = action_to_msg(sent.action, stamp)
        echo.header.frame_id = msg.header.frame_id  # which command ran (its signed send time), for whoever audits
        self.pub_executed.publish(echo)
        if self.gate.executed():
            self.pub_halted.publish(Bool(data=False))
            self.get_logger().info("arm released: executing commands again")
        outcome = self.arm.outcome()
        if outcome is not None:
            self.pub_task.publish(String(data=outcome))
        self.publish_state()

    def on_reset(self, msg: Int64) -> None:
        self.gate.reset()
        self.arm.reset_episode(int(msg.data))
        self.get_logger().info(f"episode reset (seed {msg.data})")
        self.publish_state()
        self.pub_episode.publish(Int64(data=int(msg.data)))

    def on_timer(self) -> None:
        for halt in self.gate.poll():
            self.arm.stop()
            if halt is Halt.stop_requested:
                self.get_logger().error("stop requested by the supervisor: arm halted, commands refused")
            else:
                self.get_logger().warning(f"no command for {self.gate.watchdog.timeout_s} s: arm halted")
            self.pub_halted.publish(Bool(data=True))
        self.publish_state()

    def publish_state(self) -> None:
        s = self.arm.read_state()
        t = now_ns(self)
        self.pub_joints.publish(joint_state_to_msg(JOINT_NAMES, np.append(s.joint_pos, s.gripper_width),
                                                   np.append(s.joint_vel, 0.0), t))
        self.pub_pose.publish(pose_to_msg(s.ee_pos, s.ee_quat, t))
        if self.state_vector is not None:
            self.pub_sim.publish(joint_state_to_msg([], self.state_vector(), None, t))

    def close(self) -> None:
        try:
            self.arm.stop()
        finally:
            self.arm.disconnect()


def main(argv: list[str] | None = None) -> int:
    return run_node(RobotNode, argv)


if __name__ == "__main__":
    sys.exit(main())
