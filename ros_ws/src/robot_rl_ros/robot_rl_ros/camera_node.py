"""camera_node: one node for the camera set. Publishes each camera's newest frame on
``/cameras/<name>/image_raw`` with the capture time in ``header.stamp``; drops frames rather than queueing.

Backends: ``mujoco`` mirrors the twin from ``/sim/state`` and renders when the state changes (an unchanged
scene is re-published with the new state's stamp at most at ``camera.fps``); ``realsense`` reads the
devices (or recordings) at ``camera.fps``."""

from __future__ import annotations

import sys
import time

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from robot_rl.config import Config
from robot_rl.config.schema import CameraBackend
from robot_rl.hardware.camera import StaleFrameError
from robot_rl_ros import qos
from robot_rl_ros.conversions import ConversionError, image_to_msg, msg_to_joint_state, stamp_to_ns
from robot_rl_ros.node_util import DropLog, now_ns, run_node


class CameraNode(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("camera_node")
        self.cfg = cfg
        self.names = list(cfg.camera.names)
        self.drops = DropLog(self)
        self.pubs = {n: self.create_publisher(Image, qos.IMAGE.format(name=n), qos.SENSOR) for n in self.names}
        self.published = 0
        self._frames: dict[str, np.ndarray] = {}
        self._last_pub_ns = 0
        self._min_period_ns = int(1e9 / cfg.camera.fps)
        if cfg.camera.backend == CameraBackend.mujoco:
            from robot_rl.sim.world import SimWorld

            self.world = SimWorld(cfg)
            self._sim_time: float | None = None
            self.create_subscription(JointState, qos.SIM_STATE_TOPIC, self.on_sim_state, qos.SIM_STATE)
        else:
            from robot_rl.hardware.realsense import open_cameras

            self.cameras = open_cameras(cfg.camera)  # connected, each checked present first
            self.create_timer(1.0 / cfg.camera.fps, self.on_device_timer)
        self.get_logger().info(f"cameras {self.names} ({cfg.camera.backend.value}) "
                               f"{cfg.camera.width}x{cfg.camera.height}")

    def on_sim_state(self, msg: JointState) -> None:
        from robot_rl.sim.state_vector import apply_sim_state

        try:
            vec, _ = msg_to_joint_state(msg)
            stamp = stamp_to_ns(msg.header.stamp)
            changed = self._sim_time is None or vec[0] != self._sim_time or not self._frames
            if not changed and stamp - self._last_pub_ns < self._min_period_ns:
                return
            if changed:
                apply_sim_state(self.world, vec)
                self._sim_time = float(vec[0])
                self._frames = {n: self.world.render(n) for n in self.names}
        except (ConversionError, ValueError) as exc:
            self.drops.drop(qos.SIM_STATE_TOPIC, getattr(exc, "field", "position"), str(exc))
            return
        self._publish({n: (img, stamp) for n, img in self._frames.items()})

    def on_device_timer(self) -> None:
        frames = {}
        mono, ros = time.monotonic(), now_ns(self)
        for name, cam in self.cameras.items():
            try:
                frame = cam.read_latest(self.cfg.camera.max_age_s)
            except StaleFrameError as exc:
                self.get_logger().warning(str(exc), throttle_duration_sec=2.0)
                continue
            frames[name] = (frame.image, ros - int((mono - frame.stamp) * 1e9))  # device clock -> ROS time
        self._publish(frames)

    def _publish(self, frames: dict[str, tuple[np.ndarray, int]]) -> None:
        for name, (image, stamp_ns) in frames.items():
            self.pubs[name].publish(image_to_msg(image, stamp_ns, frame_id=name))
            self._last_pub_ns = stamp_ns
        self.published += 1

    def close(self) -> None:
        if self.cfg.camera.backend == CameraBackend.mujoco:
            self.world.close()
        else:
            for cam in self.cameras.values():
                cam.disconnect()


def main(argv: list[str] | None = None) -> int:
    return run_node(CameraNode, argv)


if __name__ == "__main__":
    sys.exit(main())
