"""Hardware latencies against the most real peers here: Franka command -> state change (franky-sim over
libfranka on loopback), camera frame -> numpy (librealsense playback of a synthetic recording), and
SpaceMouse report -> twist (pyspacemouse parsing reports from the fake HID device).

Baselines in the same process: the control period (100 ms at 10 Hz) for the arm, the camera's frame
period for playback, and the SpaceMouse poll period.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import BenchResult
from benchmarks.timing import ms
from robot_rl.config.schema import CameraBackend, Config
from robot_rl.hardware.deadline import wait_for


def _franka(cfg: Config, n: int) -> list[dict]:
    from robot_rl.hardware.franka import FrankaRobot
    from robot_rl.testing.franka_sim import FrankySimPeer

    rows = []
    robot_cfg = dataclasses.replace(cfg.robot, realtime=False, watchdog_s=1.0, max_ee_step=0.06,
                                    workspace_low=[0.2, -0.4, 0.05], workspace_high=[0.8, 0.4, 0.6],
                                    home_joints=[0.0, -0.27, 0.0, -2.511, 0.0, 2.239, 0.785])
    with FrankySimPeer() as peer, FrankaRobot(dataclasses.replace(robot_cfg, ip=peer.host)) as robot:
        robot.reset()
        lat, reads = [], []
        for i in range(n):
            before = robot.read_state().ee_pos
            sign = 1.0 if i % 2 == 0 else -1.0
            t0 = time.perf_counter()
            robot.send_action(np.array([0, sign, 0, 0, 0, 0, -1], dtype=np.float32))
            wait_for(lambda b=before: np.linalg.norm(robot.read_state().ee_pos - b) > 5e-4, 5.0, "EE moved 0.5 mm")
            lat.append(time.perf_counter() - t0)
            wait_for(lambda: robot.read_state().mode == "Idle", 10.0, "motion done")
        for _ in range(200):
            t0 = time.perf_counter()
            robot.read_state()
            reads.append(time.perf_counter() - t0)
    lat_a, reads_a = np.array(lat), np.array(reads)
    rows.append({"measure": "franka command -> EE moved 0.5 mm", "n": n, "p50_ms": ms(lat_a, 50),
                 "p99_ms": ms(lat_a, 99), "ratio": float(np.median(lat_a)) / 0.1, "vs": "10 Hz control period"})
    rows.append({"measure": "franka read_state", "n": len(reads), "p50_ms": ms(reads_a, 50), "p99_ms": ms(reads_a, 99),
                 "per_s": 1.0 / float(np.mean(reads_a)), "ratio": 0.01 / float(np.median(reads_a)),
                 "vs": "100 Hz needed"})
    return rows


def _camera(cfg: Config, n: int) -> list[dict]:
    from robot_rl.hardware.realsense import RealSenseCamera
    from robot_rl.hardware.realsense_recording import write_recording

    w, h, fps = cfg.camera.capture_width, cfg.camera.capture_height, 30
    color = np.random.default_rng(0).integers(0, 256, (max(n, 60), h, w, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_recording(Path(tmp) / "bench.db3", color, fps=fps, serial="000000000000")
        cam_cfg = dataclasses.replace(cfg.camera, backend=CameraBackend.realsense, fps=fps, reconnect_s=2.0)
        with RealSenseCamera("bench", cam_cfg, recording=path) as cam:
            lat, reads, last = [], [], 0
            deadline = time.monotonic() + 2 * len(color) / fps
            while len(lat) < n and time.monotonic() < deadline:
                f = wait_for(lambda lst=last: (x := cam.read_latest(max_age_s=5.0)).index > lst and x, 5.0, "frame")
                t0 = time.perf_counter()
                cam.read_latest(max_age_s=5.0)
                reads.append(time.perf_counter() - t0)
                lat.append(time.monotonic() - f.stamp)  # arrival in librealsense -> numpy frame in our hands
                last = f.index
    lat_a, reads_a = np.array(lat), np.array(reads)
    return [{"measure": f"camera frame -> numpy ({w}x{h} -> {cfg.camera.width}x{cfg.camera.height}, playback)",
             "n": len(lat), "p50_ms": ms(lat_a, 50), "p99_ms": ms(lat_a, 99),
             "ratio": float(np.median(lat_a)) * fps, "vs": "frame period"},
            {"measure": "camera read_latest", "n": len(reads), "p50_ms": ms(reads_a, 50), "p99_ms": ms(reads_a, 99)}]


def _spacemouse(cfg: Config, n: int) -> list[dict]:
    from robot_rl.hardware.spacemouse import SpaceMouse
    from robot_rl.testing.fake_hid import FakeHIDDevice, axis_report

    hid = FakeHIDDevice()
    lat = []
    with SpaceMouse(cfg.teleop.spacemouse, hid_devices=lambda: [hid]) as sm:
        for i in range(n):
            t0 = time.perf_counter()
            hid.feed(axis_report(1, 350 if i % 2 == 0 else -350, 0, 0))
            wait_for(lambda k=i: sm.latest(max_age_s=1.0).reports > k, 2.0, "report parsed")
            lat.append(time.perf_counter() - t0)
    lat_a = np.array(lat)
    period = 1.0 / cfg.teleop.spacemouse.poll_hz
    return [{"measure": "spacemouse report -> twist", "n": n, "p50_ms": ms(lat_a, 50), "p99_ms": ms(lat_a, 99),
             "ratio": float(np.median(lat_a)) / period, "vs": f"poll period {period * 1e3:g} ms"}]


def run(cfg: Config) -> BenchResult:
    n = max(10, min(cfg.bench.steps, 60))
    rows = [*_franka(cfg, min(n, 20)), *_camera(cfg, n), *_spacemouse(cfg, n)]
    notes = ["franky-sim runs MuJoCo + a Python 1 kHz loop in a child process on this machine: arm latency "
             "includes its servo and trajectory start, not a real FR3's",
             "the Franka driver calls libfranka in a worker process (each call with a deadline): read_state and "
             "commands include one local round trip to it",
             "camera latency is librealsense delivery -> cropped/resized numpy in our thread, on playback",
             "spacemouse: fake HID device at the HID-read boundary; pyspacemouse parses the reports"]
    return BenchResult(suite="hardware", rows=rows, notes=notes)
