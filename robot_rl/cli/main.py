"""``robot-rl <command> [args] [key=value ...]``.

Each subcommand lives in its own module (imported lazily, so ``--help`` is instant) that defines
``add_arguments(parser)`` (optional) and ``run(args, cfg) -> int``; its module docstring is its
help text. Hydra-style ``key=value`` overrides are composed into a typed :class:`Config` before the
command runs, so a bad key or value stops it before any device or process starts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from robot_rl.config.loader import ConfigError, group_options, groups, load_config


@dataclass(frozen=True)
class Command:
    summary: str
    module: str  # imported only when the command runs (or shows its --help)


COMMANDS: dict[str, Command] = {
    "demo": Command("run the main job in simulation (the whole loop, no hardware)", "robot_rl.cli.demo"),
    "collect": Command("record demonstrations into the replay store", "robot_rl.cli.collect"),
    "train-bc": Command("train the behaviour-cloning base policy", "robot_rl.cli.train_bc"),
    "reward": Command("the reward classifier: collect labelled frames, train it, check it", "robot_rl.cli.reward"),
    "learn": Command("run the asynchronous residual learner", "robot_rl.cli.learn"),
    "act": Command("run the actor: BC base + residual, recording to the store", "robot_rl.cli.act"),
    "view": Command("an episode in the Rerun viewer (an .rrd file)", "robot_rl.cli.view"),
    "up": Command("start the ROS 2 node graph of an experiment (robot-rl up sim)", "robot_rl.cli.up"),
    "replay": Command("replay a recorded episode in simulation; EE tracking error", "robot_rl.cli.replay"),
    "video": Command("an episode's camera frames beside its simulated replay, as MP4", "robot_rl.cli.video"),
    "report": Command("a training report: self-contained HTML with plots", "robot_rl.cli.report"),
    "buffer": Command("inspect and verify a replay store", "robot_rl.cli.buffer"),
    "calibrate": Command("camera intrinsics, hand-eye extrinsics, workspace bounds", "robot_rl.cli.calibrate"),
    "bench": Command("benchmarks: print a table, write JSON", "robot_rl.cli.bench"),
    "doctor": Command("check this machine: rendering, packages, devices", "robot_rl.cli.doctor"),
    "record-camera": Command("record a RealSense to a .db3 file (or describe one) to reproduce problems",
                             "robot_rl.cli.record_camera"),
    "config": Command("print the composed configuration (after overrides)", "robot_rl.cli.config_cmd"),
}


def _overview() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: robot-rl <command> [args] [key=value ...]", "", "commands:"]
    for name, cmd in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {cmd.summary}")
    lines += ["", "Run 'robot-rl <command> --help' for a command's arguments and config overrides."]
    return "\n".join(lines)


def _config_epilog() -> str:
    try:
        opts = [f"  {g}: {', '.join(group_options(g))}" for g in groups()]
    except ConfigError:
        opts = []
    return "\n".join([
        "config overrides (Hydra syntax, after the arguments):",
        "  group=option    pick a config group option, e.g. robot=fr3_real",
        "  key=value       set one value, e.g. task.max_steps=80 camera.width=96",
        *opts,
        "Print the composed config with: robot-rl config [overrides]",
    ])


def build_parser(name: str, module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"robot-rl {name}",
        description=(module.__doc__ or COMMANDS[name].summary).strip(),
        epilog=_config_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    return parser


def with_profile(module, overrides: list[str]) -> list[str]:
    """``overrides`` behind the command's own recipe, ``profile=<module.PROFILE>`` (configs/profile/), unless they
    choose a profile themselves. Later overrides win, so single keys still change the recipe."""
    profile = getattr(module, "PROFILE", None)
    if profile is None or any(o.split("=", 1)[0].lstrip("+") == "profile" for o in overrides):
        return list(overrides)
    return [f"profile={profile}", *overrides]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_overview())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"robot-rl: unknown command {name!r}\n\n{_overview()}", file=sys.stderr)
        return 2
    cmd = COMMANDS[name]
    module = importlib.import_module(cmd.module)
    args = build_parser(name, module).parse_intermixed_args(rest)  # overrides may follow --options
    args.overrides = with_profile(module, args.overrides)
    try:
        cfg = load_config(args.overrides)
    except ConfigError as exc:
        print(f"robot-rl {name}: configuration error\n{exc}", file=sys.stderr)
        return 2
    try:
        return int(module.run(args, cfg) or 0)
    except KeyboardInterrupt:
        print(f"\nrobot-rl {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
