"""The whole graph in sim, started the way users start it (``robot-rl up sim``): robot and camera nodes on
the MuJoCo twin, actor (+ recorder), learner, and a scripted teleop publisher in the test process that takes
over during some episodes. Afterwards the store holds the episodes with the right ``intervened`` flags and
RLIF rewards, the actor swapped in learner weights that came over DDS, and the simulated arm moved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import TwistStamped
from robot_rl_ros import qos
from robot_rl_ros.conversions import twist_to_msg
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32, Int64, String

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.rewards import rlif_rewards
from tests.ros.conftest import tiny_setup, wait_for

EPISODES = 4
TAKEOVER_SEEDS = {1, 3}  # the scripted human takes over in the 2nd and 4th episode
TAKEOVER_AT, HANDBACK_AT = 5, 12  # policy proposals counted from the episode's start
HUMAN_TWIST = np.array([0.0, 0.0, 0.6, 0.0, 0.0, 0.0], np.float32)  # straight up, gripper closed


class ScriptedTeleop:
    """Counts the actor's proposals per episode; in the chosen episodes takes over at one count and hands back
    at another, publishing its twist at 50 Hz while it drives (like the real teleop node)."""

    def __init__(self, probe) -> None:
        self.probe, node = probe, probe.node
        self.lock = threading.Lock()
        self.seed, self.count, self.driving = None, 0, False
        self.takeovers = 0
        self.events = node.create_publisher(String, qos.TELEOP_EVENTS, qos.EVENTS)
        self.twist = node.create_publisher(TwistStamped, qos.TELEOP_TWIST, qos.SENSOR)
        self.gripper = node.create_publisher(Float32, qos.TELEOP_GRIPPER, qos.LATCHED)  # kept: latched sample
        self.gripper.publish(Float32(data=1.0))
        node.create_subscription(Int64, qos.ROBOT_EPISODE, self.on_episode, qos.LATCHED)
        node.create_subscription(JointState, qos.POLICY_ACTION, self.on_proposal, qos.SENSOR)
        node.create_timer(0.02, self.on_timer)

    def on_episode(self, msg: Int64) -> None:
        with self.lock:
            self.seed, self.count, self.driving = int(msg.data), 0, False

    def on_proposal(self, msg: JointState) -> None:
        with self.lock:
            self.count += 1
            if self.seed in TAKEOVER_SEEDS and self.count == TAKEOVER_AT:
                self.driving = True
                self.takeovers += 1
                self.twist.publish(twist_to_msg(HUMAN_TWIST, self.probe.now_ns()))
                self.events.publish(String(data="takeover"))
            elif self.driving and self.count == HANDBACK_AT:
                self.driving = False
                self.events.publish(String(data="handback"))

    def on_timer(self) -> None:
        with self.lock:
            if self.driving:
                self.twist.publish(twist_to_msg(HUMAN_TWIST, self.probe.now_ns()))


def niceness_of(module: bytes, parent: int) -> list[int]:
    """The niceness of each running child of ``parent`` whose command line runs ``module``."""
    found = []
    for p in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and module in (p / "cmdline").read_bytes():
                found.append(os.getpriority(os.PRIO_PROCESS, int(p.name)))
        except (OSError, ValueError, IndexError):  # exited meanwhile
            continue
    return found


def test_whole_graph_in_sim(tmp_path, probe):
    overrides = [*tiny_setup(tmp_path, demos=2), "ros.teleop=none", "ros.seed=0", f"ros.record_bag={tmp_path / 'bag'}"]
    store_path = str(tmp_path / "replay.zarr")
    teleop = ScriptedTeleop(probe)
    log = tmp_path / "up.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "robot_rl.cli.main", "up", "sim", *overrides], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def policy_episodes() -> list:
        """Committed actor episodes' metadata, read while the actor writes (the learner's way of reading)."""
        if proc.poll() is not None:
            raise AssertionError(f"robot-rl up exited early ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with ReplayStore.open(store_path) as store:
                metas = [store.episode_meta(i) for i in range(store.n_episodes)]
        except Exception:  # the writer may be between two writes of its metadata: read again
            return []
        return [m for m in metas if m.source == EpisodeSource.policy]

    learner_nice: list[int] = []

    def done() -> bool:  # enough episodes, and one of them started with weights that came over DDS
        eps = policy_episodes()
        ok = len(eps) >= EPISODES and any(m.policy_version >= 1 for m in eps)
        if ok:  # the learner has published, so it has set its priority: read it while it still runs
            learner_nice[:] = niceness_of(b"robot_rl_ros.learner_node", parent=proc.pid)
        return ok

    try:
        wait_for(done, 240, f"{EPISODES} actor episodes and one acting with learner weights", poll_s=0.5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does: the supervisor stops the graph, actor first
            proc.wait(timeout=60)
    text = log.read_text()
    assert proc.returncode == 0, text[-4000:]
    assert "all nodes stopped" in text
    assert teleop.takeovers >= len(TAKEOVER_SEEDS)
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)  # ros.learner_nice (10) above ours
    assert learner_nice == [expected], f"the learner node's niceness: {learner_nice}, expected {expected}"

    store = ReplayStore.open(store_path)
    metas = [store.episode_meta(i) for i in range(store.n_episodes)]
    policy_eps = [i for i, m in enumerate(metas) if m.source == EpisodeSource.policy]
    assert [metas[i].seed for i in policy_eps] == list(range(len(policy_eps))), metas
    assert max(metas[i].policy_version for i in policy_eps) >= 1, "no learner weights swapped in over DDS"
    for i in policy_eps:
        ep = store.read_episode(i)
        intervened, action, state = ep["intervened"], ep["action"], ep["obs/state"]
        assert len(intervened) >= 5
        pos = state[:, :3]
        assert np.linalg.norm(pos.max(0) - pos.min(0)) > 0.01, f"episode {i}: the arm did not move"
        rlif = rlif_rewards(intervened)
        if metas[i].seed in TAKEOVER_SEEDS:
            idx = np.flatnonzero(intervened)
            assert len(idx) >= 3 and np.all(np.diff(idx) == 1), f"episode {i}: one contiguous take-over, got {idx}"
            assert idx[0] >= 3, f"episode {i}: the take-over came at step {idx[0]}"
            np.testing.assert_allclose(action[idx, :6], np.tile(HUMAN_TWIST, (len(idx), 1)), atol=1e-6)
            assert np.all(action[idx, 6] == 1.0), "the human's gripper command was not executed"
            assert rlif[idx[0] - 1] == -1.0 and rlif.sum() == -1.0, f"episode {i}: RLIF rewards {rlif}"
        else:
            assert not intervened.any() and not rlif.any()
    store.close()

    # the recorded bag (ros.record_bag) holds the same run: imported, its episodes are the actor's, command for
    # command (the bag's steps are the commands; the store's last row is a final observation)
    assert main(["buffer", "import", str(tmp_path / "bag"), str(tmp_path / "from_bag.zarr")]) == 0
    with ReplayStore.open(store_path) as ours, ReplayStore.open(tmp_path / "from_bag.zarr") as bag:
        seeds = {bag.episode_meta(i).seed: i for i in range(bag.n_episodes)}
        for i in policy_eps:
            want = ours.read_episode(i, ["action"])["action"][:-1]
            got = bag.read_episode(seeds[ours.episode_meta(i).seed], ["action"])["action"]
            np.testing.assert_array_equal(got[:len(want)], want)


@pytest.mark.slow
def test_graph_with_the_simulated_human(tmp_path):
    """``robot-rl up sim`` as shipped (teleop node = the simulated human, learner included) ends by itself after
    ros.episodes; the untrained policy drifts, so the simulated human takes over in the recorded episodes. The
    take-over itself (events, executed commands, intervened rows, hand-back) is checked in the default suite by
    tests/ros/test_teleop_node.py, on a smaller graph."""
    overrides = [*tiny_setup(tmp_path, demos=2), "ros.episodes=2"]
    result = subprocess.run([sys.executable, "-m", "robot_rl.cli.main", "up", "sim", *overrides], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "node actor exited cleanly" in result.stdout
    with ReplayStore.open(str(tmp_path / "replay.zarr")) as store:
        eps = [i for i in range(store.n_episodes) if store.episode_meta(i).source == EpisodeSource.policy]
        assert len(eps) == 2
        assert any(store.read_episode(i)["intervened"].any() for i in eps), "the simulated human never took over"
