"""actor_node against a scripted camera + robot in the test process: it commands while the observation is
fresh, publishes nothing while a camera is stale, and drops malformed messages (wrong data size, unknown
encoding, joint names that do not match the robot) with a throttled warning naming topic and field. A take-over
(``/teleop/intervening``) with no human command holds until the teleop side says nobody is intervening, and a
robot node announcing its start (episode -1) mid-episode makes the actor run the episode again.

What is checked is the actor's own freshness decision, read off each command: its signature carries the tick's
clock reading (the send time) and its stamp the oldest capture stamp acted on, so send - stamp must never exceed
``camera.max_age_s`` and, with ``ros.lockstep``, each stamp is newer than the previous command's send time. After
a camera goes stale at a known time no command may be sent later than that time plus the maximum age, and during
a take-over none after the actor logged that it holds. None of that depends on how fast a message travels or
when the test looks (end-to-end latency belongs to ``robot-rl bench ros``)."""

from __future__ import annotations

import threading
from itertools import pairwise

import numpy as np
from geometry_msgs.msg import PoseStamped
from robot_rl_ros import qos
from robot_rl_ros.command_auth import send_ns
from robot_rl_ros.conversions import JOINT_NAMES, image_to_msg, joint_state_to_msg, pose_to_msg, stamp_to_ns
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Int64

from robot_rl.config import load_config
from tests.ros.conftest import tiny_setup, wait_for

ROUNDING_NS = 1_000  # the actor's age check runs on float seconds since the epoch (~0.2 us resolution)


class FakeCell:
    """Publishes both cameras, joint states and the EE pose at 20 Hz in a mode the test switches; answers
    reset requests. ``ticks`` counts publications (the test's clock for "nothing happened for a while")."""

    def __init__(self, probe, cameras, shape) -> None:
        self.probe, self.node = probe, probe.node
        self.mode = "fresh"
        self.pose_z = 0.3  # the tcp height it reports (a test's state-based reward classifier reads it)
        self.ticks = 0
        self.lock = threading.Lock()
        self.images = {c: self.node.create_publisher(Image, qos.IMAGE.format(name=c), qos.SENSOR) for c in cameras}
        self.joints = self.node.create_publisher(JointState, qos.JOINT_STATES, qos.SENSOR)
        self.pose = self.node.create_publisher(PoseStamped, qos.EE_POSE, qos.SENSOR)
        self.episode = self.node.create_publisher(Int64, qos.ROBOT_EPISODE, qos.LATCHED)
        self.node.create_subscription(Int64, qos.ROBOT_RESET, lambda m: self.episode.publish(Int64(data=m.data)),
                                      qos.EVENTS)
        self.frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
        self.node.create_timer(0.05, self.publish)

    def publish(self) -> None:
        now = self.probe.now_ns()
        for cam, pub in self.images.items():
            stamp = now - 1_000_000_000 if (self.mode == "stale_wrist" and cam == "wrist") else now
            msg = image_to_msg(self.frame, stamp, cam)
            if cam == "wrist" and self.mode == "bad_data":
                msg.data = msg.data[:-5]
            if cam == "wrist" and self.mode == "bad_encoding":
                msg.encoding = "yuv422"
            pub.publish(msg)
        names = [f"joint{i}" for i in range(8)] if self.mode == "bad_names" else JOINT_NAMES
        self.joints.publish(joint_state_to_msg(names, np.append(np.zeros(7), 0.04), np.zeros(8), now))
        self.pose.publish(pose_to_msg(np.array([0.5, 0.0, self.pose_z]), np.array([0.0, 1.0, 0.0, 0.0]), now))
        with self.lock:
            self.ticks += 1

    def wait_ticks(self, n: int) -> None:
        start = self.ticks
        wait_for(lambda: self.ticks >= start + n, 30, f"{n} fake-cell publications")


