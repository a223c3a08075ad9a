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
from pathlib import Path

from robot_rl.config import Config, ConfigError, load_config
from robot_rl.graph.supervisor import Supervisor, graph_env, graph_specs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="configs/experiment/<experiment>.yaml, e.g. sim")


def run(args: argparse.Namespace, cfg: Config) -> int:
    overrides = [f"experiment={args.experiment}", *args.overrides]
    try:
        cfg = load_config(overrides)
    except ConfigError as exc:
        print(f"robot-rl up: configuration error\n{exc}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("rclpy") is None:
        print("robot-rl up: rclpy is not installed. Install the ROS 2 Jazzy wheels with pip install -e '.[ros]' "
              "(or source /opt/ros/jazzy/setup.bash)", file=sys.stderr)
        return 2
    needs_base = any(n.executable in ("actor_node", "learner_node") for n in cfg.ros.nodes)
    if needs_base and not Path(cfg.policy.path).exists():
        print(f"robot-rl up: no BC base at policy.path={cfg.policy.path}; train one first (robot-rl demo, or "
              f"robot-rl collect then robot-rl train-bc)", file=sys.stderr)
        return 2
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: stopping.append(s))
    sup = Supervisor(graph_specs(cfg.ros.nodes, overrides), env=graph_env(cfg.ros.discovery_range,
                                                                            cfg.ros.package_path),
                     stop_grace_s=cfg.ros.stop_grace_s)
    sup.report(f"experiment {args.experiment}: {len(cfg.ros.nodes)} nodes; Ctrl-C stops them "
               f"(the actor first, the robot last)")
    code = sup.start().run(should_stop=lambda: bool(stopping))
    sup.report("all nodes stopped" + ("" if code == 0 else f" (exit code {code})"))
    return code
