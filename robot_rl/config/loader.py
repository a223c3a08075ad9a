"""Compose a typed :class:`Config` from ``configs/`` plus ``key=value`` overrides.

Every command goes through :func:`load_config`, so a wrong key, a value of the wrong type or an
out-of-range value fails here, before any device or process starts, with a message naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
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
    _check_overrides(overrides)
    _register_schema()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            raw = compose(config_name="config", overrides=list(overrides))
        unknown = _unknown_keys(raw, Config, "")
        if unknown:  # a ``++key=value`` (or an experiment file) adding a key: OmegaConf would drop it silently
            raise ConfigError(f"{unknown[0]}: not a config key (unknown: {unknown})")
        cfg = OmegaConf.to_object(raw)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_explain(exc)) from None
    except (ValueError, TypeError) as exc:  # Hydra raises these for a few malformed overrides
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"bad override in {list(overrides)}: {exc}") from None
    assert isinstance(cfg, Config)
    try:
        cfg.resolve_seeds()
        cfg.validate()
    except ConfigValueError as exc:
        raise ConfigError(f"invalid value for {exc}") from None
    return cfg


def _check_overrides(overrides: Sequence[str]) -> None:
    """Parse each override on its own, so a malformed one is named in the error."""
    parser = OverridesParser.create()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"bad override {item!r}: expected key=value (e.g. task.max_steps=50)")
        try:
            parsed = parser.parse_overrides([item])[0]
        except HydraException as exc:
            raise ConfigError(f"bad override {item!r}: {_explain(exc)}") from None
        key = parsed.key_or_group
        if not key:
            raise ConfigError(f"bad override {item!r}: no key before '='")
        if (config_dir() / key).is_dir() and not parsed.is_sweep_override():
            value = parsed.value()
            if not isinstance(value, (str, list)):
                raise ConfigError(f"{key}: a config group takes an option name (one of {group_options(key)}), "
                                  f"got {value!r}")


def _unknown_keys(node: DictConfig, cls: type, prefix: str) -> list[str]:
    """Dotted keys in the composed ``node`` that the dataclass ``cls`` does not declare (recursively)."""
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    out: list[str] = []
    for key in node:
        if key not in names:
            out.append(f"{prefix}{key}")
            continue
        child: Any = node._get_node(key)
        if is_dataclass(hints.get(str(key))) and isinstance(child, DictConfig) and not child._is_none():
            out += _unknown_keys(child, hints[str(key)], f"{prefix}{key}.")
    return out


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
