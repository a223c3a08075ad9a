"""actor_node (the policy node): at ``task.control_hz`` assembles the newest observation (every camera +
proprioception, each no older than ``camera.max_age_s``), runs BC base + residual, lets the human win while
intervening, publishes the command, and records the transition (:class:`robot_rl.actor.tick.GraphActor`
does all of that; this node only converts messages). Stale observation -> no command. Residual weights
arrive on ``/learner/weights`` and are swapped in between ticks, after the command is out. Both are guarded by
the deployment key (``security.key_path``): every command is signed for the robot node
(:mod:`robot_rl_ros.command_auth`), and a weight bundle that is unsigned or signed with another key is refused
with a warning (the policy keeps its weights). Exits after ``ros.episodes`` episodes.

With ``help.gate`` set (:mod:`robot_rl.actor.help`) the tick scores every step: unsure, it slows down; asking, it
sends zero-motion commands (the gripper kept) and publishes the request on ``/actor/help``
(diagnostic_msgs/DiagnosticStatus, latched: WARN with the reason, the score and its parts and the weights version),
until the person takes over or acknowledges (an ``ack`` on ``/teleop/events``); then OK "resumed".

With ``reward.source=classifier`` the reward classifier (``reward.path``, refused at start when trained for other
cameras, image size or task) decides success from the cameras, and the twin's ``/task/events`` success is
ignored; with ``reward.labels=keys`` the person's keys label the recorded frames (:mod:`robot_rl.actor.tick`).

The tick runs in its own thread (:class:`robot_rl.actor.control_loop.ControlLoop`), not as an executor timer,
so it starts on time even while the executor converts images; a lock keeps every subscription callback
between ticks (they never see a half-done tick, and never compete with the policy for the GIL).
``ros.timing_path``: every command's timing (capture stamp, tick start, published) is written there as JSON
when the node stops."""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float32, Int64, String

from robot_rl.actor.control_loop import KEPT_TICKS, ControlLoop
from robot_rl.actor.help import HelpStep, make_response
from robot_rl.actor.observation import ObservationBuffer, ProprioAssembler
from robot_rl.actor.tick import GraphActor, Phase
from robot_rl.config import Config
from robot_rl.control.safety import SafetyLimits
from robot_rl.data.errors import StoreError
from robot_rl.security import key_from_config
from robot_rl.spec import image_key, observation_keys
from robot_rl_ros import qos
from robot_rl_ros.command_auth import CommandSigner
from robot_rl_ros.conversions import (
    JOINT_NAMES,
    ConversionError,
    action_to_msg,
    help_to_msg,
    msg_to_image,
    msg_to_joint_state,
    msg_to_pose,
    msg_to_twist,
    stamp_to_ns,
)
from robot_rl_ros.node_util import DropLog, now_ns, run_node
from robot_rl_ros.weights import DdsWeightsSubscriber


class ActorNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("actor_node")
        from robot_rl.actor.success import detector_for
        from robot_rl.actor.wiring import load_policy, open_writer, reopen_writer

        self.cfg = cfg
        self.drops = DropLog(self)
        self.policy = load_policy(cfg)
        success = detector_for(cfg)  # before anything opens: a classifier for another setup is refused here
        writer = open_writer(cfg) if cfg.ros.record else None
        key = key_from_config(cfg)
        self.signer = CommandSigner(key)
        self.weights = DdsWeightsSubscriber(self, drops=self.drops, key=key)
        cams = list(cfg.camera.names)
        self.buffer = ObservationBuffer(observation_keys(cams, joints=True), cfg.camera.max_age_s)
        self.proprio = ProprioAssembler(self.buffer)
        self.actor = GraphActor(self.policy, SafetyLimits.for_robot(cfg.robot), max_steps=cfg.task.max_steps,
                                explore=cfg.ros.explore, writer=writer, weights=self.weights,
                                episodes=cfg.ros.episodes, seed=cfg.ros.seed, lockstep=cfg.ros.lockstep,
                                reopen_writer=(lambda: reopen_writer(cfg)) if cfg.ros.record else None,
                                help=make_response(cfg.help, self.policy, seed=cfg.seed), success=success,
                                label_keys=cfg.reward.labels == "keys")
        self.shape = (cfg.camera.height, cfg.camera.width)
        self._twist: tuple[np.ndarray, int] | None = None
        self._gripper = -1.0
        self._episodes_logged = 0
        # per command (capture stamp, tick start, published), ns; the last KEPT_TICKS only
        self._timing: deque[tuple[int, int, int]] = deque(maxlen=KEPT_TICKS)
        self._lock = threading.Lock()  # a tick or a subscription callback, never both at once
        self.finished = False
        self.exit_code = 0
        for cam in cams:
            topic = qos.IMAGE.format(name=cam)
            self._subscribe(Image, topic, lambda m, c=cam, t=topic: self.on_image(m, c, t), qos.SENSOR)
        self._subscribe(JointState, qos.JOINT_STATES, self.on_joints, qos.SENSOR)
        self._subscribe(PoseStamped, qos.EE_POSE, self.on_pose, qos.SENSOR)
        self._subscribe(TwistStamped, qos.TELEOP_TWIST, self.on_twist, qos.SENSOR)
        self._subscribe(Float32, qos.TELEOP_GRIPPER, self.on_gripper, qos.LATCHED)
        self._subscribe(String, qos.TELEOP_EVENTS, self.on_event, qos.EVENTS)
        self._subscribe(Bool, qos.TELEOP_INTERVENING, self.on_intervening, qos.LATCHED)
        self._subscribe(String, qos.TASK_EVENTS, self.on_task_event, qos.EVENTS)
        self._subscribe(Int64, qos.ROBOT_EPISODE, self.on_episode, qos.LATCHED)
        self.pub_command = self.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
        self.pub_reset = self.create_publisher(Int64, qos.ROBOT_RESET, qos.EVENTS)
        self.pub_policy = self.create_publisher(JointState, qos.POLICY_ACTION, qos.SENSOR)
        self.pub_help = self.create_publisher(DiagnosticStatus, qos.ACTOR_HELP, qos.LATCHED)
        self.pub_help.publish(help_to_msg(False, "not asking"))
        self._asking = False
        self.loop = ControlLoop(cfg.task.control_hz, self.on_tick, on_error=self.on_loop_error).start()
        self.get_logger().info(f"actor up: base {cfg.policy.path}, {len(cams)} cameras {self.shape}, "
                               f"{cfg.task.control_hz} Hz, max observation age {cfg.camera.max_age_s} s")

    # ------------------------------------------------------------------ subscriptions: convert, check, buffer
    def _subscribe(self, msg_type: type, topic: str, callback: Callable[[Any], None], profile: QoSProfile) -> None:
        """A subscription whose callback never runs during a tick: the executor thread waits (without the GIL)
        while the policy runs, instead of competing with it for the GIL."""

        def guarded(msg: Any) -> None:
            with self._lock:
                callback(msg)

        self.create_subscription(msg_type, topic, guarded, profile)

    def on_image(self, msg: Image, cam: str, topic: str) -> None:
        try:
            image = msg_to_image(msg, self.shape)
        except ConversionError as exc:
            self.drops.drop(topic, exc.field, str(exc))
            return
        self.buffer.put(image_key(cam), image, stamp_to_ns(msg.header.stamp) * 1e-9)

    def on_joints(self, msg: JointState) -> None:
        try:
            position, _ = msg_to_joint_state(msg, JOINT_NAMES)
        except ConversionError as exc:
            self.drops.drop(qos.JOINT_STATES, exc.field, str(exc))
            return
        self.proprio.on_joints(position, stamp_to_ns(msg.header.stamp) * 1e-9)

    def on_pose(self, msg: PoseStamped) -> None:
        try:
            pos, quat = msg_to_pose(msg)
        except ConversionError as exc:
            self.drops.drop(qos.EE_POSE, exc.field, str(exc))
            return
        self.proprio.on_pose(pos, quat, stamp_to_ns(msg.header.stamp) * 1e-9)

    def on_twist(self, msg: TwistStamped) -> None:
        try:
            self._twist = (msg_to_twist(msg), stamp_to_ns(msg.header.stamp))
        except ConversionError as exc:
            self.drops.drop(qos.TELEOP_TWIST, exc.field, str(exc))

    def on_gripper(self, msg: Float32) -> None:
        if np.isfinite(msg.data):
            self._gripper = float(np.clip(msg.data, -1.0, 1.0))
        else:
            self.drops.drop(qos.TELEOP_GRIPPER, "data", f"non-finite {msg.data}")

    def on_event(self, msg: String) -> None:
        self.actor.on_event(msg.data)

    def on_task_event(self, msg: String) -> None:
        self.actor.on_task_event(msg.data)

    def on_intervening(self, msg: Bool) -> None:
        self.actor.on_event("takeover" if msg.data else "handback")

    def on_episode(self, msg: Int64) -> None:
        self.actor.on_reset_done(int(msg.data), now_ns(self) * 1e-9)

    # ------------------------------------------------------------------ the control tick
    def human_action(self, now: int) -> np.ndarray | None:
        if self._twist is None or now - self._twist[1] > self.cfg.teleop.spacemouse.max_age_s * 1e9:
            return None
        return np.append(self._twist[0], self._gripper).astype(np.float32)

    def on_tick(self) -> None:
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        now = now_ns(self)
        out = self.actor.tick(self.buffer, now * 1e-9, self.human_action(now))
        if out.command is not None:
            stamp = int(out.t_obs * 1e9)
            msg = self.signer.sign(action_to_msg(out.command, stamp), now)  # send time: this tick's start
            self._timing.append((stamp, now, now_ns(self)))  # published: handed to DDS (the receiver may run first)
            self.pub_command.publish(msg)
        if out.reset_seed is not None:
            self.pub_reset.publish(Int64(data=int(out.reset_seed)))
        if self.actor.swap_weights():  # the command is out: a swap now delays nothing
            self.get_logger().info(f"residual weights v{self.policy.version} swapped in",
                                   throttle_duration_sec=5.0)
        self._publish_help(out.help)
        if out.policy_action is not None:
            self.pub_policy.publish(action_to_msg(out.policy_action, now))
        if out.warn:
            self.get_logger().warning(f"no command: {out.reason}", throttle_duration_sec=1.0)
        s = self.actor.stats
        if s.episodes > self._episodes_logged:
            self._episodes_logged = s.episodes
            seen = f", {s.detected} seen by the reward classifier" if self.actor.success is not None else ""
            self.get_logger().info(f"episode {s.episodes}: success rate {s.successes}/{s.episodes}{seen}, "
                                   f"{s.commands} commands, {s.intervened_steps} intervened, {s.stale} stale ticks, "
                                   f"weights v{self.policy.version} ({s.swaps} swaps)")
        if self.actor.phase is Phase.done:
            self.finished = True

    def _publish_help(self, step: HelpStep | None) -> None:
        """A new request: WARN with why; the end of one (a take-over, an acknowledgement, a new episode): OK."""
        if step is not None and step.request:
            values = {"score": step.score, **step.parts, "version": self.policy.version}
            self.pub_help.publish(help_to_msg(True, step.reason, values))
            self.get_logger().warning(f"asking for help (holding still): {step.reason}")
        asking = self.actor.help.asking
        if self._asking and not asking:
            self.pub_help.publish(help_to_msg(False, "resumed"))
            self.get_logger().info("help request answered: resumed")
        self._asking = asking

    def on_loop_error(self, exc: BaseException) -> None:
        self.get_logger().error(f"control loop stopped: {type(exc).__name__}: {exc}; no more commands")
        self.exit_code, self.finished = 1, True

    def close(self) -> None:
        self.loop.stop()
        if self.actor.writer is not None:
            self._close_writer()
        self._report_timing()
        s = self.actor.stats
        self.get_logger().info(f"actor done: {s.episodes} episodes, {s.successes} successes, {s.swaps} weight "
                               f"swaps (v{self.policy.version}), {s.stale} stale ticks")

    def _close_writer(self) -> None:
        """Close the store; the writer discards an episode still open (stopped mid-episode: it never reaches the
        store). A writer that already failed (a full disk) says so once, naming the store, instead of raising
        on the way out: the episodes committed before the failure are intact."""
        try:
            self.actor.writer.close()
        except StoreError as exc:
            self.get_logger().error(f"recording failed: {exc}; episodes committed before it are intact "
                                    f"(check: robot-rl buffer verify {self.cfg.buffer.path})")
            self.exit_code = 1

    def _report_timing(self) -> None:
        if self.cfg.ros.timing_path:
            stamp, tick, published = (list(x) for x in zip(*self._timing, strict=True)) if self._timing else ([],) * 3
            with open(self.cfg.ros.timing_path, "w") as f:
                json.dump({"stamp_ns": stamp, "tick_ns": tick, "published_ns": published,
                           "periods_s": list(self.loop.periods_s), "missed": self.loop.missed}, f)
        if len(self._timing) < 2:
            return
        stamp, tick, published = (np.array(x[1:], dtype=np.float64) * 1e-6 for x in zip(*self._timing, strict=True))
        period = np.array(self.loop.periods_s) * 1e3

        def p(x: np.ndarray) -> str:
            return f"{np.percentile(x, 50):.1f}/{np.percentile(x, 99):.1f}"

        self.get_logger().info(
            f"timing over {len(stamp) + 1} commands (ms, p50/p99): observation age at the tick {p(tick - stamp)}, "
            f"tick (policy + publish) {p(published - tick)}, capture -> published {p(published - stamp)}, "
            f"period {p(period)} ({self.loop.missed} deadlines missed)")


def main(argv: list[str] | None = None) -> int:
    return run_node(ActorNode, argv)


if __name__ == "__main__":
    sys.exit(main())
