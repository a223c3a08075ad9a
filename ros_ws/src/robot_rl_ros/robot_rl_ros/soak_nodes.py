"""Helpers for ``robot-rl bench soak`` (not part of the graph): what the fault-injection soak sees on DDS, and
the relay it delays and drops camera frames in. The core harness (:mod:`benchmarks.soak`) never imports
rclpy, so these run as processes of their own.

``python -m robot_rl_ros.soak_nodes observer OUT.jsonl [overrides]``: appends one JSON line per event, each
with ``t``, when the sample was *published* (its DDS source timestamp, moved onto CLOCK_MONOTONIC, the clock of
the harness's ``time.monotonic()``), and ``rt``, when this node handled it. Receipt order is not publish order:
a reliable sample that needs a retransmission, or a starved observer, lets a later best-effort joint state be
handled first, and a command's motion would then seem to come before the command. Publish times keep each
process's order and measure a halt when the robot reported it, not when the observer got round to reading it.
``{"k": "cmd", "age": s, "send": ns}`` per command on ``/robot/command`` (age: receipt minus the capture stamp the
command was computed from, on the ROS clock; send: the actor's signed send time, unique per command),
``{"k": "exec", "age": s, "send": ns}`` per command the robot executed (``/robot/executed``, the same age and
send time), ``{"k": "halted", "v": bool}`` per ``/robot/halted`` sample, ``{"k": "intervening", "v": bool}``
per ``/teleop/intervening`` sample (a human has taken over), ``{"k": "moved"}``
when ``/robot/joint_states`` positions changed since the previous sample (at most once per ``MOVED_EVERY_S``),
``{"k": "state"}`` for the first joint state after a gap of ``STATE_GAP_S`` (a robot node back),
``{"k": "episode", "seed": n, "w": wall-clock s of its publication}`` per ``/robot/episode`` acknowledgement (an
actor episode starts),
``{"k": "reset", "seed": n}`` per reset request on ``/robot/reset`` (the arm is about to be moved home).

``python -m robot_rl_ros.soak_nodes relay [overrides]``: republishes ``/soak/cameras/<name>/image_raw`` (where
the soak remaps the camera node's output) on ``/cameras/<name>/image_raw``. Its stdin takes one command a line:
``pass``, ``delay SECONDS`` (every frame republished that much later), ``drop FRACTION`` (that fraction of frames
never republished, drawn at random)."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import deque

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Int64

from robot_rl.config import Config
from robot_rl_ros import qos
from robot_rl_ros.command_auth import send_ns
from robot_rl_ros.conversions import stamp_to_ns
from robot_rl_ros.node_util import now_ns, run_node

RELAY_PREFIX = "/soak"
MOVED_EVERY_S = 0.05
STATE_GAP_S = 1.0


def published_monotonic(info: dict) -> float:
    """The sample's publish time (DDS source timestamp, CLOCK_REALTIME ns) on CLOCK_MONOTONIC: now on the monotonic
    clock, less how long ago it was published. Publisher and observer share this machine's clocks."""
    return time.monotonic() - (time.time_ns() - int(info["source_timestamp"])) * 1e-9


