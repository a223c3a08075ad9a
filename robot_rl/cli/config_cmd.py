"""Print the configuration composed from configs/ and the given overrides, as YAML."""

from __future__ import annotations

import argparse

from robot_rl.config import Config
from robot_rl.config.loader import to_yaml


def run(args: argparse.Namespace, cfg: Config) -> int:
    print(to_yaml(cfg), end="")
    return 0
