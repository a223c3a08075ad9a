"""Weights over DDS: a learner process publishes bundles on the reliable, transient-local topic; an actor that
subscribes only afterwards still gets the newest one, once; a malformed envelope is dropped."""

from __future__ import annotations

import os
import subprocess
import sys

from robot_rl_ros import qos
from robot_rl_ros.weights import DdsWeightsSubscriber
from std_msgs.msg import UInt8MultiArray

from tests.ros.conftest import PACKAGE, wait_for

PUBLISHER = """
import sys, rclpy
from rclpy.node import Node
from robot_rl_ros.weights import DdsWeightsPublisher
from std_msgs.msg import UInt8MultiArray
rclpy.init()
node = Node("fake_learner")
pub = DdsWeightsPublisher(node)
pub.publish(1, b"one" * 1000)
pub.publish(2, b"two" * 200_000)
print("published", flush=True)
sys.stdin.read()  # stay up until the test closes stdin: transient-local samples live in the writer
"""


def test_late_subscriber_gets_the_newest_bundle(tmp_path, probe):
    log = tmp_path / "publisher.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE), os.environ.get("PYTHONPATH", "")])}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", PUBLISHER], stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: "published" in log.read_text(), 30, "the publisher process")
        sub = DdsWeightsSubscriber(probe.node)  # joins after both bundles were published
        got = wait_for(sub.poll, 10, "the latched bundle")
        assert got == (2, b"two" * 200_000)
        assert sub.poll() is None, "a bundle is handed out once"

        bad = UInt8MultiArray()
        bad.data = b"xyz"
        probe.node.create_publisher(UInt8MultiArray, qos.WEIGHTS, qos.LATCHED).publish(bad)
        wait_for(lambda: sub._drops.counts.get((qos.WEIGHTS, "layout.dim")), 10, "the malformed bundle dropped")
        assert sub.poll() is None
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
