"""Start the ROS 2 node graph of an experiment (configs/experiment/<experiment>.yaml) as supervised processes.

  robot-rl up sim                       # the whole loop on the MuJoCo twin over ROS 2 (no hardware)
  robot-rl up sim ros.episodes=20       # stop after 20 actor episodes
  robot-rl up sim ros.teleop=none       # no simulated human

The same node list as the launch file (ros.nodes): robot, camera, teleop, learner, actor. A node that dies is
reported; when a hardware node dies the robot is stopped first and the graph shut down. Needs the `ros` extra
(pip install -e '.[ros]') or a sourced ROS 2 Jazzy, and a BC base at policy.path (robot-rl demo, or
robot-rl collect + robot-rl train-bc). ROS_DOMAIN_ID is taken from the environment.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from robot_rl.cli.supervisor import Supervisor, graph_env, graph_specs
from robot_rl.config import Config, ConfigError, load_config
from robot_rl.config.ros import RosNodeConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="configs/experiment/<experiment>.yaml, e.g. sim")


def ros_missing(command: str = "up") -> str | None:
    """Why the graph cannot start on this machine (rclpy not importable), or None. Looks, never imports."""
    if importlib.util.find_spec("rclpy") is not None:
        return None
    return (f"robot-rl {command}: rclpy is not installed. Install the `ros` extra (ROS 2 Jazzy wheels): "
            f"pip install -e '.[ros]' (or source /opt/ros/jazzy/setup.bash)")


def run_graph(experiment: str, overrides: Sequence[str], *, command: str = "up", output: IO[str] | None = None,
              report: Callable[[str], None] | None = None, raise_on_interrupt: bool = False) -> int:
    """Compose ``experiment=<experiment>`` + ``overrides``, start ``ros.nodes`` under a :class:`Supervisor` and
    block until a required node (the actor, after ``ros.episodes``) exits or SIGINT/SIGTERM arrives; the graph is
    stopped either way. Returns the exit code (2: configuration or installation problem). ``output``/``report``:
    where node output and the supervisor's messages go (default: stdout, ``[up] `` prefixed). With
    ``raise_on_interrupt`` a SIGINT raises KeyboardInterrupt once the graph is down (for callers that go on)."""
    overrides = [f"experiment={experiment}", *overrides]
    try:
        cfg = load_config(overrides)
    except ConfigError as exc:
        print(f"robot-rl {command}: configuration error\n{exc}", file=sys.stderr)
        return 2
    if (missing := ros_missing(command)) is not None:
        print(missing, file=sys.stderr)
        return 2
    needs_base = any(n.executable in ("actor_node", "learner_node") for n in cfg.ros.nodes)
    if needs_base and not Path(cfg.policy.path).exists():
        print(f"robot-rl {command}: no BC base at policy.path={cfg.policy.path}; train one first (robot-rl demo, or "
              f"robot-rl collect then robot-rl train-bc)", file=sys.stderr)
        return 2
    specs = graph_specs(cfg.ros.nodes, overrides)
    if cfg.ros.record_bag:
        if Path(cfg.ros.record_bag).exists():
            print(f"robot-rl {command}: ros.record_bag={cfg.ros.record_bag} exists: choose a new folder for the bag",
                  file=sys.stderr)
            return 2
        # first: it is then stopped last, after every node it records
        specs = graph_specs([RosNodeConfig("bag", "bag_recorder_node", required=False)], overrides) + specs
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda s, _f: stopping.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sup = Supervisor(specs, env=graph_env(cfg.ros.discovery_range,
                                                                                cfg.ros.package_path),
                         output=output, stop_grace_s=cfg.ros.stop_grace_s, **({"report": report} if report else {}))
        sup.report(f"experiment {experiment}: {len(specs)} nodes; Ctrl-C stops them "
                   f"(the actor first, the robot last)")
        code = sup.start().run(should_stop=lambda: bool(stopping))
        sup.report("all nodes stopped" + ("" if code == 0 else f" (exit code {code})"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if raise_on_interrupt and signal.SIGINT in stopping:
        raise KeyboardInterrupt
    return code


def run(args: argparse.Namespace, cfg: Config) -> int:
    return run_graph(args.experiment, args.overrides)
