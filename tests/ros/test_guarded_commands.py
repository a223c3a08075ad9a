"""The guarded command stream and signed weights over real DDS: the robot node executes only commands signed
with the deployment key and newer than the last one it accepted; forged, replayed or unsigned commands neither
move the arm nor keep a halted arm alive. The actor node refuses weight bundles that are unsigned or signed with
another key, says so, and still takes the learner's genuine bundle afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.command_auth import PREFIX, CommandGuard, CommandSigner
from robot_rl_ros.conversions import action_to_msg, bundle_to_msg, msg_to_pose, stamp_to_ns
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, UInt8MultiArray

from robot_rl.config import load_config
from robot_rl.policies import bundle as bundles
from robot_rl.security import DeploymentKey, SignatureError, key_from_config
from tests.integration.learner.conftest import tiny_overrides
from tests.ros.conftest import tiny_setup, wait_for

PUSH = np.array([5.0, 0, 0, 0, 0, 0, -1], np.float32)  # +x, far out of range: one full (clipped) step
NOW = 1_700_000_000_000_000_000


def _reason(guard: CommandGuard, msg: JointState, now: int = NOW) -> str:
    with pytest.raises(SignatureError) as exc:
        guard.check(msg, now)
    return exc.value.reason


def test_signed_commands_verify_and_forgeries_do_not():
    key = DeploymentKey.generate()
    signer, guard = CommandSigner(key), CommandGuard(key, max_age_s=2.0)
    first = signer.sign(action_to_msg(PUSH, NOW), NOW)
    assert first.header.frame_id.startswith(PREFIX) and len(first.header.frame_id) < 64
    assert stamp_to_ns(first.header.stamp) == NOW, "the header stamp keeps its meaning"
    guard.check(first, NOW)
    assert _reason(guard, first) == "replayed"
    same_stamp = signer.sign(action_to_msg(PUSH, NOW), NOW)  # same observation (lockstep off), same clock
    guard.check(same_stamp, NOW)  # still newer: the signer's send counter is strictly increasing

    assert _reason(guard, action_to_msg(PUSH, NOW)) == "unsigned"
    assert _reason(guard, CommandSigner(DeploymentKey.generate()).sign(action_to_msg(PUSH, NOW), NOW + 10)) \
        == "bad signature"
    altered = signer.sign(action_to_msg(PUSH, NOW), NOW + 20)
    altered.position[0] = -5.0
    assert _reason(guard, altered) == "bad signature"
    restamped = signer.sign(action_to_msg(PUSH, NOW), NOW + 30)
    restamped.header.stamp.sec += 1
    assert _reason(guard, restamped) == "bad signature"
    truncated = signer.sign(action_to_msg(PUSH, NOW), NOW + 40)
    truncated.header.frame_id = truncated.header.frame_id[:-2]
    assert _reason(guard, truncated) == "bad signature"
    garbage = action_to_msg(PUSH, NOW)
    garbage.header.frame_id = PREFIX + "zz"
    assert _reason(guard, garbage) == "bad signature"
    old = CommandSigner(key).sign(action_to_msg(PUSH, NOW), NOW + 50)  # genuine, but recorded 10 s ago
    assert _reason(guard, old, now=NOW + 10_000_000_000) == "expired"
    CommandGuard(key, max_age_s=0).check(old, NOW + 10**12)  # 0: no age check


def test_robot_node_executes_only_signed_fresh_commands(tmp_path, probe, spawn):
    overrides = [*tiny_overrides(tmp_path), "robot.watchdog_s=0.5"]
    cfg = load_config(overrides)
    robot = spawn("robot_node", overrides)
    signer, forger = CommandSigner(key_from_config(cfg)), CommandSigner(DeploymentKey.generate())
    poses = probe.collect(PoseStamped, qos.EE_POSE, qos.SENSOR)
    halted = probe.collect(Bool, qos.ROBOT_HALTED, qos.LATCHED)
    commands = probe.node.create_publisher(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
    wait_for(lambda: poses and halted and commands.get_subscription_count(), 60, "the robot node to come up")

    def pose_after(t_ns: int) -> np.ndarray | None:
        with probe.lock:
            fresh = [m for _, m in poses if stamp_to_ns(m.header.stamp) > t_ns]
        return msg_to_pose(fresh[-1])[0] if fresh else None

    def refused(reason: str) -> None:
        wait_for(lambda: f"refused command on /robot/command: {reason}" in robot.output(), 10, f"{reason} refusal")

    def pose_now() -> np.ndarray:
        t0 = probe.now_ns()
        return wait_for(lambda: pose_after(t0), 5, "a pose published after now")

    start = pose_after(0)
    t = probe.now_ns()
    commands.publish(action_to_msg(PUSH, t))  # a peer without the key: plain command
    refused("unsigned")
    commands.publish(forger.sign(action_to_msg(PUSH, t), t))  # a peer with another key
    refused("bad signature")
    np.testing.assert_array_equal(pose_now(), start)
    assert halted[-1][1].data is True, "a refused command must not un-halt the arm"

    t = probe.now_ns()
    genuine = signer.sign(action_to_msg(PUSH, t), t)
    commands.publish(genuine)

    def moved_along_x() -> np.ndarray | None:  # a pose taken before the command executed does not count
        pos = pose_after(t)
        return pos if pos is not None and pos[0] - start[0] > 0.005 else None

    moved = wait_for(moved_along_x, 5, "the signed command to move the arm along +x")
    wait_for(lambda: halted[-1][1].data is False, 5, "un-halted by the signed command")

    commands.publish(genuine)  # recorded and replayed
    refused("replayed")
    np.testing.assert_array_equal(pose_now(), moved)

    def hostile_stream() -> bool:  # forged and replayed commands at ~20 Hz, well inside the 0.5 s watchdog
        now = probe.now_ns()
        commands.publish(forger.sign(action_to_msg(PUSH, now), now))
        commands.publish(genuine)
        return halted[-1][1].data is True

    wait_for(hostile_stream, 10, "the watchdog to halt the arm despite the hostile stream", poll_s=0.05)
    assert "no command for 0.5 s: arm halted" in robot.output()
    np.testing.assert_array_equal(pose_now(), moved)
    assert robot.alive()


def test_actor_node_refuses_forged_weights(tmp_path, probe, spawn):
    from robot_rl.actor.wiring import load_policy

    overrides = [*tiny_setup(tmp_path), "ros.record=false"]
    cfg = load_config(overrides)
    genuine_bytes = bundles.to_bytes(load_policy(cfg).actor.to_bundle(2))  # a bundle that fits this actor
    key = key_from_config(cfg)
    weights = probe.node.create_publisher(UInt8MultiArray, qos.WEIGHTS, qos.LATCHED)
    actor = spawn("actor_node", overrides)
    wait_for(lambda: weights.get_subscription_count() > 0 and "actor up" in actor.output(), 60, "the actor node")

    forged = {"unsigned": bundle_to_msg(50, bundles.to_bytes(load_policy(cfg).actor.to_bundle(50))),
              "bad signature": bundle_to_msg(60, DeploymentKey.generate().sign_weights(60, genuine_bytes))}
    for reason, msg in forged.items():
        weights.publish(msg)
        log = f"refused residual weights v{msg.layout.dim[0].label.removeprefix('residual-v')} on /learner/weights: " \
              f"{reason}"
        wait_for(lambda log=log: log in actor.output(), 10, f"the warning {log!r}")
    weights.publish(bundle_to_msg(2, key.sign_weights(2, genuine_bytes)))  # the learner's, numbered below v60
    wait_for(lambda: "residual weights v2 swapped in" in actor.output(), 10, "the genuine bundle swapped in")
    assert actor.alive()
    assert actor.stop() == 0
    assert "1 weight swaps (v2)" in actor.output(), actor.output()[-2000:]
