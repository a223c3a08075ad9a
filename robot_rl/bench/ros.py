"""The ROS 2 layer's cost: camera capture stamp -> actor command, p50/p99, and control-period jitter p99, at
10 Hz and 30 Hz, with two 128x128 cameras (and one 640x480 camera for scale).

Both pipelines run the same actor (:class:`robot_rl.graph.actor.GraphActor` with the same untrained BC base +
residual, cameras streaming at ``camera.fps``, newest-frame semantics, no lock-step):
- **ROS**: a synthetic camera + robot-state process -> ``actor_node`` -> a probe process, over DDS on loopback
  (the latency is measured where the command is received, so it includes the command's own hop);
- **in-process** (the baseline): a camera thread and the control loop in one process, no ROS.
The frame's age when the tick reads it (up to one camera period) is in both: the cameras run slightly off
``camera.fps`` so that, like a free-running camera, their phase against the control clock sweeps through one
whole frame period during each measurement (in both pipelines alike); the difference is what ROS adds.
Runs one after the other, never concurrently. The core library never imports rclpy: the ROS side runs as
processes (``robot_rl_ros.bench_nodes``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from robot_rl.bench.report import BenchResult
from robot_rl.config import Config, load_config
from robot_rl.control.safety import SafetyLimits
from robot_rl.graph.actor import GraphActor
from robot_rl.graph.observation import ObservationBuffer
from robot_rl.graph.supervisor import graph_env
from robot_rl.hardware.robot import STATE_DIM
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork

SETUPS = (("two 128x128 cameras", ["wrist", "front"], 128, 128), ("one 640x480 camera", ["front"], 640, 480))
RATES = (10.0, 30.0)
EXECUTORS = ("events", "single")  # ros.executor: rclpy's C++ EventsExecutor, then the classic Python one
WARMUP = 10


def _jitter_p99_ms(times_s: np.ndarray, hz: float) -> float:
    return float(np.percentile(np.abs(np.diff(times_s) - 1.0 / hz), 99) * 1e3)


def _stats(latency_s: np.ndarray, commands_s: np.ndarray, hz: float, tick_jitter_ms: float | None) -> dict:
    """Latency p50/p99; jitter p99 of the command period (where commands become available: after the policy, and
    for ROS after the hop to the probe) and of the tick period (when the control timer fired)."""
    return {"p50_ms": float(np.percentile(latency_s, 50) * 1e3), "p99_ms": float(np.percentile(latency_s, 99) * 1e3),
            "jitter_p99_ms": _jitter_p99_ms(commands_s, hz), "tick_jitter_p99_ms": tick_jitter_ms,
            "n": len(latency_s)}


def _camera_hz(fps: float, hz: float, n: int) -> float:
    """A camera rate whose phase against the control clock drifts by one frame over the n + WARMUP ticks."""
    return fps - hz / (n + WARMUP)


def _in_process(cfg: Config, hz: float, n: int) -> dict[str, float]:
    """Camera thread + control loop at ``hz``, one process; latencies of n commands."""
    from robot_rl.rl.sim_session import load_policy

    rng = np.random.default_rng(0)
    frames = {c: rng.integers(0, 256, (cfg.camera.height, cfg.camera.width, 3), dtype=np.uint8)
              for c in cfg.camera.names}
    buf = ObservationBuffer([*(f"images/{c}" for c in cfg.camera.names), "state"], cfg.camera.max_age_s)
    stop = threading.Event()

    def camera() -> None:
        period, t_next = 1.0 / _camera_hz(cfg.camera.fps, hz, n), time.time()
        while not stop.is_set():
            t = time.time()
            for c, f in frames.items():
                buf.put(f"images/{c}", f.copy(), t)  # a new buffer per frame, as a driver hands out
            buf.put("state", np.zeros(STATE_DIM, np.float32), t)
            t_next += period
            stop.wait(max(0.0, t_next - time.time()))

    actor = GraphActor(load_policy(cfg), SafetyLimits(cfg.robot), max_steps=10**9, explore=True, lockstep=False)
    actor.on_reset_done(actor.seed, 0.0)
    thread = threading.Thread(target=camera, daemon=True)
    thread.start()
    latency, ticks, starts = [], [], []
    period, t_next = 1.0 / hz, time.time()
    try:
        while len(latency) < n + WARMUP:
            t_next += period
            stop.wait(max(0.0, t_next - time.time()))  # the control timer
            now = time.time()
            out = actor.tick(buf, now)
            starts.append(now)
            if out.command is not None:
                t = time.time()
                latency.append(t - out.t_obs)
                ticks.append(t)
    finally:
        stop.set()
        thread.join()
    return _stats(np.array(latency[WARMUP:]), np.array(ticks[WARMUP:]), hz,
                  _jitter_p99_ms(np.array(starts[WARMUP:]), hz))


def _ros(overrides: list[str], hz: float, n: int, work: Path) -> dict[str, float]:
    cfg = load_config(overrides)
    env = {**os.environ, **graph_env("LOCALHOST", cfg.ros.package_path), "PYTHONUNBUFFERED": "1"}
    env.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    out = work / f"probe-{hz:g}.json"
    out.unlink(missing_ok=True)
    log = open(work / f"ros-{hz:g}.log", "w")  # noqa: SIM115 - closed below
    py = [sys.executable, "-m"]
    procs = [subprocess.Popen([*py, "robot_rl_ros.bench_nodes", *mode, *overrides], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
             for mode in (["camera", str(_camera_hz(cfg.camera.fps, hz, n))], ["probe", str(out), str(n + WARMUP)])]
    procs.append(subprocess.Popen([*py, "robot_rl_ros.actor_node", *overrides], env=env, stdout=log,
                                  stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 120 + 3 * (n + WARMUP) / hz
        while procs[1].poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # waiting for the probe to record its commands
        if not out.exists():
            raise RuntimeError(f"the ROS pipeline produced no measurement; see {log.name}")
        data = json.loads(out.read_text())
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(2)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
    receipt = np.array(data["receipt_ns"][WARMUP:]) * 1e-9
    stamp = np.array(data["stamp_ns"][WARMUP:]) * 1e-9
    # the actor node logs its own timer's period percentiles when it stops ("period p50/p99" in ms)
    m = re.search(r"period ([0-9.]+)/([0-9.]+)", (work / f"ros-{hz:g}.log").read_text())
    tick_jitter = abs(float(m.group(2)) - 1e3 / hz) if m else None
    return _stats(receipt - stamp, receipt, hz, tick_jitter)


def _row(setup: str, hz: float, pipeline: str, s: dict) -> dict:
    return {"setup": setup, "hz": hz, "pipeline": pipeline, "latency_p50_ms": s["p50_ms"],
            "latency_p99_ms": s["p99_ms"], "command_jitter_p99_ms": s["jitter_p99_ms"],
            "tick_jitter_p99_ms": s["tick_jitter_p99_ms"], "n": s["n"]}


def run(cfg: Config) -> BenchResult:
    rows, notes = [], []
    torch.set_num_threads(1)  # two cores: the policy's threads must not starve the camera and DDS
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, names, w, h in SETUPS:
            base = work / f"bc-{w}x{h}.pt"
            torch.manual_seed(0)
            net = BCNetwork(names, (h, w), STATE_DIM, cfg.policy.chunk, cfg.policy.feature_dim, cfg.policy.hidden_dim)
            bundles.save(net.to_bundle(), base)
            for hz in RATES:
                n = max(30, int(cfg.bench.steps * hz / 30))  # 300 steps -> 100 commands at 10 Hz, 300 at 30 Hz
                overrides = [f"camera.names=[{','.join(names)}]", f"camera.width={w}", f"camera.height={h}",
                             "camera.fps=30", f"task.control_hz={hz:g}", "task.max_steps=1000000000",
                             f"policy.path={base}", "ros.record=false", "ros.lockstep=false", "policy.device=cpu",
                             "learner.device=cpu"]
                base_stats = _in_process(load_config(overrides), hz, n)
                for executor in EXECUTORS:
                    s = _ros([*overrides, f"ros.executor={executor}"], hz, n, work)
                    rows.append(_row(label, hz, f"ROS 2, {executor} executor (DDS, 3 processes)", s))
                    rows[-1].update(ros_adds_p50_ms=s["p50_ms"] - base_stats["p50_ms"],
                                    ros_adds_p99_ms=s["p99_ms"] - base_stats["p99_ms"],
                                    ratio_p50=s["p50_ms"] / base_stats["p50_ms"])
                rows.append(_row(label, hz, "in-process, no ROS (baseline)", base_stats))
    notes.append("latency: camera capture stamp -> command (ROS: received by a probe, one extra hop); includes the "
                 "frame's age when the tick reads it (cameras at ~30 fps, phase sweeping one frame), in both pipelines")
    notes.append("jitter: command = period between commands becoming available (after the policy; ROS: at the probe); "
                 "tick = the control timer's period (ROS: p99 period from the actor node's log, vs the nominal one)")
    notes.append("targets: ROS adds < 2 ms p99 at 128x128; 10 Hz period jitter p99 < 2 ms; torch threads 1; every "
                 "node of a ROS pipeline (camera, actor, probe) runs the executor named in its row")
    return BenchResult(suite="ros", rows=rows, notes=notes)
