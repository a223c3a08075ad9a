"""The robot-rl command: help for every command, config errors before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robot_rl.cli.main import COMMANDS, main


def test_overview_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_built_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"robot-rl {name}" in out
    assert "key=value" in out


def test_overrides_may_follow_options(tmp_path, capsys):
    """``robot-rl replay STORE --episode 3 task=...``: key=value after --options is still an override."""
    assert main(["report", str(tmp_path / "none.zarr"), "--window", "5", "task.max_steps=7"]) == 2
    assert "no replay store at" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none.zarr"), "--window", "5", "task.max_stesp=7"]) == 2
    assert "configuration error" in capsys.readouterr().err


def test_unknown_command(capsys):
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_bad_override_stops_before_running(capsys):
    assert main(["demo", "task.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "task.nope" in err


def test_console_script_runs_config():
    out = subprocess.run([sys.executable, "-m", "robot_rl.cli.main", "config", "task.max_steps=33"],
                         capture_output=True, text=True, check=True)
    assert "max_steps: 33" in out.stdout


def test_demo_runs_with_its_profile_unless_told_otherwise():
    import robot_rl.cli.demo as demo
    from robot_rl.cli.main import with_profile
    from robot_rl.config import load_config

    assert with_profile(demo, ["camera.width=32"]) == ["profile=demo", "camera.width=32"]
    assert with_profile(demo, ["profile=null", "camera.width=32"]) == ["profile=null", "camera.width=32"]
    import robot_rl.cli.config_cmd as config_cmd
    assert with_profile(config_cmd, ["a=1"]) == ["a=1"]  # other commands: the plain defaults
    profiled, plain = load_config(with_profile(demo, [])), load_config([])
    assert profiled != plain  # the profile changes the recipe ...
    assert load_config(with_profile(demo, ["camera.width=48"])).camera.width == 48  # ... and single keys still win
