"""Inspect or verify a replay store (a local directory or an fsspec URL).

  robot-rl buffer inspect PATH   episodes, lengths, sources, success and intervention rates, size on disk
  robot-rl buffer verify PATH    read every chunk back and check the layout; exit status 1 on a problem

Both open the store read-only, so they are safe while a recorder is writing to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict

from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["inspect", "verify"], help="what to do")
    parser.add_argument("path", help="store directory or fsspec URL (e.g. runs/replay.zarr)")
    parser.add_argument("--episodes", type=int, default=20,
                        help="inspect: list the last N episodes (0: none, -1: all; default 20)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.data.errors import StoreError
    from robot_rl.data.integrity import summarize, verify

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
        print(f"robot-rl buffer inspect: {exc}")
        return 1
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
        return 0
    print(_format_summary(summary, args.episodes))
    return 0


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
