"""Write an episode as MP4: its recorded camera frames beside the simulated replay, with an overlay.

  robot-rl video STORE --episode N [--mode auto|action|joint] [--camera C ...] [--out FILE] [overrides]

One frame per recorded row: for each camera a row of [recorded | simulated], under them the step,
time, reward, return, EE tracking error, who acted (HUMAN / policy) and the executed action as bars;
a red border while the human drives. --mode auto replays a sim episode (seed >= 0) in action space,
so the cube moves as it did, and a real-robot episode in joint space where joints are recorded.
H.264 when ffmpeg is on PATH (plays everywhere), else MPEG-4 Part 2 (mp4v: VLC, mpv, ffmpeg, OpenCV).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot_rl.config import Config
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import JOINTS_KEY
from robot_rl.sim.replay import MODES, EpisodeReplayer, ReplayInputError, load_episode
from robot_rl.viz.episode_video import write_episode_video


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="replay store path (local directory or fsspec URL)")
    parser.add_argument("--episode", type=int, default=0, help="episode index (negative: from the end)")
    parser.add_argument("--mode", choices=("auto", *MODES), default="auto", help="which replay to show")
    parser.add_argument("--arm-only", action="store_true", help="replay the arm alone even for a sim episode")
    parser.add_argument("--camera", action="append", default=None,
                        help="camera to show (repeatable; default: every camera of the store)")
    parser.add_argument("--out", default=None, help="MP4 file (default: <output_dir>/episode_<N>.mp4)")
    parser.add_argument("--tile", type=int, default=256, help="height in pixels of each camera tile")
    parser.add_argument("--fps", type=float, default=None, help="frames per second (default: task.control_hz)")
    parser.add_argument("--codec", choices=("auto", "h264", "mp4v"), default="auto")


def run(args: argparse.Namespace, cfg: Config) -> int:
    try:
        with ReplayStore.open(args.store) as store:
            cameras = args.camera or list(store.schema.cameras)
            if not cameras:
                raise ReplayInputError(f"{args.store} has no camera images to show")
            mode = args.mode
            if mode == "auto":
                seeded = store.episode_meta(_index(store, args.episode)).seed >= 0
                mode = "action" if (seeded and not args.arm_only) or JOINTS_KEY not in store.schema.fields else "joint"
            ep = load_episode(store, args.episode, cameras=cameras, need_joints=mode == "joint")
            image_hw = store.schema.image_hw
        with EpisodeReplayer(cfg, cameras, image_hw) as replayer:
            result = replayer.replay(ep, mode, arm_only=args.arm_only)
        out = Path(args.out or Path(cfg.output_dir) / f"episode_{ep.index}.mp4")
        info = write_episode_video(ep, result, out, args.fps or cfg.task.control_hz, tile=args.tile, codec=args.codec)
    except (ReplayInputError, StoreError) as exc:
        print(f"robot-rl video: {exc}", file=sys.stderr)
        return 2
    err = result.error.summary()
    print(f"wrote {info.path}: {info.frames} frames, {info.width}x{info.height}, {info.codec}; "
          f"{mode} replay ({result.scene}), EE error mean {err['pos_mean_mm']:.2f} mm, max {err['pos_max_mm']:.2f} mm")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def _index(store: ReplayStore, episode: int) -> int:
    """``episode`` as a non-negative index; out of range raises the replay's own error."""
    n = store.n_episodes
    if not -n <= episode < n:
        load_episode(store, episode)  # raises ReplayInputError naming what is there
    return episode % n
