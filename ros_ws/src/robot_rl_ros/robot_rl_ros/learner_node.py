"""learner_node: the asynchronous residual learner (:class:`robot_rl.learner.loop.Learner`) publishing its
weights, signed with the deployment key (``security.key_path``), on ``/learner/weights`` (reliable,
transient local), and as files in ``learner.dir/weights`` (what tools
without ROS read, e.g. ``robot-rl demo demo.ros=true`` when it evaluates after the graph). It can run on another
host: same ROS_DOMAIN_ID (and ``ros.discovery_range=SUBNET``), the store reachable by path or fsspec URL
(``buffer.path``). Checkpoints and resumes exactly like ``robot-rl learn``."""

from __future__ import annotations

import os
import signal
import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from robot_rl.learner.loop import Learner, LearnerStatus
from robot_rl.learner.weights import FanOutPublisher, weights_channel
from robot_rl.security import key_from_config
from robot_rl_ros.node_util import config_from_argv, set_torch_threads
from robot_rl_ros.weights import DdsWeightsPublisher


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    cfg = config_from_argv(argv)
    set_torch_threads(cfg)
    os.nice(cfg.ros.learner_nice)  # background work: the control loop's nodes come first on a shared CPU
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    stop_signal: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: stop_signal.append(s))
    node = Node("learner_node")
    log = node.get_logger()
    try:
        publisher = FanOutPublisher(DdsWeightsPublisher(node, key=key_from_config(cfg)), weights_channel(cfg))
        learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, publisher)
        if learner.version > 0:
            learner.publish()  # resumed: a late actor gets the newest weights at once
        log.info(f"learner up: store {cfg.buffer.path}, base {cfg.policy.path}, resumed at "
                 f"{learner.td3.updates} updates, v{learner.version}")
        last = [time.monotonic()]

        def report(s: LearnerStatus) -> None:
            if time.monotonic() - last[0] >= 5.0:
                last[0] = time.monotonic()
                log.info(f"{s.updates} updates, weights v{s.version}, {s.episodes} episodes "
                         f"({s.online_transitions} online / {s.offline_transitions} offline transitions)")

        # DDS delivers from its own threads: no executor is needed to publish, so the learner owns this thread.
        status = learner.run(stop=lambda: bool(stop_signal) or not rclpy.ok(), on_status=report)
        log.info(f"learner stopped at {status.updates} updates, weights v{status.version}")
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
