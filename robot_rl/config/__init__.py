"""Typed configuration: Hydra structured configs composed from ``configs/``."""

from robot_rl.config.loader import ConfigError, load_config
from robot_rl.config.schema import Config

__all__ = ["Config", "ConfigError", "load_config"]
