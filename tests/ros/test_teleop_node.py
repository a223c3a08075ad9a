"""teleop_node over real DDS, each backend with the node as its own process.

``devices``: the SpaceMouse and keyboard a person at the robot uses, through their real drivers. The SpaceMouse is
pyspacemouse parsing raw HID reports from a fake device at the HID-read boundary (``teleop.spacemouse.
fake_hid_socket``: no virtual HID device can be made here); the keyboard is pynput listening on a private Xvfb
display, keys typed by xdotool. Checked on the wire: ``/teleop/twist`` (direction, sign, deadband and scale of the
HID report), the gripper toggle on ``/teleop/gripper``, take-over / hand-back (SpaceMouse button and keys) on
``/teleop/events`` and ``/teleop/intervening``, and the keys' task events (success, failure, reset, pause, quit)
and the acknowledgement of a help request (ack).

``sim``: the simulated human in a tiny graph (robot, camera, teleop and actor nodes; 32x32 images, 25-step
episodes, no learner): it takes over from the untrained policy, the robot executes its commands, the store
records those rows as intervened, and it hands back within the episode.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import TwistStamped
from rclpy.qos import HistoryPolicy, QoSProfile
from robot_rl_ros import qos
from robot_rl_ros.conversions import msg_to_action, msg_to_twist
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float32, String

from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.testing.fake_hid import axis_report, button_report, send_report
from tests.integration.hardware.conftest import type_keys, xvfb_display
from tests.ros.conftest import tiny_setup, wait_for

needs_devices = pytest.mark.skipif(
    importlib.util.find_spec("pyspacemouse") is None or importlib.util.find_spec("pynput") is None,
    reason="the teleop extra is not installed (pip install -e '.[teleop]')")

FULL = 350  # SpaceNavigator: a raw axis value of 350 is a full push
GRIPPER, TAKEOVER = 0b01, 0b10  # button masks (teleop.spacemouse.button_gripper / button_takeover)
SETTINGS = ["ros.teleop=devices", "teleop.spacemouse.deadband=0.1", "teleop.spacemouse.translation_scale=0.8",
            "teleop.spacemouse.rotation_scale=0.5", "teleop.spacemouse.max_age_s=0.5"]

# The simulated human, made decisive: any disagreement with the expert counts as drift (an untrained policy always
# disagrees), so it takes over on the 3rd proposal of an episode, drives 5 steps, hands back, and so on.
HUMAN = ["human.drift_threshold=0.01", "human.drift_patience=3", "human.reaction_steps=0", "human.min_takeover_steps=5",
         "human.max_takeover_steps=5", "human.skill=1",
         "human.stall_steps=1000"]


def deep(profile: QoSProfile) -> QoSProfile:
    """``profile`` with a long history: the probe keeps every sample even when its thread falls behind (a test
    that checks each command against what was sent must not lose one to a slow spin on a loaded machine)."""
    return QoSProfile(reliability=profile.reliability, durability=profile.durability,
                      history=HistoryPolicy.KEEP_LAST, depth=10_000)


@pytest.fixture
def display():
    with xvfb_display() as name:  # the node process inherits DISPLAY
        yield name


@pytest.fixture
def hid_socket(tmp_path):
    """A path for the fake device's Unix socket (at most 107 bytes: a deep tmp_path may not fit)."""
    if len(str(tmp_path / "hid.sock")) < 100:
        yield str(tmp_path / "hid.sock")
        return
    with tempfile.TemporaryDirectory(prefix="hid") as d:
        yield str(Path(d) / "hid.sock")


