"""Inspect, verify, import or export a replay store (a local directory or an fsspec URL).

  robot-rl buffer inspect PATH          episodes, lengths, sources, success and intervention rates, size on disk
  robot-rl buffer verify PATH           read every chunk back and check the layout; exit status 1 on a problem
  robot-rl buffer import SRC DST        a foreign dataset -> a new store at DST (format detected, or --format):
                                        a Diffusion Policy replay zarr (format 2 or 3, a folder or a .zip), a
                                        LeRobotDataset v3.0 folder, or a ROS 2 bag (rosbag2 folder or its
                                        .mcap) of the graph's topics, resampled to task.control_hz. Keys map
                                        by interop.cameras / interop.state_keys / interop.action_key (a bag:
                                        interop.cameras names cameras or topics); the episodes become
                                        interop.source (demo) episodes, so train-bc and the learner's demo half
                                        use them
  robot-rl buffer export SRC DST --format dp|lerobot|mcap
                                        our store -> Diffusion Policy's replay zarr (format 2, Blosc LZ4), a ROS 2
                                        bag (rosbag2, MCAP storage: Foxglove and rosbags open it), or a
                                        LeRobotDataset v3.0 (parquet + one mp4 per episode and camera, encoded
                                        with interop.video_codec at interop.video_crf; the task text is
                                        interop.task, default task.name)
  robot-rl buffer repair SRC DST        a ROS 2 bag whose recorder was killed (no index, no metadata.yaml) -> a
                                        closed bag at DST with every message up to the cut, unchanged

inspect and verify open the store read-only, so they are safe while a recorder is writing to it. import,
export and repair write into a hidden sibling of DST and rename it into place when complete: DST appears whole
or not at all; an existing DST is refused unless --overwrite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["inspect", "verify", "import", "export", "repair"], help="what to do")
    parser.add_argument("path", help="store directory or fsspec URL (e.g. runs/replay.zarr); import: the dataset")
    parser.add_argument("dst", nargs="?", default=None, help="import / export / repair: where the result goes")
    parser.add_argument("--format", default="auto", choices=["auto", "dp", "lerobot", "mcap"],
                        help="import: the source's format (auto: detected); export: the destination's (dp, lerobot, "
                             "mcap)")
    parser.add_argument("--overwrite", action="store_true",
                        help="import / export / repair: replace an existing DST")
    parser.add_argument("--episodes", type=int, default=20,
                        help="inspect: list the last N episodes (0: none, -1: all; default 20)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.errors import StoreError
    from robot_rl.data.integrity import summarize, verify

    if args.action in ("import", "export", "repair"):
        if args.dst is None:
            print(f"robot-rl buffer {args.action}: needs a destination: robot-rl buffer {args.action} SRC DST",
                  file=sys.stderr)
            return 2
        try:
            act = {"import": _import, "export": _export, "repair": _repair}[args.action]
            return act(args, cfg)
        except StoreError as exc:
            print(f"robot-rl buffer {args.action}: {exc}", file=sys.stderr)
            return 1
    if args.action == "verify":
        report = verify(args.path)
        if args.json:
            print(json.dumps({"ok": report.ok, "problems": [str(p) for p in report.problems],
                              "notes": report.notes, "episodes": report.n_episodes, "rows": report.n_rows,
                              "chunks_read": report.chunks_read}, indent=2))
        else:
            for problem in report.problems:
                print(f"PROBLEM {problem}")
            for note in report.notes:
                print(f"note: {note}")
            verdict = "OK" if report.ok else f"{len(report.problems)} problem(s)"
            print(f"{args.path}: {verdict} ({report.n_episodes} episodes, {report.n_rows} rows, "
                  f"{report.chunks_read} chunks read)")
        return 0 if report.ok else 1
    try:
        summary = summarize(args.path)
    except StoreError as exc:
        print(f"robot-rl buffer inspect: {exc}{_foreign_hint(args.path)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
        return 0
    print(_format_summary(summary, args.episodes))
    return 0


def _foreign_hint(path: str) -> str:
    """What to do with a dataset in another format than ours."""
    from robot_rl.data.errors import StoreError
    from robot_rl.data.formats import OURS, detect_format

    try:
        fmt = detect_format(path)
    except (StoreError, OSError):
        return ""
    return "" if fmt == OURS else f"; it is a {fmt} dataset: robot-rl buffer import {path} DST makes a store of it"


def _import(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.bag_interop import import_bag
    from robot_rl.data.dp_interop import import_diffusion_policy
    from robot_rl.data.formats import LEROBOT, MCAP, OURS, check_readable, detect_format, write_atomically
    from robot_rl.data.lerobot_interop import import_lerobot
    from robot_rl.spec import ACTION_DIM

    fmt = detect_format(args.path) if args.format == "auto" else args.format
    if fmt == OURS:
        print(f"robot-rl buffer import: {args.path} is a robot_rl store already (robot-rl buffer inspect it)",
              file=sys.stderr)
        return 2
    check_readable(fmt, args.path)
    io = cfg.interop
    start = time.perf_counter()

    def write(tmp) -> tuple[int, int]:
        if fmt == MCAP:
            with _progress("import") as bar:
                store = import_bag(args.path, tmp, cameras=io.cameras or None, control_hz=cfg.task.control_hz,
                                   source=io.source, success=io.success, chunk_len=cfg.buffer.chunk_len,
                                   action_dim=ACTION_DIM, progress=bar)
        elif fmt == LEROBOT:
            with _progress("import") as bar:
                store = import_lerobot(args.path, tmp, cameras=io.cameras or None, state_keys=io.state_keys or None,
                                       action_key=io.action_key, source=io.source, success=io.success,
                                       chunk_len=cfg.buffer.chunk_len, action_dim=ACTION_DIM, progress=bar)
        else:
            store = import_diffusion_policy(args.path, tmp, image_keys=io.cameras or None,
                                            state_keys=io.state_keys or None, action_key=io.action_key,
                                            source=io.source, success=io.success, control_hz=cfg.task.control_hz,
                                            chunk_len=cfg.buffer.chunk_len)
        try:
            return store.n_episodes, store.n_rows
        finally:
            store.close()

    episodes, rows = write_atomically(args.dst, write, overwrite=args.overwrite)  # type: ignore[misc]
    print(f"imported {episodes} episodes ({rows} rows) of {fmt} from {args.path} into {args.dst} as "
          f"{io.source} episodes in {time.perf_counter() - start:.1f} s")
    return 0


def _repair(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.bag_repair import repair_bag
    from robot_rl.data.formats import write_atomically

    start = time.perf_counter()

    def write(tmp):
        with _progress("repair") as bar:
            return repair_bag(args.path, tmp, progress=bar)

    report = write_atomically(args.dst, write, overwrite=args.overwrite)
    last = dt.datetime.fromtimestamp(report.last_ns / 1e9, dt.timezone.utc).isoformat(timespec="milliseconds")
    print(f"repaired {args.path} into {args.dst}: {report.total} messages on {len(report.messages)} topics, the "
          f"last logged at {last}; {report.dropped_bytes} bytes after the cut dropped, in "
          f"{time.perf_counter() - start:.1f} s")
    for topic, n in sorted(report.messages.items()):
        print(f"  {topic}: {n}")
    return 0


def _export(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.bag_interop import export_bag
    from robot_rl.data.dp_interop import export_diffusion_policy
    from robot_rl.data.formats import write_atomically
    from robot_rl.data.lerobot_interop import export_lerobot
    from robot_rl.data.replay_store import ReplayStore

    if args.format not in ("dp", "lerobot", "mcap"):
        print("robot-rl buffer export: choose the destination's format: --format dp, lerobot or mcap",
              file=sys.stderr)
        return 2
    io = cfg.interop
    start = time.perf_counter()
    with ReplayStore.open(args.path, "r") as store:
        if args.format == "lerobot":
            with _progress("export") as bar:
                episodes = write_atomically(args.dst, lambda tmp: export_lerobot(
                    store, tmp, fps=cfg.task.control_hz, task=io.task or cfg.task.name, robot_type=cfg.robot.name,
                    codec=io.video_codec, crf=io.video_crf, progress=bar), overwrite=args.overwrite)
            what = f"LeRobotDataset v3.0, {io.video_codec} crf {io.video_crf}"
        elif args.format == "mcap":
            with _progress("export") as bar:
                episodes = write_atomically(args.dst, lambda tmp: export_bag(store, tmp, progress=bar),
                                            overwrite=args.overwrite)
            what = "ROS 2 bag, MCAP storage"
        else:
            episodes = write_atomically(args.dst, lambda tmp: export_diffusion_policy(store, tmp),
                                        overwrite=args.overwrite)
            what = "Diffusion Policy replay zarr, format 2"
        rows = store.n_rows
    print(f"exported {episodes} episodes ({rows} rows) from {args.path} to {args.dst} ({what}) in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


@contextlib.contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over episodes (on stderr; tqdm hides it when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=f"buffer {what}", unit="episode", disable=None, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _format_summary(s, n_list: int) -> str:  # s: StoreSummary
    sch = s.schema
    h, w = sch["image_hw"]
    lengths = s.lengths
    lines = [
        f"store       {s.path}",
        f"size        {s.size_bytes / 1e6:.1f} MB on disk",
        f"rows        cameras {', '.join(sch['cameras'])} {h}x{w}; state {sch['state_dim']}; "
        f"action {sch['action_dim']}; chunks of {s.chunk_len} rows",
        f"episodes    {s.n_episodes} committed, {s.n_rows} rows"
        + (f" (length min {min(lengths)} / mean {sum(lengths) / len(lengths):.1f} / max {max(lengths)})"
           if lengths else ""),
        f"sources     {', '.join(f'{k} {v}' for k, v in sorted(s.sources.items())) or '-'}",
        f"status      {', '.join(f'{k} {v}' for k, v in sorted(s.statuses.items())) or '-'}",
        f"success     {_pct(s.success_rate)} of episodes",
        f"human       {_pct(s.intervention_rate)} of rows intervened; "
        f"{s.episodes_with_intervention} episode(s) with human steps",
    ]
    if s.uncommitted_rows:
        lines.append(f"uncommitted {s.uncommitted_rows} rows after the last episode (being written, or a crash)")
    shown = s.episodes if n_list < 0 else s.episodes[-n_list:] if n_list else []
    if shown:
        lines += ["", f"{'ep':>5} {'source':<7} {'len':>5} {'success':<7} {'interv':>6} {'status':<15} "
                  f"{'seed':>6} {'policy':>6}  started (UTC)"]
        for e in shown:
            start = dt.datetime.fromtimestamp(e["wall_start"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"{e['episode']:>5} {e['source']:<7} {e['length']:>5} {e['success']!s:<7} "
                         f"{e['intervened_rows']:>6} {e['status']:<15} {e['seed']:>6} {e['policy_version']:>6}  "
                         f"{start}")
    return "\n".join(lines)
