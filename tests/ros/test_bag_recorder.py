"""The bag recorder node over real DDS: what the graph publishes is in an MCAP bag that the MCAP project's own
ROS 2 decoder reads, byte for byte as it went over the wire, and the bag is complete once the node stops."""

from __future__ import annotations

import numpy as np
from mcap_ros2.reader import read_ros2_messages
from robot_rl_ros import qos
from robot_rl_ros.conversions import action_to_msg, image_to_msg
from sensor_msgs.msg import JointState
from std_msgs.msg import Int64

from .conftest import wait_for


def test_recorder_writes_the_graph_topics_to_mcap(probe, spawn, tmp_path):
    bag = tmp_path / "bag"
    node = spawn("bag_recorder_node", [f"ros.record_bag={bag}", "camera.names=[front]"])
    image = probe.node.create_publisher(type(image_to_msg(np.zeros((2, 2, 3), np.uint8), 0)),
                                        qos.IMAGE.format(name="front"), qos.SENSOR)
    command = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
    episode = probe.node.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
    episode.publish(Int64(data=7))
    frame = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    action = np.linspace(-1, 1, 7).astype(np.float32)

    def recorded() -> bool:  # best-effort frames: publish until the recorder says it has one of each
        image.publish(image_to_msg(frame, probe.now_ns()))
        command.publish(action_to_msg(action, probe.now_ns()))
        out = node.output()
        return all(f"recording {t}: first message" in out for t in
                   (qos.IMAGE.format(name="front"), qos.ROBOT_COMMAND, qos.ROBOT_EPISODE))

    wait_for(recorded, 60.0, "the recorder to receive a frame, a command and the episode")
    assert node.stop() == 0
    assert "closed:" in node.output()
    seen: dict[str, list] = {}
    for m in read_ros2_messages(str(next(bag.glob("*.mcap")))):
        seen.setdefault(m.channel.topic, []).append(m.ros_msg)
    img = seen[qos.IMAGE.format(name="front")][0]
    assert (img.height, img.width, img.encoding) == (4, 6, "rgb8")
    np.testing.assert_array_equal(np.frombuffer(bytes(img.data), np.uint8).reshape(4, 6, 3), frame)
    np.testing.assert_array_equal(np.asarray(seen[qos.ROBOT_COMMAND][0].position, np.float32), action)
    assert [m.data for m in seen[qos.ROBOT_EPISODE]] == [7]
