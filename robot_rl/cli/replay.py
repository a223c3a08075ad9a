"""Replay a recorded episode in the MuJoCo twin and print how well the twin tracks it.

  robot-rl replay STORE --episode N [--mode both|joint|action] [--arm-only] [--out DIR] [overrides]

joint: set the recorded joint positions (obs/joints) row by row: the twin's forward kinematics of
the recorded joints against the recorded EE pose (a kinematics / calibration check).
action: re-execute the recorded actions open loop from the recorded initial state. A sim episode
(seed >= 0) replays in the scene of env.reset(seed) and reproduces its recording; a real-robot
episode (or --arm-only) replays the arm alone. Pass the task overrides the store was recorded with.
--out DIR writes replay_<N>.json and a plot of both EE trajectories.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from robot_rl.config import Config
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import JOINTS_KEY
from robot_rl.report.table import format_table
from robot_rl.sim.replay import MODES, ReplayInputError, ReplayResult, replay_episode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="replay store path (local directory or fsspec URL)")
    parser.add_argument("--episode", type=int, default=0, help="episode index (negative: from the end)")
    parser.add_argument("--mode", choices=("both", *MODES), default="both",
                        help="joint-space, action-space, or both (default; joint only where joints are recorded)")
    parser.add_argument("--arm-only", action="store_true",
                        help="replay the arm alone even for a sim episode (what a real-robot episode gets)")
    parser.add_argument("--out", default=None, help="folder for replay_<N>.json and replay_<N>.png")


def modes_for(store: ReplayStore, mode: str) -> tuple[list[str], list[str]]:
    """The modes to run and notes on the ones skipped (``both`` skips joint without recorded joints)."""
    if mode != "both":
        return [mode], []
    if JOINTS_KEY in store.schema.fields:
        return list(MODES), []
    return ["action"], [f"joint-space replay skipped: the store has no {JOINTS_KEY}"]


def summary_rows(results: list[ReplayResult]) -> list[dict]:
    rows = []
    for r in results:
        s = r.error.summary()
        rows.append({"mode": r.mode, "scene": r.scene, "steps": len(r.recorded),
                     "start offset mm": f"{1000 * r.initial_offset_m:.3f}",
                     "EE pos err mean/max/final mm": f"{s['pos_mean_mm']:.3f} / {s['pos_max_mm']:.3f} / "
                                                     f"{s['pos_final_mm']:.3f}",
                     "rot err mean/max deg": f"{s['rot_mean_deg']:.3f} / {s['rot_max_deg']:.3f}",
                     "gripper err mm": f"{s['gripper_mean_mm']:.2f}"})
    return rows


def run(args: argparse.Namespace, cfg: Config) -> int:
    try:
        with ReplayStore.open(args.store) as store:
            modes, notes = modes_for(store, args.mode)
            results = replay_episode(cfg, store, args.episode, modes, arm_only=args.arm_only)
            meta = store.episode_meta(results[0].episode)
    except (ReplayInputError, StoreError) as exc:
        print(f"robot-rl replay: {exc}", file=sys.stderr)
        return 2
    ep = results[0].episode
    print(f"episode {ep} of {args.store}: source {meta.source.name}, seed {meta.seed}, "
          f"{len(results[0].recorded)} rows, {'success' if meta.success else 'no success'}, "
          f"weights v{meta.policy_version}")
    print(format_table(summary_rows(results)))
    for note in notes + [n for r in results for n in r.notes]:
        print(f"note: {note}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"replay_{ep}.json").write_text(json.dumps([r.to_json() for r in results], indent=2))
        from robot_rl.viz.replay_plot import plot_replay

        plot_replay(results, out / f"replay_{ep}.png")
        print(f"wrote {out / f'replay_{ep}.json'} and {out / f'replay_{ep}.png'}")
    return 0
