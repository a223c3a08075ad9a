"""Records the graph's topics to a ROS 2 bag (rosbag2, MCAP storage) without a ROS installation's ``ros2 bag``:
rclpy delivers each message still serialized (CDR), and ``rosbags`` writes those bytes unchanged, so the bag holds
exactly what went over DDS. Foxglove, ``ros2 bag`` and ``robot-rl buffer import`` open it.

Started by ``robot-rl up EXPERIMENT ros.record_bag=PATH`` (PATH: the bag's folder, which must not exist). Each
message is logged at its receipt time (wall clock, ns); the messages keep their own header stamps. The bag is
complete once the node stops (SIGINT / SIGTERM, as the supervisor stops it): MCAP writes its index last. What
the writer holds goes to disk as one chunk every ``ros.bag_chunk_s`` (rosbags alone would wait for 1 MiB), so a
killed recorder leaves every chunk but the last second's, and ``robot-rl buffer repair`` makes that a whole
bag."""

from __future__ import annotations

import sys
import time

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Int64, String

from robot_rl.config import Config
from robot_rl_ros import qos
from robot_rl_ros.node_util import run_node


def topics(cfg: Config) -> list[tuple[str, type, str, object]]:
    """(topic, message class, ROS type name, QoS) of everything recorded."""
    out = [(qos.IMAGE.format(name=n), Image, "sensor_msgs/msg/Image", qos.SENSOR) for n in cfg.camera.names]
    out += [(qos.JOINT_STATES, JointState, "sensor_msgs/msg/JointState", qos.SENSOR),
            (qos.EE_POSE, PoseStamped, "geometry_msgs/msg/PoseStamped", qos.SENSOR),
            (qos.ROBOT_COMMAND, JointState, "sensor_msgs/msg/JointState", qos.COMMAND),
            (qos.ROBOT_EXECUTED, JointState, "sensor_msgs/msg/JointState", qos.EVENTS),
            (qos.ROBOT_HALTED, Bool, "std_msgs/msg/Bool", qos.LATCHED),
            (qos.ROBOT_RESET, Int64, "std_msgs/msg/Int64", qos.EVENTS),
            (qos.ROBOT_EPISODE, Int64, "std_msgs/msg/Int64", qos.LATCHED),
            (qos.TASK_EVENTS, String, "std_msgs/msg/String", qos.EVENTS),
            (qos.TELEOP_INTERVENING, Bool, "std_msgs/msg/Bool", qos.LATCHED),
            (qos.TELEOP_EVENTS, String, "std_msgs/msg/String", qos.EVENTS)]
    return out


class BagRecorder(Node):
    def __init__(self, cfg: Config) -> None:
        super().__init__("bag_recorder")
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore

        self.path = cfg.ros.record_bag
        ts = get_typestore(Stores.ROS2_JAZZY)
        self.writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.counts: dict[str, int] = {}
        for topic, msg_type, name, profile in topics(cfg):
            conn = self.writer.add_connection(topic, name, typestore=ts)
            self.create_subscription(msg_type, topic, lambda data, c=conn: self.on_message(c, data), profile,
                                     raw=True)
        self.create_timer(cfg.ros.bag_chunk_s, self.write_chunk)
        self.get_logger().info(f"recording {len(topics(cfg))} topics to {self.path}")

    def write_chunk(self) -> None:
        """The pending messages to disk as a complete chunk (rosbags' MCAP storage has no public flush)."""
        storage = self.writer.storage
        if getattr(storage, "chunk", None) is not None and storage.chunk.msgs:  # a chunk with messages only
            storage.close_chunk()
            storage.bio.flush()

    def on_message(self, conn, data: bytes) -> None:
        self.writer.write(conn, time.time_ns(), data)
        n = self.counts.get(conn.topic, 0)
        if n == 0:
            self.get_logger().info(f"recording {conn.topic}: first message")
        self.counts[conn.topic] = n + 1

    def close(self) -> None:
        self.writer.close()
        total = sum(self.counts.values())
        self.get_logger().info(f"bag {self.path} closed: {total} messages on {len(self.counts)} topics")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    # the single-threaded executor: one callback at a time into the writer (and rclpy 7's EventsExecutor cannot
    # deliver serialized messages either)
    return run_node(BagRecorder, [*argv, "ros.executor=single"])


if __name__ == "__main__":
    sys.exit(main())
