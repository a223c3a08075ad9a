"""Run benchmarks; each prints a table and writes <bench.out_dir>/<suite>.json.

Suites: sim (env steps/s with both cameras, physics steps/s, render fps per camera),
buffer (append rows/s and put latency, sample batches/s vs. a plain numpy baseline, refresh time),
hardware (Franka command latency against franky-sim, camera playback, SpaceMouse),
policy (learner updates/s at batch 256, actor step latency),
ros (camera capture -> command latency and control-period jitter, ROS 2 graph vs the same actor in-process),
learning (the learning experiment: BC, residual variants, HG-DAgger, HIL-SERL on the same seeds; hours on a CPU,
see bench.learning.*), help (who watches: always, or only when the robot asks, asked by our help score,
ThriftyDAgger's gate or at random; success, human attention, recall and precision of the requests; see
bench.help.*), reward (the reward classifier against the twin's truth: false positives, recall, accuracy,
detection delay on held-out seeds, training time, and learning with its success against the twin's; see
bench.reward.*; exits 1 when a target is missed), interop (buffer import / export of Diffusion Policy and
LeRobot datasets in multiples of real time on twin episodes, and the frames' error after a LeRobot round trip;
see bench.interop.*), soak (the fault-injection soak of the sim graph over ROS 2:
kills, pauses, delayed and dropped frames, a full disk; `robot-rl bench soak bench.soak.minutes=30`, see
bench.soak.*; exits 1 when a property failed), all (every suite but learning, help, reward and soak).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path
from types import ModuleType

import robot_rl
from robot_rl.config import Config

CHECKOUT = Path(robot_rl.__file__).resolve().parents[1]


def benchmarks() -> ModuleType:
    """The benchmarks package: it lives in the repository (``benchmarks/``), beside the product, not in it."""
    if (CHECKOUT / "benchmarks" / "__init__.py").exists() and str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    try:
        return importlib.import_module("benchmarks")
    except ImportError as exc:
        raise SystemExit("robot-rl bench: the benchmarks live in the repository's benchmarks/ folder, which this "
                         f"installation does not have ({exc}); run from a clone of the repository") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=[*benchmarks().SUITES, "all"], help="which benchmark to run")


def run(args: argparse.Namespace, cfg: Config) -> int:
    bench = benchmarks()
    from benchmarks.report import write_report

    suites, long_suites = bench.SUITES, bench.LONG_SUITES
    names = [s for s in suites if s not in long_suites] if args.suite == "all" else [args.suite]
    code = 0
    for name in names:
        suite = importlib.import_module(suites[name])
        # a suite that starts processes of its own (soak) passes the command line's overrides on to them
        wants = "overrides" in inspect.signature(suite.run).parameters
        result = suite.run(cfg, overrides=list(args.overrides)) if wants else suite.run(cfg)
        write_report(result, cfg.bench.out_dir)
        code = code or int(not result.ok)
    return code
