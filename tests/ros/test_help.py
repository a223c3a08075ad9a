"""The help request over real DDS. actor_node with ``help.gate=score`` and the base alone (weights v0 carry no
critics, so the gate cannot judge and asks at its first policy step), against the scripted cell of
``test_actor_node``: (a) the request shows on ``/actor/help`` (WARN, the reason, values with the score and the
weights version) and the arm is held: every command while it asks is zero motion with the gripper kept; (b) a
take-over answers it: the commands follow the human's twist and ``/actor/help`` says OK "resumed"; (c) in the next
episode it asks again and an ``ack`` on ``/teleop/events`` answers: OK, and (a long cool-down, so no new request
at once) each command is the policy's own action again, as ``/actor/policy_action`` published it. The teleop node
rings and says once per request which key acknowledges, and "resumed" when it is over.

Which phase a command belongs to is read off its signed send time (the tick's start): a tick that started after
the test received a help message, or before the test published its answer, is unambiguous whatever the delivery
order of the topics."""

from __future__ import annotations

import threading

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import TwistStamped
from rclpy.qos import HistoryPolicy, QoSProfile
from robot_rl_ros import qos
from robot_rl_ros.command_auth import send_ns
from robot_rl_ros.conversions import help_to_msg, msg_to_action, msg_to_help, stamp_to_ns, twist_to_msg
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float32, String

from robot_rl.config import load_config
from tests.ros.conftest import tiny_setup, wait_for
from tests.ros.test_actor_node import FakeCell

HUMAN_TWIST = np.array([0.2, -0.1, 0.3, 0.0, 0.0, 0.0], np.float32)
HUMAN_GRIPPER = 1.0  # closed: the hold before the take-over kept the gripper open (-1)
NO_CRITICS = "weights v0 carry no critics or calibration"


def deep(profile: QoSProfile) -> QoSProfile:
    """``profile`` with a long history, so the probe keeps every sample even when its thread falls behind."""
    return QoSProfile(reliability=profile.reliability, durability=profile.durability,
                      history=HistoryPolicy.KEEP_LAST, depth=10_000)


class Human:
    """The person at the teleop side, scripted: takes over (``/teleop/intervening`` and a fresh twist at 20 Hz
    while driving, like the teleop node), hands back, and sends task events."""

    def __init__(self, probe) -> None:
        self.probe, node = probe, probe.node
        self.driving = False
        self.lock = threading.Lock()
        self.intervening = node.create_publisher(Bool, qos.TELEOP_INTERVENING, qos.LATCHED)
        self.events = node.create_publisher(String, qos.TELEOP_EVENTS, qos.EVENTS)
        self.twist = node.create_publisher(TwistStamped, qos.TELEOP_TWIST, qos.SENSOR)
        self.gripper = node.create_publisher(Float32, qos.TELEOP_GRIPPER, qos.LATCHED)
        node.create_timer(0.05, self.on_timer)

    def on_timer(self) -> None:
        with self.lock:
            if self.driving:
                self.twist.publish(twist_to_msg(HUMAN_TWIST, self.probe.now_ns()))

    def take_over(self) -> int:
        """Returns the probe's clock just before: no tick that started earlier can have seen the take-over."""
        t = self.probe.now_ns()
        self.gripper.publish(Float32(data=HUMAN_GRIPPER))
        self.twist.publish(twist_to_msg(HUMAN_TWIST, self.probe.now_ns()))
        with self.lock:
            self.driving = True
        self.intervening.publish(Bool(data=True))
        return t

    def hand_back(self) -> int:
        t = self.probe.now_ns()
        self.intervening.publish(Bool(data=False))
        with self.lock:
            self.driving = False
        return t

    def send(self, event: str) -> int:
        t = self.probe.now_ns()
        self.events.publish(String(data=event))
        return t


