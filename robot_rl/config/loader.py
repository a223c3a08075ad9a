"""Compose a typed :class:`Config` from ``configs/`` plus ``key=value`` overrides.

Every command goes through :func:`load_config`, so a wrong key, a value of the wrong type or an
out-of-range value fails here, before any device or process starts, with a message naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from robot_rl.config.schema import Config, ConfigValueError

CONFIG_DIR_ENV = "ROBOT_RL_CONFIG_DIR"


class ConfigError(ValueError):
    """The configuration could not be composed or is invalid."""


def config_dir() -> Path:
    """``$ROBOT_RL_CONFIG_DIR`` if set, else the repository's ``configs/``."""
    path = Path(os.environ.get(CONFIG_DIR_ENV, Path(__file__).resolve().parents[2] / "configs"))
    if not (path / "config.yaml").is_file():
        raise ConfigError(f"no config.yaml in {path}; set {CONFIG_DIR_ENV} to the robot_rl configs/ folder")
    return path


def _register_schema() -> None:
    ConfigStore.instance().store(name="config_schema", node=Config)


def group_options(group: str) -> list[str]:
    """Names of the YAML options of one config group, e.g. ``group_options("task")``."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def groups() -> list[str]:
    return sorted(p.name for p in config_dir().iterdir() if p.is_dir())


def load_config(overrides: Sequence[str] = ()) -> Config:
    """Compose, type-check and validate the config. Raises :class:`ConfigError` naming the key."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"bad override {item!r}: expected key=value (e.g. task.max_steps=50)")
    _register_schema()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            raw = compose(config_name="config", overrides=list(overrides))
        cfg = OmegaConf.to_object(raw)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_explain(exc)) from None
    assert isinstance(cfg, Config)
    try:
        cfg.validate()
    except ConfigValueError as exc:
        raise ConfigError(f"invalid value for {exc}") from None
    return cfg


def _explain(exc: Exception) -> str:
    """Hydra nests the useful message (with ``full_key``) in ``__cause__``; surface it."""
    parts = [str(exc).strip()]
    cause = exc.__cause__
    while cause is not None:
        text = str(cause).strip()
        if text and text not in parts[-1]:
            parts.append(text)
        cause = cause.__cause__
    text = "\n".join(parts).split("Config search path")[0]
    noise = ("To append", "reference_type", "object_type")
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(noise)).strip()


def to_yaml(cfg: Config) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))
