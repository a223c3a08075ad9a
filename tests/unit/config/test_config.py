"""Config composition: every group combination composes and validates; bad input names the key."""

from __future__ import annotations

import itertools

import pytest

from robot_rl.config import ConfigError, load_config
from robot_rl.config.loader import group_options, groups
from robot_rl.config.schema import CameraBackend, RobotBackend


def test_every_group_combination_composes():
    names = groups()
    assert {"task", "robot", "camera"} <= set(names)
    combos = list(itertools.product(*[[f"{g}={o}" for o in group_options(g)] for g in names]))
    assert len(combos) >= 8
    for overrides in combos:
        cfg = load_config(list(overrides))
        for item in overrides:
            group, option = item.split("=")
            if group == "robot":
                assert cfg.robot.name == option
            if group == "task":
                assert cfg.task.name == option


def test_each_default_is_written_once_in_the_dataclasses():
    """The default option of each group holds no values: a default changed in robot_rl/config/schema.py takes
    effect (a YAML copy of it would silently win)."""
    import yaml

    from robot_rl.config.loader import config_dir

    root = yaml.safe_load((config_dir() / "config.yaml").read_text())
    extra = sorted(set(root) - {"defaults"})
    assert not extra, f"configs/config.yaml repeats dataclass defaults: {extra}"
    defaults = [d for d in root["defaults"] if isinstance(d, dict)]
    chosen = {g: o for d in defaults for g, o in d.items() if o is not None}
    assert {"task", "robot", "camera", "buffer", "teleop", "calibration"} <= set(chosen)
    for group, option in chosen.items():
        values = yaml.safe_load((config_dir() / group / f"{option}.yaml").read_text())
        assert not values, f"configs/{group}/{option}.yaml repeats dataclass defaults: {sorted(values)}"


def test_defaults_are_the_sim_setup():
    cfg = load_config([])
    assert cfg.robot.backend is RobotBackend.mujoco
    assert cfg.camera.backend is CameraBackend.mujoco
    assert cfg.camera.names == ["wrist", "front"]


def test_value_overrides_are_typed():
    cfg = load_config(["task.max_steps=77", "camera.width=96", "robot.workspace_high=[0.7,0.3,0.4]"])
    assert cfg.task.max_steps == 77 and isinstance(cfg.task.max_steps, int)
    assert cfg.camera.width == 96
    assert cfg.robot.workspace_high == [0.7, 0.3, 0.4]


@pytest.mark.parametrize(
    ("override", "must_mention"),
    [
        ("task.no_such_key=1", "task.no_such_key"),
        ("task.max_steps=many", "task.max_steps"),
        ("robot.backend=ur5", "robot.backend"),
        ("task=no_such_task", "task/no_such_task"),
        ("camera.width=3", "camera.width"),
        ("robot.workspace_low=[0.9,0,0]", "robot.workspace_low"),
        ("task.control_hz=-10", "task.control_hz"),
        ("expert.noise_std=-1", "expert.noise_std"),
        ("robot=fr3_real robot.ip=", "robot.ip"),
        ("max_steps", "key=value"),
        ("help.gate=bogus", "help.gate"),
        ("help.budget=0.3 help.caution_budget=0.1", "help.caution_budget"),
        ("human.attention=sometimes", "human.attention"),
        ("bench.help.variants=[always,never]", "bench.help.variants"),
    ],
)
def test_bad_overrides_fail_naming_the_key(override, must_mention):
    with pytest.raises(ConfigError) as err:
        load_config(override.split(" "))
    assert must_mention in str(err.value)


def test_realsense_cameras_need_serials():
    with pytest.raises(ConfigError, match=r"camera\.serials"):
        load_config(["camera=realsense_pair", "camera.names=[wrist,front,side]"])


def test_episode_seeds_follow_the_root_seed_unless_set():
    cfg = load_config(["seed=3"])
    assert (cfg.act.seed, cfg.demo.seed, cfg.ros.seed, cfg.collect.seed) == (3, 3, 3, 1003)
    cfg = load_config(["seed=3", "act.seed=10", "collect.seed=7"])
    assert (cfg.act.seed, cfg.collect.seed, cfg.demo.seed) == (10, 7, 3)
    default = load_config([])
    assert (default.act.seed, default.collect.seed) == (0, 1000)  # what they were before they followed seed
