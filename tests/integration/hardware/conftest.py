"""Fixtures for the hardware backends' integration tests: franky-sim on loopback, configs."""

from __future__ import annotations

import pytest

from robot_rl.config import Config, load_config
from robot_rl.hardware.franka_sim import FrankySimPeer


@pytest.fixture(scope="session")
def real_cfg() -> Config:
    """The real-robot config, made runnable against franky-sim (no real-time kernel here)."""
    return load_config(["robot=fr3_real", "robot.realtime=false", "robot.dynamics_factor=0.5"])


@pytest.fixture(scope="session")
def franky_sim():
    """One franky-sim server (MuJoCo FR3 speaking libfranka's protocol) for the whole session."""
    pytest.importorskip("franky", reason="franky-control is not installed (pip install -e '.[franka]')")
    with FrankySimPeer() as peer:
        yield peer
