"""The reward classifier in the ROS graph, over real DDS: actor_node with ``reward.source=classifier`` against the
scripted cell of ``test_actor_node``, and a classifier that reads the tcp height from the state (success below
0.2 m). (a) The twin's own success on ``/task/events`` is ignored: the episode goes on; (b) once the cell reports
the tcp low, the actor ends its one episode on the classifier's success after ``reward.consecutive`` new frames,
and the store holds every frame's probability and decision; (c) a classifier trained for other cameras is refused
at start, naming them."""

from __future__ import annotations

import numpy as np
from robot_rl_ros import qos
from robot_rl_ros.command_auth import send_ns
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from robot_rl.config import load_config
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies import bundle as bundles
from tests.ros.conftest import tiny_setup, wait_for
from tests.ros.test_actor_node import FakeCell
from tests.ros.test_help import deep
from tests.unit.actor.test_success import state_classifier


def test_the_actor_ends_an_episode_when_the_classifier_sees_success(tmp_path, probe, spawn):
    path = tmp_path / "reward.pt"
    overrides = [*tiny_setup(tmp_path), "task.max_steps=100000", "ros.episodes=1", "reward.source=classifier",
                 f"reward.path={path}", "reward.consecutive=3"]
    cfg = load_config(overrides)
    bundles.save(state_classifier(cfg.camera.names, (cfg.camera.height, cfg.camera.width),
                                  cfg.task.name).to_bundle(), path)
    commands = probe.collect(JointState, qos.ROBOT_COMMAND, deep(qos.COMMAND))
    task = probe.node.create_publisher(String, qos.TASK_EVENTS, qos.EVENTS)
    cell = FakeCell(probe, cfg.camera.names, (cfg.camera.height, cfg.camera.width))
    actor = spawn("actor_node", overrides)

    def sent_after(t_ns: int) -> int:
        assert actor.alive(), actor.output()[-3000:]
        with probe.lock:
            return sum(send_ns(m) > t_ns for _, m in commands)

    wait_for(lambda: sent_after(0) >= 3, 90, "the first commands")
    told = probe.now_ns()
    task.publish(String(data="success"))  # (a) the twin's check says success: the classifier decides here
    wait_for(lambda: sent_after(told) >= 10, 20, "commands after the twin's success")
    lowered = probe.now_ns()
    cell.pose_z = 0.1  # (b) what the classifier calls a success
    wait_for(lambda: not actor.alive(), 30, "the actor to end its one episode on the classifier's success")
    assert actor.stop() == 0, actor.output()[-3000:]
    assert "success rate 1/1, 1 seen by the reward classifier" in actor.output(), actor.output()[-3000:]
    with ReplayStore.open(cfg.buffer.path) as store:
        assert store.n_episodes == 1 and store.schema.reward
        assert store.episode_meta(0).success
        c = store.read_episode(0, ["t_obs", "success", "success_prob", "success_detected", "success_label"])
    t_obs_ns = c["t_obs"] * 1e9
    assert c["success_detected"][-1] and c["success_detected"].sum() == 1 and c["success"][-2]
    assert np.isfinite(c["success_prob"]).all(), "every frame acted on was judged"
    went_on = (t_obs_ns > told + 0.2e9) & (c["success_prob"] < 0.5)
    assert went_on.sum() >= 5, "the episode went on after the twin's success"
    high = np.flatnonzero(c["success_prob"] > 0.5)
    assert len(high) == 3 and (t_obs_ns[high] > lowered).all(), "three new low-tcp frames, then the end"
    assert (c["success_label"] == -1).all()


def test_a_classifier_for_other_cameras_is_refused_at_start(tmp_path, spawn):
    path = tmp_path / "reward.pt"
    overrides = [*tiny_setup(tmp_path), "reward.source=classifier", f"reward.path={path}"]
    cfg = load_config(overrides)
    bundles.save(state_classifier(["side"], (cfg.camera.height, cfg.camera.width), cfg.task.name).to_bundle(), path)
    actor = spawn("actor_node", overrides)
    wait_for(lambda: not actor.alive(), 60, "the actor to refuse the classifier")
    assert actor.stop() != 0
    assert "trained for cameras ['side']" in actor.output() and "camera.names=" in actor.output()
