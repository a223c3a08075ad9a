"""robot-rl bench hardware: runs against franky-sim, librealsense playback and the fake HID device."""

from __future__ import annotations

import json

import pytest

from robot_rl.cli.main import main


def test_bench_hardware_writes_table_and_json(tmp_path, capsys):
    pytest.importorskip("franky", reason="franky-control is not installed")
    pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed")
    assert main(["bench", "hardware", "bench.steps=10", f"bench.out_dir={tmp_path}"]) == 0
    data = json.loads((tmp_path / "hardware.json").read_text())
    rows = {r["measure"].split(" (")[0]: r for r in data["rows"]}
    assert {"franka command -> EE moved 0.5 mm", "franka read_state", "camera frame -> numpy",
            "spacemouse report -> twist"} <= set(rows)
    assert 0 < rows["franka command -> EE moved 0.5 mm"]["p50_ms"] < 1000
    assert rows["franka read_state"]["per_s"] >= 100
    assert 0 < rows["spacemouse report -> twist"]["p99_ms"] < 100
    assert "== bench hardware ==" in capsys.readouterr().out