@needs_devices
def test_spacemouse_and_keyboard_reach_the_teleop_topics(probe, spawn, display, hid_socket):
    twists = probe.collect(TwistStamped, qos.TELEOP_TWIST, qos.SENSOR)  # only the newest one matters
    grippers = probe.collect(Float32, qos.TELEOP_GRIPPER, deep(qos.LATCHED))
    events = probe.collect(String, qos.TELEOP_EVENTS, deep(qos.EVENTS))
    intervening = probe.collect(Bool, qos.TELEOP_INTERVENING, deep(qos.LATCHED))
    node = spawn("teleop_node", [*SETTINGS, f"teleop.spacemouse.fake_hid_socket={hid_socket}"])

    def values(stream: list, convert=lambda m: m.data) -> list:
        assert node.alive(), node.output()[-3000:]
        with probe.lock:
            return [convert(m) for _, m in stream]

    def twist() -> np.ndarray:
        return values(twists, msg_to_twist)[-1] if twists else np.full(6, np.nan)

    def press(mask: int, stream: list) -> None:
        """Hold only the button(s) in ``mask`` (releasing the others in the same report) until the node acted."""
        n = len(values(stream))
        send_report(hid_socket, button_report(mask))
        wait_for(lambda: len(values(stream)) > n, 10, f"the node to act on buttons {mask:#04b}")

    wait_for(lambda: values(twists, msg_to_twist) and values(intervening) and values(grippers), 60,
             "the teleop node to publish")
    assert values(intervening) == [False] and values(grippers) == [-1.0]  # at start: nobody intervenes, open
    np.testing.assert_array_equal(twist(), np.zeros(6))  # the SpaceMouse at rest
    wait_for(lambda: probe.node.count_publishers(qos.TELEOP_EVENTS) > 0, 10, "the events publisher")

    # axes (right-handed, z up: HID y points at the user and z down, so they flip, as do pitch and yaw), deadband
    # 0.1 (a value just past it rescaled to start at 0), translation scale 0.8, rotation scale 0.5
    send_report(hid_socket, axis_report(1, FULL, -FULL // 2, 20))  # x full, y half toward the user, z in the deadband
    send_report(hid_socket, axis_report(2, 0, -FULL, FULL))  # roll 0, pitch, yaw full
    expected = np.array([0.8, 0.8 * (0.5 - 0.1) / 0.9, 0.0, 0.0, 0.5, -0.5], np.float32)
    wait_for(lambda: np.allclose(twist(), expected, atol=1e-6), 10, f"the twist {expected}")
    send_report(hid_socket, axis_report(1, 0, 0, -FULL))  # z full up; the rotation report still holds
    wait_for(lambda: np.allclose(twist(), [0, 0, 0.8, 0, 0.5, -0.5], atol=1e-6), 10, "the twist up")

    # SpaceMouse buttons (each report holds a different one, so each is a new press): the gripper button toggles
    # /teleop/gripper, the take-over button /teleop/intervening (and sends take-over / hand-back events)
    press(GRIPPER, grippers)
    press(TAKEOVER, intervening)
    press(GRIPPER, grippers)
    press(TAKEOVER, intervening)
    send_report(hid_socket, button_report(0))
    assert values(grippers) == [-1.0, 1.0, -1.0]
    assert values(intervening) == [False, True, False]
    wait_for(lambda: len(values(events)) >= 2, 10, "the button's take-over and hand-back events")

    # keys (teleop.keys): t takes over, h hands back, a acknowledges a help request, the others are task events; x
    # is not mapped
    type_keys(display, "t")
    wait_for(lambda: values(intervening)[-1] is True, 10, "the take-over key")
    type_keys(display, "h", "x", "s", "f", "r", "p", "a", "Escape")
    wait_for(lambda: len(values(events)) >= 10, 10, "the keys' events")
    assert values(events) == ["takeover", "handback", "takeover", "handback", "success", "failure", "reset", "pause",
                              "ack", "quit"]
    assert values(intervening) == [False, True, False, True, False]
    assert node.stop() == 0, node.output()[-3000:]


def test_simulated_human_takes_over_and_hands_back_over_ros(tmp_path, probe, spawn):
    overrides = [*tiny_setup(tmp_path), "ros.teleop=sim", "ros.seed=0", "ros.episodes=3", *HUMAN]
    events = probe.collect(String, qos.TELEOP_EVENTS, deep(qos.EVENTS))
    intervening = probe.collect(Bool, qos.TELEOP_INTERVENING, deep(qos.LATCHED))
    twists = probe.collect(TwistStamped, qos.TELEOP_TWIST, deep(qos.SENSOR))
    grippers = probe.collect(Float32, qos.TELEOP_GRIPPER, deep(qos.LATCHED))
    executed = probe.collect(JointState, qos.ROBOT_EXECUTED, deep(qos.EVENTS))
    nodes = {name: spawn(f"{name}_node", overrides) for name in ("robot", "camera", "teleop", "actor")}

    def actor_done() -> bool:
        for name, node in nodes.items():
            assert name == "actor" or node.alive(), f"{name} node died:\n{node.output()[-3000:]}"
        return not nodes["actor"].alive()

    wait_for(actor_done, 150, "the actor to finish its 3 episodes", poll_s=0.2)
    assert nodes["actor"].stop() == 0, nodes["actor"].output()[-3000:]
    with probe.lock:
        said = [m.data for _, m in events]
        flags = [m.data for _, m in intervening]
        human = {tuple(msg_to_twist(m)) for _, m in twists}
        gripper_cmds = {m.data for _, m in grippers}
        ran = [msg_to_action(m) for _, m in executed]
    assert said.count("takeover") >= 2 and "handback" in said[said.index("takeover"):], said
    # /teleop/intervening is latched keep-last-1: a probe matched late gets only the newest value, so the initial
    # False may be missed; a take-over and a later hand-back must be there
    assert True in flags and False in flags[flags.index(True):], flags

    with ReplayStore.open(str(tmp_path / "replay.zarr")) as store:
        eps = [store.read_episode(i) for i in range(store.n_episodes)
               if store.episode_meta(i).source == EpisodeSource.policy]
    assert len(eps) == 3
    # the first episode may run before DDS discovery has matched the teleop node to the actor's topics on a loaded
    # machine; by the later ones it has
    for ep in eps[1:]:
        idx = np.flatnonzero(ep["intervened"])
        assert len(idx) >= 3, f"the simulated human never drove: intervened {ep['intervened']}"
        assert not ep["intervened"][idx[0]:].all(), "the human never handed back within the episode"
        actions = ep["action"][idx]
        assert not np.allclose(actions, ep["policy_action"][idx]), "the intervened rows hold the policy's actions"
        # intervened rows are commands the teleop node sent (/teleop/twist is best effort: the probe may miss some of
        # them on a loaded machine, so a few matches are asked for, not every row), and the robot ran them
        sent = [tuple(a[:6]) in human and float(a[6]) in gripper_cmds for a in actions]
        assert sum(sent) >= 3, (f"only {sum(sent)} of {len(actions)} intervened rows are twists the teleop node sent",
                                actions[:3], sorted(human)[:3])
        assert sum(any(np.allclose(a, r, atol=1e-6) for r in ran) for a in actions) >= 3, "human commands not run"
