"""An episode in the Rerun viewer: cameras, actions, state, reward, take-overs, and the help score and the reward
classifier's probability where the store has them.

  robot-rl view STORE --episode N [--camera C ...] [--out FILE.rrd]

Writes an .rrd file (default: <output_dir>/episode_<N>.rrd); open it with `rerun FILE.rrd` (the viewer ships with
rerun-sdk, the `viz` extra) on any machine. The browser live view (`robot-rl act --live-port`) stays for watching
a run as it happens without installing anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="replay store path (local directory or fsspec URL)")
    parser.add_argument("--episode", type=int, default=0, help="episode index (negative: from the end)")
    parser.add_argument("--camera", action="append", default=None,
                        help="camera to show (repeatable; default: every camera of the store)")
    parser.add_argument("--out", default=None, help=".rrd file (default: <output_dir>/episode_<N>.rrd)")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.errors import StoreError
    from robot_rl.data.replay_store import ReplayStore
    from robot_rl.viz.rerun_log import RerunMissing, write_episode_rrd

    try:
        with ReplayStore.open(args.store) as store:
            n = store.n_episodes
            episode = args.episode + n if args.episode < 0 else args.episode
            out = Path(args.out or Path(cfg.output_dir) / f"episode_{episode}.rrd")
            path = write_episode_rrd(store, episode, out, args.camera)
    except (StoreError, RerunMissing, IndexError, ValueError) as exc:
        print(f"robot-rl view: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it with rerun {path}")
    return 0
