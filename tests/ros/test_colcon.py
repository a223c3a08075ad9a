"""The workspace builds with colcon (the ``ros`` extra's colcon-core + colcon-ros + ament_package, no ROS
installation) and installs the five node executables, the launch file and the ament index entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ros.conftest import REPO

NODES = ("camera_node", "robot_node", "teleop_node", "actor_node", "learner_node")


def test_colcon_build(tmp_path):
    colcon = shutil.which("colcon", path=str(Path(sys.executable).parent)) or shutil.which("colcon")
    if colcon is None:
        pytest.fail("colcon is not installed: it comes with the ros extra (pip install -e '.[ros]')")
    result = subprocess.run([colcon, "--log-base", str(tmp_path / "log"), "build", "--base-paths",
                             str(REPO / "ros_ws" / "src"), "--build-base", str(tmp_path / "build"),
                             "--install-base", str(tmp_path / "install")], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    install = tmp_path / "install" / "robot_rl_ros"
    for node in NODES:
        assert os.access(install / "lib" / "robot_rl_ros" / node, os.X_OK), f"{node} not installed"
    assert (install / "share" / "robot_rl_ros" / "launch" / "graph.launch.py").is_file()
    assert (install / "share" / "ament_index" / "resource_index" / "packages" / "robot_rl_ros").is_file()
    site = next(install.glob("lib/python3*/site-packages"))
    check = subprocess.run([sys.executable, "-c", "import robot_rl_ros.conversions, robot_rl_ros.actor_node"],
                           env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
