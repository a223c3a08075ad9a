"""robot-rl doctor and robot-rl record-camera, end to end through the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.cli.main import main


def test_doctor_reports_franky_sim_mode_and_missing_devices(franky_sim, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    rc = main(["doctor", "--franka-mode", "--strict", "robot=fr3_real", f"robot.ip={franky_sim.host}",
               "robot.realtime=false", "camera=realsense_pair", "camera.serials.wrist=424242424242"])
    out = capsys.readouterr().out
    assert "ok       franka" in out and f"{franky_sim.host}: mode Idle, errors none" in out
    assert "MISSING  camera wrist  serial '424242424242' not connected" in out
    assert "fix: plug it in or set camera.serials.wrist" in out
    assert "DISPLAY not set" in out and "mujoco gl" in out
    assert rc == 1  # --strict: the config's cameras are missing


def test_doctor_contacts_the_robot_only_when_asked(capsys, monkeypatch):
    """fr3_real's robot.ip (172.16.0.2) comes from the config, not the command line: not contacted."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"doctor contacted the network: {args}")

    monkeypatch.setattr("socket.create_connection", refuse)
    monkeypatch.delenv("DISPLAY", raising=False)
    rc = main(["doctor", "--strict", "robot=fr3_real", "camera=sim_pair"])
    out = capsys.readouterr().out
    assert "skipped  franka" in out and "robot.ip=172.16.0.2 not contacted" in out and "--probe-robot" in out
    assert rc == 0  # not probed is not missing


def test_doctor_names_a_missing_optional_package_the_config_needs(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert main(["doctor", "--strict", "camera=sim_pair"]) == 0  # learner.wandb=off: absent, not needed
    assert "absent   wandb" in capsys.readouterr().out
    assert main(["doctor", "--strict", "camera=sim_pair", "learner.wandb=offline"]) == 1
    out = capsys.readouterr().out
    assert "MISSING  wandb" in out and "wandb not installed" in out and "learner.wandb=off" in out
    assert "ok       data interop" in out


def test_doctor_help_documents_the_probe(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--probe-robot" in out and "without this flag (or --franka-mode, or robot.ip=... on the command line)" in out


def test_doctor_reports_an_unreachable_franka(capsys):
    rc = main(["doctor", "robot=fr3_real", "robot.ip=127.0.0.1", "robot.realtime=false"])
    out = capsys.readouterr().out
    assert "MISSING  franka" in out and "127.0.0.1:1337 unreachable" in out and "FCI" in out
    assert rc == 0  # not --strict


def test_record_camera_info_and_missing_serial(tmp_path, capsys):
    pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed")
    from robot_rl.hardware.realsense_recording import write_recording

    path = write_recording(tmp_path / "c.db3", np.zeros((20, 48, 64, 3), np.uint8), serial="123123123123")
    assert main(["record-camera", "--info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "serial 123123123123" in out and "color 64x48 rgb8 @30" in out
    assert main(["record-camera", "--serial", "999", "--seconds", "0.1", "--out", str(tmp_path / "x.db3")]) == 1
    assert "no RealSense with serial '999'; connected: none" in capsys.readouterr().err
