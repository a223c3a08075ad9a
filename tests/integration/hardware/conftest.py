"""Fixtures for the hardware backends' integration tests: franky-sim on loopback, configs.

Nothing here may reach past this machine: every socket the test process opens must go to a loopback
address (or a Unix socket), which an autouse guard enforces, and the real-robot config used here
points at loopback, never at fr3_real's 172.16.0.2.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from robot_rl.config import Config, load_config
from robot_rl.hardware.franka_sim import FrankySimPeer

LOOPBACK_IP = "127.0.0.1"  # unreachable on port 1337 unless a test starts franky-sim there (it never does)


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path (X display, ...)
        return True
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any test of this package that tries to connect a socket to a non-loopback address."""
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)

        def guarded(self, address, _original=original):
            assert _is_loopback(address), f"hardware tests must stay on loopback; tried to connect to {address!r}"
            return _original(self, address)

        monkeypatch.setattr(socket.socket, name, guarded)


@pytest.fixture(scope="session")
def real_cfg() -> Config:
    """The real-robot config, made runnable against franky-sim (no real-time kernel here); its robot.ip
    is loopback, and tests set franky-sim's address."""
    return load_config(["robot=fr3_real", f"robot.ip={LOOPBACK_IP}", "robot.realtime=false",
                        "robot.dynamics_factor=0.5"])


@pytest.fixture(scope="session")
def franky_sim():
    """One franky-sim server (MuJoCo FR3 speaking libfranka's protocol) for the whole session."""
    pytest.importorskip("franky", reason="franky-control is not installed (pip install -e '.[franka]')")
    with FrankySimPeer() as peer:
        assert ipaddress.ip_address(peer.host).is_loopback
        yield peer
