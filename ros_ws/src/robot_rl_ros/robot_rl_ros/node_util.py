"""What every node shares: config from the command line (the same Hydra overrides as the CLI), a spin
loop with a clean shutdown on SIGINT / SIGTERM, ROS time in seconds, and throttled drop warnings."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future
from rclpy.utilities import remove_ros_args

from robot_rl.config import Config, load_config


def config_from_argv(argv: list[str] | None = None) -> Config:
    """Hydra ``key=value`` overrides after the executable (ROS's own ``--ros-args ...`` removed)."""
    args = remove_ros_args(sys.argv if argv is None else argv)[1:]
    return load_config([a for a in args if "=" in a])


def now_ns(node: Node) -> int:
    return node.get_clock().now().nanoseconds


def now_s(node: Node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


class DropLog:
    """Count dropped messages per (topic, field); warn at most once per ``period_s`` for each."""

    def __init__(self, node: Node, period_s: float = 2.0) -> None:
        self.node, self.period_s = node, period_s
        self.counts: dict[tuple[str, str], int] = {}
        self._last: dict[tuple[str, str], float] = {}

    def drop(self, topic: str, field: str, why: str) -> None:
        key = (topic, field)
        self.counts[key] = self.counts.get(key, 0) + 1
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self.period_s:
            self._last[key] = now
            self.node.get_logger().warning(
                f"dropped malformed message on {topic}: field {field}: {why} ({self.counts[key]} dropped so far)")


def make_executor(kind: str) -> Executor:
    """``events``: the C++ EventsExecutor when this rclpy has it (Jazzy's rclpy.experimental), else the
    SingleThreadedExecutor; ``single``: always the latter."""
    if kind == "events":
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:
            return SingleThreadedExecutor()
        return EventsExecutor()
    return SingleThreadedExecutor()


def set_torch_threads(cfg: Config) -> None:
    """``ros.torch_threads`` for this process: torch's default takes every core, which on a small onboard
    computer starves the other nodes (and with them the robot's watchdog)."""
    if cfg.ros.torch_threads > 0:
        import torch

        torch.set_num_threads(cfg.ros.torch_threads)


def run_node(make: Callable[[Config], Node], argv: list[str] | None = None) -> int:
    """``rclpy.init``, build the node from the config, spin until SIGINT / SIGTERM or the
    node asks to stop (``node.finished``), then ``node.close()`` (its cleanup: stop the arm, flush the store)
    and shut down."""
    argv = sys.argv if argv is None else argv
    cfg = config_from_argv(argv)
    set_torch_threads(cfg)
    # Our own SIGINT / SIGTERM handling: a flag the node's 0.1 s stop check turns into a clean exit (close() runs,
    # the arm is stopped, the store flushed). rclpy's handler left spin_until_future_complete waiting forever.
    # While the node is still being built (a learner reading a large store, say) there is nothing to close
    # yet: the signal interrupts the construction at once instead of waiting for it to finish.
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    stop_signal: list[int] = []
    node = None

    def on_signal(sig: int, _frame: object) -> None:
        stop_signal.append(sig)
        if node is None:
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    code = 0
    try:
        node = make(cfg)
        done = Future()

        def check_stop() -> None:
            if (stop_signal or getattr(node, "finished", False)) and not done.done():
                done.set_result(True)

        node.create_timer(0.1, check_stop)
        executor = make_executor(cfg.ros.executor)
        executor.add_node(node)
        while not done.done():  # in slices: rclpy 7.1's EventsExecutor busy-waits forever without a timeout
            executor.spin_until_future_complete(done, timeout_sec=1.0)
        code = int(getattr(node, "exit_code", 0))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code
