"""Keyboard teleop through pynput under a private Xvfb display, with keys typed by xdotool."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import pytest

from robot_rl.hardware.deadline import wait_for
from robot_rl.hardware.errors import DeviceError
from robot_rl.hardware.keyboard import KeyboardTeleop

# pynput connects to the X display on import, so it is imported (by KeyboardTeleop.start) only under Xvfb
pytestmark = pytest.mark.skipif(importlib.util.find_spec("pynput") is None,
                                reason="pynput is not installed (pip install -e '.[teleop]')")


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server (with RECORD, which pynput's listener uses); DISPLAY points at it."""
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt install xvfb xdotool; tools/setup.sh does as root)")
    Xlib = pytest.importorskip("Xlib.display")
    for n in range(90, 120):
        if os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock"):
            continue
        proc = subprocess.Popen(["Xvfb", f":{n}", "-nolisten", "tcp", "-screen", "0", "320x240x24",
                                 "+extension", "RECORD"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up(n=n, proc=proc):
            if proc.poll() is not None:
                return "exited"
            try:
                Xlib.Display(f":{n}").close()
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


def _type(display: str, *keys: str) -> None:
    subprocess.run(["xdotool", "key", *keys], check=True, env={**os.environ, "DISPLAY": display}, timeout=10)


def test_mapped_keys_become_events_in_order(display, cfg):
    with KeyboardTeleop(cfg.teleop.keys) as kb:
        _type(display, "t", "x", "s", "Escape")  # x is unmapped
        events = []
        wait_for(lambda: (events.extend(kb.poll()), len(events) >= 3)[1], 5.0, "three key events")
        assert [e.event for e in events] == ["takeover", "success", "quit"]
        assert [e.key for e in events] == ["t", "s", "esc"]
        assert events[0].stamp <= events[1].stamp <= events[2].stamp
        assert kb.poll() == []


def test_key_map_from_config(display):
    with KeyboardTeleop({"pause": "space", "reset": "F1"}) as kb:
        _type(display, "space", "F1", "t")
        events = []
        wait_for(lambda: (events.extend(kb.poll()), len(events) >= 2)[1], 5.0, "two key events")
        assert [e.event for e in events] == ["pause", "reset"]


def test_without_a_display_the_error_names_the_fix(monkeypatch, cfg):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(DeviceError, match="DISPLAY is not set"):
        KeyboardTeleop(cfg.teleop.keys).start()
