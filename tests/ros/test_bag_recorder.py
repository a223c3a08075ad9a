"""The bag recorder node over real DDS: what the graph publishes is in an MCAP bag that the MCAP project's own
ROS 2 decoder reads, byte for byte as it went over the wire, and the bag is complete once the node stops; killed,
it leaves every chunk it wrote, which ``buffer repair`` makes a whole bag of."""

from __future__ import annotations

import numpy as np
from mcap.records import Channel, Message
from mcap.stream_reader import StreamReader
from mcap_ros2.reader import read_ros2_messages
from robot_rl_ros import qos
from robot_rl_ros.conversions import action_to_msg, image_to_msg
from sensor_msgs.msg import JointState
from std_msgs.msg import Int64

from robot_rl.cli.main import main

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


def _commands_on_disk(path) -> int:
    """Commands in the complete chunks of a bag still being written (the MCAP project's stream reader)."""
    channels, n = {}, 0
    with open(path, "rb") as f:
        try:
            for record in StreamReader(f, skip_magic=False, emit_chunks=False).records:
                if isinstance(record, Channel):
                    channels[record.id] = record.topic
                elif isinstance(record, Message) and channels.get(record.channel_id) == qos.ROBOT_COMMAND:
                    n += 1
        except Exception:  # the end of what is on disk so far
            pass
    return n


def test_a_killed_recorder_leaves_a_bag_that_repair_makes_whole(probe, spawn, tmp_path):
    """SIGKILL: no close, no index, no metadata.yaml. The recorder wrote a chunk every ros.bag_chunk_s, so
    ``buffer repair`` finds every message of the chunks on disk, and the repaired bag opens."""
    bag, fixed = tmp_path / "bag", tmp_path / "fixed"
    node = spawn("bag_recorder_node", [f"ros.record_bag={bag}", "camera.names=[front]", "ros.bag_chunk_s=0.2"])
    command = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
    episode = probe.node.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
    episode.publish(Int64(data=3))
    mcap = bag / "bag.mcap"
    sent = []

    def on_disk() -> bool:  # commands until the recorder has a chunk of them on disk
        action = np.full(7, len(sent) / 1000.0, np.float32)
        command.publish(action_to_msg(action, probe.now_ns()))
        sent.append(action)
        return mcap.is_file() and _commands_on_disk(mcap) > 0
    wait_for(on_disk, 60.0, "the recorder to write a chunk of commands to disk")
    node.proc.kill()
    node.proc.wait()
    assert "closed:" not in node.output() and not (bag / "metadata.yaml").exists()
    assert main(["buffer", "repair", str(bag), str(fixed)]) == 0
    got = [m for m in read_ros2_messages(str(fixed / "fixed.mcap"))]
    commands = [np.asarray(m.ros_msg.position, np.float32) for m in got if m.channel.topic == qos.ROBOT_COMMAND]
    assert [m.ros_msg.data for m in got if m.channel.topic == qos.ROBOT_EPISODE] == [3]
    assert len(commands) > 0
    first = round(float(commands[0][0]) * 1000)  # reliable, in order: a run of what was sent, none lost between
    np.testing.assert_array_equal(np.stack(commands), np.stack(sent[first:first + len(commands)]))
