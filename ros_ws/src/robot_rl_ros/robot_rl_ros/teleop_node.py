"""teleop_node: the human's commands. ``/teleop/twist`` (TwistStamped, action units) at ``ros.teleop_hz``,
``/teleop/gripper`` (latched), ``/teleop/events`` (take over / hand back, success, failure, reset, pause,
quit, ack); it listens to ``/actor/help``. Backends (``ros.teleop``): ``devices`` (SpaceMouse + keyboard),
``sim`` (the simulated human of the sim task: mirrors the twin from ``/sim/state``, watches
``/actor/policy_action`` and takes over with the scripted expert when the policy drifts), ``none``.

Whether the human has taken over is also state, latched on ``/teleop/intervening`` (False when the node starts):
an actor holding for a take-over whose teleop node died learns from the restarted node that nobody is
intervening, and an actor that starts late learns that somebody is.

Help requests (``/actor/help``, diagnostic_msgs/DiagnosticStatus, latched): on WARN the actor holds still and
asks; the node rings the terminal bell and says so once, naming the key bound to ``ack`` (``teleop.keys``): that
key sends ``ack`` on ``/teleop/events`` and the policy goes on; a take-over answers too. OK after a WARN: resumed.
The simulated person (``sim``) is told it was asked and takes over or sends ``ack`` itself."""

from __future__ import annotations

import sys
import time

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float32, Int64, String

from robot_rl.config import Config
from robot_rl.hardware.teleop import HumanCommand, make_teleop
from robot_rl_ros import qos
from robot_rl_ros.conversions import ConversionError, msg_to_action, msg_to_help, msg_to_joint_state, twist_to_msg
from robot_rl_ros.node_util import DropLog, now_ns, run_node


class TeleopNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("teleop_node")
        self.drops = DropLog(self)
        self.pub_twist = self.create_publisher(TwistStamped, qos.TELEOP_TWIST, qos.SENSOR)
        self.pub_gripper = self.create_publisher(Float32, qos.TELEOP_GRIPPER, qos.LATCHED)
        self.pub_events = self.create_publisher(String, qos.TELEOP_EVENTS, qos.EVENTS)
        self.pub_intervening = self.create_publisher(Bool, qos.TELEOP_INTERVENING, qos.LATCHED)
        self.pub_intervening.publish(Bool(data=False))
        self.teleop = make_teleop(cfg)
        self.ack_key = cfg.teleop.keys.get("ack", "")
        self.asked = False  # the actor holds and asks for help (the latest /actor/help said WARN, not yet answered)
        self._warned = False  # the latest /actor/help said WARN
        self.create_subscription(DiagnosticStatus, qos.ACTOR_HELP, self.on_help, qos.LATCHED)
        if cfg.ros.teleop == "sim":  # the twin's person (SimulatedTeleop) watches the twin and the policy
            self.create_subscription(JointState, qos.SIM_STATE_TOPIC, self.on_sim_state, qos.SIM_STATE)
            self.create_subscription(JointState, qos.POLICY_ACTION, self.on_policy_action, qos.SENSOR)
            self.create_subscription(Int64, qos.ROBOT_EPISODE, self.on_episode, qos.LATCHED)
        if self.teleop is not None:
            self.create_timer(1.0 / cfg.ros.teleop_hz, self.on_timer)
        self.get_logger().info(f"teleop up ({cfg.ros.teleop})")

    # ------------------------------------------------------------------ sim: the simulated person's inputs
    def on_sim_state(self, msg: JointState) -> None:
        try:
            vec, _ = msg_to_joint_state(msg)
            self.teleop.mirror(vec)
        except (ConversionError, ValueError) as exc:
            self.drops.drop(qos.SIM_STATE_TOPIC, getattr(exc, "field", "position"), str(exc))

    def on_episode(self, msg: Int64) -> None:
        self.publish(self.teleop.new_episode(int(msg.data)))

    def on_policy_action(self, msg: JointState) -> None:
        try:
            policy_action = msg_to_action(msg)
        except ConversionError as exc:
            self.drops.drop(qos.POLICY_ACTION, exc.field, str(exc))
            return
        cmd = self.teleop.propose(policy_action, self.asked)
        if "ack" in cmd.events:
            self.asked = False  # answered: no second judgement of the same request before the actor's OK arrives
        self.publish(cmd)

    # ------------------------------------------------------------------ help requests from the actor
    def on_help(self, msg: DiagnosticStatus) -> None:
        try:
            asking, message, _ = msg_to_help(msg)
        except ConversionError as exc:
            self.drops.drop(qos.ACTOR_HELP, exc.field, str(exc))
            return
        if asking:
            sys.stdout.write("\a")
            sys.stdout.flush()
            answer = f"press {self.ack_key!r} to let it go on, or take over" if self.ack_key else "take over"
            self.get_logger().warning(f"the robot asks for help: {message}; {answer}")
        elif self._warned:
            self.get_logger().info("resumed")
        self.asked = self._warned = asking

    # ------------------------------------------------------------------ every backend
    def on_timer(self) -> None:
        try:
            cmd = self.teleop.poll()
        except Exception as exc:  # a stale or unplugged device: publish nothing, the actor holds
            self.get_logger().warning(f"teleop device: {exc}", throttle_duration_sec=2.0)
            return
        self.publish(cmd)

    def publish(self, cmd: HumanCommand) -> None:
        if cmd.gripper is not None:
            self.pub_gripper.publish(Float32(data=cmd.gripper))
        if cmd.twist is not None:  # the sample's own read time, moved onto ROS time
            stamp = now_ns(self) - int((time.monotonic() - cmd.stamp) * 1e9)
            self.pub_twist.publish(twist_to_msg(cmd.twist, stamp))
        if cmd.intervening is not None:
            self.pub_events.publish(String(data="takeover" if cmd.intervening else "handback"))
            self.pub_intervening.publish(Bool(data=cmd.intervening))
        for event in cmd.events:
            self.pub_events.publish(String(data=event))

    def close(self) -> None:
        if self.teleop is not None:
            self.teleop.close()


def main(argv: list[str] | None = None) -> int:
    return run_node(TeleopNode, argv)


if __name__ == "__main__":
    sys.exit(main())