def test_actor_commands_only_on_fresh_well_formed_observations(tmp_path, probe, spawn):
    overrides = [*tiny_setup(tmp_path), "ros.record=false", "task.max_steps=100000", "camera.max_age_s=0.2"]
    cfg = load_config(overrides)
    assert cfg.ros.lockstep
    max_age_ns = int(cfg.camera.max_age_s * 1e9)
    commands = probe.collect(JointState, qos.ROBOT_COMMAND, qos.COMMAND)
    resets = probe.collect(Int64, qos.ROBOT_RESET, qos.EVENTS)
    intervening = probe.node.create_publisher(Bool, qos.TELEOP_INTERVENING, qos.LATCHED)
    cell = FakeCell(probe, cfg.camera.names, (cfg.camera.height, cfg.camera.width))
    actor = spawn("actor_node", overrides)

    def n_commands() -> int:
        with probe.lock:
            return len(commands)

    def sent() -> list[tuple[int, int]]:
        """(send time, stamp acted on) of every command so far, ns, in the order sent."""
        with probe.lock:
            return [(send_ns(m), stamp_to_ns(m.header.stamp)) for _, m in commands]

    def sent_within(after_ns: int, before_ns: float = float("inf")) -> list[tuple[int, int]]:
        return [(t, stamp) for t, stamp in sent() if after_ns < t < before_ns]

    wait_for(lambda: n_commands() >= 5, 60, "commands on a fresh observation")

    for mode, log in (("stale_wrist", "no command: stale observation, no command: images/wrist"),
                      ("bad_data", "dropped malformed message on /cameras/wrist/image_raw: field data"),
                      ("bad_encoding", "dropped malformed message on /cameras/wrist/image_raw: field encoding"),
                      ("bad_names", "dropped malformed message on /robot/joint_states: field name")):
        cell.mode = mode
        switched = probe.now_ns()  # every good sample of the key this mode spoils was stamped before this
        wait_for(lambda log=log: log in actor.output(), 10, f"the warning {log!r}")
        cell.wait_ticks(15)  # 0.75 s, 7 control ticks at 10 Hz, well past the last good sample's max age
        late = sent_within(switched + max_age_ns + ROUNDING_NS)
        assert late == [], f"{mode}: the actor commanded on a stale or malformed observation: {late}"
        assert actor.alive(), f"{mode}: the actor died"
        cell.mode = "fresh"
        resumed = n_commands()
        wait_for(lambda resumed=resumed: n_commands() >= resumed + 3, 10, f"commands again after {mode}")

    # a take-over whose human command never comes (teleop died): hold; a restarted teleop says "nobody": go on
    intervening.publish(Bool(data=True))
    wait_for(lambda: "intervening, but the human's command is stale: holding" in actor.output(), 10, "holding")
    holding = probe.now_ns()  # after a tick that held: every later tick sees the take-over
    cell.wait_ticks(15)
    handback = probe.now_ns()
    assert sent_within(holding, handback) == [], "the actor commanded while the human had taken over"
    intervening.publish(Bool(data=False))
    resumed = n_commands()
    wait_for(lambda: n_commands() >= resumed + 3, 10, "commands again once nobody is intervening")

    # the robot node restarted mid-episode: the episode is discarded and the same seed asked for again
    with probe.lock:
        seeds = [m.data for _, m in resets]
    cell.episode.publish(Int64(data=-1))
    wait_for(lambda: len(resets) > len(seeds), 10, "a reset request after the robot announced its start")
    with probe.lock:
        assert resets[-1][1].data == seeds[-1], "the interrupted episode runs again with its seed"
    resumed = n_commands()
    wait_for(lambda: n_commands() >= resumed + 3, 10, "commands in the episode run again")
    assert actor.alive()

    # every command, whenever it arrived: acted on an observation no older than the maximum age at its tick, and
    # (lockstep) on one taken after the previous command was sent
    every = sent()
    assert len(every) >= 5 + 3 * 6  # the first five, then three after each of six recoveries
    for t, stamp in every:
        assert t - stamp <= max_age_ns + ROUNDING_NS, f"a command acted on an observation {(t - stamp) * 1e-9} s old"
    for (t_prev, _), (_, stamp) in pairwise(every):
        assert stamp > t_prev - ROUNDING_NS, "lockstep: a command acted on an observation older than its predecessor"
