"""Helpers for ``robot-rl bench ros`` (not part of the graph).

``python -m robot_rl_ros.bench_nodes camera HZ [overrides]``: a synthetic camera set + robot state at HZ
(fixed random frames of ``camera.width x height``, stamped at publication), answering reset
requests, so the real actor node runs against it with nothing else in the loop.

``python -m robot_rl_ros.bench_nodes probe OUT.json N [overrides]``: records N commands from the actor
(receipt time and the capture stamp the command was computed from) and writes them as JSON."""

from __future__ import annotations

import json
import sys

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Int64

from robot_rl.config import Config
from robot_rl_ros import qos
from robot_rl_ros.conversions import JOINT_NAMES, image_to_msg, joint_state_to_msg, pose_to_msg, stamp_to_ns
from robot_rl_ros.node_util import now_ns, run_node


class BenchCamera(Node):
    def __init__(self, cfg: Config, hz: float) -> None:
        super().__init__("bench_camera")
        rng = np.random.default_rng(0)
        self.frames = {n: rng.integers(0, 256, (cfg.camera.height, cfg.camera.width, 3), dtype=np.uint8)
                       for n in cfg.camera.names}
        self.pubs = {n: self.create_publisher(Image, qos.IMAGE.format(name=n), qos.SENSOR) for n in cfg.camera.names}
        self.joints = self.create_publisher(JointState, qos.JOINT_STATES, qos.SENSOR)
        self.pose = self.create_publisher(PoseStamped, qos.EE_POSE, qos.SENSOR)
        self.episode = self.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        self.create_subscription(Int64, qos.ROBOT_RESET, lambda m: self.episode.publish(Int64(data=m.data)),
                                 qos.EVENTS)
        self.create_timer(1.0 / hz, self.publish)

    def publish(self) -> None:
        t = now_ns(self)  # capture stamp
        for name, frame in self.frames.items():
            self.pubs[name].publish(image_to_msg(frame, t, name))
        self.joints.publish(joint_state_to_msg(JOINT_NAMES, np.append(np.zeros(7), 0.04), np.zeros(8), t))
        self.pose.publish(pose_to_msg(np.array([0.5, 0.0, 0.3]), np.array([0.0, 1.0, 0.0, 0.0]), t))


class BenchProbe(Node):
    def __init__(self, cfg: Config, out: str, n: int) -> None:
        super().__init__("bench_probe")
        self.out, self.n = out, n
        self.receipt: list[int] = []
        self.stamp: list[int] = []
        self.finished = False
        self.create_subscription(JointState, qos.ROBOT_COMMAND, self.on_command, qos.COMMAND)

    def on_command(self, msg: JointState) -> None:
        self.receipt.append(now_ns(self))
        self.stamp.append(stamp_to_ns(msg.header.stamp))
        if len(self.receipt) >= self.n and not self.finished:
            with open(self.out, "w") as f:
                json.dump({"receipt_ns": self.receipt, "stamp_ns": self.stamp}, f)
            self.finished = True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    mode = argv.pop(1)
    if mode == "camera":
        hz = float(argv.pop(1))
        return run_node(lambda cfg: BenchCamera(cfg, hz), argv)
    if mode == "probe":
        out, n = argv.pop(1), int(argv.pop(1))
        return run_node(lambda cfg: BenchProbe(cfg, out, n), argv)
    raise SystemExit(f"unknown mode {mode!r}: camera or probe")


if __name__ == "__main__":
    sys.exit(main())
