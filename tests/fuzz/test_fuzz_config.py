"""Fuzz ``load_config`` with command-line overrides: real keys with wrong-typed, out-of-range and
malformed values, unknown keys, Hydra's prefixes (``+``, ``++``, ``~``), and plain garbage.

Every command goes through ``load_config``, so the property is what a user typing on the command line
gets: a validated :class:`Config`, or :class:`ConfigError` whose message names the key, never a traceback
from Hydra, OmegaConf or a validator."""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from robot_rl.config import Config, ConfigError, load_config
from robot_rl.config.loader import group_options, groups
from tests.fuzz.conftest import fuzz


def _leaf_keys() -> list[str]:
    """Every dotted key of the default config (dicts such as ``teleop.keys`` count as one leaf)."""
    out: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for k in node:
            child = node._get_node(k)
            if OmegaConf.is_dict(child) and is_dataclass(OmegaConf.get_type(child)):
                walk(child, f"{prefix}{k}.")
            else:
                out.append(f"{prefix}{k}")

    walk(OmegaConf.structured(Config), "")
    return out


KEYS = _leaf_keys()
GROUPS = groups()

scalars = st.one_of(
    st.integers(-(10**30), 10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999", "-0", "0", "1", "true", "false", "null", "~", "",
                     "0x10", "1_000", "1.5e-400", "'quoted'", '"dq"', "mujoco", "franka", "discard",
                     "keep_truncated", "DICT_4X4_50", "park", "eye_in_hand", "events", "esc"]),
    st.text(alphabet="abcxyz019._-/ ", min_size=1, max_size=8),
)
values = st.one_of(
    scalars,
    st.lists(scalars.filter(lambda s: s and not any(c in s for c in ",[]{}'\"")), max_size=4)
    .map(lambda xs: "[" + ",".join(xs) + "]"),
    st.sampled_from(["[]", "{}", "{a:1}", "{wrist:eye_in_hand}", "[[1,2],[3]]", "${task.max_steps}",
                     "${no.such.key}", "${oops", "[1,", "{a:", "a=b", "'unclosed", "\\", "$", "@", ",", "=",
                     "choice(1,2)", "range(1,3)", "interval(0,1)"]),
    st.text(max_size=10),
)


@st.composite
def overrides(draw) -> tuple[str, str]:
    """(override string, what its error must mention)."""
    kind = draw(st.sampled_from(["value", "value", "value", "prefixed", "unknown", "group"]))
    if kind == "group":
        group = draw(st.sampled_from(GROUPS))
        option = draw(st.one_of(st.sampled_from(group_options(group)), st.text("abc_019", min_size=1, max_size=6)))
        return f"{group}={option}", group
    if kind == "unknown":
        key = draw(st.one_of(st.sampled_from(KEYS).map(lambda k: k + "x"),
                             st.sampled_from(["task.nope", "nope", "robot.workspace_low.x", "bench.soak.x.y"])))
        return f"{key}={draw(values)}", key
    key = draw(st.sampled_from(KEYS))
    prefix = "" if kind == "value" else draw(st.sampled_from(["+", "++", "~"]))
    return f"{prefix}{key}={draw(values)}", key


def _nan_keys(obj: Any, prefix: str = "") -> list[str]:
    if is_dataclass(obj):
        return [k for f in fields(obj) for k in _nan_keys(getattr(obj, f.name), f"{prefix}{f.name}.")]
    if isinstance(obj, (list, tuple)):
        return [k for i, v in enumerate(obj) for k in _nan_keys(v, f"{prefix}{i}.")]
    if isinstance(obj, dict):
        return [k for key, v in obj.items() for k in _nan_keys(v, f"{prefix}{key}.")]
    return [prefix.rstrip(".")] if isinstance(obj, float) and math.isnan(obj) else []


def _names(message: str, key: str) -> bool:
    """The message names ``key``: as given, as a path (``task/x``), or in a joint check
    (``camera.width/height``, ``ros.stop_grace_s/startup_timeout_s``)."""
    head, _, last = key.rpartition(".")
    return key in message or key.replace(".", "/") in message or (f"{head}." in message and last in message)


def _key_of(item: str) -> str:
    """The key an override sets (``+a.b=1`` -> ``a.b``); the whole text when it has no ``=``."""
    return item.split("=", 1)[0].lstrip("+~").strip() if "=" in item else item.strip()


def _check(items: list[str]) -> Config | None:
    """Load; on failure assert the message is a ConfigError naming one of the overrides (returned None)."""
    try:
        cfg = load_config(items)
    except ConfigError as exc:
        message = str(exc)
        assert any(repr(item) in message or (_key_of(item) and _names(message, _key_of(item))) for item in items), \
            f"{items!r} -> {message!r}"
        return None
    assert isinstance(cfg, Config)
    assert not _nan_keys(cfg), f"NaN accepted for {_nan_keys(cfg)}"
    cfg.validate()  # what load_config returns is always valid
    return cfg


@fuzz(20)
@given(item=overrides())
def test_one_override_gives_a_valid_config_or_an_error_naming_the_key(item: tuple[str, str]):
    text, key = item
    try:
        cfg = load_config([text])
    except ConfigError as exc:
        assert _names(str(exc), key), f"{text!r} -> {str(exc)!r}"
        return
    assert isinstance(cfg, Config)
    assert not _nan_keys(cfg), f"{text!r}: NaN accepted for {_nan_keys(cfg)}"


@fuzz(8)
@given(items=st.lists(st.one_of(overrides().map(lambda t: t[0]), st.text(max_size=12)), min_size=1, max_size=4))
def test_several_overrides_and_garbage_never_raise_anything_else(items: list[str]):
    _check(items)


@pytest.mark.parametrize("key", ["robot.watchdog_s", "camera.max_age_s", "robot.max_ee_step", "buffer.gamma"])
def test_nan_is_refused_naming_the_key(key: str):
    """NaN slips through every ``x > 0`` style check written as ``not x < 0``; the loader refuses it."""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config([f"{key}=nan"])
