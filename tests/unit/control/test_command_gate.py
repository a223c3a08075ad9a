"""The robot node's admission rules and halt state machine, without ROS: stop requests, stale commands,
watchdog halts and releases, each reported once."""

from __future__ import annotations

from robot_rl.control.command_gate import CommandGate, Halt, Refusal
from tests.unit.control.test_watchdog import Clock


def test_starts_held_and_the_first_command_releases_the_arm_once():
    gate = CommandGate(0.3, 0.5, Clock())
    assert gate.halted and gate.poll() == []  # held, but the watchdog is not armed before a command
    assert gate.admit(10.0, 10.1) is None
    assert gate.executed() is True
    assert gate.executed() is False  # already released
    assert not gate.halted and gate.executed_count == 2


def test_stale_commands_are_refused_with_the_age_and_the_key():
    gate = CommandGate(0.3, 0.5, Clock())
    refused = gate.admit(10.0, 10.6)
    assert refused is not None and refused.kind is Refusal.stale
    assert "0.600 s old" in refused.message and "robot.max_command_age_s=0.5" in refused.message
    assert gate.admit(10.0, 10.5) is None  # at the limit: still fresh
    assert CommandGate(0.3, 0.0, Clock()).admit(0.0, 1e6) is None  # 0 turns the check off


def test_watchdog_halts_once_per_lapse_and_a_command_releases():
    clock = Clock()
    gate = CommandGate(0.3, 0.5, clock)
    gate.executed()
    clock.t += 0.2
    assert gate.poll() == []
    clock.t += 0.2
    assert gate.poll() == [Halt.watchdog] and gate.halted
    assert gate.poll() == []  # edge-triggered: one stop per lapse
    assert gate.executed() is True  # commands again: released


def test_reset_disarms_the_watchdog():
    clock = Clock()
    gate = CommandGate(0.3, 0.5, clock)
    gate.executed()
    gate.reset()
    clock.t += 10.0
    assert gate.poll() == []  # idle on purpose until the next episode's first command


def test_a_stop_request_refuses_every_later_command_and_is_reported_once():
    clock = Clock()
    gate = CommandGate(0.3, 0.5, clock)
    gate.executed()
    clock.t += 1.0
    gate.request_stop()
    assert gate.poll() == [Halt.stop_requested, Halt.watchdog]  # both said, each once
    assert gate.poll() == []
    refused = gate.admit(10.0, 10.0)
    assert refused is not None and refused.kind is Refusal.stopped and gate.stopped
    assert gate.halted
