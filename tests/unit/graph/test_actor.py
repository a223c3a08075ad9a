"""GraphActor, the actor node's tick without ROS: stale observations give no command, the human wins while
intervening (a stale human command holds), rows get their outcome one tick later, episodes end and reset."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.config import load_config
from robot_rl.control.safety import SafetyLimits
from robot_rl.graph.actor import GraphActor, Phase
from robot_rl.graph.observation import ObservationBuffer, StaleObservation
from robot_rl.rl.policy import PolicyOutput


class FakePolicy:
    version = 0

    def __init__(self) -> None:
        self.resets = 0
        self.updates: list[tuple[int, bytes]] = []

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs, explore=False) -> PolicyOutput:
        a = np.full(7, 0.25, np.float32)
        return PolicyOutput(a * 0.8, np.ones(7, np.float32), a)

    def poll_weights(self, subscriber) -> bool:
        update = subscriber.poll() if subscriber is not None else None
        if update is None:
            return False
        self.version = update[0]
        return True


class FakeWriter:
    def __init__(self) -> None:
        self.calls: list = []

    def begin_episode(self, **kw):
        self.calls.append(("begin", kw))

    def put(self, row):
        self.calls.append(("row", row))

    def end_episode(self, success=False):
        self.calls.append(("end", success))

    def abort_episode(self):
        self.calls.append(("abort",))


class OneUpdate:
    def __init__(self) -> None:
        self.given = False

    def poll(self):
        if self.given:
            return None
        self.given = True
        return 3, b"weights"


def _buffer(t: float) -> ObservationBuffer:
    buf = ObservationBuffer(["images/front", "state"], max_age_s=0.2)
    buf.put("images/front", np.zeros((4, 4, 3), np.uint8), t)
    buf.put("state", np.zeros(10, np.float32), t)
    return buf


def test_observation_buffer_ages():
    buf = _buffer(1.0)
    obs, t = buf.assemble(1.1)
    assert t == 1.0 and set(obs) == {"images/front", "state"}
    with pytest.raises(StaleObservation, match="images/front"):
        buf.assemble(1.3)
    with pytest.raises(StaleObservation):
        buf.assemble(1.1, newer_than=1.0)
    buf.put("state", np.ones(10, np.float32), 0.5)  # an older sample never replaces a newer one
    assert buf.assemble(1.1)[0]["state"][0] == 0.0


def test_episode_flow_rows_human_and_weights():
    cfg = load_config([])
    policy, writer = FakePolicy(), FakeWriter()
    actor = GraphActor(policy, SafetyLimits(cfg.robot), max_steps=3, writer=writer, weights=OneUpdate(),
                       episodes=1, seed=7)
    out = actor.tick(_buffer(0.0), 0.0)
    assert out.reset_seed == 7 and out.command is None
    assert policy.version == 0, "a tick never swaps weights: that waits until its command is sent"
    assert actor.swap_weights() and not actor.swap_weights() and actor.stats.swaps == 1
    actor.on_reset_done(7, 0.05)
    assert actor.tick(_buffer(0.0), 0.1).command is None, "an observation from before the reset must not count"
    out = actor.tick(_buffer(0.1), 0.15)
    assert actor.phase is Phase.running and out.command is not None
    assert policy.version == 3, "weights swapped between ticks"
    assert actor.tick(_buffer(0.1), 0.5).command is None, "stale: no command"
    actor.on_event("takeover")
    assert actor.tick(_buffer(0.6), 0.6, human_action=None).command is None, "human stale while intervening: hold"
    human = np.array([0, 0, 2.0, 0, 0, 0, 1], np.float32)
    out = actor.tick(_buffer(0.7), 0.7, human_action=human)
    np.testing.assert_array_equal(out.command, [0, 0, 1.0, 0, 0, 0, 1])  # the human wins, clipped
    actor.on_event("success")
    out = actor.tick(_buffer(0.8), 0.8)
    assert out.command is None and actor.phase is Phase.done
    rows = [c[1] for c in writer.calls if c[0] == "row"]
    assert writer.calls[0] == ("begin", {"source": "policy", "seed": 7, "policy_version": 3})
    assert [bool(r["intervened"]) for r in rows] == [False, True, False]
    assert [bool(r["success"]) for r in rows] == [False, True, False]  # the final row carries no outcome
    assert bool(rows[1]["terminated"]) and rows[1]["reward"] == 1.0
    assert writer.calls[-1] == ("end", True)
    assert actor.stats.episodes == 1 and actor.stats.successes == 1
