"""teleop_node: the human's commands. ``/teleop/twist`` (TwistStamped, action units) at ``ros.teleop_hz``,
``/teleop/gripper`` (latched), ``/teleop/events`` (take over / hand back, success, failure, reset, pause,
quit). Backends (``ros.teleop``): ``devices`` (SpaceMouse + keyboard), ``sim`` (the simulated human of the
sim task: mirrors the twin from ``/sim/state``, watches ``/actor/policy_action`` and takes over with the
scripted expert when the policy drifts), ``none``.

Whether the human has taken over is also state, latched on ``/teleop/intervening`` (False when the node starts):
an actor holding for a take-over whose teleop node died learns from the restarted node that nobody is
intervening, and an actor that starts late learns that somebody is."""

from __future__ import annotations

import sys
import time

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float32, Int64, String

from robot_rl.config import Config
from robot_rl_ros import qos
from robot_rl_ros.conversions import ConversionError, msg_to_action, msg_to_joint_state, twist_to_msg
from robot_rl_ros.node_util import DropLog, now_ns, run_node


class TeleopNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("teleop_node")
        self.cfg = cfg
        self.drops = DropLog(self)
        self.pub_twist = self.create_publisher(TwistStamped, qos.TELEOP_TWIST, qos.SENSOR)
        self.pub_gripper = self.create_publisher(Float32, qos.TELEOP_GRIPPER, qos.LATCHED)
        self.pub_events = self.create_publisher(String, qos.TELEOP_EVENTS, qos.EVENTS)
        self.pub_intervening = self.create_publisher(Bool, qos.TELEOP_INTERVENING, qos.LATCHED)
        self.pub_intervening.publish(Bool(data=False))
        self.twist: np.ndarray | None = None  # (6,) while the human commands
        self.gripper = -1.0
        self.intervening = False
        self.backend = cfg.ros.teleop
        if self.backend == "sim":
            from robot_rl.control.safety import SafetyLimits
            from robot_rl.sim.expert import ScriptedExpert
            from robot_rl.sim.harness.human import SimulatedHuman
            from robot_rl.sim.world import SimWorld

            self.world = SimWorld(cfg)
            self.human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, SafetyLimits(cfg.robot)))
            self._have_state = False
            self.create_subscription(JointState, qos.SIM_STATE_TOPIC, self.on_sim_state, qos.SIM_STATE)
            self.create_subscription(JointState, qos.POLICY_ACTION, self.on_policy_action, qos.SENSOR)
            self.create_subscription(Int64, qos.ROBOT_EPISODE, self.on_episode, qos.LATCHED)
        elif self.backend == "devices":
            from robot_rl.hardware.keyboard import KeyboardTeleop
            from robot_rl.hardware.spacemouse import SpaceMouse

            self.mouse = SpaceMouse(cfg.teleop.spacemouse).start()
            self.keys = KeyboardTeleop(dict(cfg.teleop.keys)).start()
            self._buttons: tuple[int, ...] = ()
            self.pub_gripper.publish(Float32(data=self.gripper))  # the toggle starts open
        self.create_timer(1.0 / cfg.ros.teleop_hz, self.on_timer)
        self.get_logger().info(f"teleop up ({self.backend})")

    # ------------------------------------------------------------------ sim: the simulated human
    def on_sim_state(self, msg: JointState) -> None:
        from robot_rl.sim.state_vector import apply_sim_state

        try:
            vec, _ = msg_to_joint_state(msg)
            apply_sim_state(self.world, vec)
            self._have_state = True
        except (ConversionError, ValueError) as exc:
            self.drops.drop(qos.SIM_STATE_TOPIC, getattr(exc, "field", "position"), str(exc))

    def on_episode(self, msg: Int64) -> None:
        if msg.data >= 0:  # -1: a robot node started, no episode yet
            self.human.reset(int(msg.data))
        self._set_intervening(False)

    def on_policy_action(self, msg: JointState) -> None:
        if not self._have_state:
            return
        try:
            policy_action = msg_to_action(msg)
        except ConversionError as exc:
            self.drops.drop(qos.POLICY_ACTION, exc.field, str(exc))
            return
        from robot_rl.sim.env import TaskState

        w = self.world
        pos, mat = w.tcp_pose()
        cube_pos, cube_quat = w.cube_pose()
        state = TaskState(tcp_pos=pos, tcp_mat=mat, gripper_width=w.gripper_width(), cube_pos=cube_pos,
                          cube_quat=cube_quat, target_pos=w.target_pos(), cube_half_size=self.cfg.task.cube_half_size)
        action = self.human.decide(state, policy_action)
        if action is None:
            self._set_intervening(False)
            return
        self.twist = np.asarray(action[:6], dtype=np.float32)
        self.gripper = float(action[6])
        self.pub_gripper.publish(Float32(data=self.gripper))
        self.pub_twist.publish(twist_to_msg(self.twist, now_ns(self)))
        self._set_intervening(True)

    def _set_intervening(self, on: bool) -> None:
        if on != self.intervening:
            self.intervening = on
            self.pub_events.publish(String(data="takeover" if on else "handback"))
            self.pub_intervening.publish(Bool(data=on))
            if not on:
                self.twist = None

    # ------------------------------------------------------------------ devices
    def _poll_devices(self) -> None:
        sample = self.mouse.latest(self.cfg.teleop.spacemouse.max_age_s)
        sm = self.cfg.teleop.spacemouse
        pressed = [i for i, b in enumerate(sample.buttons) if b and (i >= len(self._buttons) or not self._buttons[i])]
        self._buttons = sample.buttons
        if sm.button_gripper in pressed:
            self.gripper = -self.gripper
            self.pub_gripper.publish(Float32(data=self.gripper))
        if sm.button_takeover in pressed:
            self._set_intervening(not self.intervening)
        for event in self.keys.poll():
            if event.event in ("takeover", "handback"):
                self._set_intervening(event.event == "takeover")
            else:
                self.pub_events.publish(String(data=event.event))
        self.twist = sample.twist
        # the SpaceMouse sample's own read time, moved onto ROS time
        self._stamp = now_ns(self) - int((time.monotonic() - sample.stamp) * 1e9)

    def on_timer(self) -> None:
        if self.backend == "devices":
            try:
                self._poll_devices()
            except Exception as exc:  # a stale or unplugged device: publish nothing, the actor holds
                self.get_logger().warning(f"teleop device: {exc}", throttle_duration_sec=2.0)
                return
            self.pub_twist.publish(twist_to_msg(self.twist, self._stamp))
        elif self.twist is not None:  # sim: keep the human's command fresh while intervening
            self.pub_twist.publish(twist_to_msg(self.twist, now_ns(self)))

    def close(self) -> None:
        if self.backend == "devices":
            self.mouse.stop()
            self.keys.stop()
        elif self.backend == "sim":
            self.world.close()


def main(argv: list[str] | None = None) -> int:
    return run_node(TeleopNode, argv)


if __name__ == "__main__":
    sys.exit(main())
