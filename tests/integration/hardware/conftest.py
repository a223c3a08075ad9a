"""Fixtures for the hardware backends' integration tests: franky-sim on loopback, configs, a private X display
(:func:`xvfb_display`, also used by the teleop node's ROS test).

Nothing here may reach past this machine: every socket the test process opens must go to a loopback
address (or a Unix socket), which an autouse guard enforces, and the real-robot config used here
points at loopback, never at fr3_real's 172.16.0.2.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from robot_rl.config import Config, load_config
from robot_rl.hardware.deadline import wait_for
from robot_rl.testing.franka_sim import FrankySimPeer

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


@contextlib.contextmanager
def xvfb_display() -> Iterator[str]:
    """A private Xvfb server (with RECORD, which pynput's listener uses); ``DISPLAY`` points at it meanwhile, so
    processes started inside inherit it. Skips the test where Xvfb, xdotool or python-xlib is missing."""
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt install xvfb xdotool; tools/setup.sh does as root)")
    xlib = pytest.importorskip("Xlib.display")
    for n in range(90, 120):
        if os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock"):
            continue
        proc = subprocess.Popen(["Xvfb", f":{n}", "-nolisten", "tcp", "-screen", "0", "320x240x24",
                                 "+extension", "RECORD"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up(n: int = n, proc: subprocess.Popen = proc) -> str:
            if proc.poll() is not None:
                return "exited"  # lost the race for :n to another server
            try:
                xlib.Display(f":{n}").close()
                return "up"
            except Exception:
                return ""

        if wait_for(up, 10.0, f"Xvfb :{n}") == "up":
            break
    else:
        pytest.skip("no free X display number for Xvfb")
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{n}"
    try:
        yield f":{n}"
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old
        proc.terminate()
        proc.wait(timeout=10)


def type_keys(display: str, *keys: str) -> None:
    """Key presses on ``display`` as a user's, through the X server (xdotool key names: ``t``, ``Escape``, ``F1``)."""
    subprocess.run(["xdotool", "key", *keys], check=True, env={**os.environ, "DISPLAY": display}, timeout=10)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb_display() as name:
        yield name
