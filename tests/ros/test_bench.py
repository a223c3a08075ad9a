"""``robot-rl bench ros`` measures both pipelines (one small setup here; the full suite is a benchmark, not a test)."""

from __future__ import annotations

import numpy as np

from benchmarks import SUITES
from benchmarks import ros as bench
from robot_rl.config import load_config
from tests.ros.conftest import tiny_setup


def test_bench_ros_measures_ros_and_in_process(tmp_path):
    assert SUITES["ros"] == "benchmarks.ros"
    overrides = [*tiny_setup(tmp_path), "task.control_hz=10", "task.max_steps=1000000000", "ros.record=false",
                 "ros.lockstep=false"]
    n = 20
    # the ROS side on rclpy's C++ EventsExecutor (ros.executor=events; the graph tests cover the default one)
    local = bench._in_process(load_config(overrides), 10.0, n)
    ros = bench._ros([*overrides, "ros.executor=events"], 10.0, n, tmp_path)
    for stats in (local, ros):
        assert stats["n"] == n
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] < 1000, stats
        assert np.isfinite(stats["loop_jitter_p99_ms"]) and np.isfinite(stats["command_jitter_p99_ms"])
    assert ros["p50_ms"] < ros["received_p50_ms"], "the probe gets each command after the actor published it"


def test_pairing_commands_with_the_same_frame():
    """Two ticks on one frame share a capture stamp; a command the probe missed is skipped."""
    stamp, published, received = bench._pair([1, 1, 2, 3], [10, 20, 30, 40], [1, 1, 3], [11, 21, 41])
    assert stamp.tolist() == [1, 1, 3] and published.tolist() == [10, 20, 40] and received.tolist() == [11, 21, 41]
