"""A short human-in-the-loop training run measurably improves on the untrained residual.

Easy setting: the tiny task with an untrained (random) BC base, which drifts away from the cube, and
a residual with full authority (``learner.residual_scale=1``). The simulated human takes over when
the policy drifts; the learner trains on the store the actor writes (RLIF rewards, take-over steps
as demonstrations), publishes weights, the actor swaps them in. Measured on held-out seeds without
the human: how close the gripper gets to the cube, before and after.
"""

from __future__ import annotations

import numpy as np
import torch

from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config import load_config
from robot_rl.learner.loop import Learner
from robot_rl.learner.weights import weights_channel
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.collect import collect_demos
from robot_rl.sim.harness.episodes import ResidualDecider, run_episode
from robot_rl.sim.harness.human import SimulatedHuman

from .conftest import tiny_overrides

EVAL_SEEDS = range(100_000, 100_006)


def _closest_approach(env: PickPlaceEnv, policy) -> float:
    """Mean over the eval seeds of the smallest TCP-to-cube distance (m) reached in the episode."""
    decide = ResidualDecider(env, policy, None, explore=False)
    closest = []
    for seed in EVAL_SEEDS:
        best = np.inf

        def track() -> None:
            nonlocal best
            s = env.task_state()
            best = min(best, float(np.linalg.norm(s.tcp_pos - s.cube_pos)))

        run_episode(env, seed, decide, between_ticks=track)
        track()
        closest.append(best)
    return float(np.mean(closest))


def test_human_in_the_loop_training_improves_on_the_untrained_residual(tmp_path):
    cfg = load_config([*tiny_overrides(tmp_path), "task.max_steps=30", "learner.residual_scale=1.0",
                       "learner.demo_bc_weight=1.0", "buffer.reward_mode=rlif", "learner.exploration_noise=0.2",
                       "learner.critic_warmup_updates=50", "learner.publish_every=25", "learner.utd=4",
                       "human.drift_patience=2", "human.reaction_steps=0",
                       "human.min_takeover_steps=8", "human.max_takeover_steps=8"])
    torch.manual_seed(0)
    net = BCNetwork(cfg.camera.names, (32, 32), 10, cfg.policy.chunk, cfg.policy.feature_dim, cfg.policy.hidden_dim)
    bundles.save(net.to_bundle(), cfg.policy.path)
    channel = weights_channel(cfg, signed=False)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        collect_demos(cfg, env, writer, episodes=3, seed=0, progress=False)
        writer.flush()
        policy = load_policy(cfg)
        before = _closest_approach(env, policy)
        learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits))
        decide = ResidualDecider(env, policy, human, explore=True)
        interventions = []
        for episode in range(6):
            r = run_episode(env, 1_000 + episode, decide, writer=writer,
                            policy_version=lambda: policy.version,
                            between_ticks=lambda: policy.poll_weights(channel))
            interventions.append(r.intervention_rate)
            writer.flush()
            learner.ingest()
            while learner.updates_allowed() > 0:
                learner.update_once()
        policy.poll_weights(channel)
        after = _closest_approach(env, policy)
    assert policy.version > 0 and learner.td3.updates > 200
    assert max(interventions) > 0  # the human did take over: that is what the residual learned from
    assert after < 0.6 * before, f"closest approach to the cube: {before:.3f} m untrained -> {after:.3f} m trained"
