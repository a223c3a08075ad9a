"""SimulatedTeleop, the twin's person as a teleop backend without ROS: nothing before it sees the world, a
take-over after a stall (reported once, its twist kept fresh), a hand-back on a new episode; asked for help, it
acknowledges (the event ``ack``) a proposal that is on track and takes over one that is not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.human_teleop import SimulatedTeleop
from robot_rl.sim.state_vector import sim_state_vector


def test_takes_over_a_stalled_policy_and_hands_back_on_a_new_episode(cfg):
    cfg = replace(cfg, camera=replace(cfg.camera, width=32, height=32),
                  human=replace(cfg.human, stall_steps=3, reaction_steps=1, skill=1.0))
    still = np.array([0, 0, 0, 0, 0, 0, -1], np.float32)
    teleop = SimulatedTeleop(cfg)
    try:
        assert teleop.propose(still).intervening is None  # no world mirrored yet: it cannot judge
        with PickPlaceEnv(cfg) as env:
            env.reset(300)
            assert teleop.new_episode(300).intervening is None  # nobody intervened yet
            commands = []
            for _ in range(20):
                teleop.mirror(sim_state_vector(env.world))
                commands.append(teleop.propose(still))
                env.step(still)
        takeovers = [i for i, c in enumerate(commands) if c.intervening is True]
        assert len(takeovers) == 1, "the stalled policy was taken over once, and the change said once"
        first = takeovers[0]
        assert first >= 3  # after the stall, not at once
        assert all(c.twist is not None and c.gripper is not None for c in commands[first:])
        assert teleop.poll().twist is not None  # kept fresh between proposals
        assert teleop.new_episode(301).intervening is False
        assert teleop.poll().twist is None and teleop.new_episode(302).intervening is None
    finally:
        teleop.close()


def test_asked_for_help_it_acknowledges_or_takes_over(cfg):
    cfg = replace(cfg, camera=replace(cfg.camera, width=32, height=32))
    still = np.array([0, 0, 0, 0, 0, 0, -1], np.float32)
    with PickPlaceEnv(cfg) as env:
        env.reset(300)
        for threshold, answer in ((10.0, "ack"), (1e-3, "takeover")):  # any proposal on track / every one off it
            teleop = SimulatedTeleop(replace(cfg, human=replace(cfg.human, drift_threshold=threshold)))
            try:
                teleop.new_episode(300)
                teleop.mirror(sim_state_vector(env.world))
                for _ in range(2):  # not asked: it only watches (drift_patience=3 steps before it would notice)
                    cmd = teleop.propose(still)
                    assert cmd.intervening is None and cmd.events == ()
                cmd = teleop.propose(still, asked=True)
                if answer == "ack":
                    assert cmd.events == ("ack",) and cmd.intervening is None and cmd.twist is None
                    assert teleop.human.acks == 1
                else:
                    assert cmd.events == () and cmd.intervening is True and cmd.twist is not None
            finally:
                teleop.close()
