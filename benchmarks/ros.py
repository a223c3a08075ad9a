"""The ROS 2 layer's cost: camera capture stamp -> command published, p50/p99, and control-period jitter p99,
at 10 Hz and 30 Hz, with two 128x128 cameras (and one 640x480 camera for scale).

Both pipelines run the same actor (:class:`robot_rl.actor.tick.GraphActor` with the same untrained BC base +
residual, cameras streaming at ``camera.fps``, newest-frame semantics, no lock-step):
- **ROS**: a synthetic camera + robot-state process -> ``actor_node`` -> a probe process, over DDS on loopback
  (published: the actor node's own record, ``ros.timing_path``; received: at the probe, one more hop);
- **in-process** (the baseline): a camera thread and the same control loop in one process, no ROS.
The frame's age when the tick reads it (up to one camera period) is in both: the cameras run slightly off
``camera.fps`` so that, like a free-running camera, their phase against the control clock sweeps through one
whole frame period during each measurement (in both pipelines alike); the difference is what ROS adds.
Runs one after the other, never concurrently. The core library never imports rclpy: the ROS side runs as
processes (``robot_rl_ros.bench_nodes``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.report import BenchResult
from robot_rl.actor.control_loop import ControlLoop
from robot_rl.actor.observation import ObservationBuffer
from robot_rl.actor.tick import GraphActor
from robot_rl.cli.supervisor import graph_env
from robot_rl.config import Config, load_config
from robot_rl.control.safety import SafetyLimits
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.spec import STATE_DIM, image_key, observation_keys

SETUPS = (("two 128x128 cameras", ["wrist", "front"], 128, 128), ("one 640x480 camera", ["front"], 640, 480))
RATES = (10.0, 30.0)
EXECUTORS = ("events", "single")  # ros.executor: rclpy's C++ EventsExecutor, then the classic Python one
WARMUP = 10


def _jitter_p99_ms(times_s: np.ndarray, hz: float) -> float:
    return float(np.percentile(np.abs(np.diff(times_s) - 1.0 / hz), 99) * 1e3)


def _stats(published_s: np.ndarray, stamp_s: np.ndarray, periods_s: list[float], hz: float,
           received_s: np.ndarray | None = None) -> dict:
    """Capture stamp -> command published (the actor's side) p50/p99; for ROS also -> received by the robot
    side (the probe: one more hop); period jitter p99 of the control loop (its ticks) and of the commands
    (when each was published: the loop's jitter plus the policy's own variation)."""
    latency = published_s - stamp_s
    out = {"p50_ms": float(np.percentile(latency, 50) * 1e3), "p99_ms": float(np.percentile(latency, 99) * 1e3),
           "loop_jitter_p99_ms": float(np.percentile(np.abs(np.array(periods_s) - 1.0 / hz), 99) * 1e3),
           "command_jitter_p99_ms": _jitter_p99_ms(published_s, hz), "n": len(latency)}
    if received_s is not None:
        out["received_p50_ms"] = float(np.percentile(received_s - stamp_s, 50) * 1e3)
        out["received_p99_ms"] = float(np.percentile(received_s - stamp_s, 99) * 1e3)
    return out


def _camera_hz(fps: float, hz: float, n: int) -> float:
    """A camera rate whose phase against the control clock drifts by one frame over the n + WARMUP ticks."""
    return fps - hz / (n + WARMUP)


def _in_process(cfg: Config, hz: float, n: int) -> dict[str, float]:
    """Camera thread + the control loop at ``hz`` (the actor node's :class:`ControlLoop`), one process; n
    commands after the warm-up."""
    from robot_rl.actor.wiring import load_policy

    rng = np.random.default_rng(0)
    frames = {c: rng.integers(0, 256, (cfg.camera.height, cfg.camera.width, 3), dtype=np.uint8)
              for c in cfg.camera.names}
    buf = ObservationBuffer(observation_keys(cfg.camera.names), cfg.camera.max_age_s)
    stop, done = threading.Event(), threading.Event()

    def camera() -> None:
        period, t_next = 1.0 / _camera_hz(cfg.camera.fps, hz, n), time.time()
        while not stop.is_set():
            t = time.time()
            for c, f in frames.items():
                buf.put(image_key(c), f.copy(), t)  # a new buffer per frame, as a driver hands out
            buf.put("state", np.zeros(STATE_DIM, np.float32), t)
            t_next += period
            stop.wait(max(0.0, t_next - time.time()))

    actor = GraphActor(load_policy(cfg), SafetyLimits.for_robot(cfg.robot), max_steps=10**9, explore=True,
                       lockstep=False)
    actor.on_reset_done(actor.seed, 0.0)
    published, stamps = [], []

    def tick() -> None:
        out = actor.tick(buf, time.time())
        if out.command is not None:
            published.append(time.time())  # where the node publishes
            stamps.append(out.t_obs)
        actor.swap_weights()
        if len(published) >= n + WARMUP:
            done.set()

    thread = threading.Thread(target=camera, daemon=True)
    thread.start()
    loop = ControlLoop(hz, tick).start()
    try:
        if not done.wait(60 + 3 * (n + WARMUP) / hz):
            raise RuntimeError(f"the in-process pipeline made {len(published)} of {n + WARMUP} commands: {loop.error}")
    finally:
        loop.stop()
        stop.set()
        thread.join()
    return _stats(np.array(published[WARMUP:]), np.array(stamps[WARMUP:]), list(loop.periods_s)[WARMUP:], hz)


def _ros(overrides: list[str], hz: float, n: int, work: Path) -> dict[str, float]:
    cfg = load_config(overrides)
    env = {**os.environ, **graph_env("LOCALHOST", cfg.ros.package_path), "PYTHONUNBUFFERED": "1"}
    env.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    out, timing = work / f"probe-{hz:g}.json", work / f"actor-{hz:g}.json"
    out.unlink(missing_ok=True)
    timing.unlink(missing_ok=True)
    log = open(work / f"ros-{hz:g}.log", "w")  # noqa: SIM115 - closed below
    py = [sys.executable, "-m"]
    procs = [subprocess.Popen([*py, "robot_rl_ros.bench_nodes", *mode, *overrides], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
             for mode in (["camera", str(_camera_hz(cfg.camera.fps, hz, n))], ["probe", str(out), str(n + WARMUP)])]
    procs.append(subprocess.Popen([*py, "robot_rl_ros.actor_node", *overrides, f"ros.timing_path={timing}"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT))
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
    if not timing.exists():
        raise RuntimeError(f"the actor node wrote no timing; see {log.name}")
    actor = json.loads(timing.read_text())
    stamp, published, received = _pair(actor["stamp_ns"], actor["published_ns"], data["stamp_ns"],
                                       data["receipt_ns"])[:, WARMUP:WARMUP + n] * 1e-9
    return _stats(published, stamp, actor["periods_s"][WARMUP:], hz, received_s=received)


def _pair(sent_stamps: list[int], published: list[int], got_stamps: list[int], received: list[int]) -> np.ndarray:
    """(3, N) capture stamp, published, received (ns) of each command the probe got, matched in order to the
    actor's record of it (two ticks may act on the same frame, so a stamp alone is not a key)."""
    i, out = 0, []
    for stamp, t in zip(got_stamps, received, strict=True):
        while i < len(sent_stamps) and sent_stamps[i] != stamp:
            i += 1  # a command the probe did not get
        if i == len(sent_stamps):
            break
        out.append((stamp, published[i], t))
        i += 1
    return np.array(out, dtype=np.float64).reshape(-1, 3).T


def _row(setup: str, hz: float, pipeline: str, s: dict) -> dict:
    return {"setup": setup, "hz": hz, "pipeline": pipeline, "latency_p50_ms": s["p50_ms"],
            "latency_p99_ms": s["p99_ms"], "received_p50_ms": s.get("received_p50_ms"),
            "received_p99_ms": s.get("received_p99_ms"), "loop_jitter_p99_ms": s["loop_jitter_p99_ms"],
            "command_jitter_p99_ms": s["command_jitter_p99_ms"], "n": s["n"]}


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
    notes.append("latency: camera capture stamp -> command published by the actor (received: by a probe standing in "
                 "for the robot node, one more hop); includes the frame's age when the tick reads it (cameras at "
                 "~30 fps, phase sweeping one frame), in both pipelines")
    notes.append("jitter p99 against the nominal period: loop = the control loop's ticks; command = when commands were "
                 "published (the loop plus the policy's own variation)")
    notes.append("targets: ROS adds < 2 ms p99 at 128x128; 10 Hz period jitter p99 < 2 ms; torch threads 1; every "
                 "node of a ROS pipeline (camera, actor, probe) runs the executor named in its row")
    return BenchResult(suite="ros", rows=rows, notes=notes)
