"""Keyboard teleop through pynput under a private Xvfb display, with keys typed by xdotool."""

from __future__ import annotations

import importlib.util

import pytest

from robot_rl.hardware.deadline import wait_for
from robot_rl.hardware.errors import DeviceError
from robot_rl.hardware.keyboard import KeyboardTeleop
from tests.integration.hardware.conftest import type_keys

# pynput connects to the X display on import, so it is imported (by KeyboardTeleop.start) only under Xvfb
pytestmark = pytest.mark.skipif(importlib.util.find_spec("pynput") is None,
                                reason="pynput is not installed (pip install -e '.[teleop]')")


def test_mapped_keys_become_events_in_order(display, cfg):
    with KeyboardTeleop(cfg.teleop.keys) as kb:
        type_keys(display, "t", "x", "s", "Escape")  # x is unmapped
        events = []
        wait_for(lambda: (events.extend(kb.poll()), len(events) >= 3)[1], 5.0, "three key events")
        assert [e.event for e in events] == ["takeover", "success", "quit"]
        assert [e.key for e in events] == ["t", "s", "esc"]
        assert events[0].stamp <= events[1].stamp <= events[2].stamp
        assert kb.poll() == []


def test_key_map_from_config(display):
    with KeyboardTeleop({"pause": "space", "reset": "F1"}) as kb:
        type_keys(display, "space", "F1", "t")
        events = []
        wait_for(lambda: (events.extend(kb.poll()), len(events) >= 2)[1], 5.0, "two key events")
        assert [e.event for e in events] == ["pause", "reset"]


def test_without_a_display_the_error_names_the_fix(monkeypatch, cfg):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(DeviceError, match="DISPLAY is not set"):
        KeyboardTeleop(cfg.teleop.keys).start()
