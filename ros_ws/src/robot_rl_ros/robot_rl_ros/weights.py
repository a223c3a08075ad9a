"""Residual weights over DDS: the :class:`robot_rl.learner.weights.WeightsPublisher` / ``WeightsSubscriber``
protocols on one reliable, transient-local topic, so an actor that starts (or restarts) after the learner
published still gets the newest bundle. The bundle is verified (checksum, shapes) by the actor's policy
when it swaps it in; here the envelope is checked and, given the deployment key, the signature
(:class:`robot_rl.learner.weights.WeightsGuard`, the same code as the directory channel): a bundle that is unsigned
or signed with another key is dropped on receipt with a throttled warning, before anything is unpickled, and
never counts as the newest (a forged "v999999" cannot block the learner's genuine bundles)."""

from __future__ import annotations

import threading

from rclpy.node import Node
from std_msgs.msg import UInt8MultiArray

from robot_rl.learner.weights import WeightsGuard
from robot_rl.security import DeploymentKey
from robot_rl_ros import qos
from robot_rl_ros.conversions import ConversionError, bundle_to_msg, msg_to_bundle
from robot_rl_ros.node_util import DropLog


class DdsWeightsPublisher:
    def __init__(self, node: Node, topic: str = qos.WEIGHTS, key: DeploymentKey | None = None) -> None:
        self._pub = node.create_publisher(UInt8MultiArray, topic, qos.LATCHED)
        self._guard = WeightsGuard(key, topic) if key is not None else None
        self.published = 0

    def publish(self, version: int, data: bytes) -> None:
        if self._guard is not None:
            data = self._guard.sign(version, data)
        self._pub.publish(bundle_to_msg(version, data))
        self.published += 1


class DdsWeightsSubscriber:
    """``poll()`` never blocks: it hands out the newest bundle received by the executor's callback, once."""

    def __init__(self, node: Node, topic: str = qos.WEIGHTS, drops: DropLog | None = None,
                 key: DeploymentKey | None = None) -> None:
        self.topic = topic
        self._drops = drops or DropLog(node)
        logger = node.get_logger()
        self.guard = WeightsGuard(key, topic, warn=lambda m: logger.warning(m)) if key is not None else None
        self._lock = threading.Lock()
        self._latest: tuple[int, bytes] | None = None
        self._seen = -1
        self.received = 0
        self._sub = node.create_subscription(UInt8MultiArray, topic, self._on_msg, qos.LATCHED)

    def _on_msg(self, msg: UInt8MultiArray) -> None:
        try:
            version, data = msg_to_bundle(msg)
        except ConversionError as exc:
            self._drops.drop(self.topic, exc.field, str(exc))
            return
        if self.guard is not None:
            opened = self.guard.check(version, data)
            if opened is None:
                return
            data = opened
        with self._lock:
            self.received += 1
            if self._latest is None or version > self._latest[0]:
                self._latest = (version, data)

    def poll(self) -> tuple[int, bytes] | None:
        with self._lock:
            if self._latest is None or self._latest[0] <= self._seen:
                return None
            self._seen = self._latest[0]
            return self._latest