def test_the_actor_asks_holds_and_resumes_on_a_take_over_or_an_ack(tmp_path, probe, spawn):
    overrides = [*tiny_setup(tmp_path), "ros.record=false", "task.max_steps=100000", "help.gate=score",
                 "help.cooldown_steps=100000", "help.caution_scale=1.0", "teleop.spacemouse.max_age_s=0.5"]
    cfg = load_config(overrides)
    commands = probe.collect(JointState, qos.ROBOT_COMMAND, deep(qos.COMMAND))
    proposals = probe.collect(JointState, qos.POLICY_ACTION, deep(qos.SENSOR))
    help_msgs = probe.collect(DiagnosticStatus, qos.ACTOR_HELP, deep(qos.LATCHED))
    human = Human(probe)
    FakeCell(probe, cfg.camera.names, (cfg.camera.height, cfg.camera.width))
    actor = spawn("actor_node", overrides)

    def helps() -> list[tuple[int, bool, str, dict[str, str]]]:
        """(receipt ns, asking, message, values) of every /actor/help message so far."""
        assert actor.alive(), actor.output()[-3000:]
        with probe.lock:
            return [(t, *msg_to_help(m)) for t, m in help_msgs]

    def help_count(asking: bool, message: str | None = None) -> int:
        return sum(a == asking and (message is None or m == message) for _, a, m, _ in helps())

    def wait_help(asking: bool, n: int, message: str | None = None, timeout: float = 20.0) -> int:
        """Wait for the ``n``-th such help message; returns its receipt time."""
        what = f"{'WARN' if asking else 'OK'} #{n} {message or ''} on /actor/help"
        wait_for(lambda: help_count(asking, message) >= n, timeout, what)
        return [t for t, a, m, _ in helps() if a == asking and (message is None or m == message)][n - 1]

    def sent(after_ns: float, before_ns: float = float("inf")) -> list[tuple[int, np.ndarray]]:
        """(send time, action) of the commands whose tick started in (after_ns, before_ns)."""
        with probe.lock:
            out = [(send_ns(m), msg_to_action(m)) for _, m in commands]
        return [(t, a) for t, a in out if after_ns < t < before_ns]

    def wait_commands(after_ns: int, n: int, what: str) -> None:
        wait_for(lambda: len(sent(after_ns)) >= n, 20, f"{n} commands {what}")

    # (a) the first policy step cannot be judged: WARN on /actor/help, and the arm is held (zero motion, gripper
    # kept open) on every tick until somebody answers
    warned = wait_help(True, 1, timeout=90)
    _, _, message, values = helps()[-1]
    assert message == NO_CRITICS
    assert {"score", "version"} <= values.keys() and values["version"] == "0" and values["score"] == "nan", values
    assert helps()[0][1] is False  # the OK the actor publishes when it starts (latched)
    wait_commands(warned, 5, "while asking")
    took_over = human.take_over()
    held = sent(warned, took_over)
    assert len(held) >= 5
    for _, action in held:
        np.testing.assert_array_equal(action, [0, 0, 0, 0, 0, 0, -1], err_msg="a command while asking moved the arm")

    # (b) the take-over answers: OK "resumed", and the commands are the human's
    answered = wait_help(False, 1, "resumed")
    wait_commands(answered, 5, "from the human")
    handed_back = human.hand_back()
    driven = sent(answered, handed_back)
    assert len(driven) >= 5
    for _, action in driven:
        np.testing.assert_allclose(action, [*HUMAN_TWIST, HUMAN_GRIPPER], atol=1e-6,
                                   err_msg="a command during the take-over is not the human's")

    # (c) a new episode asks again (the cool-down starts over); an ack answers, and the policy drives again
    human.send("reset")
    warned = wait_help(True, 2)
    assert helps()[-1][2] == NO_CRITICS
    wait_commands(warned, 3, "while asking again")
    acked = human.send("ack")
    held = sent(warned, acked)
    assert len(held) >= 3
    for _, action in held:
        assert not action[:6].any(), f"a command while asking again moved the arm: {action}"
    resumed = wait_help(False, 2, "resumed")
    wait_commands(resumed, 5, "after the ack")
    with probe.lock:
        proposed = {stamp_to_ns(m.header.stamp): msg_to_action(m) for _, m in proposals}
    after = sent(resumed)
    matched = [(action, proposed[t]) for t, action in after if t in proposed]
    assert len(matched) >= 3, f"{len(matched)} of {len(after)} commands have their proposal on /actor/policy_action"
    for action, proposal in matched:  # the policy's action as it is (help.caution_scale=1: no slower steps either)
        np.testing.assert_allclose(action, np.clip(proposal, -1.0, 1.0), atol=1e-6,
                                   err_msg="after the ack the command is not the policy's action")
    assert help_count(True) == 2, "no new request during the cool-down"
    assert actor.output().count("asking for help (holding still)") == 2, "one warning per request"
    assert actor.stop() == 0, actor.output()[-3000:]


def test_teleop_node_rings_and_says_how_to_answer(probe, spawn, tmp_path):
    pub = probe.node.create_publisher(DiagnosticStatus, qos.ACTOR_HELP, qos.LATCHED)
    pub.publish(help_to_msg(True, NO_CRITICS, {"score": float("nan"), "version": 0}))  # before it starts: latched
    node = spawn("teleop_node", ["ros.teleop=none", f"security.key_path={tmp_path / 'deployment.key'}"])
    asks = f"the robot asks for help: {NO_CRITICS}; press 'a' to let it go on, or take over"
    wait_for(lambda: asks in node.output(), 60, "the teleop node to relay the request")
    assert "\a" in node.output(), "no terminal bell"
    pub.publish(help_to_msg(False, "resumed"))
    wait_for(lambda: "resumed" in node.output(), 10, "the teleop node to say resumed")
    pub.publish(help_to_msg(True, "unsure: novelty 3.2", {"score": 1.5, "novelty": 3.2, "version": 4}))
    wait_for(lambda: "the robot asks for help: unsure: novelty 3.2" in node.output(), 10, "the second request")
    output = node.output()
    assert output.count("the robot asks for help") == 2 and output.count("\a") == 2, output[-3000:]
    assert output.count("resumed") == 1
    assert node.stop() == 0, node.output()[-3000:]
