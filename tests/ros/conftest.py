"""ROS 2 tests: real DDS on loopback. Every test run gets a private ROS_DOMAIN_ID and localhost-only
discovery (set here, before rclpy loads, and inherited by every node process a test starts), so parallel
runs on one machine and other machines on the network never see each other's graphs.

Helpers: :class:`Probe` (an rclpy node in the test process, spun in a background thread), :func:`spawn`
(a node as its own process, output to a log file), :func:`wait_for` (poll a condition against a deadline:
the only way tests synchronise; no fixed sleeps)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "ros_ws" / "src" / "robot_rl_ros"

os.environ["ROS_DOMAIN_ID"] = str(100 + os.getpid() % 100)  # 100..199: a private domain per test run
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # never a non-loopback address
os.environ.pop("ROS_STATIC_PEERS", None)
os.environ.setdefault("ROS_LOG_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"robot_rl_roslog_{os.getpid()}"))
if str(PACKAGE) not in sys.path:
    sys.path.insert(0, str(PACKAGE))

pytest.importorskip("rclpy", reason="ROS 2 wheels not installed (pip install -e '.[ros]')")

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402


def wait_for(cond: Callable[[], object], timeout: float, what: str, poll_s: float = 0.02):
    """Poll ``cond`` until it is truthy (returned) or the deadline passes (AssertionError naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value.size > 0 if isinstance(value, np.ndarray) else value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll_s)


class Probe:
    """An rclpy node in the test process; its executor spins in a daemon thread. Callbacks append to lists
    guarded by ``lock``."""

    def __init__(self, name: str = "probe") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop and self.context.ok():
            self.executor.spin_once(timeout_sec=0.02)

    def now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def collect(self, msg_type, topic: str, qos_profile) -> list:
        """Subscribe; returns the list that received (receipt ns, message) pairs are appended to."""
        out: list = []

        def cb(msg):
            with self.lock:
                out.append((self.now_ns(), msg))

        self.node.create_subscription(msg_type, topic, cb, qos_profile)
        return out

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2.0)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def probe():
    p = Probe()
    yield p
    p.close()


class NodeProcess:
    def __init__(self, executable: str, overrides: list[str], log: Path) -> None:
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(PACKAGE), os.environ.get("PYTHONPATH", "")])}
        self._f = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", f"robot_rl_ros.{executable}", *overrides], env=env,
                                     stdout=self._f, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._f.close()
        return self.proc.returncode


@pytest.fixture
def spawn(tmp_path):
    procs: list[NodeProcess] = []

    def start(executable: str, overrides: list[str]) -> NodeProcess:
        p = NodeProcess(executable, overrides, tmp_path / f"{executable}-{len(procs)}.log")
        procs.append(p)
        return p

    yield start
    for p in reversed(procs):
        p.stop()


def tiny_setup(root: Path, demos: int = 0) -> list[str]:
    """A tiny config (32x32 cameras, short episodes, small networks: the learning tests' ``tiny_overrides``),
    an untrained BC base at policy.path and ``demos`` expert demonstrations in the store."""
    import torch

    from robot_rl.config import load_config
    from robot_rl.policies import bundle as bundles
    from robot_rl.policies.bc import BCNetwork
    from tests.integration.learner.conftest import tiny_overrides

    overrides = tiny_overrides(root)
    cfg = load_config(overrides)
    torch.manual_seed(0)
    net = BCNetwork(cfg.camera.names, (cfg.camera.height, cfg.camera.width), 10, cfg.policy.chunk,
                    cfg.policy.feature_dim, cfg.policy.hidden_dim)
    bundles.save(net.to_bundle(), cfg.policy.path)
    if demos:
        from robot_rl.actor.wiring import open_writer
        from robot_rl.sim.env import PickPlaceEnv
        from robot_rl.sim.harness.collect import collect_demos

        with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
            collect_demos(cfg, env, writer, episodes=demos, seed=0, progress=False)
    return overrides
