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
from robot_rl.config.schema import RobotBackend
from robot_rl.control.safety import ActionError, Watchdog
from robot_rl.hardware.robot import RobotState
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


class SimArm:
    """The MuJoCo twin: commands step physics one control period (lock-step with the actor)."""

    sim = True

    def __init__(self, cfg: Config) -> None:
        from robot_rl.graph.sim_state import sim_state_vector
        from robot_rl.sim.env import PickPlaceEnv

        self.env = PickPlaceEnv(cfg)
        self._vector = sim_state_vector
        self.env.reset(cfg.ros.seed)
        self.reported = False

    def reset(self, seed: int) -> None:
        self.env.reset(seed)
        self.reported = False

    def send_action(self, action: np.ndarray):
        sent = self.env.robot.send_action(action)
        self.env.steps += 1
        return sent

    def outcome(self) -> str | None:
        """success / failure once per episode, from the twin's privileged task check."""
        if self.reported:
            return None
        success, failed = self.env.evaluate()
        if success or failed:
            self.reported = True
            return "success" if success else "failure"
        return None

    def read_state(self) -> RobotState:
        return self.env.robot.read_state()

    def sim_state(self) -> np.ndarray:
        return self._vector(self.env.world)

    def stop(self) -> None:
        self.env.robot.stop()

    def close(self) -> None:
        self.env.close()


class FrankaArm:
    sim = False

    def __init__(self, cfg: Config) -> None:
        from robot_rl.hardware.franka import FrankaRobot

        self.robot = FrankaRobot(cfg.robot)
        self.robot.connect()

    def reset(self, seed: int) -> None:
        self.robot.reset()

    def send_action(self, action: np.ndarray):
        return self.robot.send_action(action)

    def outcome(self) -> str | None:
        return None  # on hardware the human says success / failure (teleop events)

    def read_state(self) -> RobotState:
        return self.robot.read_state()

    def stop(self) -> None:
        self.robot.stop()

    def close(self) -> None:
        try:
            self.robot.stop()
        finally:
            self.robot.disconnect()


class RobotNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("robot_node")
        self.guard = CommandGuard(key_from_config(cfg), cfg.security.command_max_age_s)  # before the arm moves
        self.refusals = RefusalLog(self.get_logger().warning)
        self.arm = SimArm(cfg) if cfg.robot.backend == RobotBackend.mujoco else FrankaArm(cfg)
        self.watchdog = Watchdog(cfg.robot.watchdog_s)
        self.max_age_ns = int(cfg.robot.max_command_age_s * 1e9)
        self.drops = DropLog(self)
        self.halted = False
        self.latched_stop = False
        self.stop_reported = False  # the stop request was acted on (arm stopped, logged, halted published)
        self.executed = 0
        self.pub_joints = self.create_publisher(JointState, qos.JOINT_STATES, qos.SENSOR)
        self.pub_pose = self.create_publisher(PoseStamped, qos.EE_POSE, qos.SENSOR)
        self.pub_halted = self.create_publisher(Bool, qos.ROBOT_HALTED, qos.LATCHED)
        self.pub_episode = self.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        self.pub_executed = self.create_publisher(JointState, qos.ROBOT_EXECUTED, qos.EVENTS)
        self.pub_task = self.create_publisher(String, qos.TASK_EVENTS, qos.EVENTS)
        self.pub_sim = self.create_publisher(JointState, qos.SIM_STATE_TOPIC, qos.SIM_STATE) if self.arm.sim else None
        self.create_subscription(JointState, qos.ROBOT_COMMAND, self.on_command, qos.COMMAND)
        self.create_subscription(Int64, qos.ROBOT_RESET, self.on_reset, qos.EVENTS)
        self.create_timer(1.0 / cfg.ros.state_hz, self.on_timer)
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "latched_stop", True))
        self._set_halted(True)  # nothing commanded yet
        self.publish_state()
        self.pub_episode.publish(Int64(data=NO_EPISODE))
        self.get_logger().info(f"robot {cfg.robot.name} ({cfg.robot.backend.value}) up; watchdog "
                               f"{cfg.robot.watchdog_s} s")

    def on_command(self, msg: JointState) -> None:
        if self.latched_stop:
            self.drops.drop(qos.ROBOT_COMMAND, "-", "the robot was stopped by the supervisor; command refused")
            return
        now = now_ns(self)
        try:
            self.guard.check(msg, now)
        except SignatureError as exc:
            self.refusals.refuse(exc.reason, f"refused command on {qos.ROBOT_COMMAND}: {exc}; not executed")
            return
        stamp = stamp_to_ns(msg.header.stamp)
        if self.max_age_ns and now - stamp > self.max_age_ns:
            self.refusals.refuse("stale", f"refused command on {qos.ROBOT_COMMAND}: computed from an observation "
                                          f"{(now - stamp) * 1e-9:.3f} s old (robot.max_command_age_s="
                                          f"{self.max_age_ns * 1e-9:g}); not executed")
            return
        try:
            action = msg_to_action(msg)
            sent = self.arm.send_action(action)  # the safety layer clips it
        except ConversionError as exc:
            self.drops.drop(qos.ROBOT_COMMAND, exc.field, str(exc))
            return
        except ActionError as exc:
            self.drops.drop(qos.ROBOT_COMMAND, "position", str(exc))
            return
        self.executed += 1
        self.watchdog.feed()
        echo = action_to_msg(sent.action, stamp)
        echo.header.frame_id = msg.header.frame_id  # which command ran (its signed send time), for whoever audits
        self.pub_executed.publish(echo)
        if self.halted:
            self._set_halted(False)
            self.get_logger().info("arm released: executing commands again")
        outcome = self.arm.outcome()
        if outcome is not None:
            self.pub_task.publish(String(data=outcome))
        self.publish_state()

    def on_reset(self, msg: Int64) -> None:
        self.watchdog.disarm()
        self.arm.reset(int(msg.data))
        self.get_logger().info(f"episode reset (seed {msg.data})")
        self.publish_state()
        self.pub_episode.publish(Int64(data=int(msg.data)))

    def on_timer(self) -> None:
        if self.latched_stop and not self.stop_reported:  # also when the watchdog had already halted the arm
            self.stop_reported = True
            self.arm.stop()
            self.get_logger().error("stop requested by the supervisor: arm halted, commands refused")
            self._set_halted(True)
        if self.watchdog.check():
            self.arm.stop()
            self.get_logger().warning(f"no command for {self.watchdog.timeout_s} s: arm halted")
            self._set_halted(True)
        self.publish_state()

    def publish_state(self) -> None:
        s = self.arm.read_state()
        t = now_ns(self)
        self.pub_joints.publish(joint_state_to_msg(JOINT_NAMES, np.append(s.joint_pos, s.gripper_width),
                                                   np.append(s.joint_vel, 0.0), t))
        self.pub_pose.publish(pose_to_msg(s.ee_pos, s.ee_quat, t))
        if self.pub_sim is not None:
            self.pub_sim.publish(joint_state_to_msg([], self.arm.sim_state(), None, t))

    def _set_halted(self, halted: bool) -> None:
        self.halted = halted
        self.pub_halted.publish(Bool(data=halted))

    def close(self) -> None:
        self.arm.close()  # stops the arm first


def main(argv: list[str] | None = None) -> int:
    return run_node(RobotNode, argv)


if __name__ == "__main__":
    sys.exit(main())
