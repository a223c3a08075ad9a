"""GraphActor, the actor node's tick without ROS: stale observations give no command, the human wins while
intervening (a stale human command holds), rows get their outcome one tick later, episodes end and reset."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.actor.observation import ObservationBuffer, ProprioAssembler, StaleObservation
from robot_rl.actor.policy import PolicyOutput
from robot_rl.actor.tick import GraphActor, Phase
from robot_rl.config import load_config
from robot_rl.control.safety import SafetyLimits


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
    actor = GraphActor(policy, SafetyLimits.for_robot(cfg.robot), max_steps=3, writer=writer, weights=OneUpdate(),
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


def _start(actor: GraphActor, seed: int, t: float) -> None:
    """Reset handshake, then one command: the actor is mid-episode at ``t + 0.1``."""
    assert actor.tick(_buffer(t), t).reset_seed == seed
    actor.on_reset_done(seed, t + 0.02)
    assert actor.tick(_buffer(t + 0.05), t + 0.1).command is not None and actor.phase is Phase.running


def test_a_robot_reset_mid_episode_discards_the_episode_and_runs_it_again():
    cfg = load_config([])
    writer = FakeWriter()
    actor = GraphActor(FakePolicy(), SafetyLimits.for_robot(cfg.robot), max_steps=50, writer=writer, seed=4)
    _start(actor, 4, 0.0)
    actor.on_reset_done(-1, 0.2)  # a restarted robot node announces itself: the world jumped
    assert writer.calls[-1] == ("abort",) and actor.phase is Phase.resetting and actor.stats.interrupted == 1
    assert actor.tick(_buffer(0.3), 0.3).reset_seed == 4, "the same episode is run again"
    actor.on_reset_done(4, 0.35)
    assert actor.tick(_buffer(0.4), 0.4).command is not None
    begins = [c[1]["seed"] for c in writer.calls if c[0] == "begin"]
    assert begins == [4, 4] and actor.stats.episodes == 0


def test_a_failed_store_holds_the_arm_and_recording_resumes_when_it_opens_again():
    from robot_rl.actor.tick import STORE_RETRY_S
    from robot_rl.data.errors import StoreError, WriterError

    class FullDisk(FakeWriter):
        closed = False

        def put(self, row):
            raise WriterError("replay writer failed: OSError(28, 'No space left on device')")

        def close(self):
            self.closed = True
            raise WriterError("replay writer failed: OSError(28, 'No space left on device')")

    cfg = load_config([])
    full, fresh = FullDisk(), FakeWriter()
    opens = iter([StoreError("still full"), fresh])

    def reopen():
        x = next(opens)
        if isinstance(x, Exception):
            raise x
        return x

    actor = GraphActor(FakePolicy(), SafetyLimits.for_robot(cfg.robot), max_steps=50, writer=full, seed=2,
                       reopen_writer=reopen)
    _start(actor, 2, 0.0)
    out = actor.tick(_buffer(0.2), 0.2)  # closing the first step's row fails
    assert out.command is None and "recording failed" in out.reason and "No space" in out.reason
    assert actor.phase is Phase.store_failed and full.closed and actor.writer is None
    t = 0.2
    for _ in range(5):  # holding: no command, however fresh the observation
        t += 0.1
        assert actor.tick(_buffer(t), t).command is None
    out = actor.tick(_buffer(t), 0.2 + STORE_RETRY_S)
    assert "does not open yet" in out.reason and "still full" in out.reason and actor.phase is Phase.store_failed
    t = 0.2 + 2 * STORE_RETRY_S
    assert actor.tick(_buffer(t), t).reason == "recording resumes" and actor.writer is fresh
    _start(actor, 3, t + 0.1)  # the lost episode's seed is spent; the next one records on the new writer
    assert fresh.calls[0] == ("begin", {"source": "policy", "seed": 3, "policy_version": 0})
    assert actor.stats.store_failures == 1


def test_without_a_way_to_reopen_the_store_a_write_failure_is_raised():
    from robot_rl.data.errors import WriterError

    class Broken(FakeWriter):
        def put(self, row):
            raise WriterError("replay writer failed")

    cfg = load_config([])
    actor = GraphActor(FakePolicy(), SafetyLimits.for_robot(cfg.robot), max_steps=50, writer=Broken(), seed=0)
    _start(actor, 0, 0.0)
    with pytest.raises(WriterError):
        actor.tick(_buffer(0.2), 0.2)


def test_reopening_the_store_waits_for_free_space(tmp_path):
    """Opening a store needs almost no space: the retry after a full disk checks free space first."""
    from robot_rl.actor.wiring import reopen_writer
    from robot_rl.data.errors import StoreError
    from robot_rl.data.storage import free_bytes

    free_mb = free_bytes(tmp_path / "replay.zarr") >> 20
    cfg = load_config([f"buffer.path={tmp_path / 'replay.zarr'}", f"buffer.min_free_mb={free_mb + 1024}"])
    with pytest.raises(StoreError, match=r"MB free on the disk of .*buffer.min_free_mb="):
        reopen_writer(cfg)
    writer = reopen_writer(load_config([f"buffer.path={tmp_path / 'replay.zarr'}", "buffer.min_free_mb=1"]))
    writer.close()
    assert free_bytes("memory://x.zarr") is None, "a URL store: no local disk to check"


def test_proprio_waits_for_a_width_and_takes_the_older_stamp():
    buf = ObservationBuffer(["state", "joints"], max_age_s=0.2)
    proprio = ProprioAssembler(buf)
    proprio.on_pose(np.array([0.4, 0.0, 0.3]), np.array([1.0, 0, 0, 0]), 1.0)
    with pytest.raises(StaleObservation, match="state"):  # no width yet: no state
        buf.assemble(1.0)
    proprio.on_joints(np.append(np.arange(7.0), 0.05), 0.95)
    proprio.on_pose(np.array([0.4, 0.0, 0.3]), np.array([1.0, 0, 0, 0]), 1.0)
    obs, t = buf.assemble(1.0)
    assert t == 0.95  # the older of the width and the pose
    np.testing.assert_allclose(obs["state"], [0.4, 0, 0.3, 1, 0, 0, 0, 1, 0, 0.05], atol=1e-7)
    np.testing.assert_array_equal(obs["joints"], np.arange(7, dtype=np.float32))


def test_ticks_that_hold_for_a_reason_to_see_say_warn():
    actor = GraphActor(FakePolicy(), SafetyLimits.for_robot(load_config([]).robot), max_steps=5, lockstep=False)
    actor.on_reset_done(0, 0.5)
    assert actor.tick(_buffer(1.0), 1.0).command is not None
    out = actor.tick(_buffer(1.0), 1.5)  # the observation is 0.5 s old
    assert out.command is None and out.warn and out.reason.startswith("stale")
    actor.on_event("takeover")
    out = actor.tick(_buffer(2.0), 2.0, human_action=None)
    assert out.command is None and out.warn
    actor.on_event("pause")
    assert not actor.tick(_buffer(3.0), 3.0).warn  # paused on purpose: nothing to warn about
