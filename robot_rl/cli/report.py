"""Write a training report: one self-contained HTML file with plots, plus the plots as PNGs.

  robot-rl report STORE [--learner-log LEARNER_DIR/metrics.jsonl] [--out DIR] [--screenshot] [overrides]

Success rate, intervention rate, episode length and cycle time over episodes and over wall clock,
the residual weight versions each episode used, the learner's losses, Q-values and published
versions (from its metrics.jsonl; found beside the store as learner/metrics.jsonl when not given),
and a table of every episode. --screenshot also renders the page to report.png in headless Chromium.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from robot_rl.config import Config
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.report.html import write_report
from robot_rl.report.stats import episode_stats, find_learner_log, load_learner_log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="replay store path (local directory or fsspec URL)")
    parser.add_argument("--learner-log", default=None, help="the learner's metrics.jsonl (default: "
                        "<store folder>/learner/metrics.jsonl if it exists)")
    parser.add_argument("--out", default=None, help="output folder (default: <output_dir>/report-<time>)")
    parser.add_argument("--window", type=int, default=10, help="episodes in the rolling means")
    parser.add_argument("--screenshot", action="store_true", help="also write report.png (headless Chromium)")


def run(args: argparse.Namespace, cfg: Config) -> int:
    log_path = args.learner_log or find_learner_log(args.store)
    if args.learner_log and not Path(args.learner_log).is_file():
        print(f"robot-rl report: no learner log at {args.learner_log}", file=sys.stderr)
        return 2
    try:
        with ReplayStore.open(args.store) as store:
            eps = episode_stats(store)
    except StoreError as exc:
        print(f"robot-rl report: {exc}", file=sys.stderr)
        return 2
    log = load_learner_log(log_path) if log_path else []
    out = Path(args.out or Path(cfg.output_dir) / time.strftime("report-%Y%m%d-%H%M%S"))
    report = write_report(out, args.store, eps, log, str(log_path) if log_path else None, window=max(1, args.window))
    print(f"wrote {report.html} ({report.plots} plots, {len(eps)} episodes"
          f"{f', {len(log)} learner records' if log else ', no learner log'})")
    if args.screenshot:
        from robot_rl.report.browser import find_chromium, screenshot

        if find_chromium() is None:
            print("robot-rl report: --screenshot needs Chromium (apt-get install chromium)", file=sys.stderr)
            return 2
        png, page = screenshot(report.html, out / "report.png")
        print(f"wrote {png} ({page.plots_loaded}/{page.plots} plots loaded in Chromium)")
    return 0
