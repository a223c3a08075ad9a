"""Run benchmarks; each prints a table and writes <bench.out_dir>/<suite>.json.

Suites: sim (env steps/s with both cameras, physics steps/s, render fps per camera),
buffer (append rows/s and put latency, sample batches/s vs. a plain numpy baseline, refresh time),
hardware (Franka command latency against franky-sim, camera playback, SpaceMouse),
policy (learner updates/s at batch 256, actor step latency),
ros (camera capture -> command latency and control-period jitter, ROS 2 graph vs the same actor in-process),
learning (the learning experiment: BC, residual variants, HG-DAgger, HIL-SERL on the same seeds; hours on a CPU,
see bench.learning.*), soak (the fault-injection soak of the sim graph over ROS 2: kills, pauses, delayed and
dropped frames, a full disk; `robot-rl bench soak bench.soak.minutes=30`, see bench.soak.*; exits 1 when a
property failed), all (every suite but learning and soak).
"""

from __future__ import annotations

import argparse
import importlib
import inspect

from robot_rl.bench import LONG_SUITES, SUITES
from robot_rl.bench.report import write_report
from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=[*SUITES, "all"], help="which benchmark to run")


def run(args: argparse.Namespace, cfg: Config) -> int:
    names = [s for s in SUITES if s not in LONG_SUITES] if args.suite == "all" else [args.suite]
    code = 0
    for name in names:
        suite = importlib.import_module(SUITES[name])
        # a suite that starts processes of its own (soak) passes the command line's overrides on to them
        wants = "overrides" in inspect.signature(suite.run).parameters
        result = suite.run(cfg, overrides=list(args.overrides)) if wants else suite.run(cfg)
        write_report(result, cfg.bench.out_dir)
        code = code or int(not result.ok)
    return code