class SoakObserver(Node):
    def __init__(self, cfg: Config, out: str) -> None:
        super().__init__("soak_observer")
        self._out = open(out, "a", buffering=1)  # noqa: SIM115 - closed in close(); line-buffered for the tailer
        self._last_q: np.ndarray | None = None
        self._last_state = -1e9
        self._last_moved = -1e9
        self.create_subscription(JointState, qos.ROBOT_COMMAND, self.on_command, qos.COMMAND)
        self.create_subscription(JointState, qos.ROBOT_EXECUTED, self.on_executed, qos.EVENTS)
        self.create_subscription(Bool, qos.ROBOT_HALTED, self.on_halted, qos.LATCHED)
        self.create_subscription(JointState, qos.JOINT_STATES, self.on_joints, qos.SENSOR)
        self.create_subscription(Int64, qos.ROBOT_EPISODE, self.on_episode, qos.LATCHED)
        self.create_subscription(Int64, qos.ROBOT_RESET, lambda m, i: self._emit("reset", i, seed=int(m.data)),
                                 qos.EVENTS)
        self.create_subscription(Bool, qos.TELEOP_INTERVENING,
                                 lambda m, i: self._emit("intervening", i, v=bool(m.data)), qos.LATCHED)

    def _emit(self, kind: str, info: dict, **fields: object) -> None:
        t, rt = published_monotonic(info), time.monotonic()
        self._out.write(json.dumps({"t": t, "rt": rt, "k": kind, **fields}) + "\n")

    def on_command(self, msg: JointState, info: dict) -> None:
        self._emit("cmd", info, age=(now_ns(self) - stamp_to_ns(msg.header.stamp)) * 1e-9, send=send_ns(msg))

    def on_executed(self, msg: JointState, info: dict) -> None:
        self._emit("exec", info, age=(now_ns(self) - stamp_to_ns(msg.header.stamp)) * 1e-9, send=send_ns(msg))

    def on_halted(self, msg: Bool, info: dict) -> None:
        self._emit("halted", info, v=bool(msg.data))

    def on_episode(self, msg: Int64, info: dict) -> None:
        self._emit("episode", info, seed=int(msg.data), w=int(info["source_timestamp"]) * 1e-9)

    def on_joints(self, msg: JointState, info: dict) -> None:
        t = published_monotonic(info)
        if t - self._last_state > STATE_GAP_S:
            self._emit("state", info)
        self._last_state = t
        q = np.asarray(msg.position, dtype=np.float64)
        if self._last_q is not None and q.shape == self._last_q.shape and np.abs(q - self._last_q).max() > 1e-7 \
                and t - self._last_moved >= MOVED_EVERY_S:
            self._last_moved = t
            self._emit("moved", info)
        self._last_q = q

    def close(self) -> None:
        self._out.close()


class FrameRelay(Node):
    """Camera frames pass through here so the soak can delay or drop them (a congested or lossy link)."""

    def __init__(self, cfg: Config) -> None:
        super().__init__("soak_relay")
        self.mode, self.value = "pass", 0.0
        self._rng = random.Random(cfg.bench.soak.seed)
        self._delayed: deque[tuple[float, str, Image]] = deque()
        self._lock = threading.Lock()
        self.pubs = {}
        for name in cfg.camera.names:
            topic = qos.IMAGE.format(name=name)
            self.pubs[name] = self.create_publisher(Image, topic, qos.SENSOR)
            self.create_subscription(Image, RELAY_PREFIX + topic, lambda m, n=name: self.on_frame(m, n), qos.SENSOR)
        self.create_timer(0.005, self.release)
        threading.Thread(target=self._read_commands, daemon=True).start()

    def _read_commands(self) -> None:
        for line in sys.stdin:
            parts = line.split()
            if parts and parts[0] in ("pass", "delay", "drop"):
                with self._lock:
                    self.mode, self.value = parts[0], float(parts[1]) if len(parts) > 1 else 0.0
                    if self.mode != "delay":
                        self._delayed.clear()
                self.get_logger().info(f"relay mode {line.strip()}")

    def on_frame(self, msg: Image, name: str) -> None:
        with self._lock:
            mode, value = self.mode, self.value
            if mode == "delay":
                self._delayed.append((time.monotonic() + value, name, msg))
                return
        if mode == "drop" and self._rng.random() < value:
            return
        self.pubs[name].publish(msg)

    def release(self) -> None:
        now = time.monotonic()
        due = []
        with self._lock:
            while self._delayed and self._delayed[0][0] <= now:
                due.append(self._delayed.popleft())
        for _, name, msg in due:
            self.pubs[name].publish(msg)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    mode = argv.pop(1)
    if mode == "observer":
        out = argv.pop(1)
        # The single-threaded executor: rclpy 7's EventsExecutor cannot call a callback that takes the message
        # info (it fails with "SystemError: null argument to internal routine").
        return run_node(lambda cfg: SoakObserver(cfg, out), [*argv, "ros.executor=single"])
    if mode == "relay":
        return run_node(FrameRelay, argv)
    raise SystemExit(f"unknown mode {mode!r}: observer or relay")


if __name__ == "__main__":
    sys.exit(main())
