"""Run benchmarks; each prints a table and writes <bench.out_dir>/<suite>.json.

Suites: sim (env steps/s with both cameras, physics steps/s, render fps per camera),
buffer (append rows/s and put latency, sample batches/s vs. a plain numpy baseline, refresh time),
all (every suite).
"""

from __future__ import annotations

import argparse
import importlib

from robot_rl.bench import SUITES
from robot_rl.bench.report import write_report
from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=[*SUITES, "all"], help="which benchmark to run")


def run(args: argparse.Namespace, cfg: Config) -> int:
    names = list(SUITES) if args.suite == "all" else [args.suite]
    for name in names:
        result = importlib.import_module(SUITES[name]).run(cfg)
        write_report(result, cfg.bench.out_dir)
    return 0
