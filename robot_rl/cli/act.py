"""Run the actor in simulation: BC base (policy.path) + residual, recording to buffer.path.

New residual weights from learner.dir/weights are swapped in between control steps (the actor never
waits for the learner). With human.enabled the simulated human takes over when the policy drifts.
"""

from __future__ import annotations

import argparse

from robot_rl.config import Config
from robot_rl.rl.episodes import ResidualDecider, run_episode
from robot_rl.rl.human import SimulatedHuman
from robot_rl.rl.sim_session import load_policy, open_writer, weights_channel
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert


def run(args: argparse.Namespace, cfg: Config) -> int:
    policy, channel = load_policy(cfg), weights_channel(cfg)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits)) if cfg.human.enabled else None
        decide = ResidualDecider(env, policy, human, cfg.act.explore)
        successes = 0
        for i in range(cfg.act.episodes):
            r = run_episode(env, cfg.act.seed + i, decide, writer=writer, source="policy",
                            policy_version=lambda: policy.version, between_ticks=lambda: policy.poll_weights(channel))
            successes += r.success
            print(f"episode {i + 1:>4}/{cfg.act.episodes}  {'success' if r.success else 'failure'} in {r.steps:>3} "
                  f"steps  interventions {r.intervention_rate:4.0%}  weights v{r.policy_version}  "
                  f"success rate {successes / (i + 1):.0%}", flush=True)
    return 0
